package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// LockoutTier is one rung of the sign-in lock-out: Failures failed sign-ins
// on an email within one Window lock that email until the window ends.
type LockoutTier struct {
	Failures int
	Window   time.Duration
}

// SigninLockoutTiers slow down guessing one account's password from many
// addresses, after the per-address limit: failed sign-ins are counted per
// email, and once a tier is full, every attempt on that email is refused
// until its window ends: 5 failures lock it for the rest of 5 minutes, 10
// for the hour, 30 for the day. The account's owner can still reset the
// password by email.
var SigninLockoutTiers = []LockoutTier{{5, 5 * time.Minute}, {10, time.Hour}, {30, 24 * time.Hour}}

// FailureCounter counts failures per bucket in fixed windows shared by every
// node; ratelimit.Limiter is one. It is an interface so that account keeps
// the rule and the limiter keeps the storage.
type FailureCounter interface {
	// Allow counts one hit in bucket's current window (its verdict
	// against limit is not used here).
	Allow(ctx context.Context, bucket string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)
	// Hits reads, without counting, the hits in bucket's current window
	// and the time left in it.
	Hits(ctx context.Context, bucket string, window time.Duration) (hits int, left time.Duration, err error)
}

// WindowCount is what one tier's current window holds.
type WindowCount struct {
	Failures int
	Left     time.Duration // until the window ends
}

// LockedFor is the tier decision: an email is locked while any tier's
// current window holds at least that tier's failures, until the last such
// window ends. counts[i] is tiers[i]'s window. Zero means not locked.
func LockedFor(tiers []LockoutTier, counts []WindowCount) time.Duration {
	var wait time.Duration
	for i, t := range tiers {
		if i < len(counts) && counts[i].Failures >= t.Failures && counts[i].Left > wait {
			wait = counts[i].Left
		}
	}
	return wait
}

// SigninLockout applies SigninLockoutTiers to sign-ins by email, on the
// form and the API alike.
type SigninLockout struct {
	counter FailureCounter
	tiers   []LockoutTier

	mu    sync.Mutex
	turns map[string]*signinTurn // by EmailKey, while someone holds or waits for it
}

// signinTurn lets one password check on an email run at a time.
type signinTurn struct {
	slot  chan struct{} // holds a token while the turn is taken
	users int           // holders and waiters, under SigninLockout.mu
}

// NewSigninLockout counts failures in c.
func NewSigninLockout(c FailureCounter) *SigninLockout {
	return &SigninLockout{counter: c, tiers: SigninLockoutTiers, turns: map[string]*signinTurn{}}
}

// Turn waits until no other password check on email is running in this
// process, and returns what ends this one's turn. Checking the lock-out,
// verifying the password and counting a failure happen within one turn:
// otherwise a burst of guesses sent together (from many addresses, past
// the per-address limit) all pass the check before the first failure is
// counted, and the lock-out lets through as many guesses as the burst
// holds. Across nodes each node takes its own turns, so a burst gets at
// most one guess per node past a full tier.
func (l *SigninLockout) Turn(ctx context.Context, email string) (end func(), err error) {
	key := EmailKey(email)
	l.mu.Lock()
	t := l.turns[key]
	if t == nil {
		t = &signinTurn{slot: make(chan struct{}, 1)}
		l.turns[key] = t
	}
	t.users++
	l.mu.Unlock()
	select {
	case t.slot <- struct{}{}:
		return func() { <-t.slot; l.leave(key, t) }, nil
	case <-ctx.Done():
		l.leave(key, t)
		return nil, ctx.Err()
	}
}

func (l *SigninLockout) leave(key string, t *signinTurn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.users--; t.users == 0 {
		delete(l.turns, key)
	}
}

// failureBucket is where failures on email are counted for a tier. The name is
// kept as it has always been, so that counts survive an upgrade; the email
// is folded as at sign-in (EmailKey), so any spelling of an address counts
// against the same account.
func failureBucket(email string, t LockoutTier) string {
	return "signin-fail:" + t.Window.String() + ":" + EmailKey(email)
}

// LockedFor reports how long sign-ins on email stay refused; zero when
// they are not. An empty email is never locked (it signs no one in).
func (l *SigninLockout) LockedFor(ctx context.Context, email string) (time.Duration, error) {
	if strings.TrimSpace(email) == "" {
		return 0, nil
	}
	counts := make([]WindowCount, len(l.tiers))
	for i, t := range l.tiers {
		hits, left, err := l.counter.Hits(ctx, failureBucket(email, t), t.Window)
		if err != nil {
			return 0, fmt.Errorf("account: sign-in lock-out: %w", err)
		}
		counts[i] = WindowCount{Failures: hits, Left: left}
	}
	return LockedFor(l.tiers, counts), nil
}

// Failed counts a wrong password against email in every tier. A tier that
// cannot be counted does not keep the others from being counted.
func (l *SigninLockout) Failed(ctx context.Context, email string) error {
	if strings.TrimSpace(email) == "" {
		return nil
	}
	var errs []error
	for _, t := range l.tiers {
		if _, _, err := l.counter.Allow(ctx, failureBucket(email, t), t.Failures, t.Window); err != nil {
			errs = append(errs, fmt.Errorf("account: count a failed sign-in: %w", err))
		}
	}
	return errors.Join(errs...)
}
