package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/clock"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/ratelimit"
)

func TestLockedFor(t *testing.T) {
	t.Parallel()
	tiers := account.SigninLockoutTiers
	w := func(failures int, left time.Duration) account.WindowCount {
		return account.WindowCount{Failures: failures, Left: left}
	}
	for _, tt := range []struct {
		name   string
		counts []account.WindowCount
		want   time.Duration
	}{
		{"no failures", []account.WindowCount{w(0, 5*time.Minute), w(0, time.Hour), w(0, 24*time.Hour)}, 0},
		{"one short of the first tier", []account.WindowCount{w(4, 3*time.Minute), w(4, 50*time.Minute), w(4, 20*time.Hour)}, 0},
		{"first tier full: the rest of its 5 minutes", []account.WindowCount{w(5, 3*time.Minute), w(5, 50*time.Minute), w(5, 20*time.Hour)}, 3 * time.Minute},
		{"past the first tier still locks", []account.WindowCount{w(8, time.Second), w(8, 50*time.Minute), w(8, 20*time.Hour)}, time.Second},
		{"hour tier full in a fresh 5-minute window", []account.WindowCount{w(0, 5*time.Minute), w(10, 40*time.Minute), w(10, 20*time.Hour)}, 40 * time.Minute},
		{"two tiers full: the longer wait", []account.WindowCount{w(10, 2*time.Minute), w(10, 40*time.Minute), w(10, 20*time.Hour)}, 40 * time.Minute},
		{"a shorter window can end later than a full longer one", []account.WindowCount{w(5, 4*time.Minute), w(10, time.Minute), w(10, 20*time.Hour)}, 4 * time.Minute},
		{"day tier full", []account.WindowCount{w(0, 5*time.Minute), w(0, time.Hour), w(30, 13*time.Hour)}, 13 * time.Hour},
		{"one short of the day tier", []account.WindowCount{w(0, 5*time.Minute), w(9, time.Hour), w(29, 13*time.Hour)}, 0},
		{"missing counts lock nothing", nil, 0},
	} {
		if got := account.LockedFor(tiers, tt.counts); got != tt.want {
			t.Errorf("%s: LockedFor = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// The lock-out over a real limiter, driven by the clock: it locks at the
// fifth failure, opens when the 5-minute window ends, locks for the rest
// of the hour at the tenth, and counts any spelling of an address as one
// account while leaving others alone.
func TestSigninLockout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := clock.NewManual(t0) // 10:00, on every tier's window boundary
	l := account.NewSigninLockout(ratelimit.New(dbtest.Open(t), c))
	locked := func(email string, want time.Duration) {
		t.Helper()
		got, err := l.LockedFor(ctx, email)
		if err != nil || got != want {
			t.Fatalf("LockedFor(%q) at %s = %s, %v; want %s", email, c.Now().Format(time.TimeOnly), got, err, want)
		}
	}
	fail := func(email string, n int) {
		t.Helper()
		for range n {
			if err := l.Failed(ctx, email); err != nil {
				t.Fatal(err)
			}
		}
	}
	fail("ana@example.fr", 4)
	c.Advance(time.Minute)
	locked("ana@example.fr", 0)
	fail(" ANA@Example.fr", 1)
	locked("ana@example.fr", 4*time.Minute)
	locked("Ana@example.FR ", 4*time.Minute)
	locked("bob@example.fr", 0)
	locked("  ", 0)
	c.Advance(4*time.Minute - time.Second)
	locked("ana@example.fr", time.Second)
	c.Advance(time.Second) // 10:05: the 5-minute window is over
	locked("ana@example.fr", 0)

	fail("ana@example.fr", 5)  // ten in the hour
	c.Advance(5 * time.Minute) // 10:10: a fresh 5-minute window
	locked("ana@example.fr", 50*time.Minute)
	c.Set(t0.Add(time.Hour))
	locked("ana@example.fr", 0)

	// Failures on an empty address are not counted anywhere.
	if err := l.Failed(ctx, ""); err != nil {
		t.Fatal(err)
	}
}

// The day tier: thirty failures spread over hours lock the rest of the day.
func TestSigninLockoutDay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := clock.NewManual(t0)
	l := account.NewSigninLockout(ratelimit.New(dbtest.Open(t), c))
	for i := range 30 {
		// Four an hour stays under the 5-minute and hour tiers.
		if i > 0 && i%4 == 0 {
			c.Advance(time.Hour)
		}
		if got, err := l.LockedFor(ctx, "ana@example.fr"); err != nil || got != 0 {
			t.Fatalf("before failure %d: locked for %s, %v", i+1, got, err)
		}
		if err := l.Failed(ctx, "ana@example.fr"); err != nil {
			t.Fatal(err)
		}
	}
	// 30 failures by 17:00; the day ends at midnight UTC.
	c.Advance(time.Hour)
	want := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC).Sub(c.Now())
	if got, err := l.LockedFor(ctx, "ana@example.fr"); err != nil || got != want {
		t.Fatalf("after 30 failures in the day: locked for %s, %v; want %s", got, err, want)
	}
	c.Set(time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC))
	if got, err := l.LockedFor(ctx, "ana@example.fr"); err != nil || got != 0 {
		t.Fatalf("the next day: locked for %s, %v", got, err)
	}
}

// brokenCounter fails every call, as a database that went away would.
type brokenCounter struct{ allows int }

var errCounter = errors.New("database gone")

func (b *brokenCounter) Allow(context.Context, string, int, time.Duration) (bool, time.Duration, error) {
	b.allows++
	return false, 0, errCounter
}

func (b *brokenCounter) Hits(context.Context, string, time.Duration) (int, time.Duration, error) {
	return 0, 0, errCounter
}

// A counter that fails is an error, never a silent "not locked"; a failure
// is still tried in every tier.
func TestSigninLockoutCounterErrors(t *testing.T) {
	t.Parallel()
	b := &brokenCounter{}
	l := account.NewSigninLockout(b)
	if _, err := l.LockedFor(context.Background(), "ana@example.fr"); !errors.Is(err, errCounter) {
		t.Fatalf("LockedFor with a broken counter: %v", err)
	}
	if err := l.Failed(context.Background(), "ana@example.fr"); !errors.Is(err, errCounter) {
		t.Fatalf("Failed with a broken counter: %v", err)
	}
	if b.allows != len(account.SigninLockoutTiers) {
		t.Fatalf("Failed tried %d tiers, want all %d", b.allows, len(account.SigninLockoutTiers))
	}
}
