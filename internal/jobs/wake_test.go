package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"comptoir/internal/jobs"
	"comptoir/internal/testlog"
	"comptoir/internal/testwait"
)

// A waker's loop makes a pass at once, another for each wake-up (with an
// hour between sweeps, nothing else could run it), and stops with its
// context; many wake-ups while a pass runs make one more pass, not many.
func TestWakerPassesWhenWoken(t *testing.T) {
	w := jobs.NewWaker()
	var passes atomic.Int64
	release := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Loop(ctx, time.Hour, nil, "test", func(context.Context) error {
			if passes.Add(1) == 2 {
				<-release // the second pass waits while wake-ups pile up
			}
			return nil
		})
	}()
	testwait.Until(t, "the first pass", func() bool { return passes.Load() == 1 })
	w.Wake()
	testwait.Until(t, "a pass after the wake-up", func() bool { return passes.Load() == 2 })
	for range 10 {
		w.Wake()
	}
	close(release)
	testwait.Until(t, "one pass for the ten wake-ups", func() bool { return passes.Load() == 3 })
	cancel()
	<-done
	if n := passes.Load(); n != 3 {
		t.Fatalf("%d passes, want 3", n)
	}
}

// A pass that waits without end (a lock another session holds) gives up
// at its budget, is logged as failed, and the next wake-up runs a pass
// again. It had no deadline: the loop stayed in that pass for good.
func TestWakerPassGivesUpAtItsBudget(t *testing.T) {
	jobs.SetPassBudget(t, 50*time.Millisecond)
	w := jobs.NewWaker()
	var passes atomic.Int64
	ended := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var logs testlog.Buffer
	go func() {
		defer close(done)
		w.Loop(ctx, time.Hour, slog.New(slog.NewTextHandler(&logs, nil)), "test", func(pctx context.Context) error {
			if passes.Add(1) == 1 {
				<-pctx.Done() // a lock nobody gives back
				ended <- pctx.Err()
				return pctx.Err()
			}
			return nil
		})
	}()
	select {
	case err := <-ended:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the stuck pass ended with %v, want its deadline", err)
		}
	case <-time.After(testwait.Default):
		t.Fatal("the stuck pass never gave up")
	}
	w.Wake()
	testwait.Until(t, "a pass after the stuck one", func() bool { return passes.Load() == 2 })
	cancel()
	<-done
	if !strings.Contains(logs.String(), "test failed; retrying at the next sweep") {
		t.Errorf("the stuck pass is not logged:\n%s", logs.String())
	}
}

// Drain runs until a run comes back short or fails, and adds up what the
// runs handled.
func TestDrain(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		runs      []int // what each run handles; the last may fail
		failLast  bool
		wantTotal int
		wantRuns  int
	}{
		{"nothing waiting", []int{0}, false, 0, 1},
		{"less than a batch", []int{3}, false, 3, 1},
		{"full batches then a short one", []int{5, 5, 2}, false, 12, 3},
		{"full batches then nothing", []int{5, 5, 0}, false, 10, 3},
		{"a failure stops it", []int{5, 5, 5}, true, 15, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := 0
			total, err := jobs.Drain(context.Background(), 5, func(context.Context) (int, error) {
				n := tc.runs[i]
				i++
				if tc.failLast && i == len(tc.runs) {
					return n, boom
				}
				return n, nil
			})
			if total != tc.wantTotal || i != tc.wantRuns || errors.Is(err, boom) != tc.failLast {
				t.Fatalf("Drain = %d, %v after %d runs; want %d after %d", total, err, i, tc.wantTotal, tc.wantRuns)
			}
		})
	}
}
