// Package ratelimit counts attempts (sign-ins, sign-ups, contact forms) in
// fixed windows kept in the database, so that every node serving the store
// sees the same count: a limit held in one node's memory would be multiplied
// by the number of nodes behind the load balancer.
//
// A fixed window lets up to twice the limit through around a window boundary;
// that is acceptable for slowing down guessing and spam, and it costs a single
// statement per attempt, with no read-modify-write race.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"comptoir/internal/clock"
	"comptoir/internal/db"
)

// Limiter counts hits per bucket and window.
type Limiter struct {
	db    *db.DB
	clock clock.Clock
}

// New returns a Limiter over the rate_limits table.
func New(d *db.DB, c clock.Clock) *Limiter {
	return &Limiter{db: d, clock: c}
}

// maxBucketLen keeps a bucket built from user input (an email, a header) from
// bloating the table: a longer bucket is stored as its hash (see key).
const maxBucketLen = 200

// key is how bucket is stored. Buckets are often built from what a client
// sent (an email typed in a form), so anything long, not valid UTF-8 or
// holding a NUL (which PostgreSQL refuses in text) is replaced by its
// SHA-256 rather than refused: a crafted value must be limited like any
// other, not turned into a server error.
func key(bucket string) string {
	if len(bucket) <= maxBucketLen && db.ValidText(bucket) {
		return bucket
	}
	sum := sha256.Sum256([]byte(bucket))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Allow records one hit in bucket and reports whether it is within limit hits
// per window. When it is not, retryAfter is how long until the window ends.
// Denied hits are counted too: someone who keeps hammering stays denied until
// the window ends, and the count tells how hard they tried.
//
// Windows are aligned on multiples of window since the zero time, so all
// nodes agree on them without coordination.
func (l *Limiter) Allow(ctx context.Context, bucket string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error) {
	if bucket == "" {
		return false, 0, errors.New("ratelimit: empty bucket")
	}
	if limit <= 0 || window <= 0 || window > MaxWindow {
		return false, 0, fmt.Errorf("ratelimit: limit must be positive, window between 0 and %s", MaxWindow)
	}
	now := l.clock.Now()
	start := now.Truncate(window)
	// One statement both creates and bumps the counter, so that concurrent
	// hits on any number of nodes are each counted exactly once. On SQLite
	// it shares the group commit: alone on the write connection, it would
	// take a disk flush of its own that every checkout waits behind.
	var hits int
	err = l.db.ExecRow(ctx, `INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1)
		ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1
		RETURNING hits`, []any{key(bucket), start}, &hits)
	if err != nil {
		return false, 0, fmt.Errorf("ratelimit: %w", err)
	}
	if hits <= limit {
		return true, 0, nil
	}
	return false, start.Add(window).Sub(now), nil
}

// Hits reports, without counting a hit, how many hits bucket holds in the
// current window, and how long until that window ends. With Allow called
// only on failures (a wrong password), it makes a lock-out: failures are
// counted, and the caller refuses attempts once there were too many,
// whatever the attempt would have been (see account.SigninLockout).
func (l *Limiter) Hits(ctx context.Context, bucket string, window time.Duration) (hits int, left time.Duration, err error) {
	if bucket == "" || window <= 0 {
		return 0, 0, errors.New("ratelimit: bucket and window are required")
	}
	now := l.clock.Now()
	start := now.Truncate(window)
	err = l.db.Read.QueryRowContext(ctx, `SELECT COALESCE(MAX(hits), 0) FROM rate_limits WHERE bucket = $1 AND window_start = $2`,
		key(bucket), start).Scan(&hits)
	if err != nil {
		return 0, 0, fmt.Errorf("ratelimit: %w", err)
	}
	return hits, start.Add(window).Sub(now), nil
}

// ForgetTx deletes the windows of buckets, stored as Allow stores them (a
// long bucket as its hash): an erased customer's addresses and email.
func ForgetTx(ctx context.Context, tx *sql.Tx, buckets ...string) error {
	for _, b := range buckets {
		if _, err := tx.ExecContext(ctx, `DELETE FROM rate_limits WHERE bucket = $1`, key(b)); err != nil {
			return fmt.Errorf("ratelimit: forget: %w", err)
		}
	}
	return nil
}

// MaxWindow is the longest window a limit may count in. The daily
// retention (internal/privacy) deletes the windows that started before it
// (PruneTx): they have all ended, and their buckets name clients (an
// address, an email).
const MaxWindow = 24 * time.Hour

// PruneTx deletes the windows that started before before and returns how
// many. A window still running when pruned would simply start over.
func PruneTx(ctx context.Context, tx *sql.Tx, before time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM rate_limits WHERE window_start < $1`, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("ratelimit: prune: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: prune: %w", err)
	}
	return n, nil
}
