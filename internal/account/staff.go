package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/db"
)

// Refusals of DisableStaff and EnableStaff.
var (
	// ErrDisableSelf: an admin cannot lock themselves out.
	ErrDisableSelf = errors.New("account: an admin cannot disable their own account")
	// ErrLastAdmin: the store must keep an admin who can sign in, or
	// nobody could enable anyone again from the console.
	ErrLastAdmin = errors.New("account: the last enabled admin cannot be disabled")
	// ErrNotStaff: only agents and admins are disabled; a customer's
	// account is erased instead (privacy).
	ErrNotStaff = errors.New("account: only a staff account can be disabled")
	// ErrNotAdmin: who asks is no (longer an enabled) admin.
	ErrNotAdmin = errors.New("account: only an enabled admin can disable or enable staff")
	// ErrDisabled: the account is disabled (a token for it is refused).
	ErrDisabled = errors.New("account: the account is disabled")
)

// ListStaff lists every agent and admin, disabled ones included (so that
// the admin sees whom to enable again), admins first then by email.
func (s *Service) ListStaff(ctx context.Context) ([]User, error) {
	// 'admin' sorts before 'agent'.
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE role IN ('agent', 'admin') ORDER BY role, email_key, id`)
	if err != nil {
		return nil, fmt.Errorf("account: list staff: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("account: list staff: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// enabledAdminBy is the condition, on statement parameter $n, that the
// actor is an enabled admin; the system (the command line, no id) always is.
func enabledAdminBy(n string) string {
	return `(` + n + ` = '' OR EXISTS (SELECT 1 FROM users a WHERE a.id = ` + n + ` AND a.role = 'admin' AND a.disabled_at IS NULL))`
}

// lockAdminsTx makes the disabling and enabling of staff take turns on
// PostgreSQL: two admins disabling each other at once would each see the
// other still enabled and leave the store with none. It locks the enabled
// admins' rows, in id order so that two callers cannot deadlock; the next
// statement, under a new snapshot, sees what a caller ahead committed.
// SQLite's single writer already runs them in turn.
//
// FOR NO KEY UPDATE, not FOR UPDATE: a row referencing an admin (a reply
// they write, a session they open) takes FOR KEY SHARE on their row, which
// FOR UPDATE made wait on the disabling. An admin replying on a ticket of
// the agent being disabled then held the ticket the disabling waited on
// to hand it back, while waiting on it: a deadlock, answered 500.
func (s *Service) lockAdminsTx(ctx context.Context, tx *sql.Tx) error {
	if s.db.Engine != db.Postgres {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id FOR NO KEY UPDATE`)
	if err != nil {
		return fmt.Errorf("account: lock admins: %w", err)
	}
	return rows.Close()
}

// lockedStaffTx takes the enabled admins' rows (lockAdminsTx) and reads
// the staff account userID that DisableStaff or EnableStaff changes:
// ErrNotStaff for a customer, ErrNotFound for nobody.
func (s *Service) lockedStaffTx(ctx context.Context, tx *sql.Tx, userID string) (User, error) {
	if err := s.lockAdminsTx(ctx, tx); err != nil {
		return User{}, err
	}
	u, err := userByID(ctx, tx, userID)
	if err != nil {
		return User{}, err
	}
	if !u.IsStaff() {
		return User{}, ErrNotStaff
	}
	return u, nil
}

// DisableStaff disables the agent or admin userID, for someone who left:
// from the same transaction on, they cannot sign in (their password gives
// the same refusal as a wrong one), every session and pending second-factor
// sign-in of theirs ends, their API tokens are revoked, their unused reset
// links die, and Options.StaffDisabled hands their work back (the desk
// unassigns their tickets). by, an enabled admin, is recorded in the audit
// log with the time.
//
// The rules hold in the database: the update is conditional on the account
// being enabled staff, on by being an enabled admin other than them, and,
// for an admin, on another enabled admin remaining; the CHECK on
// users.disabled_at refuses a disabled customer. Refusals: ErrDisableSelf,
// ErrLastAdmin, ErrNotStaff, ErrNotAdmin, ErrNotFound. Disabling an account
// already disabled does nothing.
func (s *Service) DisableStaff(ctx context.Context, by audit.Actor, userID string) error {
	if by.ID != "" && by.ID == userID {
		return ErrDisableSelf
	}
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		u, err := s.lockedStaffTx(ctx, tx, userID)
		if err != nil || u.Disabled() {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = $1, updated_at = $1
			WHERE id = $2 AND disabled_at IS NULL AND role IN ('agent', 'admin') AND id <> $3 AND `+enabledAdminBy("$3")+`
			AND (role <> 'admin' OR EXISTS (SELECT 1 FROM users o WHERE o.role = 'admin' AND o.disabled_at IS NULL AND o.id <> $2))`,
			now, userID, by.ID)
		if err != nil {
			return fmt.Errorf("account: disable: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("account: disable: %w", err)
		} else if n == 0 {
			return s.whyNotTx(ctx, tx, by)
		}
		sessions, err := endSessions(ctx, tx, userID, "")
		if err != nil {
			return err
		}
		// Revoked, not only refused while disabled: a token copied by
		// someone who left must not work again if the account is enabled
		// again (rehired, disabled by mistake); its owner makes new ones.
		res, err = tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, now, userID)
		if err != nil {
			return fmt.Errorf("account: revoke tokens: %w", err)
		}
		tokens, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("account: revoke tokens: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = $1 AND used_at IS NULL`, userID); err != nil {
			return fmt.Errorf("account: void reset links: %w", err)
		}
		u.DisabledAt = now
		if s.opts.StaffDisabled != nil {
			if err := s.opts.StaffDisabled(ctx, tx, u, by, now); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: by, SubjectType: "user", SubjectID: userID,
			Action: "disable", Before: map[string]any{"disabled": false},
			After: map[string]any{"disabled": true, "sessions_revoked": sessions, "tokens_revoked": tokens}})
	})
}

// whyNotTx tells why DisableStaff's conditional update changed nothing,
// the account being enabled staff and not by's own: by is no enabled
// admin, or the account is the last enabled admin.
func (s *Service) whyNotTx(ctx context.Context, tx *sql.Tx, by audit.Actor) error {
	if by.ID == "" {
		return ErrLastAdmin
	}
	admin, err := userByID(ctx, tx, by.ID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil || admin.Role != RoleAdmin || admin.Disabled() {
		return ErrNotAdmin
	}
	return ErrLastAdmin
}

// EnableStaff lets a disabled agent or admin sign in again, with the
// password they had (their sessions and tokens stay ended). by, an enabled
// admin, is recorded in the audit log. Enabling an enabled account does
// nothing; ErrNotStaff, ErrNotAdmin or ErrNotFound otherwise.
func (s *Service) EnableStaff(ctx context.Context, by audit.Actor, userID string) error {
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		u, err := s.lockedStaffTx(ctx, tx, userID)
		if err != nil || !u.Disabled() {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = NULL, updated_at = $1
			WHERE id = $2 AND disabled_at IS NOT NULL AND `+enabledAdminBy("$3"), now, userID, by.ID)
		if err != nil {
			return fmt.Errorf("account: enable: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("account: enable: %w", err)
		} else if n == 0 {
			return ErrNotAdmin
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: by, SubjectType: "user", SubjectID: userID,
			Action: "enable", Before: map[string]any{"disabled": true, "disabled_at": u.DisabledAt.Format(time.RFC3339)},
			After: map[string]any{"disabled": false}})
	})
}
