package db

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
)

// On PostgreSQL every statement of a transaction is a round trip: the
// client sends it, waits, and only then sends the next. A checkout writes
// a dozen rows, and the waits and wake-ups between them, on both sides,
// cost more than the inserts themselves (measured: fourteen inserts sent
// one by one ran at 0.4× the rate of the same inserts sent in one
// pipeline). Append lets a domain package hand over a row that nothing
// later in the transaction reads or changes — an audit line, a consent
// record — and Tx sends all of them in one pipeline just before it
// commits.
//
// SQLite runs in this process: a statement costs no round trip, so Append
// runs it at once there, as it does on a transaction Tx did not start.

// appendQueue is what one PostgreSQL transaction's Append calls left for
// its commit. A transaction is used by one goroutine at a time, so the
// queue needs no lock of its own.
type appendQueue struct {
	conn  *sql.Conn
	stmts []queuedStmt
}

type queuedStmt struct {
	query string
	args  []any
	// wrap, when set, is what the caller would have made of the
	// statement's error (AppendWrapped).
	wrap func(error) error
}

// appendQueues maps the transactions Tx started on PostgreSQL to their
// queues.
var appendQueues sync.Map // *sql.Tx → *appendQueue

// Append writes a row in tx: at once on SQLite, at the end of the
// transaction on PostgreSQL when Tx started it. It is only for rows that
// nothing later in the transaction reads or changes, because they are not
// there yet; an error it would have returned comes from Tx instead (the
// transaction rolls back, as it would have when the caller returned it).
// It is not for savepoints: the queue does not know them, so a row appended
// within one that is rolled back would still be written.
func Append(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	return AppendWrapped(ctx, tx, nil, query, args...)
}

// AppendWrapped is Append for a caller that gives its errors a meaning or
// a context (ErrAlreadyInvoiced for a unique violation, "store mail: …"):
// should the row fail, the error is wrap's of the statement's, on both
// engines, as if the caller had run the statement itself. wrap may be nil.
func AppendWrapped(ctx context.Context, tx *sql.Tx, wrap func(error) error, query string, args ...any) error {
	if q, ok := appendQueues.Load(tx); ok {
		aq := q.(*appendQueue)
		aq.stmts = append(aq.stmts, queuedStmt{query: query, args: args, wrap: wrap})
		return nil
	}
	_, err := tx.ExecContext(ctx, query, args...)
	if err != nil && wrap != nil {
		return wrap(err)
	}
	return err
}

// FlushAppends writes now, in one pipeline, the rows Append left for tx's
// commit: for a caller about to run a statement that needs them (an
// UPDATE of a row it appended, an INSERT referring to one). It returns the
// first failing row's error, as Tx would have. On SQLite, and on a
// transaction Tx did not start, the rows are already written.
func FlushAppends(ctx context.Context, tx *sql.Tx) error {
	if q, ok := appendQueues.Load(tx); ok {
		return q.(*appendQueue).flush(ctx, tx)
	}
	return nil
}

// flush sends the queued rows in one pipeline on the transaction's own
// connection, and returns the first error (wrapped as its caller asked):
// PostgreSQL refuses every statement after a failed one in a transaction,
// so the later ones only repeat that.
func (q *appendQueue) flush(ctx context.Context, tx *sql.Tx) error {
	stmts := q.stmts
	q.stmts = nil
	switch len(stmts) {
	case 0:
		return nil
	case 1:
		_, err := tx.ExecContext(ctx, stmts[0].query, stmts[0].args...)
		return stmts[0].wrapped(err)
	}
	return q.conn.Raw(func(dc any) error {
		c, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return fmt.Errorf("db: not a pgx connection: %T", dc)
		}
		return pipeline(ctx, c.Conn(), stmts)
	})
}

// pipeline sends stmts on c in one pipeline, and returns the first
// failing one's error (wrapped as its caller asked), or the pipeline's.
func pipeline(ctx context.Context, c *pgx.Conn, stmts []queuedStmt) error {
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(stmts))}
	for _, s := range stmts {
		b.Queue(s.query, s.args...)
	}
	br := c.SendBatch(ctx, b)
	var failed error
	for _, s := range stmts {
		if _, err := br.Exec(); err != nil {
			failed = s.wrapped(err)
			break
		}
	}
	err := br.Close()
	if failed != nil {
		return failed
	}
	return err
}

func (s queuedStmt) wrapped(err error) error {
	if err != nil && s.wrap != nil {
		return s.wrap(err)
	}
	return err
}
