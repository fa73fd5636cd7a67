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
