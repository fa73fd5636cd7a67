package db

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
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
	// rows, when set, is the RowInsert whose rows (n of them) the
	// statement writes (AppendRow).
	rows *RowInsert
	n    int
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

// RowInsert is a one-row INSERT whose rows AppendRow writes, on
// PostgreSQL, as one statement per transaction: a table many domain
// packages write a row of in one transaction (the audit log: a checkout's
// order, debit and invoice each add a line), where each row was a
// statement for the server to plan and run.
type RowInsert struct {
	prefix string // "INSERT INTO t (a, b) VALUES "
	cols   int
	mu     sync.Mutex
	texts  []string // texts[n-1] writes n rows
}

// NewRowInsert is the INSERT INTO table (columns) of one row of values,
// each a parameter.
func NewRowInsert(table string, columns ...string) *RowInsert {
	return &RowInsert{prefix: "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES ", cols: len(columns)}
}

// text is the statement writing n rows, made once for each n.
func (r *RowInsert) text(n int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.texts) < n {
		k := len(r.texts) + 1
		var b strings.Builder
		b.WriteString(r.prefix)
		for i := range k {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := range r.cols {
				if c > 0 {
					b.WriteString(", ")
				}
				b.WriteString("$" + strconv.Itoa(i*r.cols+c+1))
			}
			b.WriteByte(')')
		}
		r.texts = append(r.texts, b.String())
	}
	return r.texts[n-1]
}

// maxMergedRows bounds the rows of one RowInsert statement: a transaction
// writing many (a bulk change, an audit line each) sends a statement per
// maxMergedRows, within PostgreSQL's 65,535 parameters, and a connection
// keeps at most this many texts of a RowInsert prepared.
const maxMergedRows = 32

// AppendRow is Append for a row of ins (args, one a column): the rows of
// ins appended to one transaction on PostgreSQL are written by one
// statement (up to maxMergedRows), in their order, at the place of the
// first in the transaction's appended rows. So it is only for rows that
// no other appended row needs (refers to) and whose own references are
// written before: an audit line. A row appended after FlushAppends goes in
// a new statement.
func AppendRow(ctx context.Context, tx *sql.Tx, ins *RowInsert, args ...any) error {
	if len(args) != ins.cols {
		return fmt.Errorf("db: %d values for a row of %d columns (%s)", len(args), ins.cols, ins.prefix)
	}
	if q, ok := appendQueues.Load(tx); ok {
		aq := q.(*appendQueue)
		for i := range aq.stmts {
			if s := &aq.stmts[i]; s.rows == ins && s.n < maxMergedRows {
				if s.n == 1 {
					// The first row's values may be the caller's slice.
					s.args = append(make([]any, 0, 4*ins.cols), s.args...)
				}
				s.n++
				s.args = append(s.args, args...)
				s.query = ins.text(s.n)
				return nil
			}
		}
		aq.stmts = append(aq.stmts, queuedStmt{query: ins.text(1), args: args, rows: ins, n: 1})
		return nil
	}
	_, err := tx.ExecContext(ctx, ins.text(1), args...)
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
