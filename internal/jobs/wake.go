package jobs

import (
	"context"
	"log/slog"
	"time"
)

// Waker runs a pass of background work in this process as soon as it is
// told work is waiting, and every sweep otherwise: the sweep finds what
// nobody woke it for (work left by a process that stopped, by another
// node, by a command). The mail dispatcher and the invoice numberer are
// such passes. The zero value is not usable: use NewWaker.
type Waker struct {
	c chan struct{}
}

// NewWaker returns a waker with no wake-up pending.
func NewWaker() *Waker { return &Waker{c: make(chan struct{}, 1)} }

// Wake asks for a pass. It never blocks: one pending wake-up covers any
// number of calls, so it is cheap enough for a commit hook.
func (w *Waker) Wake() {
	select {
	case w.c <- struct{}{}:
	default:
	}
}

// Loop runs pass at once, then after every Wake and every sweep, until ctx
// ends. A failed pass is logged (what says which work) and its work waits
// for the next one.
func (w *Waker) Loop(ctx context.Context, sweep time.Duration, log *slog.Logger, what string, pass func(context.Context) error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tick := time.NewTicker(sweep)
	defer tick.Stop()
	for {
		if err := pass(ctx); err != nil && ctx.Err() == nil {
			log.Warn(what+" failed; retrying at the next sweep", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-w.c:
		case <-tick.C:
		}
	}
}

// Drain runs once, which handles up to batch items in a transaction of its
// own, until a run handles fewer (nothing is left) or fails, and reports
// how many items the runs handled in all.
func Drain(ctx context.Context, batch int, once func(context.Context) (int, error)) (int, error) {
	total := 0
	for {
		n, err := once(ctx)
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}
