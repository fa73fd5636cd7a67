package benchdata

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// maxParams stays under both engines' limit on bound parameters in one
// statement (SQLite 32766, PostgreSQL 65535).
const maxParams = 30_000

// maxRowsPerStatement: past a few hundred rows a longer statement saves
// nothing and costs memory.
const maxRowsPerStatement = 500

// bulk writes rows to one table with multi-row INSERTs inside a transaction.
// A full batch reuses one prepared statement; the last, shorter one is
// prepared on the spot.
type bulk struct {
	ctx   context.Context
	tx    *sql.Tx
	table string
	head  string // INSERT INTO t (a, b) VALUES
	ncol  int
	per   int // rows per statement
	args  []any
	rows  int
	full  *sql.Stmt
	total int64
	// anon writes "?" placeholders rather than "$n": SQLite looks every
	// named parameter up in a list, which makes a statement with
	// thousands of them quadratic; PostgreSQL wants "$n".
	anon bool
	// after are the bulks whose rows these rows refer to (foreign keys):
	// they are flushed first.
	after []*bulk
}

// dependsOn makes b flush parents before each of its own statements.
func (b *bulk) dependsOn(parents ...*bulk) *bulk {
	b.after = append(b.after, parents...)
	return b
}

func newBulk(ctx context.Context, tx *sql.Tx, anon bool, table string, cols ...string) *bulk {
	per := min(maxRowsPerStatement, maxParams/len(cols))
	return &bulk{
		ctx: ctx, tx: tx, table: table, ncol: len(cols), per: per, anon: anon,
		head: "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ",
		args: make([]any, 0, per*len(cols)),
	}
}

// add queues one row, writing a statement whenever a batch is full.
func (b *bulk) add(vals ...any) error {
	if len(vals) != b.ncol {
		return fmt.Errorf("benchdata: %s: %d values for %d columns", b.table, len(vals), b.ncol)
	}
	b.args = append(b.args, vals...)
	b.rows++
	if b.rows == b.per {
		return b.flush()
	}
	return nil
}

// flush writes the queued rows.
func (b *bulk) flush() error {
	if b.rows == 0 {
		return nil
	}
	for _, p := range b.after {
		if err := p.flush(); err != nil {
			return err
		}
	}
	var err error
	if b.rows == b.per {
		if b.full == nil {
			if b.full, err = b.tx.PrepareContext(b.ctx, b.head+placeholders(b.ncol, b.per, b.anon)); err != nil {
				return fmt.Errorf("benchdata: prepare %s: %w", b.table, err)
			}
		}
		_, err = b.full.ExecContext(b.ctx, b.args...)
	} else {
		_, err = b.tx.ExecContext(b.ctx, b.head+placeholders(b.ncol, b.rows, b.anon), b.args...)
	}
	if err != nil {
		return fmt.Errorf("benchdata: insert into %s: %w", b.table, err)
	}
	b.total += int64(b.rows)
	b.rows = 0
	b.args = b.args[:0]
	return nil
}

// close writes what is left and releases the prepared statement.
func (b *bulk) close() error {
	err := b.flush()
	if b.full != nil {
		b.full.Close()
		b.full = nil
	}
	return err
}

// placeholders returns "($1, $2), ($3, $4)" for ncol columns and nrows rows,
// or "(?, ?), (?, ?)" when anon.
func placeholders(ncol, nrows int, anon bool) string {
	var sb strings.Builder
	sb.Grow(nrows * ncol * 6)
	n := 1
	for r := range nrows {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for c := range ncol {
			if c > 0 {
				sb.WriteString(", ")
			}
			if anon {
				sb.WriteByte('?')
				continue
			}
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(n))
			n++
		}
		sb.WriteByte(')')
	}
	return sb.String()
}
