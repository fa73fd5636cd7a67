// Package idempotency stores the API's Idempotency-Key answers: the first
// response to a request is kept for 24 hours and replayed to every retry of
// it, so a client that lost a response (timeout, dropped connection) can
// safely send the same POST again without paying twice.
//
// How a handler uses it, and why it survives a crash at any point:
//
//  1. Begin, in its own short transaction, inserts the key as 'in_progress'
//     (the primary key decides between concurrent duplicates: one inserts,
//     the others see its row) and commits before the effect starts. A
//     duplicate arriving while the first runs gets ErrInProgress (409)
//     instead of running the effect a second time.
//  2. The effect and CompleteTx run in ONE transaction. CompleteTx turns the
//     row to 'done' with the response, and only if it is still
//     'in_progress'. So after a crash either both the effect and its
//     response are committed (a retry replays the response) or neither is
//     (the row stays 'in_progress' with no effect behind it).
//  3. An 'in_progress' row is leased for Lease. Once the lease is over its
//     effect is taken to have died with its process, and a retry with the
//     same body runs the request again. Should the first attempt merely have
//     been slow rather than dead, the two attempts still cannot both commit:
//     each one's CompleteTx updates the same row on condition that it is
//     'in_progress', so their transactions serialize on it, the first to
//     commit wins and the other gets ErrNotInProgress and must roll back its
//     effect.
//
// What this does not cover: effects outside the database (a Stripe call, an
// email). Those are jobs inserted in the effect's transaction, each with its
// own idempotency key (see DESIGN.md), never calls made from the handler.
//
// A request that fails without an effect has two ways out: Complete stores
// a refusal (a 4xx that a retry should see again, such as insufficient
// balance); Release forgets the key (a 5xx or a cancelled request) so that a
// retry runs at once instead of waiting for the lease.
package idempotency

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"comptoir/internal/clock"
	"comptoir/internal/db"
)

const (
	// TTL is how long a key and its response are kept (API.md: 24 hours).
	TTL = 24 * time.Hour
	// Lease is how long an attempt may run before a retry with the same key
	// may take over: well beyond a request's time limit, so that only an
	// attempt that died is retried, short enough that a client retrying
	// after a crash is not stuck for long.
	Lease = time.Minute
	// MaxKeyLen is the longest key accepted, in characters.
	MaxKeyLen = 255
)

// Errors callers tell apart.
var (
	// ErrKeyReused: the key was already used with another request body
	// (422 idempotency_key_reused).
	ErrKeyReused = errors.New("idempotency: key reused with another request")
	// ErrInProgress: the first request with this key is still running
	// (409); the client should retry later.
	ErrInProgress = errors.New("idempotency: request with this key in progress")
	// ErrNotInProgress: CompleteTx found no running attempt to complete —
	// another attempt completed first, or the key was released or pruned.
	// The caller must roll back its effect.
	ErrNotInProgress = errors.New("idempotency: no request in progress under this key")
)

// Validation codes.
const (
	CodeRequired = "required"
	CodeTooLong  = "too_long"
	CodeInvalid  = "invalid"
)

// ValidationError maps each invalid field to a validation code; the field is
// "idempotency_key", the header's value.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	names := make([]string, 0, len(e.Fields))
	for f := range e.Fields {
		names = append(names, f)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, f := range names {
		parts[i] = f + ": " + e.Fields[f]
	}
	return "idempotency: invalid " + strings.Join(parts, ", ")
}

// Outcome is what Begin decided.
type Outcome struct {
	// Replay is true when the request was already answered: send Status and
	// Body as they are and do nothing else. When false, the caller holds the
	// key and runs the request, ending with CompleteTx, Complete or Release.
	Replay bool
	Status int
	Body   []byte
}

// Store is the idempotency_keys table.
type Store struct {
	db    *db.DB
	clock clock.Clock
}

// New returns the store.
func New(d *db.DB, c clock.Clock) *Store {
	return &Store{db: d, clock: c}
}

// Scope is the scope of a key: the caller and the route, so that two
// callers (or one caller on two routes) never share a key.
func Scope(callerID, route string) string {
	return callerID + " " + route
}

// RequestHash is the hex SHA-256 of a request's method, path and body: what
// tells a retry (same hash) from another request reusing its key.
func RequestHash(method, path string, body []byte) string {
	h := sha256.New()
	// The separators keep ("POST", "/a", "b…") and ("POST", "/ab", "…") apart.
	h.Write([]byte(method + "\n" + path + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Begin claims key for a request whose hash is requestHash (see
// RequestHash). It returns an Outcome to run (Replay false) when the key is
// new, expired, or held by an attempt whose lease ran out; the stored
// response (Replay true) for a repeat of an answered request; ErrKeyReused
// for the key with another request; ErrInProgress while the first attempt
// runs.
func (s *Store) Begin(ctx context.Context, scope, key, requestHash string) (Outcome, error) {
	if err := checkKey(key); err != nil {
		return Outcome{}, err
	}
	if scope == "" || requestHash == "" {
		return Outcome{}, errors.New("idempotency: Begin needs a scope and a request hash")
	}
	// Each statement below is conditional and stands alone, so no
	// transaction is needed. Losing a race on one (the row appears or
	// vanishes between two statements) sends us round again; three rounds
	// are plenty, since each lost race means another caller made progress.
	for range 3 {
		now := s.clock.Now()
		res, err := s.db.Write.ExecContext(ctx, `INSERT INTO idempotency_keys
			(scope, key, request_hash, status, created_at, lease_until, expires_at)
			VALUES ($1, $2, $3, 'in_progress', $4, $5, $6)
			ON CONFLICT (scope, key) DO NOTHING`,
			scope, key, requestHash, now, now.Add(Lease), now.Add(TTL))
		if err != nil {
			return Outcome{}, fmt.Errorf("idempotency: begin: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return Outcome{}, fmt.Errorf("idempotency: begin: %w", err)
		} else if n == 1 {
			return Outcome{}, nil
		}

		var hash, status string
		var respStatus sql.NullInt64
		var respBody sql.NullString
		var leaseUntil, expiresAt time.Time
		err = s.db.Write.QueryRowContext(ctx, `SELECT request_hash, status, response_status, response_body, lease_until, expires_at
			FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key).
			Scan(&hash, &status, &respStatus, &respBody, &leaseUntil, &expiresAt)
		if errors.Is(err, sql.ErrNoRows) {
			continue // pruned or released since the insert: try again
		}
		if err != nil {
			return Outcome{}, fmt.Errorf("idempotency: begin: %w", err)
		}
		expired := !expiresAt.After(now)
		switch {
		case !expired && hash != requestHash:
			return Outcome{}, ErrKeyReused
		case !expired && status == "done":
			return Outcome{Replay: true, Status: int(respStatus.Int64), Body: []byte(respBody.String)}, nil
		case !expired && leaseUntil.After(now):
			return Outcome{}, ErrInProgress
		}
		// An expired key is a new one; an attempt past its lease is taken to
		// be dead. Take the row over, on the same conditions re-checked in
		// the statement, so that of several retries only one succeeds.
		res, err = s.db.Write.ExecContext(ctx, `UPDATE idempotency_keys
			SET request_hash = $3, status = 'in_progress', response_status = NULL, response_body = NULL,
				created_at = $4, lease_until = $5, expires_at = $6
			WHERE scope = $1 AND key = $2
				AND (expires_at <= $4 OR (status = 'in_progress' AND lease_until <= $4 AND request_hash = $3))`,
			scope, key, requestHash, now, now.Add(Lease), now.Add(TTL))
		if err != nil {
			return Outcome{}, fmt.Errorf("idempotency: take over: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return Outcome{}, fmt.Errorf("idempotency: take over: %w", err)
		} else if n == 1 {
			return Outcome{}, nil
		}
	}
	return Outcome{}, ErrInProgress
}

// CompleteTx stores the response to the request running under key, in the
// transaction of its effect (see the package comment for why it must be the
// same one). It returns ErrNotInProgress when the key holds no running
// attempt any more; the caller must then roll back tx.
func (s *Store) CompleteTx(ctx context.Context, tx *sql.Tx, scope, key string, status int, body []byte) error {
	if status < 100 || status > 599 {
		return fmt.Errorf("idempotency: response status %d", status)
	}
	if !utf8.Valid(body) || strings.ContainsRune(string(body), 0) {
		// PostgreSQL's TEXT would refuse it; better to say so on both engines.
		return errors.New("idempotency: response body must be UTF-8 text")
	}
	res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET status = 'done', response_status = $3, response_body = $4
		WHERE scope = $1 AND key = $2 AND status = 'in_progress'`, scope, key, status, string(body))
	if err != nil {
		return fmt.Errorf("idempotency: complete: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("idempotency: complete: %w", err)
	}
	if n == 0 {
		return ErrNotInProgress
	}
	return nil
}

// Complete is CompleteTx in its own transaction, for an answer that has no
// effect to commit with it (a refusal a retry should get again).
func (s *Store) Complete(ctx context.Context, scope, key string, status int, body []byte) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		return s.CompleteTx(ctx, tx, scope, key, status, body)
	})
}

// Release forgets a key whose request failed with no effect and no answer
// worth replaying (a server error, a cancelled request), so that a retry runs
// at once rather than after the lease. An answered key is left alone.
func (s *Store) Release(ctx context.Context, scope, key string) error {
	if _, err := s.db.Write.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status = 'in_progress'`,
		scope, key); err != nil {
		return fmt.Errorf("idempotency: release: %w", err)
	}
	return nil
}

// PruneTx deletes the keys expired at now and returns how many. The daily
// retention runs it (internal/privacy): Lookup already ignores expired
// keys, so pruning late only costs space, but a key keeps the answer it
// replays (an order, its lines) and has no business outliving its TTL.
func PruneTx(ctx context.Context, tx *sql.Tx, now time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= $1`, now.UTC())
	if err != nil {
		return 0, fmt.Errorf("idempotency: prune: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("idempotency: prune: %w", err)
	}
	return n, nil
}

// checkKey refuses an empty key, one longer than MaxKeyLen characters, and
// one that is not printable text (it comes from a header and is stored as
// TEXT, which refuses NUL and invalid UTF-8 on PostgreSQL).
func checkKey(key string) error {
	code := ""
	switch {
	case key == "":
		code = CodeRequired
	case !utf8.ValidString(key):
		code = CodeInvalid
	case utf8.RuneCountInString(key) > MaxKeyLen:
		code = CodeTooLong
	case strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		code = CodeInvalid
	}
	if code != "" {
		return &ValidationError{Fields: map[string]string{"idempotency_key": code}}
	}
	return nil
}

// Lookup reads, without writing, what a key already holds: the stored answer
// of a repeat (Replay true), ErrKeyReused for the key with another request,
// ErrInProgress while an attempt that used Begin still runs, or a zero
// Outcome when the key is free. It is the cheap first look of the
// one-transaction form (SaveTx).
func (s *Store) Lookup(ctx context.Context, scope, key, requestHash string) (Outcome, error) {
	if err := checkKey(key); err != nil {
		return Outcome{}, err
	}
	return s.look(ctx, s.db.Read, scope, key, requestHash)
}

func (s *Store) look(ctx context.Context, q db.Querier, scope, key, requestHash string) (Outcome, error) {
	now := s.clock.Now()
	var hash, status string
	var respStatus sql.NullInt64
	var respBody sql.NullString
	var leaseUntil, expiresAt time.Time
	err := q.QueryRowContext(ctx, `SELECT request_hash, status, response_status, response_body, lease_until, expires_at
		FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key).
		Scan(&hash, &status, &respStatus, &respBody, &leaseUntil, &expiresAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Outcome{}, nil
	case err != nil:
		return Outcome{}, fmt.Errorf("idempotency: look up: %w", err)
	case !expiresAt.After(now):
		return Outcome{}, nil // expired: a new key
	case hash != requestHash:
		return Outcome{}, ErrKeyReused
	case status == "done":
		return Outcome{Replay: true, Status: int(respStatus.Int64), Body: []byte(respBody.String)}, nil
	case leaseUntil.After(now):
		return Outcome{}, ErrInProgress
	}
	return Outcome{}, nil
}

// SaveTx claims key and stores the answer in one statement, in the
// transaction of the request's effect: Begin and CompleteTx folded together,
// so a keyed request costs no commit of its own (on SQLite, no flush outside
// the shared group commit). If another request under the key committed
// first, it returns that answer (Replay true) or ErrKeyReused, and the
// caller must roll back its effect. On PostgreSQL a concurrent duplicate's
// INSERT waits for the first transaction, then sees its row.
func (s *Store) SaveTx(ctx context.Context, tx *sql.Tx, scope, key, requestHash string, status int, body []byte) (Outcome, error) {
	if err := checkKey(key); err != nil {
		return Outcome{}, err
	}
	if !utf8.Valid(body) || strings.ContainsRune(string(body), 0) {
		return Outcome{}, errors.New("idempotency: response body must be UTF-8 text")
	}
	now := s.clock.Now()
	res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys
		(scope, key, request_hash, status, response_status, response_body, created_at, lease_until, expires_at)
		VALUES ($1, $2, $3, 'done', $4, $5, $6, $6, $7)
		ON CONFLICT (scope, key) DO NOTHING`,
		scope, key, requestHash, status, string(body), now, now.Add(TTL))
	if err != nil {
		return Outcome{}, fmt.Errorf("idempotency: save: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return Outcome{}, nil
	}
	out, err := s.look(ctx, tx, scope, key, requestHash)
	if err != nil || out.Replay {
		return out, err
	}
	// Expired (or abandoned by a Begin past its lease): take it over.
	res, err = tx.ExecContext(ctx, `UPDATE idempotency_keys
		SET request_hash = $3, status = 'done', response_status = $4, response_body = $5, created_at = $6, lease_until = $6, expires_at = $7
		WHERE scope = $1 AND key = $2 AND (expires_at <= $6 OR (status = 'in_progress' AND lease_until <= $6))`,
		scope, key, requestHash, status, string(body), now, now.Add(TTL))
	if err != nil {
		return Outcome{}, fmt.Errorf("idempotency: save: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Outcome{}, ErrInProgress
	}
	return Outcome{}, nil
}

// ForgetCallerTx deletes every stored response of a caller: a replayed
// response may hold their personal data, and an erased caller replays
// nothing.
func ForgetCallerTx(ctx context.Context, tx *sql.Tx, callerID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE substr(scope, 1, $1) = $2`,
		len(callerID)+1, callerID+" "); err != nil {
		return fmt.Errorf("idempotency: forget caller: %w", err)
	}
	return nil
}
