package jobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"comptoir/internal/jobs"
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
