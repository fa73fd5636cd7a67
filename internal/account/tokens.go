package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/id"
)

// Token is an API token as listed to its owner; the token itself is shown
// once, by CreateToken, and never stored.
type Token struct {
	ID         string
	UserID     string
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero when never used
	RevokedAt  time.Time // zero while the token works
}

// Revoked reports whether the token was revoked.
func (t Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// tokenPrefix marks comptoir API tokens so that secret scanners and people
// recognize one pasted where it should not be.
const tokenPrefix = "cpt_"

// CreateToken makes an API token for the user and returns it in clear, the
// only time it can be seen. name says what it is for ("accounting export").
func (s *Service) CreateToken(ctx context.Context, userID, name string) (string, Token, error) {
	fields := map[string]string{}
	name = checkText(fields, "name", name, true, maxTokenName)
	if len(fields) > 0 {
		return "", Token{}, &ValidationError{Fields: fields}
	}
	plain := tokenPrefix + newSecret()
	now := s.clock.Now()
	t := Token{ID: id.New("tok"), UserID: userID, Name: name, CreatedAt: now}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		u, err := userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		if u.Disabled() {
			return ErrDisabled // it would be refused anyway
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, user_id, name, token_hash, created_at)
			VALUES ($1, $2, $3, $4, $5)`, t.ID, userID, name, hashSecret(plain), now); err != nil {
			return fmt.Errorf("account: create token: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: u.Actor(), SubjectType: "user", SubjectID: userID,
			Action: "token_create", After: map[string]string{"token_id": t.ID}})
	})
	if err != nil {
		return "", Token{}, err
	}
	return plain, t, nil
}

const tokenColumns = `t.id, t.user_id, t.name, t.created_at, t.last_used_at, t.revoked_at`

// tokenScan reads tokenColumns into a Token: dest for the Scan, then
// finish for the nullable times: one value on the heap rather than a
// closure and the two times it captured, on every API request.
type tokenScan struct {
	lastUsed, revoked sql.NullTime
}

func (ts *tokenScan) dest(t *Token) []any {
	return []any{&t.ID, &t.UserID, &t.Name, &t.CreatedAt, &ts.lastUsed, &ts.revoked}
}

func (ts *tokenScan) finish(t *Token) {
	t.CreatedAt = t.CreatedAt.UTC()
	if ts.lastUsed.Valid {
		t.LastUsedAt = ts.lastUsed.Time.UTC()
	}
	if ts.revoked.Valid {
		t.RevokedAt = ts.revoked.Time.UTC()
	}
}

// tokenUserQuery is TokenUser's query, built once: every API request runs
// it, and building it took 14 allocations (720 B) each time.
var tokenUserQuery = `SELECT ` + joinedUserColumns + `, ` + tokenColumns + `
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND u.disabled_at IS NULL`

// TokenUser returns who an API token authenticates, or ErrInvalidToken when
// it is unknown or revoked, or its account disabled (in the same query). Like sessions, the last-used time is written at
// most once a minute.
func (s *Service) TokenUser(ctx context.Context, plain string) (User, Token, error) {
	if plain == "" || len(plain) > maxTokenLen {
		return User{}, Token{}, ErrInvalidToken
	}
	var t Token
	var ts tokenScan
	u, err := scanUser(s.db.Read.QueryRowContext(ctx, tokenUserQuery, hashSecret(plain)), ts.dest(&t)...)
	if errors.Is(err, ErrNotFound) {
		return User{}, Token{}, ErrInvalidToken
	}
	if err != nil {
		return User{}, Token{}, fmt.Errorf("account: read token: %w", err)
	}
	ts.finish(&t)
	if t.Revoked() {
		return User{}, Token{}, ErrInvalidToken
	}
	now := s.clock.Now()
	if t.LastUsedAt.IsZero() || now.Sub(t.LastUsedAt) >= touchEvery {
		if _, err := s.db.Exec(ctx, `UPDATE api_tokens SET last_used_at = $1
			WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)`, now, t.ID, now.Add(-touchEvery)); err == nil {
			t.LastUsedAt = now
		} else if !db.IsUnavailable(err) {
			// A database that takes no writes for now still serves the
			// token's reads; its last use is written by a later request.
			return User{}, Token{}, fmt.Errorf("account: touch token: %w", err)
		}
	}
	return u, t, nil
}

// ListTokens lists the user's tokens, revoked ones included (so that the
// owner sees what was cut off and when), newest first.
func (s *Service) ListTokens(ctx context.Context, userID string) ([]Token, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens t
		WHERE t.user_id = $1 ORDER BY t.created_at DESC, t.id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("account: list tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		var ts tokenScan
		if err := rows.Scan(ts.dest(&t)...); err != nil {
			return nil, fmt.Errorf("account: list tokens: %w", err)
		}
		ts.finish(&t)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken cuts off one of the user's tokens for good. A token that is
// not theirs is ErrNotFound; revoking twice is not an error.
func (s *Service) RevokeToken(ctx context.Context, userID, tokenID string) error {
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		u, err := userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		var revoked sql.NullTime
		err = tx.QueryRowContext(ctx, `SELECT revoked_at FROM api_tokens WHERE id = $1 AND user_id = $2`, tokenID, userID).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("account: revoke token: %w", err)
		}
		if revoked.Valid {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, now, tokenID); err != nil {
			return fmt.Errorf("account: revoke token: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: u.Actor(), SubjectType: "user", SubjectID: userID,
			Action: "token_revoke", After: map[string]string{"token_id": tokenID}})
	})
}
