// Package gencache keeps, on each node, a value derived from tables that
// change rarely, and notices their changes through a generation number.
//
// A row of cache_generations holds a number that goes up in the same
// transaction as every change to what the value is derived from (triggers
// keep it up, see the migration). A node stores the value with the number it
// was built under; once the value is RefreshEvery old, the next Get reads
// that one row and builds the value again only when the number moved. So a
// change reaches every node within about a second, at the cost of one
// primary-key read per second per node, and no node talks to another. The
// node that made the change calls Changed after its commit and sees the
// change at once.
//
// internal/policystore follows the same scheme with its own row.
package gencache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"comptoir/internal/clock"
	"comptoir/internal/db"
)

// RefreshEvery is how stale Get may be on a node that did not make the
// change.
const RefreshEvery = time.Second

// Cache holds a value of type T for the generation it was built under. It
// is safe for concurrent use; make one per process and share it.
type Cache[T any] struct {
	db    *db.DB
	clock clock.Clock
	name  string
	build func(generation int64) T

	// cur is the value as this node last checked it. Readers load it
	// without a lock.
	cur atomic.Pointer[snapshot[T]]
	// mu serializes refreshes, so that a burst of requests once the second
	// has passed makes one query, and so that a refresh that read the
	// number before a local change cannot store its snapshot after Changed.
	mu sync.Mutex
}

type snapshot[T any] struct {
	value      T
	generation int64
	checked    time.Time
}

// New returns a cache of the value named name in cache_generations. build
// makes the value for a generation; it runs under the cache's lock and
// should be cheap (typically an empty index that callers fill on demand: a
// query that starts after the generation was read sees data at least that
// recent).
func New[T any](d *db.DB, c clock.Clock, name string, build func(generation int64) T) *Cache[T] {
	return &Cache[T]{db: d, clock: c, name: name, build: build}
}

// Get returns the value for the generation in force, as checked at most
// RefreshEvery ago.
func (c *Cache[T]) Get(ctx context.Context) (T, error) {
	if snap := c.cur.Load(); snap != nil && fresh(snap.checked, c.clock.Now()) {
		return snap.value, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	snap := c.cur.Load()
	if snap != nil && fresh(snap.checked, now) {
		return snap.value, nil // another caller refreshed while we waited
	}
	var generation int64
	if err := c.db.Read.QueryRowContext(ctx, `SELECT generation FROM cache_generations WHERE name = $1`, c.name).
		Scan(&generation); err != nil {
		var zero T
		return zero, fmt.Errorf("gencache: read the generation of %s: %w", c.name, err)
	}
	var value T
	if snap != nil && snap.generation == generation {
		value = snap.value // nothing changed: keep what was filled in
	} else {
		value = c.build(generation)
	}
	c.cur.Store(&snapshot[T]{value: value, generation: generation, checked: now})
	return value, nil
}

// Peek returns the value when it was checked less than RefreshEvery ago,
// and reads nothing. It is for callers inside a transaction: they must not
// wait for another connection (on PostgreSQL, transactions holding the
// whole pool would wait for one another), so when Peek says no they read
// in their own transaction instead.
func (c *Cache[T]) Peek() (T, bool) {
	if snap := c.cur.Load(); snap != nil && fresh(snap.checked, c.clock.Now()) {
		return snap.value, true
	}
	var zero T
	return zero, false
}

// Changed makes the next Get read the generation again. Call it after
// committing a change on this node, so that its next reads see the change.
func (c *Cache[T]) Changed() {
	c.mu.Lock()
	c.cur.Store(nil)
	c.mu.Unlock()
}

// fresh tells whether a snapshot checked at checked may still be used at
// now. A clock that went backwards (a test or demo clock set back) makes it
// stale rather than fresh for ever.
func fresh(checked, now time.Time) bool {
	return !now.Before(checked) && now.Sub(checked) < RefreshEvery
}
