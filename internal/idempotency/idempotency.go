// Package idempotency stores the API's Idempotency-Key answers: the first
// response to a request is kept for 24 hours (TTL) and replayed to every
// retry of it, so a client that lost a response (timeout, dropped
// connection) can safely send the same POST again without paying twice.
//
// How a handler uses it, and why it survives a crash at any point:
//
//  1. Lookup, a read outside any transaction, answers a repeat at once
//     with the stored response (or refuses the key reused with another
//     request) without running anything.
//  2. Otherwise the handler runs the effect, and SaveTx claims the key and
//     stores the response in the SAME transaction, in one statement. So
//     after a crash either both the effect and its response are committed
//     (a retry replays the response) or neither is (the key is free and a
//     retry runs the request). The key costs no commit of its own: on
//     SQLite it rides the shared group commit.
//  3. Concurrent duplicates cannot both commit: the primary key on
//     (scope, key) decides. The one whose SaveTx comes second gets the
//     first one's answer (Replay) once that has committed, or ErrKeyReused
//     for another body (ErrInProgress if both were taking over an expired
//     key), and must roll back its effect. With ClaimTx on PostgreSQL,
//     whose claim waits in the transaction's pipeline, the second one's
//     transaction fails instead (ErrTaken) and Settle gives it that answer.
//
// A request that fails leaves nothing behind, key included: its transaction
// rolls back, and a retry simply runs again.
//
// What this does not cover: effects outside the database (a Stripe call, an
// email). Those are jobs inserted in the effect's transaction, each with its
// own idempotency key (see DESIGN.md), never calls made from the handler.
//
// Keys live for TTL: an expired key is a new one (Lookup and SaveTx treat it
// as free), and the daily retention deletes them with PruneTx.
package idempotency

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/fielderr"
)

const (
	// TTL is how long a key and its response are kept (API.md: 24 hours).
	TTL = 24 * time.Hour
	// MaxKeyLen is the longest key accepted, in characters.
	MaxKeyLen = 255
)

// Errors callers tell apart.
var (
	// ErrKeyReused: the key was already used with another request body
	// (422 idempotency_key_reused).
	ErrKeyReused = errors.New("idempotency: key reused with another request")
	// ErrInProgress: another request holds the key without an answer yet
	// (409); the client should retry later. SaveTx returns it when another
	// transaction renewed the expired key it was taking over; Lookup and
	// SaveTx, for a row still 'in_progress' within its lease (see look).
	ErrInProgress = errors.New("idempotency: request with this key in progress")
	// ErrTaken: the claim ClaimTx appended for a key Lookup had found
	// unused failed, another request having claimed the key since. The
	// transaction's error wraps it; the effect is rolled back, and Settle
	// tells what to answer.
	ErrTaken = errors.New("idempotency: key claimed by another request meanwhile")
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

func (e *ValidationError) Error() string { return fielderr.Message("idempotency", e.Fields) }

// Outcome is what Lookup or SaveTx found under a key.
type Outcome struct {
	// Replay is true when the request was already answered: send Status and
	// Body as they are and do nothing else (after SaveTx, roll back the
	// effect). When false, the key is free (Lookup) or now holds this
	// request's answer (SaveTx, once its transaction commits).
	Replay bool
	Status int
	Body   []byte
	// unused: Lookup found no row under the key, not even an expired
	// one (ClaimTx may then append its claim, see there).
	unused bool
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

// PruneTx deletes the keys expired at now and returns how many. The daily
// retention runs it (internal/privacy): Lookup already ignores expired
// keys, so pruning late only costs space, but a key keeps the answer it
// replays (an order, its lines) and has no business outliving its TTL.
// No index serves it (migration 0060): it reads the table, a day or two of
// keys of which it deletes about half, rather than every keyed request
// writing an expiry index for this one daily statement.
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
// ErrInProgress for a row still 'in_progress' within its lease (see look),
// or a zero Outcome when the key is free (never used, or expired). It is
// the cheap first look before the effect and its SaveTx.
func (s *Store) Lookup(ctx context.Context, scope, key, requestHash string) (Outcome, error) {
	if err := checkKey(key); err != nil {
		return Outcome{}, err
	}
	return s.look(ctx, s.db.Read, scope, key, requestHash)
}

// look reads the key in q (the read pool, or SaveTx's transaction). Besides
// 'done' rows it still understands 'in_progress' ones, which the schema
// allows and versions before SaveTx wrote (a key claimed in a commit of its
// own, answered later): such a row is waited for until lease_until, then
// taken to be abandoned and free, so that a database upgraded with some in
// it does not hold their keys for a whole TTL. Nothing writes them now.
func (s *Store) look(ctx context.Context, q db.Querier, scope, key, requestHash string) (Outcome, error) {
	now := s.clock.Now()
	// One value for the row, so that Scan's destinations are one
	// allocation rather than six (every keyed request looks).
	var row struct {
		hash, status          string
		respStatus            sql.NullInt64
		respBody              sql.NullString
		leaseUntil, expiresAt time.Time
	}
	err := q.QueryRowContext(ctx, `SELECT request_hash, status, response_status, response_body, lease_until, expires_at
		FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key).
		Scan(&row.hash, &row.status, &row.respStatus, &row.respBody, &row.leaseUntil, &row.expiresAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Outcome{unused: true}, nil
	case err != nil:
		return Outcome{}, fmt.Errorf("idempotency: look up: %w", err)
	case !row.expiresAt.After(now):
		return Outcome{}, nil // expired: a new key
	case row.hash != requestHash:
		return Outcome{}, ErrKeyReused
	case row.status == "done":
		return Outcome{Replay: true, Status: int(row.respStatus.Int64), Body: []byte(row.respBody.String)}, nil
	case row.leaseUntil.After(now):
		return Outcome{}, ErrInProgress
	}
	return Outcome{}, nil
}

// insertKey claims a key with its answer (SaveTx, ClaimTx): $1 scope, $2
// key, $3 request hash, $4 and $5 the answer's status and body, $6 now, $7
// the expiry.
const insertKey = `INSERT INTO idempotency_keys
	(scope, key, request_hash, status, response_status, response_body, created_at, lease_until, expires_at)
	VALUES ($1, $2, $3, 'done', $4, $5, $6, $6, $7)`

// checkSave refuses what SaveTx and ClaimTx cannot store: a key checkKey
// refuses, an answer that is not UTF-8 text (a TEXT column).
func checkSave(key string, body []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if !utf8.Valid(body) || strings.ContainsRune(string(body), 0) {
		return errors.New("idempotency: response body must be UTF-8 text")
	}
	return nil
}

// SaveTx claims key and stores the answer (status, body) in one statement,
// in the transaction of the request's effect, so a keyed request costs no
// commit of its own (on SQLite, no flush outside the shared group commit).
// It returns a zero Outcome when the key is now this request's: new, or
// expired and taken over. If another request under the key committed
// first, it returns that answer (Replay true) or ErrKeyReused, and the
// caller must roll back its effect; likewise for ErrInProgress (an old
// 'in_progress' row within its lease). A concurrent transaction that takes
// an expired key over first makes this one return its answer once it has
// committed, as for a new key. On PostgreSQL a concurrent
// duplicate's INSERT waits for the first transaction, then sees its row.
func (s *Store) SaveTx(ctx context.Context, tx *sql.Tx, scope, key, requestHash string, status int, body []byte) (Outcome, error) {
	if err := checkSave(key, body); err != nil {
		return Outcome{}, err
	}
	now := s.clock.Now()
	// Twice at most: a takeover lost to a concurrent transaction's
	// (below) looks again, and then finds that one's committed answer.
	for round := 0; ; round++ {
		res, err := tx.ExecContext(ctx, insertKey+` ON CONFLICT (scope, key) DO NOTHING`,
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
		// Expired (or an old 'in_progress' row past its lease, see look):
		// take it over, on the same conditions re-checked in the
		// statement, so that of several transactions doing so only one
		// succeeds.
		res, err = tx.ExecContext(ctx, `UPDATE idempotency_keys
			SET request_hash = $3, status = 'done', response_status = $4, response_body = $5, created_at = $6, lease_until = $6, expires_at = $7
			WHERE scope = $1 AND key = $2 AND (expires_at <= $6 OR (status = 'in_progress' AND lease_until <= $6))`,
			scope, key, requestHash, status, string(body), now, now.Add(TTL))
		if err != nil {
			return Outcome{}, fmt.Errorf("idempotency: save: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return Outcome{}, nil
		}
		// Another transaction took the key over first (PostgreSQL: it
		// held the row, and our UPDATE waited for its commit, then found
		// the key renewed). Its answer is committed, so the next look (a
		// new statement) sees it: the replay, or the key reused with
		// another request. Before, this was ErrInProgress, a 409 "in
		// progress" for a request whose answer was already there.
		if round == 1 {
			return Outcome{}, ErrInProgress
		}
	}
}

// ClaimTx is SaveTx for a request whose Lookup found looked, a free key:
// when Lookup found no row under it at all (never used, or pruned) and the
// database is PostgreSQL, the claim is a plain INSERT appended to tx
// (db.AppendWrapped) rather than a round trip of its own before the rest
// of the transaction's rows: it goes in their pipeline, before the commit.
// Its outcome then cannot decide what the transaction does next; instead
// the INSERT fails should the key have been claimed since (a concurrent
// duplicate, which it waits for as SaveTx's does), and with it the
// transaction, its error wrapping ErrTaken: the effect rolls back, and
// Settle gives the answer SaveTx would have. Otherwise (an expired key to
// take over, SQLite, where a statement costs no round trip) it is SaveTx.
func (s *Store) ClaimTx(ctx context.Context, tx *sql.Tx, looked Outcome, scope, key, requestHash string, status int, body []byte) (Outcome, error) {
	if !looked.unused || s.db.Engine != db.Postgres {
		return s.SaveTx(ctx, tx, scope, key, requestHash, status, body)
	}
	if err := checkSave(key, body); err != nil {
		return Outcome{}, err
	}
	now := s.clock.Now()
	return Outcome{}, db.AppendWrapped(ctx, tx, wrapClaim, insertKey,
		scope, key, requestHash, status, string(body), now, now.Add(TTL))
}

// wrapClaim is what ClaimTx's appended INSERT's error means.
func wrapClaim(err error) error {
	if db.IsUniqueViolation(err) {
		return fmt.Errorf("%w: %w", ErrTaken, err)
	}
	return fmt.Errorf("idempotency: save: %w", err)
}

// Settle is the answer to a request whose transaction failed with
// ErrTaken, once rolled back: what SaveTx would have returned, the
// answer of the request that claimed the key (Replay) or ErrKeyReused for
// another body; ErrInProgress if the key is free again (forgotten since),
// for the client to try again.
func (s *Store) Settle(ctx context.Context, scope, key, requestHash string) (Outcome, error) {
	out, err := s.look(ctx, s.db.Read, scope, key, requestHash)
	if err == nil && !out.Replay {
		return Outcome{}, ErrInProgress
	}
	return out, err
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
