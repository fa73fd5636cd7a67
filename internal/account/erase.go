package account

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/clientaddr"
	"comptoir/internal/db"
	"comptoir/internal/ratelimit"
)

// Placeholders put where a customer's personal data were. The email keeps
// the column's shape; email_key stays unique ("erased-" + the user id) and
// can never match an address typed at sign-in.
const (
	ErasedEmail = "erased@invalid"
	erasedHash  = "!erased" // no password hashes to this: argon2id refuses it
)

// ErasedName is the placeholder name of an erased account: "erased-" and
// the end of its id, so that staff can still tell two erased accounts apart.
func ErasedName(userID string) string {
	short := userID
	if len(short) > 8 {
		short = short[len(short)-8:]
	}
	return "erased-" + short
}

// ErrNotCustomer refuses to erase a staff account (staff are removed by an
// operator, not erased by the privacy flow).
var ErrNotCustomer = fmt.Errorf("account: only a customer account can be erased")

// EraseTx replaces the personal data of customer userID by placeholders and
// ends every way into the account: sessions, API tokens, reset links, the
// reset requests not handled yet (they hold the address), pending
// second-factor sign-ins and any second factor (secret, recovery codes;
// customers normally have none) are deleted. The id stays, so
// orders, invoices and the ledger keep pointing to it. The rate-limit
// windows that name the email (reset requests, failed sign-ins) go, and so
// do those keyed by ips, addresses the customer was seen from (sessions,
// consents). It returns the user as it was.
// Erasing an account already erased does nothing and returns it.
func EraseTx(ctx context.Context, tx *sql.Tx, userID string, at time.Time, ips []string) (User, error) {
	u, _, err := userWithHash(ctx, tx, "id", userID)
	if err != nil {
		return User{}, err
	}
	if u.Role != RoleCustomer {
		return User{}, ErrNotCustomer
	}
	if erased, err := IsErased(ctx, tx, userID); err != nil || erased {
		return u, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET email = $1, email_key = $2, name = $3, password_hash = $4,
		customer_type = 'consumer', vat_number = NULL, region = '', city = '', street = '', postcode = '', erased_at = $5, updated_at = $5 WHERE id = $6`,
		ErasedEmail, "erased-"+userID, ErasedName(userID), erasedHash, at.UTC(), userID); err != nil {
		return User{}, fmt.Errorf("account: erase: %w", err)
	}
	if err := db.ExecEach(ctx, tx, []string{`DELETE FROM sessions WHERE user_id = $1`, `DELETE FROM api_tokens WHERE user_id = $1`,
		`DELETE FROM password_resets WHERE user_id = $1`, `DELETE FROM signin_challenges WHERE user_id = $1`,
		`DELETE FROM totp_recovery_codes WHERE user_id = $1`, `DELETE FROM user_totp WHERE user_id = $1`}, userID); err != nil {
		return User{}, fmt.Errorf("account: erase: %w", err)
	}
	// A reset asked for and not handled yet holds the address.
	if _, err := tx.ExecContext(ctx, `DELETE FROM password_reset_requests WHERE email_key = $1`, EmailKey(u.Email)); err != nil {
		return User{}, fmt.Errorf("account: erase: %w", err)
	}
	buckets := []string{"reset-email:" + EmailKey(u.Email)}
	for _, t := range SigninLockoutTiers {
		buckets = append(buckets, failureBucket(u.Email, t))
	}
	for _, ip := range ips {
		if ip != "" && ip != "erased" {
			buckets = append(buckets, "signin:"+ip, "signup:"+ip, "reset:"+ip, "contact:"+ip)
			// Sign-in, sign-up and reset count an IPv6 client by its /64.
			if k := clientaddr.LimitKey(ip); k != ip {
				buckets = append(buckets, "signin:"+k, "signup:"+k, "reset:"+k)
			}
		}
	}
	if err := ratelimit.ForgetTx(ctx, tx, buckets...); err != nil {
		return User{}, fmt.Errorf("account: erase: %w", err)
	}
	return u, nil
}

// SessionIPsTx lists the addresses and user agents the customer's sessions
// were opened from, before EraseTx deletes them.
func SessionIPsTx(ctx context.Context, q db.Querier, userID string) ([]string, error) {
	return db.Strings(ctx, q, `SELECT DISTINCT ip FROM sessions WHERE user_id = $1`, userID)
}

// BeginErasureTx starts an erasure of userID in tx and reports whether the
// account was erased already. Its first write is a conditional update of
// the account's row: on PostgreSQL a concurrent erasure of the same
// account waits on that row until tx ends, then finds it erased, instead
// of each reading "not erased yet" and erasing (and recording) it again.
// SQLite runs one writing transaction at a time.
func BeginErasureTx(ctx context.Context, tx *sql.Tx, userID string) (already bool, err error) {
	return HoldUnerasedTx(ctx, tx, userID)
}

// HoldUnerasedTx takes the account's row for the rest of tx, as an erasure
// does first (BeginErasureTx), and reports whether it was erased already.
// Work that must not reach an erased account (money into its balance)
// calls it first in its transaction: an erasure running at the same time
// either committed before (erased is true) or waits for tx to end, on
// PostgreSQL as on SQLite's single writer. ErrNotFound for no such
// account.
func HoldUnerasedTx(ctx context.Context, tx *sql.Tx, userID string) (erased bool, err error) {
	res, err := tx.ExecContext(ctx, `UPDATE users SET updated_at = updated_at WHERE id = $1 AND erased_at IS NULL`, userID)
	if err != nil {
		return false, fmt.Errorf("account: hold %s: %w", userID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return false, err
	}
	return IsErased(ctx, tx, userID)
}

// ErasedAt is when the account's personal data were erased; the zero time
// when they were not, or there is no such account.
func (s *Service) ErasedAt(ctx context.Context, userID string) (time.Time, error) {
	var erased sql.NullTime
	err := s.db.Read.QueryRowContext(ctx, `SELECT erased_at FROM users WHERE id = $1`, userID).Scan(&erased)
	if err == sql.ErrNoRows || !erased.Valid {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("account: read erasure of %s: %w", userID, err)
	}
	return erased.Time.UTC(), nil
}

// IsErased reports whether the account's personal data were erased.
func IsErased(ctx context.Context, q db.Querier, userID string) (bool, error) {
	var erased sql.NullTime
	err := q.QueryRowContext(ctx, `SELECT erased_at FROM users WHERE id = $1`, userID).Scan(&erased)
	if err == sql.ErrNoRows {
		return false, ErrNotFound
	}
	return erased.Valid, err
}

// DeleteSessionsBeforeTx deletes the sessions last seen before before (the
// activity retention): their address and browser go with them.
func DeleteSessionsBeforeTx(ctx context.Context, tx *sql.Tx, before time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen_at < $1`, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("account: delete old sessions: %w", err)
	}
	return res.RowsAffected()
}

// actionPasswordReset is the audit action of a password set through a
// reset link.
const actionPasswordReset = "password_reset"

// AddressProvenTx reports whether customer userID has shown they read the
// address of their account: they set a password through a reset link sent
// there (the password_reset entry of the audit log, which is never
// deleted; an account's address never changes). Signing up proves
// nothing: anyone can sign up with someone else's address, so what was
// written from it or sent to it as a guest is theirs to see only after
// this proof (see desk.LinkGuestTicketsTx).
func AddressProvenTx(ctx context.Context, q db.Querier, userID string) (bool, error) {
	entries, err := audit.ForSubject(ctx, q, "user", userID)
	if err != nil {
		return false, fmt.Errorf("account: address proven: %w", err)
	}
	for _, e := range entries {
		if e.Action == actionPasswordReset {
			return true, nil
		}
	}
	return false, nil
}
