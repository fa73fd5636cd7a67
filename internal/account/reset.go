package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/mail"
)

// anonymous is the audit actor for a visitor who is not signed in.
var anonymous = audit.Actor{Role: "anonymous"}

// resetMailData is what the "password_reset" template reads.
type resetMailData struct {
	Name    string
	Link    string
	Minutes int
}

// RequestPasswordReset mails a single-use reset link to the account with
// that email, in lang when it is "fr" or "en", else in the account's
// language. For an unknown email it does nothing and still returns nil, so
// that the form tells no one who has an account. The link's token and its
// email are stored in one transaction: there is never a link nobody was
// sent, nor an email with a link that does not work.
//
// Callers should rate-limit requests per email and per client: each one
// sends an email.
func (s *Service) RequestPasswordReset(ctx context.Context, email, lang string) error {
	if s.mail == nil || s.opts.BaseURL == "" {
		return errors.New("account: password reset needs a Mailer and Options.BaseURL")
	}
	key := EmailKey(email)
	if !storableKey(key) {
		return nil
	}
	token := newSecret()
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email_key = $1`, key))
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
		l, ok := normalizeLanguage(lang)
		if !ok {
			l = u.Language
		}
		subject, text, err := mail.Render(l, "password_reset", resetMailData{
			Name:    u.Name,
			Link:    s.opts.BaseURL + "/reset/" + token,
			Minutes: int(s.opts.ResetTTL / time.Minute),
		})
		if err != nil {
			return fmt.Errorf("account: reset email: %w", err)
		}
		if _, err := s.mail.EnqueueTx(ctx, tx, mail.Message{
			Kind: "password_reset", To: u.Email, ToName: u.Name, Lang: l,
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
// may still set a password: ErrResetInvalid when it is unknown, used or
// expired. The link's page asks it before showing the form.
func (s *Service) CheckResetLink(ctx context.Context, token string) error {
	if token == "" || len(token) > maxTokenLen {
		return ErrResetInvalid
	}
	var expires time.Time
	var used sql.NullTime
	err := s.db.Read.QueryRowContext(ctx, `SELECT expires_at, used_at FROM password_resets WHERE token_hash = $1`, hashSecret(token)).Scan(&expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrResetInvalid
	}
	if err != nil {
		return fmt.Errorf("account: read reset link: %w", err)
	}
	if used.Valid || !s.clock.Now().Before(expires) {
		return ErrResetInvalid
	}
	return nil
}

// ResetPassword sets a new password through a reset link's token, then
// signs out every session and voids the user's other reset links.
// ErrResetInvalid when the token is unknown, used or expired (checked before
// the password, so that nobody types a new password into a dead link);
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
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Of two clicks on the same link, only one finds it unused.
		var userID string
		err := tx.QueryRowContext(ctx, `UPDATE password_resets SET used_at = $1
			WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id`, now, tokenHash).Scan(&userID)
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
		revoked, err := deleteSessions(ctx, tx, userID, "")
		if err != nil {
			return err
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
			Action: actionPasswordReset, After: map[string]any{"fields": []string{"password_hash"}, "sessions_revoked": revoked}})
	})
}
