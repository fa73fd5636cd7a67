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

// passBudget bounds one pass of a Loop. A pass has no deadline of its own
// (the process's context lives as long as it does): one waiting on a lock
// another session held without end (on PostgreSQL a row, or the invoice
// numberers' advisory lock, held by a transaction left open) stopped that
// work for good, every Wake and sweep meanwhile lost. Past it the pass
// gives up like a failed one, and the next sweep tries again. A minute is
// far above what a pass takes (its batches commit one by one, in
// milliseconds), and what a pass did before it gives up stays done. A
// variable for the tests.
var passBudget = time.Minute

// Loop runs pass at once, then after every Wake and every sweep, until ctx
// ends. A failed pass, or one still running after passBudget, is logged
// (what says which work) and its work waits for the next one.
func (w *Waker) Loop(ctx context.Context, sweep time.Duration, log *slog.Logger, what string, pass func(context.Context) error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tick := time.NewTicker(sweep)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, passBudget)
		err := pass(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
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
