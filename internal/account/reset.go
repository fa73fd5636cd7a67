package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"comptoir/internal/audit"
	"comptoir/internal/id"
	"comptoir/internal/mail"
)

// anonymous is the audit actor for a visitor who is not signed in.
var anonymous = audit.Actor{Role: "anonymous"}

// resetMailData is what the "password_reset" template reads. It holds no
// name: the one on the account is whatever was typed at sign-up, and
// anyone may sign up with someone else's address and then ask for a
// reset, so echoed it would have the store mail their words to anyone.
type resetMailData struct {
	StoreName string
	Link      string
	Minutes   int
}

// RequestPasswordReset queues a reset for email: lang ("fr" or "en", else
// the account's language) is the language of the email to send. It stores
// the request and queues the job that handles it, and nothing else,
// whether or not an account has that address: the form answers after the
// same work, in the same time, for both, and tells no one who has an
// account. The job (sendPasswordReset) looks the address up and, for an
// account, makes the link and mails it.
//
// Callers should rate-limit requests per email and per client: each one
// may send an email.
func (s *Service) RequestPasswordReset(ctx context.Context, email, lang string) error {
	if s.mail == nil || s.opts.BaseURL == "" || s.opts.Jobs == nil {
		return errors.New("account: password reset needs a Mailer, Options.BaseURL and Options.Jobs")
	}
	key := EmailKey(email)
	// No account has such an address (sign-up refuses it), whoever asks:
	// answering at once tells nothing.
	if !storableKey(key) || len(key) > maxEmailLen {
		return nil
	}
	l, _ := normalizeLanguage(lang)
	requestID := id.New("rst")
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO password_reset_requests (id, email_key, lang, created_at)
			VALUES ($1, $2, $3, $4)`, requestID, key, l, s.clock.Now()); err != nil {
			return fmt.Errorf("account: reset request: %w", err)
		}
		if _, err := s.opts.Jobs.InsertTx(ctx, tx, ResetRequestArgs{RequestID: requestID}, nil); err != nil {
			return fmt.Errorf("account: reset request: %w", err)
		}
		return nil
	})
}

// ResetRequestArgs is the job of one password reset request. It carries
// the request's id only: the address stays in password_reset_requests,
// which the job empties and an erasure cleans, not in River's copy of the
// job, kept after it ran.
type ResetRequestArgs struct {
	RequestID string `json:"request_id"`
}

// Kind names the job for River.
func (ResetRequestArgs) Kind() string { return "account.reset_request" }

// AddWorkers registers the workers of the reset requests and of the
// pruning (PruneJob).
func (s *Service) AddWorkers(w *river.Workers) {
	river.AddWorker(w, &resetRequestWorker{s: s})
	river.AddWorker(w, &pruneWorker{s: s})
}

type resetRequestWorker struct {
	river.WorkerDefaults[ResetRequestArgs]
	s *Service
}

func (w *resetRequestWorker) Work(ctx context.Context, job *river.Job[ResetRequestArgs]) error {
	return w.s.sendPasswordReset(ctx, job.Args.RequestID)
}

// sendPasswordReset handles a reset request: for an account with its
// address, a single-use link is stored and mailed; for none, nothing
// happens. Either way the request is deleted, in the same transaction, so
// that a job run again (a node that died before River recorded the run)
// finds nothing and sends nothing twice, and a request erased meanwhile is
// not sent. The link's token and its email are stored together: there is
// never a link nobody was sent, nor an email with a link that does not
// work. A request older than a link's lifetime (its job waited, retried)
// is dropped: whoever asked has given up or asked again.
func (s *Service) sendPasswordReset(ctx context.Context, requestID string) error {
	token := newSecret()
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var key, lang string
		var asked time.Time
		err := tx.QueryRowContext(ctx, `DELETE FROM password_reset_requests WHERE id = $1 RETURNING email_key, lang, created_at`,
			requestID).Scan(&key, &lang, &asked)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("account: read reset request: %w", err)
		}
		if !now.Before(asked.Add(s.opts.ResetTTL)) {
			return nil
		}
		// A disabled account gets no link, as no account gets none: the
		// request tells nobody it exists or was disabled.
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email_key = $1 AND disabled_at IS NULL`, key))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("account: read user: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO password_resets (token_hash, user_id, created_at, expires_at)
			VALUES ($1, $2, $3, $4)`, hashSecret(token), u.ID, now, now.Add(s.opts.ResetTTL)); err != nil {
			return fmt.Errorf("account: create reset link: %w", err)
		}
		if lang == "" {
			lang = u.Language
		}
		subject, text, err := mail.Render(lang, "password_reset", resetMailData{
			StoreName: s.opts.StoreName,
			Link:      s.opts.BaseURL + "/reset/" + token,
			Minutes:   int(s.opts.ResetTTL / time.Minute),
		})
		if err != nil {
			return fmt.Errorf("account: reset email: %w", err)
		}
		if _, err := s.mail.EnqueueTx(ctx, tx, mail.Message{
			Kind: "password_reset", To: u.Email, Lang: lang, // no ToName either: see resetMailData
			Subject: subject, Text: text, UserID: u.ID,
		}); err != nil {
			return fmt.Errorf("account: reset email: %w", err)
		}
		// Anyone who knows the email can ask, so the request is not the
		// account holder's act; using the link (ResetPassword) is.
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: anonymous, SubjectType: "user", SubjectID: u.ID,
			Action: "password_reset_request"})
	})
}

// CheckResetLink reports, without using it, whether a reset link's token
// may still set a password: ErrResetUsed when it was used (or voided by
// another link used since), ErrResetInvalid when it is unknown or expired.
// The link's page asks it before showing the form.
func (s *Service) CheckResetLink(ctx context.Context, token string) error {
	if token == "" || len(token) > maxTokenLen {
		return ErrResetInvalid
	}
	var expires time.Time
	var used sql.NullTime
	err := s.db.Read.QueryRowContext(ctx, `SELECT r.expires_at, r.used_at FROM password_resets r JOIN users u ON u.id = r.user_id
		WHERE r.token_hash = $1 AND u.disabled_at IS NULL`, hashSecret(token)).Scan(&expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrResetInvalid
	}
	if err != nil {
		return fmt.Errorf("account: read reset link: %w", err)
	}
	if used.Valid {
		return ErrResetUsed
	}
	if !s.clock.Now().Before(expires) {
		return ErrResetInvalid
	}
	return nil
}

// ResetPassword sets a new password through a reset link's token, then
// signs out every session, voids the sign-ins waiting for their second
// factor and voids the user's other reset links. The first reset, which
// proves the address (AddressProvenTx), also revokes the API tokens.
// ErrResetInvalid when the token is unknown, used or expired, ErrResetUsed
// (which is an ErrResetInvalid) when used (checked before the password, so
// that nobody types a new password into a dead link);
// *ValidationError on "password" for a weak password.
func (s *Service) ResetPassword(ctx context.Context, token, newPassword string) error {
	// A cheap read first, so that a guessed or stale link costs no argon2
	// hash; the conditional update below is what actually decides.
	if err := s.CheckResetLink(ctx, token); err != nil {
		return err
	}
	tokenHash := hashSecret(token)
	fields := map[string]string{}
	s.checkPassword(fields, "password", newPassword)
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	hash, err := s.hashPassword(newPassword)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Of two clicks on the same link, only one finds it unused.
		var userID string
		err := tx.QueryRowContext(ctx, `UPDATE password_resets SET used_at = $1
			WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
			AND user_id IN (SELECT id FROM users WHERE disabled_at IS NULL) RETURNING user_id`, now, tokenHash).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrResetInvalid
		}
		if err != nil {
			return fmt.Errorf("account: use reset link: %w", err)
		}
		u, err := userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, now, userID); err != nil {
			return fmt.Errorf("account: reset password: %w", err)
		}
		revoked, err := endSessions(ctx, tx, userID, "")
		if err != nil {
			return err
		}
		// API tokens are deliberate, named credentials that a reset
		// leaves, except the first one, which proves the address: until
		// then the account may be someone else's who signed up with it,
		// and their token must not go on reading what the proof links to
		// the account (the address's guest tickets). Revoked, not
		// deleted: the owner sees what was cut off.
		var tokensRevoked int64
		proven, err := AddressProvenTx(ctx, tx, userID)
		if err != nil {
			return err
		}
		if !proven {
			res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, now, userID)
			if err == nil {
				tokensRevoked, err = res.RowsAffected()
			}
			if err != nil {
				return fmt.Errorf("account: revoke tokens: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL`, now, userID); err != nil {
			return fmt.Errorf("account: void reset links: %w", err)
		}
		// The link reached the address: the account owner reads it.
		if s.opts.EmailProven != nil {
			if err := s.opts.EmailProven(ctx, tx, u, now); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: u.Actor(), SubjectType: "user", SubjectID: userID,
			Action: actionPasswordReset, After: map[string]any{"fields": []string{"password_hash"}, "sessions_revoked": revoked,
				"tokens_revoked": tokensRevoked}})
	})
	if errors.Is(err, ErrResetInvalid) {
		// The other of two clicks used it meanwhile (or it expired): the
		// link's state now says which.
		if cerr := s.CheckResetLink(ctx, token); cerr != nil {
			return cerr
		}
	}
	return err
}
