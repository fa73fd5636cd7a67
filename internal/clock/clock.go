// Package clock is the only place in comptoir that reads the wall clock.
//
// Every piece of code that needs the current time takes a Clock instead of
// calling time.Now, so that deadlines, refund windows and SLA timers can be
// tested (and demonstrated) at any instant we choose, and so that every
// timestamp the program produces has the same shape:
//
//   - always UTC: we store UTC and convert to the store's or the customer's
//     time zone only when rendering, so no value ever carries a local zone
//     into the database or into a comparison;
//   - truncated to the microsecond: PostgreSQL keeps microseconds, so a time
//     written and read back must be equal to the one we hold, otherwise an
//     idempotent retry or an optimistic "WHERE updated_at = $1" check would
//     see a difference that is only rounding.
//
// Truncate also drops the monotonic clock reading, so values from a Clock
// compare the same way as values read back from a database. Compare times
// with Equal, Before and After; == also compares the *time.Location pointer.
package clock

import (
	"sync"
	"time"
)

// Clock tells the current time. Implementations return UTC truncated to the
// microsecond (see the package comment for why).
type Clock interface {
	Now() time.Time
}

// Precision is the resolution of every time a Clock returns: the one
// PostgreSQL stores.
const Precision = time.Microsecond

// normalize gives t the shape every Clock promises: UTC, whole microseconds,
// no monotonic reading. Truncate (not Round) so a time never lands in the
// future of the instant it was read at.
func normalize(t time.Time) time.Time {
	return t.UTC().Truncate(Precision)
}

// system reads the real clock.
type system struct{}

func (system) Now() time.Time { return normalize(time.Now()) }

// System returns the real clock: time.Now in UTC, truncated to microseconds.
// It is what production wires in; nothing else should call time.Now.
func System() Clock { return system{} }

// Manual is a clock that only moves when told to, for tests and the demo
// (which can fast-forward a store through refund windows and SLA deadlines).
// It is safe for concurrent use: the demo's HTTP handlers and background
// jobs may read it while an operator advances it.
//
// Manual keeps the full-precision instant internally and normalizes only
// on the way out, so that advancing several times by less than a
// microsecond still adds up instead of being lost to truncation each time.
type Manual struct {
	mu sync.Mutex
	t  time.Time
}

// Compile-time check that *Manual is a Clock.
var _ Clock = (*Manual)(nil)

// NewManual returns a Manual clock set to t.
func NewManual(t time.Time) *Manual {
	return &Manual{t: t.UTC()}
}

// Now returns the clock's current time, in UTC, truncated to microseconds.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return normalize(m.t)
}

// Set moves the clock to t, backwards or forwards.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.t = t.UTC()
}

// Advance moves the clock forward by d (backwards when d is negative, which
// tests of clock skew may want) and returns the new time as Now would.
func (m *Manual) Advance(d time.Duration) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.t = m.t.Add(d)
	return normalize(m.t)
}
