package ratelimit_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"comptoir/internal/clock"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/ratelimit"
)

// start is on a minute boundary so that window arithmetic is easy to read.
var start = time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)

// hit is one call to Allow, after moving the clock by advance.
type hit struct {
	advance    time.Duration
	bucket     string
	ok         bool
	retryAfter time.Duration
}

func TestAllow(t *testing.T) {
	t.Parallel()
	const limit, window = 3, time.Minute
	tests := []struct {
		name string
		hits []hit
	}{
		{"limit reached exactly at N", []hit{
			{0, "a", true, 0},
			{time.Second, "a", true, 0},
			{time.Second, "a", true, 0},
			{time.Second, "a", false, 57 * time.Second},
			{10 * time.Second, "a", false, 47 * time.Second},
		}},
		{"next window resets", []hit{
			{0, "a", true, 0},
			{0, "a", true, 0},
			{0, "a", true, 0},
			{59 * time.Second, "a", false, time.Second},
			{time.Second, "a", true, 0},
			{0, "a", true, 0},
			{0, "a", true, 0},
			{0, "a", false, window},
		}},
		{"buckets are independent", []hit{
			{0, "login:1.2.3.4", true, 0},
			{0, "login:1.2.3.4", true, 0},
			{0, "login:1.2.3.4", true, 0},
			{0, "login:1.2.3.4", false, window},
			{0, "login:5.6.7.8", true, 0},
			{0, "signup:1.2.3.4", true, 0},
		}},
		{"windows are aligned, not started by the first hit", []hit{
			{50 * time.Second, "a", true, 0},
			{0, "a", true, 0},
			{0, "a", true, 0},
			{0, "a", false, 10 * time.Second},
			{10 * time.Second, "a", true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c := clock.NewManual(start)
			l := ratelimit.New(dbtest.Open(t), c)
			for i, h := range tt.hits {
				c.Advance(h.advance)
				ok, retry, err := l.Allow(ctx, h.bucket, limit, window)
				if err != nil {
					t.Fatalf("hit %d: %v", i, err)
				}
				if ok != h.ok || retry != h.retryAfter {
					t.Fatalf("hit %d (%s at %s) = %v, %v; want %v, %v", i, h.bucket, c.Now().Format(time.TimeOnly), ok, retry, h.ok, h.retryAfter)
				}
			}
		})
	}
}

func TestAllowRefusesBadArguments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := ratelimit.New(dbtest.Open(t), clock.NewManual(start))
	for _, tt := range []struct {
		bucket string
		limit  int
		window time.Duration
	}{
		{"", 1, time.Minute},
		{"a", 0, time.Minute},
		{"a", 1, 0},
		{"a", 1, -time.Second},
		{"a", 1, ratelimit.MaxWindow + time.Second}, // would outlive the daily prune
	} {
		if _, _, err := l.Allow(ctx, tt.bucket, tt.limit, tt.window); err == nil {
			t.Errorf("Allow(%d-byte bucket, %d, %s) accepted", len(tt.bucket), tt.limit, tt.window)
		}
	}
}

// Buckets made of whatever a client sent are limited like any other, not
// refused: long ones, invalid UTF-8, NUL bytes.
func TestAllowOddBuckets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := ratelimit.New(dbtest.Open(t), clock.NewManual(start))
	long := strings.Repeat("x", 10_000)
	for _, bucket := range []string{long, long + "y", "login:\xff\xfe", "login:a\x00b", "login:\u00e9@x.fr"} {
		for i, want := range []bool{true, false} {
			ok, _, err := l.Allow(ctx, bucket, 1, time.Minute)
			if err != nil || ok != want {
				t.Fatalf("hit %d on %.20q: %v, %v; want %v", i, bucket, ok, err, want)
			}
		}
	}
}

// Several nodes (here goroutines on separate connections, on PostgreSQL)
// hitting one bucket at once must let exactly limit through.
func TestAllowConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := ratelimit.New(dbtest.Open(t), clock.NewManual(start))
	var allowed atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			ok, _, err := l.Allow(ctx, "signup:9.9.9.9", 10, time.Hour)
			if err != nil {
				errs <- err
				return
			}
			if ok {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := allowed.Load(); n != 10 {
		t.Fatalf("%d of 50 concurrent hits allowed, want exactly 10", n)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.Open(t)
	c := clock.NewManual(start)
	l := ratelimit.New(d, c)
	for range 2 {
		if _, _, err := l.Allow(ctx, "a", 1, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(time.Hour)
	if _, _, err := l.Allow(ctx, "b", 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	var pruned int64
	if err := d.Tx(ctx, func(tx *sql.Tx) (err error) {
		pruned, err = ratelimit.PruneTx(ctx, tx, c.Now().Add(-time.Minute))
		return err
	}); err != nil || pruned != 1 {
		t.Fatalf("PruneTx = %d, %v; want the ended window", pruned, err)
	}
	var rows int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM rate_limits`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Fatalf("%d windows left after prune, want 1 (the current one)", rows)
	}
	// The pruned bucket starts over.
	c.Set(start)
	if ok, _, err := l.Allow(ctx, "a", 1, time.Minute); err != nil || !ok {
		t.Fatalf("pruned bucket: %v, %v; want allowed", ok, err)
	}
}

// Hits reads a window without counting in it: what Allow counted, the time
// left in the window, and zero again once the next window starts.
func TestHits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := clock.NewManual(start)
	l := ratelimit.New(dbtest.Open(t), c)
	check := func(wantHits int, wantLeft time.Duration) {
		t.Helper()
		hits, left, err := l.Hits(ctx, "a", time.Minute)
		if err != nil || hits != wantHits || left != wantLeft {
			t.Fatalf("Hits at %s = %d, %s, %v; want %d, %s", c.Now().Format(time.TimeOnly), hits, left, err, wantHits, wantLeft)
		}
	}
	check(0, time.Minute)
	for range 3 {
		if _, _, err := l.Allow(ctx, "a", 2, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(20 * time.Second)
	check(3, 40*time.Second)
	check(3, 40*time.Second) // reading does not count
	c.Advance(40 * time.Second)
	check(0, time.Minute)
	if _, _, err := l.Hits(ctx, "", time.Minute); err == nil {
		t.Fatal("Hits accepted an empty bucket")
	}
	if _, _, err := l.Hits(ctx, "a", 0); err == nil {
		t.Fatal("Hits accepted a zero window")
	}
}

// ForgetTx deletes a bucket's windows however Allow stored it, a long
// bucket as its hash included, and only those.
func TestForget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.Open(t)
	c := clock.NewManual(start)
	l := ratelimit.New(d, c)
	long := "reset-email:" + strings.Repeat("x", 300) + "@example.net"
	for _, b := range []string{"contact:203.0.113.7", long, "contact:198.51.100.1"} {
		if _, _, err := l.Allow(ctx, b, 5, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		return ratelimit.ForgetTx(ctx, tx, "contact:203.0.113.7", long)
	}); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM rate_limits`).Scan(&left); err != nil || left != 1 {
		t.Fatalf("%d windows left (%v), want the other client's only", left, err)
	}
	if hits, _, err := l.Hits(ctx, "contact:198.51.100.1", time.Hour); err != nil || hits != 1 {
		t.Fatalf("the other client's window: %d hits, %v", hits, err)
	}
}
