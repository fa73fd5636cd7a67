package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
}

// NewSigninLockout counts failures in c.
func NewSigninLockout(c FailureCounter) *SigninLockout {
	return &SigninLockout{counter: c, tiers: SigninLockoutTiers}
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
