package mail

import (
	"context"
	"time"
)

// MarkSent records the messages ids as sent at at, as a batch's marks
// are (pendingMarks), for a test of markSent itself.
func (w *Worker) MarkSent(ctx context.Context, ids []string, at time.Time) error {
	marks := make([]sentMark, len(ids))
	for i, id := range ids {
		marks[i] = sentMark{id: id, at: at.Add(time.Duration(i) * time.Second)}
	}
	return w.markSent(ctx, marks)
}

// EndLine is endLine, for its table test.
var EndLine = endLine

// GatherWith replaces the dispatcher's pause after a pass that dispatched
// messages (dispatchGather), for a test to hold it and let it go.
func (o *Outbox) GatherWith(f func(ctx context.Context)) { o.gather = f }
