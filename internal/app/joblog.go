package app

import (
	"context"
	"log/slog"
)

// jobLogger is the logger River, the job queue, writes to: its warnings and
// errors as they are, its notes at debug level. At the default level they
// filled the store's log with its own workings, every minute ("producer:
// Producer job counts", "maintenance.SQLiteNotificationCleaner: Ran
// successfully"), and told an operator of a PostgreSQL store at start-up
// that the "Driver does not support listener; entering poll only mode",
// which sounds like a fault and is the normal way jobs are found here.
// --log-level debug shows them.
func jobLogger(l *slog.Logger) *slog.Logger {
	return slog.New(quieter{l.Handler()})
}

// quieter writes a record below warning level at debug level.
type quieter struct{ slog.Handler }

func quieted(l slog.Level) slog.Level {
	if l < slog.LevelWarn {
		return min(l, slog.LevelDebug)
	}
	return l
}

func (q quieter) Enabled(ctx context.Context, l slog.Level) bool {
	return q.Handler.Enabled(ctx, quieted(l))
}

func (q quieter) Handle(ctx context.Context, r slog.Record) error {
	r.Level = quieted(r.Level)
	return q.Handler.Handle(ctx, r)
}

func (q quieter) WithAttrs(as []slog.Attr) slog.Handler { return quieter{q.Handler.WithAttrs(as)} }
func (q quieter) WithGroup(name string) slog.Handler    { return quieter{q.Handler.WithGroup(name)} }
