package db

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
	"strings"

	"modernc.org/sqlite"
)

// The SQLite driver prepares every statement again each time it runs one
// (db.ExecContext / QueryContext with arguments): parsing and planning a
// query costs more than running most of comptoir's, which touch a few rows
// by key. stmtCacheConnector wraps the driver's connections so that each
// keeps its prepared statements, keyed by query text, and runs the same
// query again on the statement it already has. Callers change nothing: they
// go on passing query text to database/sql, inside or outside transactions,
// River included.
//
// A prepared statement is tied to its connection, so the cache is per
// connection and needs no lock (database/sql hands a connection to one
// goroutine at a time). A statement is busy while rows read from it are open;
// the same query run again meanwhile (a nested query on the same
// transaction) gets a statement of its own, prepared and finalized as before.
// A schema change needs nothing: SQLite prepares an outdated statement again
// by itself on its next step.

// stmtCacheSize bounds the statements kept per connection: comptoir's hot
// queries are a few dozen; the bound keeps generated query text (multi-row
// inserts) from growing the cache without end.
const stmtCacheSize = 256

// stmtCacheMaxQuery: longer query text is not cached (bulk inserts built
// for one call, which would only evict the hot statements). It is above
// the longest fixed query on the hot path: River's JobSetStateIfRunning
// (4.7 kB once its template is filled in), which its completer runs once
// per finished job; at 4096 it was parsed again every time, 6% of a
// checkout's CPU.
const stmtCacheMaxQuery = 8192

type stmtCacheConnector struct {
	driver.Connector
}

func newCachingSQLiteConnector(dsn string) (driver.Connector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return stmtCacheConnector{base}, nil
}

func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(sqliteConn)
	if !ok {
		return conn, nil // not the driver we know: no cache
	}
	return &cachingConn{sqliteConn: inner, byQuery: map[string]*list.Element{}, lru: list.New()}, nil
}

// sqliteConn is what the modernc driver's connections implement, and what a
// wrapper must forward (see sqlite.NewConnector).
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachedStmt is one prepared statement of a connection.
type cachedStmt struct {
	query string
	stmt  driver.Stmt
	busy  bool // rows read from it are open
	// evicted: dropped from the cache while busy; closed when its rows are.
	evicted bool
}

type cachingConn struct {
	sqliteConn
	byQuery map[string]*list.Element // of *cachedStmt
	lru     *list.List               // most recently used first
	// inGroup: a group commit's transaction is open (see groupconn.go).
	inGroup bool
}

// Unwrap returns the driver's own connection (sqlite.Limit looks for it).
func (c *cachingConn) Unwrap() driver.Conn { return c.sqliteConn }

// Status reads the connection's counters (sqlite3_db_status).
func (c *cachingConn) Status(op sqlite.DBStatusOp, reset bool) (current, high int, err error) {
	st, ok := c.sqliteConn.(sqlite.DBStatus)
	if !ok {
		return 0, 0, errors.New("sqlite connection without status counters")
	}
	return st.Status(op, reset)
}

// cacheable reports whether query is worth keeping: short, and one
// statement (the driver runs a script statement by statement, preparing
// each anyway).
func cacheable(query string) bool {
	if len(query) > stmtCacheMaxQuery {
		return false
	}
	q := strings.TrimRight(query, "; \t\r\n")
	return q != "" && !strings.Contains(q, ";")
}

// get returns the connection's idle prepared statement for query, preparing
// it when missing; nil when query is not cached or its statement is busy.
func (c *cachingConn) get(ctx context.Context, query string) (*cachedStmt, error) {
	if !cacheable(query) {
		return nil, nil
	}
	if e, ok := c.byQuery[query]; ok {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.lru.MoveToFront(e)
		return cs, nil
	}
	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{query: query, stmt: st}
	c.byQuery[query] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		c.evict(c.lru.Back())
	}
	return cs, nil
}

func (c *cachingConn) evict(e *list.Element) {
	cs := e.Value.(*cachedStmt)
	c.lru.Remove(e)
	delete(c.byQuery, cs.query)
	if cs.busy {
		cs.evicted = true
		return
	}
	cs.stmt.Close()
}

// drop removes a statement that failed in a way that may have left it
// unusable (the driver resets it after an error; this is prudence).
func (c *cachingConn) drop(cs *cachedStmt) {
	if e, ok := c.byQuery[cs.query]; ok && e.Value == cs {
		c.evict(e)
	}
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	count(ctx)
	ctx = c.uncancelled(ctx)
	cs, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	res, err := cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	if err != nil && !isSQLiteError(err) {
		c.drop(cs)
	}
	return res, err
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	count(ctx)
	ctx = c.uncancelled(ctx)
	cs, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		if !isSQLiteError(err) {
			c.drop(cs)
		}
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, cs: cs}, nil
}

// isSQLiteError: an error SQLite reported for this run (a constraint, a
// lock): the driver has reset the statement and it can run again. Anything
// else (a canceled context, a bind failure) drops the statement.
func isSQLiteError(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e)
}

func (c *cachingConn) Close() error {
	for e := c.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).stmt.Close()
	}
	c.lru.Init()
	clear(c.byQuery)
	return c.sqliteConn.Close()
}

// cachedRows gives its statement back when closed. It forwards the column
// type methods the driver's rows offer, as database/sql looks for them.
type cachedRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.cs.busy = false
	if r.cs.evicted {
		r.cs.stmt.Close()
	}
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
