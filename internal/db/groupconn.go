package db

import (
	"context"
	"database/sql/driver"
)

// The statements of a group commit run to their end, whatever their
// callers' contexts do.
//
// The functions a group runs (see groupCommitter) call tx.ExecContext and
// QueryContext with their own request's context, and the SQLite driver
// interrupts a statement whose context ends while it runs. SQLite answers
// an interrupted INSERT, UPDATE or DELETE inside a transaction by rolling
// back the whole transaction, and that transaction is the group's: one
// visitor closing the connection, or one request reaching its deadline, in
// the middle of a statement made every other transaction of its group fail.
// So on a transaction the group committer begins (with groupContext), the
// write connection hands the driver its statements' contexts without their
// cancellation (context.WithoutCancel: their values stay). A caller who
// leaves loses nothing it would have kept: once its function has started
// it waits for the outcome anyway (see groupCommitter.run), and its next
// statement fails with the context's error (database/sql checks the
// context before handing it on), rolling back its savepoint alone. A
// request whose context ended before its turn still never runs. The driver
// starts no goroutine to watch these contexts either.
//
// Everything else on the write connection keeps its cancellation: the work
// run outside groups (a checkpoint, the page counters), the migrations,
// River's own queries and transactions each run alone there, so an
// interrupt rolls back only their own work, and a checkpoint waiting on a
// reader, or a migration, can still be given up by its caller. So do the
// read connections, which never write.

// groupTxKey marks the context a group's transaction begins with.
type groupTxKey struct{}

// groupContext begins the transactions of the group commit.
var groupContext = context.WithValue(context.Background(), groupTxKey{}, true)

// BeginTx begins a transaction; one begun with groupContext runs its
// statements without their cancellation until it ends.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.sqliteConn.BeginTx(ctx, opts)
	if err != nil || ctx.Value(groupTxKey{}) == nil {
		return tx, err
	}
	c.inGroup = true
	return &groupTx{Tx: tx, c: c}, nil
}

// groupTx is a group's transaction on its connection.
type groupTx struct {
	driver.Tx
	c *cachingConn
}

func (t *groupTx) Commit() error {
	t.c.inGroup = false
	return t.Tx.Commit()
}

func (t *groupTx) Rollback() error {
	t.c.inGroup = false
	return t.Tx.Rollback()
}

// uncancelled is ctx as the driver gets it: without its cancellation
// during a group's transaction.
func (c *cachingConn) uncancelled(ctx context.Context) context.Context {
	if c.inGroup && ctx.Done() != nil {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// PrepareContext prepares a statement (tx.PrepareContext) that runs
// without its context's cancellation during a group's transaction.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.sqliteConn.PrepareContext(c.uncancelled(ctx), query)
	if err != nil {
		return nil, err
	}
	return &connStmt{Stmt: st, c: c}, nil
}

// connStmt is a statement prepared through database/sql on a connection.
type connStmt struct {
	driver.Stmt
	c *cachingConn
}

func (s *connStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(s.c.uncancelled(ctx), args)
}

func (s *connStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(s.c.uncancelled(ctx), args)
}
