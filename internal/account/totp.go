package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"comptoir/internal/audit"
	"comptoir/internal/secretbox"
)

// TOTP is the second factor staff accounts may require (RFC 6238: 6 digits,
// 30 s steps, SHA-1, as authenticator apps expect). The secret must be read
// back to check codes, so it cannot be hashed: it is sealed with the node's
// secret key (Options.Secrets) before it reaches the database, bound to its
// user's row, and never logged nor shown again after enrolment. A clear
// secret written by a version before sealing still works and is sealed at
// the next start (SealClearTOTPSecrets). Recovery codes are stored hashed
// and work once each.

// ErrBadCode is a wrong, expired or replayed code.
var ErrBadCode = errors.New("account: wrong code")

// ErrNoTOTP means the user has no confirmed second factor.
var ErrNoTOTP = errors.New("account: no second factor")

// ErrSecretUnreadable is a sealed TOTP secret that this node's key does not
// open: the node has another key than the one that sealed it (another
// --secret-key, or a new <data-dir>/secret.key), or the value was damaged
// or copied from another user's row. The user's app codes cannot be
// checked; their recovery codes still work.
var ErrSecretUnreadable = errors.New("account: second-factor secret does not open with this node's secret key " +
	"(every node needs the --secret-key or <data-dir>/secret.key that sealed it)")

// errNoSecretKey is BeginTOTP on a service built without Options.Secrets:
// a new secret is never stored in clear.
var errNoSecretKey = errors.New("account: no secret key to seal TOTP secrets with")

// totpAD binds a sealed secret to its row, so that a value copied into
// another user's row does not open there.
func totpAD(userID string) []byte { return []byte("user_totp:" + userID) }

// sealTOTP is the stored form of a user's secret.
func (s *Service) sealTOTP(userID, secret string) (string, error) {
	if s.opts.Secrets == nil {
		return "", errNoSecretKey
	}
	return s.opts.Secrets.Seal([]byte(secret), totpAD(userID)), nil
}

// openTOTP reads a stored secret: sealed, or clear from an earlier version
// (base32 never holds the "v1:" of a sealed value). An error names the
// user, never the secret.
func (s *Service) openTOTP(userID, stored string) (string, error) {
	if !secretbox.IsSealed(stored) {
		return stored, nil
	}
	if s.opts.Secrets == nil {
		return "", fmt.Errorf("%w: user %s: %v", ErrSecretUnreadable, userID, errNoSecretKey)
	}
	b, err := s.opts.Secrets.Open(stored, totpAD(userID))
	if err != nil {
		return "", fmt.Errorf("%w: user %s: %v", ErrSecretUnreadable, userID, err)
	}
	return string(b), nil
}

const (
	totpPeriod        = 30
	totpSkew          = 1 // one step before or after, for clocks a little off
	recoveryCodeCount = 10
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPEnrolment is what a user needs to add the account to an app.
type TOTPEnrolment struct {
	Secret string // base32, to type in
	URI    string // otpauth://… for a QR code or a link
}

// BeginTOTP makes a new pending secret for the user, replacing a pending
// one; with a confirmed one in place it is ErrTOTPEnabled.
func (s *Service) BeginTOTP(ctx context.Context, userID, issuer string) (TOTPEnrolment, error) {
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: u.Email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("account: totp key: %w", err)
	}
	sealed, err := s.sealTOTP(userID, key.Secret())
	if err != nil {
		return TOTPEnrolment{}, err
	}
	now := s.clock.Now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO user_totp (user_id, secret, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0
			WHERE user_totp.confirmed_at IS NULL`, userID, sealed, now)
		if err != nil {
			return fmt.Errorf("account: begin totp: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrTOTPEnabled
		}
		return nil
	})
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return TOTPEnrolment{Secret: key.Secret(), URI: key.URL()}, nil
}

// ErrTOTPEnabled means a confirmed second factor is already in place.
var ErrTOTPEnabled = errors.New("account: second factor already enabled")

// ConfirmTOTP turns the pending secret on with a code from the app, and
// returns the recovery codes, in clear this once. Every session of the user
// but keepSessionID (the one enrolling; empty keeps none) is signed out in
// the same transaction: a session opened with the password alone, before
// the second factor (a stolen password's, an old device's), must not keep
// what the second factor now guards.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code, keepSessionID string) ([]string, error) {
	now := s.clock.Now()
	codes := make([]string, recoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var secret string
		var confirmed sql.NullTime
		var last int64
		err := tx.QueryRowContext(ctx, `SELECT secret, confirmed_at, last_step FROM user_totp WHERE user_id = $1`, userID).Scan(&secret, &confirmed, &last)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoTOTP
		}
		if err != nil {
			return fmt.Errorf("account: confirm totp: %w", err)
		}
		if confirmed.Valid {
			return ErrTOTPEnabled
		}
		if secret, err = s.openTOTP(userID, secret); err != nil {
			return err // starting the enrolment again replaces the secret
		}
		step, ok := matchStep(secret, code, now, last)
		if !ok {
			return ErrBadCode
		}
		if _, err := tx.ExecContext(ctx, `UPDATE user_totp SET confirmed_at = $2, last_step = $3 WHERE user_id = $1`, userID, now, step); err != nil {
			return fmt.Errorf("account: confirm totp: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM totp_recovery_codes WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("account: recovery codes: %w", err)
		}
		for _, c := range codes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES ($1, $2)`, userID, hashSecret(c)); err != nil {
				return fmt.Errorf("account: recovery codes: %w", err)
			}
		}
		revoked, err := endSessions(ctx, tx, userID, keepSessionID)
		if err != nil {
			return err
		}
		u, err := userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: u.Actor(), SubjectType: "user", SubjectID: userID, Action: "totp_enable",
			After: map[string]any{"sessions_revoked": revoked}})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// TOTPEnabled reports whether the user has a confirmed second factor.
func (s *Service) TOTPEnabled(ctx context.Context, userID string) (bool, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL`, userID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("account: totp: %w", err)
	}
	return n > 0, nil
}

// VerifySecondFactor checks a code from the app, or a recovery code (used
// up by this call). A code is accepted once: the same code replayed within
// its step is ErrBadCode. When the secret does not open with this node's
// key, an app code cannot be checked: ErrSecretUnreadable (wrapped, naming
// the user), unless the code is a valid recovery code, which needs no key.
func (s *Service) VerifySecondFactor(ctx context.Context, userID, code string) error {
	now := s.clock.Now()
	code = strings.TrimSpace(code)
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var secret string
		var last int64
		err := tx.QueryRowContext(ctx, `SELECT secret, last_step FROM user_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL`, userID).Scan(&secret, &last)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoTOTP
		}
		if err != nil {
			return fmt.Errorf("account: verify totp: %w", err)
		}
		secret, unreadable := s.openTOTP(userID, secret)
		if unreadable == nil {
			if step, ok := matchStep(secret, code, now, last); ok {
				// Conditional: two requests with the same code, one wins.
				res, err := tx.ExecContext(ctx, `UPDATE user_totp SET last_step = $2 WHERE user_id = $1 AND last_step < $2`, userID, step)
				if err != nil {
					return fmt.Errorf("account: verify totp: %w", err)
				}
				if n, _ := res.RowsAffected(); n == 1 {
					return nil
				}
				return ErrBadCode
			}
		}
		// A wrong code when the secret is unreadable is reported as that,
		// so the reason reaches the log rather than a "wrong code".
		badCode := ErrBadCode
		if unreadable != nil {
			badCode = unreadable
		}
		norm := strings.ToLower(strings.ReplaceAll(code, " ", ""))
		if norm == "" {
			return badCode
		}
		res, err := tx.ExecContext(ctx, `UPDATE totp_recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`,
			userID, hashSecret(norm), now)
		if err != nil {
			return fmt.Errorf("account: recovery code: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return badCode
		}
		u, err := userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: u.Actor(), SubjectType: "user", SubjectID: userID, Action: "totp_recovery_code_used"})
	})
}

// matchStep finds the time step (within the skew) whose code is code and
// that is later than the last one accepted.
func matchStep(secret, code string, now time.Time, last int64) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		step := cur + d
		if step <= last {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// newRecoveryCode is 10 lower-case base32 characters in two groups.
func newRecoveryCode() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 10)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Sign-in challenges: the password was right, the second factor is awaited.
const (
	challengeTTL         = 10 * time.Minute
	maxChallengeFailures = 5
)

// ErrChallengeGone is an unknown, expired or used-up sign-in challenge:
// the person signs in again from the start.
var ErrChallengeGone = errors.New("account: sign-in challenge expired")

// StartSignInChallenge records that userID gave the right password and
// returns the token the browser keeps until it gives the code.
func (s *Service) StartSignInChallenge(ctx context.Context, userID string) (string, error) {
	token := newSecret()
	now := s.clock.Now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM signin_challenges WHERE expires_at < $1`, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signin_challenges (token_hash, user_id, expires_at) VALUES ($1, $2, $3)`,
			hashSecret(token), userID, now.Add(challengeTTL))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("account: sign-in challenge: %w", err)
	}
	return token, nil
}

// SignInChallengeUser returns whose sign-in the challenge is, without
// answering it, so that the caller can apply the same per-account
// lock-out to codes as to passwords; ErrChallengeGone when it is no more.
func (s *Service) SignInChallengeUser(ctx context.Context, token string) (User, error) {
	if token == "" || len(token) > maxTokenLen {
		return User{}, ErrChallengeGone
	}
	u, err := scanUser(s.db.Read.QueryRowContext(ctx, `SELECT `+joinedUserColumns+` FROM signin_challenges c
		JOIN users u ON u.id = c.user_id WHERE c.token_hash = $1 AND c.expires_at > $2 AND c.failures < $3 AND u.disabled_at IS NULL`,
		hashSecret(token), s.clock.Now(), maxChallengeFailures))
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrChallengeGone
	}
	if err != nil {
		return User{}, fmt.Errorf("account: sign-in challenge: %w", err)
	}
	return u, nil
}

// AnswerSignInChallenge checks the code for the challenge's user: the user
// on success (the challenge is used up), ErrBadCode on a wrong code (the
// fifth ends the challenge), ErrChallengeGone when it is no more.
func (s *Service) AnswerSignInChallenge(ctx context.Context, token, code string) (User, error) {
	now := s.clock.Now()
	var userID string
	err := s.db.Read.QueryRowContext(ctx, `SELECT user_id FROM signin_challenges WHERE token_hash = $1 AND expires_at > $2 AND failures < $3`,
		hashSecret(token), now, maxChallengeFailures).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrChallengeGone
	}
	if err != nil {
		return User{}, fmt.Errorf("account: sign-in challenge: %w", err)
	}
	if err := s.VerifySecondFactor(ctx, userID, code); err != nil {
		// An unreadable secret counts as a failure too: recovery codes
		// are still checked then, and may not be guessed without limit.
		if errors.Is(err, ErrBadCode) || errors.Is(err, ErrSecretUnreadable) {
			if _, uerr := s.db.Exec(ctx, `UPDATE signin_challenges SET failures = failures + 1 WHERE token_hash = $1`, hashSecret(token)); uerr != nil {
				return User{}, fmt.Errorf("account: sign-in challenge: %w", uerr)
			}
		}
		return User{}, err
	}
	res, err := s.db.Exec(ctx, `DELETE FROM signin_challenges WHERE token_hash = $1`, hashSecret(token))
	if err != nil {
		return User{}, fmt.Errorf("account: sign-in challenge: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return User{}, ErrChallengeGone // answered twice at once: one wins
	}
	return s.UserByID(ctx, userID)
}

// TOTPSealReport is what SealClearTOTPSecrets found and did.
type TOTPSealReport struct {
	// Sealed counts the clear secrets it sealed.
	Sealed int
	// Unreadable counts sealed secrets this node's key does not open.
	Unreadable int
	// LeftClear counts the clear secrets it did not seal because sealed
	// ones exist and none opens: the key is most likely not the one the
	// other nodes use, and sealing with it would lock those out too.
	LeftClear int
}

// SealClearTOTPSecrets seals the clear secrets an earlier version wrote,
// and counts sealed secrets that this node's key does not open. It is
// idempotent and safe while other nodes run: each row is rewritten only if
// it still holds the clear secret read (a node that re-enrolled the user
// meanwhile wins), and a sealed secret opens the same as the clear one did.
func (s *Service) SealClearTOTPSecrets(ctx context.Context) (TOTPSealReport, error) {
	var r TOTPSealReport
	if s.opts.Secrets == nil {
		return r, errNoSecretKey
	}
	type row struct{ userID, secret string }
	var clear []row
	readable := 0
	rows, err := s.db.Read.QueryContext(ctx, `SELECT user_id, secret FROM user_totp ORDER BY user_id`)
	if err != nil {
		return r, fmt.Errorf("account: seal totp secrets: %w", err)
	}
	for rows.Next() {
		var x row
		if err := rows.Scan(&x.userID, &x.secret); err != nil {
			rows.Close()
			return r, fmt.Errorf("account: seal totp secrets: %w", err)
		}
		if !secretbox.IsSealed(x.secret) {
			clear = append(clear, x)
		} else if _, err := s.openTOTP(x.userID, x.secret); err != nil {
			r.Unreadable++
		} else {
			readable++
		}
	}
	if err := rows.Close(); err != nil {
		return r, fmt.Errorf("account: seal totp secrets: %w", err)
	}
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("account: seal totp secrets: %w", err)
	}
	if len(clear) == 0 {
		return r, nil
	}
	if r.Unreadable > 0 && readable == 0 {
		r.LeftClear = len(clear)
		return r, nil
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		r.Sealed = 0
		for _, x := range clear {
			sealed, err := s.sealTOTP(x.userID, x.secret)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE user_totp SET secret = $3 WHERE user_id = $1 AND secret = $2`, x.userID, x.secret, sealed)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			r.Sealed += int(n)
		}
		return nil
	})
	if err != nil {
		return TOTPSealReport{}, fmt.Errorf("account: seal totp secrets: %w", err)
	}
	return r, nil
}
