package db

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/jackc/pgx/v5/stdlib"
)

// pgConnector makes pgx's database/sql connections into pgConns.
type pgConnector struct{ driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(*stdlib.Conn)
	if !ok {
		return conn, nil // not the driver we know: reads do not flush
	}
	return &pgConn{stdlibConn: sc}, nil
}

// stdlibConn names pgx's connection as pgConn embeds it: its methods,
// Conn() *pgx.Conn among them, are pgConn's.
type stdlibConn = stdlib.Conn

// pgConn is pgx's database/sql connection, which knows the rows Append
// left for the transaction Tx runs on it: a query made with a context of
// FlushingReads sends them first, so that it sees them.
type pgConn struct {
	*stdlibConn
	// appends is the queue of Tx's transaction on the connection, nil
	// between transactions (attachAppends).
	appends *appendQueue
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.appends != nil && len(c.appends.stmts) > 0 && ctx.Value(flushingReadsKey{}) != nil {
		stmts := c.appends.stmts
		c.appends.stmts = nil
		if err := pipeline(ctx, c.Conn(), stmts); err != nil {
			return nil, err
		}
	}
	return c.stdlibConn.QueryContext(ctx, query, args)
}

// attachAppends tells conn's pgConn the queue of the transaction Tx runs
// on it, or nil once it has ended (rolled back, its rows are dropped: the
// next transaction on the connection must not send them).
func attachAppends(conn *sql.Conn, q *appendQueue) {
	conn.Raw(func(dc any) error {
		if c, ok := dc.(*pgConn); ok {
			c.appends = q
		}
		return nil
	})
}

type flushingReadsKey struct{}

// FlushingReads returns ctx under which a query (a statement returning
// rows: a SELECT, an INSERT … RETURNING) in a transaction Tx started sends
// the rows Append left for the transaction first, in one pipeline, and so
// sees them, as it does on SQLite; should one fail, the query returns its
// error. It is for code handed a transaction with appended rows and no
// knowledge of them, orders.AfterPlace's hooks: they read the checkout's
// rows without calling FlushAppends, and a hook that reads nothing costs
// nothing. A statement run with ExecContext does not send them: one that
// changes an appended row still calls FlushAppends first.
func FlushingReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, flushingReadsKey{}, true)
}
