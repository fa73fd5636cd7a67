// Package db opens comptoir's database, SQLite or PostgreSQL, and applies its
// migrations. Domain packages write their SQL once, portably ($1 placeholders,
// RETURNING, ON CONFLICT); only the migration files differ per engine.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Engine names a database engine.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// ErrBadURL marks a database URL that cannot be used: a configuration error,
// not a failure while running.
var ErrBadURL = errors.New("bad database URL")

// DB is an open database.
type DB struct {
	Engine Engine
	// Write runs every transaction that changes data. On SQLite it holds a
	// single connection: SQLite has one writer at a time, and queuing writers
	// in Go is cheaper and fairer than letting them retry on a busy file.
	Write *sql.DB
	// Read serves queries that need no transaction. On SQLite it is a pool of
	// read-only connections that WAL lets run beside the writer; on
	// PostgreSQL it is the same pool as Write.
	Read *sql.DB
	// Path is the SQLite file, empty on PostgreSQL.
	Path string

	// group shares commits between concurrent transactions on SQLite.
	group *groupCommitter
	// hooks run after a transaction commits (AfterCommit).
	hooks *commitHooks
	// conflictsRetried counts the runs PostgreSQL aborted for a conflict
	// and Tx ran again (ConflictsRetried).
	conflictsRetried atomic.Int64
}

// Target is a parsed database URL.
type Target struct {
	Engine Engine
	Path   string // SQLite file
	DSN    string // PostgreSQL connection string, without pool_max_conns
	// PoolMaxConns is the URL's pool_max_conns (the name pgxpool gives it):
	// how many PostgreSQL connections this process keeps. Zero when the URL
	// does not say; Open then takes DefaultPoolMaxConns.
	PoolMaxConns int
}

// ParseURL reads "sqlite:PATH" (or "sqlite://PATH") and "postgres://…" /
// "postgresql://…". Anything else is ErrBadURL.
func ParseURL(raw string) (Target, error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		// Checked here, as configuration (exit 2), rather than at the first
		// connection; the messages never repeat the URL, which may hold a
		// password: url.Parse's would, pgconn's says xxxxx instead.
		if _, err := url.Parse(raw); err != nil {
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err
			}
			return Target{}, fmt.Errorf("%w: postgres URL: %v", ErrBadURL, err)
		}
		dsn, poolMax, err := takePoolMaxConns(raw)
		if err != nil {
			return Target{}, err
		}
		if _, err := pgconn.ParseConfig(dsn); err != nil {
			return Target{}, fmt.Errorf("%w: %v", ErrBadURL, err)
		}
		return Target{Engine: Postgres, DSN: dsn, PoolMaxConns: poolMax}, nil
	case strings.HasPrefix(raw, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			return Target{}, fmt.Errorf("%w: sqlite URL takes no options (comptoir sets them): %q", ErrBadURL, raw)
		}
		if p == "" {
			return Target{}, fmt.Errorf("%w: sqlite URL needs a file path, as in sqlite:./comptoir-data/comptoir.db", ErrBadURL)
		}
		return Target{Engine: SQLite, Path: p}, nil
	default:
		scheme := raw
		if i := strings.Index(raw, ":"); i >= 0 {
			scheme = raw[:i]
		}
		return Target{}, fmt.Errorf("%w: unknown database scheme %q (use sqlite:PATH or postgres://…)", ErrBadURL, scheme)
	}
}

// takePoolMaxConns removes pool_max_conns from a PostgreSQL URL's query and
// returns its value (0 when absent). pgx would otherwise send it to the
// server as a setting, which refuses it. The rest of the URL is kept byte for
// byte: re-encoding it could change how a password is escaped.
func takePoolMaxConns(raw string) (string, int, error) {
	base, query, ok := strings.Cut(raw, "?")
	if !ok {
		return raw, 0, nil
	}
	var kept []string
	n := 0
	for _, kv := range strings.Split(query, "&") {
		name, value, _ := strings.Cut(kv, "=")
		if name != "pool_max_conns" {
			kept = append(kept, kv)
			continue
		}
		v, err := strconv.Atoi(value)
		if err != nil || v < 1 || v > 1000 {
			return "", 0, fmt.Errorf("%w: pool_max_conns must be a whole number from 1 to 1000, not %q", ErrBadURL, value)
		}
		n = v
	}
	if len(kept) == 0 {
		return base, n, nil
	}
	return base + "?" + strings.Join(kept, "&"), n, nil
}

// DefaultPoolMaxConns is how many PostgreSQL connections a process keeps
// when its URL does not say (pool_max_conns): four per core this process may
// use, from 8 to 32. More connections than the machines can run at once only
// add context switches: on 2 cores, checkouts went from about 180 to 250 per
// second when the pool went from 32 connections to 8.
func DefaultPoolMaxConns() int {
	return min(max(4*runtime.GOMAXPROCS(0), 8), 32)
}

// Open opens the database at url, creating the SQLite file and its directory
// when missing. It does not migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	t, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	var d *DB
	switch t.Engine {
	case SQLite:
		d, err = openSQLite(t.Path)
	case Postgres:
		n := t.PoolMaxConns
		if n == 0 {
			n = DefaultPoolMaxConns()
		}
		d, err = openPostgres(t.DSN, n)
	}
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.Write.PingContext(pingCtx); err != nil {
		d.Close()
		err = fmt.Errorf("connect to %s database: %w", t.Engine, err)
		if refusesURL(err) {
			return nil, fmt.Errorf("%w: %w", ErrBadURL, err)
		}
		return nil, err
	}
	return d, nil
}

// refusesURL reports whether err is the PostgreSQL server refusing the
// connection for what the URL says, which trying again will not change: a
// database it does not have (3D000), a user it does not know, a password it
// does not take or a client its pg_hba.conf turns away (class 28), a
// database the user may not connect to (42501). That is a configuration
// error (ErrBadURL, exit 2), unlike a server that cannot be reached or is
// starting up (exit 1), which may answer the next attempt.
func refusesURL(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == "3D000" || pgErr.Code == "42501" || strings.HasPrefix(pgErr.Code, "28")
}

// SQLiteBusyTimeout is how long a statement waits for a lock another
// process holds on the SQLite file before it fails as busy (503
// storage_unavailable for a request). What holds it for good reasons holds
// it briefly: a comptoir command beside the server (user add, token
// create) for one transaction, milliseconds; another process's checkpoint
// for the time it copies and flushes the log, well under a second for the
// logs this store makes; a backup (VACUUM INTO, the shell's .backup) only
// reads, which WAL never makes the writer wait for. Held longer, it is
// somebody's open transaction (a sqlite3 shell left in BEGIN IMMEDIATE),
// which will not end on its own soon. It was 10 s: River's queries, which
// use the single write connection directly, each held it that long, and a
// request queued behind a few of them answered after about a minute. Five
// seconds leaves a request room, within its own budget (ten seconds in the
// web server), to wait out such a short lock and still do its work.
const SQLiteBusyTimeout = 5 * time.Second

// sqlitePragmas are set on every connection. WAL lets readers run beside the
// writer; synchronous=FULL makes every acknowledged commit survive a power
// cut, not only a crash; busy_timeout covers other processes (a CLI command
// beside a running server, a checkpoint).
var sqlitePragmas = "_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
	"&_pragma=busy_timeout(" + strconv.FormatInt(SQLiteBusyTimeout.Milliseconds(), 10) + ")" +
	"&_pragma=foreign_keys(1)&_pragma=secure_delete(1)&_time_format=sqlite"

func openSQLite(path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	// The write connection starts its transactions IMMEDIATE so that a
	// transaction that reads then writes never fails half-way on a lock.
	// Both pools keep their prepared statements (see stmtcache.go).
	//
	// temp_store(MEMORY) on the write connection keeps the savepoint
	// journal in memory: the group commit runs each transaction in a
	// savepoint, and SQLite copies every page a savepoint first changes
	// there; past 64 KiB it spilled to a temporary file, a write system
	// call per page on the committer's path. It holds page images of one
	// group's transactions at most (it is emptied at each commit); nothing
	// of it is needed to recover a crash, the WAL is.
	wc, err := newCachingSQLiteConnector("file:" + path + "?" + sqlitePragmas + "&_pragma=temp_store(2)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	write := sql.OpenDB(wc)
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	rc, err := newCachingSQLiteConnector("file:" + path + "?" + sqlitePragmas + "&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, err
	}
	read := sql.OpenDB(rc)
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	hooks := &commitHooks{}
	return &DB{Engine: SQLite, Write: write, Read: read, Path: path, group: newGroupCommitter(write, hooks), hooks: hooks}, nil
}

// PostgresConnMaxLifetime is how long a PostgreSQL connection is reused.
const PostgresConnMaxLifetime = 30 * time.Minute

// PostgresConnectTimeout bounds opening a PostgreSQL connection (its TCP
// connection, TLS and start-up), unless the URL's connect_timeout says
// otherwise.
const PostgresConnectTimeout = 10 * time.Second

// How a PostgreSQL connection whose server went silent (its host gone
// without closing the connection, a network dropping packets) is found
// dead. pgx's dialer probed an idle connection after 5 minutes and the
// kernel retransmitted unanswered data for about 15 minutes: meanwhile
// the connection stayed in the pool, and a job's query on it (a job has no
// deadline of its own) waited for ever. Now an idle connection is probed
// after PostgresKeepAliveIdle, every 5 s, and the kernel drops one whose
// data or probes stay unacknowledged for PostgresTCPUserTimeout (Linux's
// TCP_USER_TIMEOUT): about half a minute, far above any round trip to a
// server that is there, even a busy one (the server's kernel acknowledges
// what it receives whatever the server is doing). A request gives up
// sooner, at its own deadline (the web server's budget).
const (
	PostgresKeepAliveIdle  = 15 * time.Second
	PostgresTCPUserTimeout = 30 * time.Second
)

// postgresDialer opens PostgreSQL's TCP connections with the probing above.
func postgresDialer() *net.Dialer {
	return &net.Dialer{
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: PostgresKeepAliveIdle, Interval: 5 * time.Second, Count: 3},
		Control:         setTCPUserTimeout,
	}
}

func openPostgres(dsn string, conns int) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if cfg.ConnectTimeout == 0 {
		// pgx waits without end by default: with the server's host down or
		// a network dropping packets, every request opening a connection
		// hung (a request has no deadline of its own) instead of being
		// answered 503.
		cfg.ConnectTimeout = PostgresConnectTimeout
	}
	cfg.DialFunc = postgresDialer().DialContext
	cfg.Tracer = roundTripTracer{}
	pool := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	// As many idle connections as open ones: with fewer, every burst closed
	// the connections it had opened beyond the idle limit and the next burst
	// opened them again, each a new PostgreSQL backend to fork, authenticate
	// and warm (its catalog caches, its prepared statements). Under a steady
	// 16 concurrent checkouts that churn halved the throughput.
	pool.SetMaxOpenConns(conns)
	pool.SetMaxIdleConns(conns)
	pool.SetConnMaxLifetime(PostgresConnMaxLifetime)
	return &DB{Engine: Postgres, Write: pool, Read: pool, hooks: &commitHooks{}}, nil
}

// Close closes both pools.
func (d *DB) Close() error {
	if d.group != nil {
		d.group.close()
	}
	err := d.Write.Close()
	if d.Read != d.Write {
		err = errors.Join(err, d.Read.Close())
	}
	return err
}

// Tx runs fn in a write transaction, committing when fn returns nil and
// rolling back otherwise (also when fn panics, and the panic goes on). It
// returns once the change is durable. On SQLite, concurrent calls share
// commits (see groupCommitter); fn must therefore not call Tx itself, and
// must do its work through tx only.
//
// On PostgreSQL a transaction the server aborted for a conflict with a
// concurrent one (a deadlock, a serialization failure: see IsConflict) is
// run again, up to TxAttempts times in all: before, the visitor was
// answered 500 for a race that a second run wins. fn may therefore run
// more than once, each time in a new transaction whose predecessor left
// nothing behind (its rows rolled back, its AfterCommit hooks dropped): it
// must reset whatever of its caller's it fills in (counters, slices) at its
// start and leave anything outside the database (a payment, a mail) to
// after the commit or to a job inserted through tx, as it already must for
// a rollback.
func (d *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if d.group != nil {
		return d.group.run(ctx, fn)
	}
	return d.retryConflicts(ctx, func() error { return d.txOnce(ctx, fn) })
}

// TxAttempts is how many times Tx and Exec run a transaction that
// PostgreSQL keeps aborting for conflicts before giving up with the
// conflict's error (which the web server answers 503, to try again).
const TxAttempts = 3

// retryConflicts runs attempt until it does not fail with a conflict, at
// most TxAttempts times, and not once ctx has ended. The next attempt
// starts at once: the transaction that won the conflict holds its locks
// until it ends, and the new attempt waits for it there.
func (d *DB) retryConflicts(ctx context.Context, attempt func() error) (err error) {
	for range TxAttempts {
		if err = attempt(); !IsConflict(err) || ctx.Err() != nil {
			return err
		}
		d.conflictsRetried.Add(1)
	}
	return err
}

// ConflictsRetried is how many transaction runs PostgreSQL aborted for a
// conflict (a deadlock, a serialization failure) since Open. The retry
// hides them from visitors, not from operators (a metric) nor from the
// tests of lock order, which check that none was needed.
func (d *DB) ConflictsRetried() int64 { return d.conflictsRetried.Load() }

func (d *DB) txOnce(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	// The transaction's own connection, held until it ends: Append's rows
	// are sent on it in one pipeline before the commit.
	conn, err := d.Write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return fmt.Errorf("begin: %w", err)
	}
	appends := &appendQueue{conn: conn}
	appendQueues.Store(tx, appends)
	attachAppends(conn, appends) // FlushingReads
	committed := false
	defer func() {
		appendQueues.Delete(tx)
		attachAppends(conn, nil)
		p := recover()
		if p != nil || err != nil {
			tx.Rollback()
		}
		// The connection goes back to the pool before the hooks run:
		// they may query, and a pool full of connections held for their
		// hooks would wait for ever.
		conn.Close()
		d.hooks.finish(tx, committed)
		if p != nil {
			panic(p)
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = appends.flush(ctx, tx); err != nil {
		return fmt.Errorf("appended rows: %w", err)
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	return nil
}

// Exec runs one statement that changes data, outside any transaction of
// the caller's, and returns once it is durable. On SQLite it joins the group
// commit (see Tx) rather than committing alone on the write connection: a
// lone autocommit there waits for the running group, then takes a disk
// flush of its own that every transaction queued behind it waits for too.
// On PostgreSQL it is Write.ExecContext, one round trip. Like Tx, it must
// not be called from inside a Tx function.
func (d *DB) Exec(ctx context.Context, query string, args ...any) (res sql.Result, err error) {
	err = d.alone(ctx, func(q Querier) error {
		res, err = q.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// ExecRow is Exec for a statement that returns one row (INSERT …
// RETURNING), scanned into dest.
func (d *DB) ExecRow(ctx context.Context, query string, args []any, dest ...any) error {
	return d.alone(ctx, func(q Querier) error {
		return q.QueryRowContext(ctx, query, args...).Scan(dest...)
	})
}

// alone runs one statement through stmt outside any transaction of the
// caller's: in a group-committed transaction of its own on SQLite, on the
// pool on PostgreSQL.
func (d *DB) alone(ctx context.Context, stmt func(Querier) error) error {
	if d.group == nil {
		// A lone statement can lose a deadlock too (an UPDATE of several
		// rows against a transaction taking them in another order).
		return d.retryConflicts(ctx, func() error { return stmt(d.Write) })
	}
	return d.group.run(ctx, func(tx *sql.Tx) error { return stmt(tx) })
}

// CommitStats counts the SQLite group commits since Open: Commits disk
// flushes, which made Transactions transactions durable. Under load there
// are fewer flushes than transactions; on a quiet store, as many. Both are
// zero on PostgreSQL, which groups its commits itself.
type CommitStats struct {
	Commits, Transactions uint64
	// Busy is how long the single writer has been running transactions
	// and commits, Flushing the part of it spent in COMMIT (the WAL
	// append, the disk flush and any automatic checkpoint).
	Busy, Flushing time.Duration
}

// CommitStats reads the group-commit counters.
func (d *DB) CommitStats() CommitStats {
	if d.group == nil {
		return CommitStats{}
	}
	g := d.group
	return CommitStats{Commits: g.commits.Load(), Transactions: g.committed.Load(),
		Busy: time.Duration(g.busy.Load()), Flushing: time.Duration(g.flushing.Load())}
}

// PageCounts is what SQLite's write connection did with database pages
// since Open: Written to the write-ahead log by its commits, Read from the
// files because its page cache did not hold them.
type PageCounts struct{ Written, Read int64 }

// WriterPages reads the write connection's page counters, between two
// group commits; zero on PostgreSQL. For benchmarks: unlike times, these
// counts do not depend on how busy the machine is.
func (d *DB) WriterPages(ctx context.Context) (PageCounts, error) {
	if d.group == nil {
		return PageCounts{}, nil
	}
	var pc PageCounts
	err := d.group.runOutside(ctx, func(ctx context.Context, w *sql.DB) error {
		conn, err := w.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		return conn.Raw(func(dc any) error {
			st, ok := dc.(sqlite.DBStatus)
			if !ok {
				return errors.New("sqlite connection without status counters")
			}
			written, _, err := st.Status(sqlite.DBStatusCacheWrite, false)
			if err != nil {
				return err
			}
			read, _, err := st.Status(sqlite.DBStatusCacheMiss, false)
			pc = PageCounts{Written: int64(written), Read: int64(read)}
			return err
		})
	})
	return pc, err
}

// Checkpoint copies SQLite's write-ahead log into the database file and
// truncates the log to zero bytes, so that page images it held (an erased
// customer's old rows, say) leave the disk: with secure_delete the database
// file itself keeps no deleted content. It runs on the write connection
// between two group commits, never inside a transaction. Readers still on an
// older snapshot make it wait (busy_timeout); if they outlast that, it
// reports the log as not fully checkpointed. On PostgreSQL it does nothing:
// the server's own files are its business (VACUUM, see the README).
func (d *DB) Checkpoint(ctx context.Context) error {
	if d.group == nil {
		return nil
	}
	return d.group.runOutside(ctx, func(ctx context.Context, w *sql.DB) error {
		var busy, logFrames, checkpointed int
		if err := w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		if busy != 0 {
			return fmt.Errorf("checkpoint: the write-ahead log is still in use by a reader (%d of %d frames copied)", checkpointed, logFrames)
		}
		return nil
	})
}

// Querier is what both *sql.DB and *sql.Tx offer, so that a read helper can
// run inside or outside a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// IsUniqueViolation reports whether err is a unique-constraint failure on
// either engine.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	return false
}

// IsForeignKeyViolation reports whether err is a row referring to one that
// does not exist (PostgreSQL 23503, SQLite's foreign key constraint).
func IsForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	var liteErr *sqlite.Error
	return errors.As(err, &liteErr) && liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// IsCheckViolation reports whether err is PostgreSQL refusing a row or a
// statement for the CHECK constraint named constraint (23514), or for an
// error a function raised in its name (RAISE … USING ERRCODE =
// 'check_violation', CONSTRAINT = constraint). SQLite names no constraint
// in its errors: false there.
func IsCheckViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23514" && pgErr.ConstraintName == constraint
}

// IsLocked reports whether err says a lock another process or session
// holds was not given back in time: SQLite's file locked past the busy
// timeout, PostgreSQL's lock_not_available (lock_timeout, NOWAIT).
func IsLocked(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "55P03"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

// IsConflict reports whether err is PostgreSQL aborting a transaction for
// a conflict with a concurrent one: a deadlock (40P01), which the server
// breaks by aborting one of the transactions involved, or a serialization
// failure (40001). Run again, the transaction may well succeed: Tx does so,
// and the web server answers 503 with Retry-After when it still fails.
func IsConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// IsUnavailable reports whether err says the database cannot serve the
// request for now rather than that the request was wrong: the disk (or
// SQLite's max_page_count) is full, the database is read-only (a
// PostgreSQL standby, default_transaction_read_only, a read-only file
// system), locked by another process past the busy timeout, or a
// PostgreSQL server that cannot be reached, is restarting or dropped the
// connection. The store answers 503 and /readyz fails until it passes.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 25006 read_only_sql_transaction; class 53: insufficient resources
		// (disk full, out of memory, too many connections); class 08:
		// connection exceptions; 57P01-57P03: the server is shutting down,
		// crashed or still starting.
		switch {
		case pgErr.Code == "25006", strings.HasPrefix(pgErr.Code, "53"), strings.HasPrefix(pgErr.Code, "08"),
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03":
			return true
		}
		return false
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() & 0xff {
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
		return false
	}
	// PostgreSQL out of reach: no connection could be opened, or the one in
	// use was cut (the server restarted, the network dropped it).
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err)
}

// Writable reports, without writing, whether the database would take a
// write now: an error when SQLite has reached its max_page_count with no
// free page left, or when PostgreSQL would start a read-only transaction.
func (d *DB) Writable(ctx context.Context) error {
	if d.Engine == SQLite {
		var pages, maxPages, free int64
		for _, q := range []struct {
			pragma string
			v      *int64
		}{{"page_count", &pages}, {"max_page_count", &maxPages}, {"freelist_count", &free}} {
			if err := d.Write.QueryRowContext(ctx, "PRAGMA "+q.pragma).Scan(q.v); err != nil {
				return err
			}
		}
		if pages >= maxPages && free == 0 {
			return fmt.Errorf("database full: %d pages of at most %d", pages, maxPages)
		}
		return nil
	}
	var ro string
	if err := d.Write.QueryRowContext(ctx, "SELECT current_setting('transaction_read_only')").Scan(&ro); err != nil {
		return err
	}
	if ro == "on" {
		return errors.New("database is read-only")
	}
	return nil
}

// BackupSQLite writes a consistent copy of the database to path while other
// connections keep reading and writing: VACUUM INTO reads one snapshot, and
// in WAL mode a reader never blocks the writer. It runs on a connection of
// its own because the read pool is query-only and the write connection must
// stay free for the store.
func BackupSQLite(ctx context.Context, d *DB, path string) error {
	if d.Engine != SQLite {
		return fmt.Errorf("BackupSQLite on a %s database", d.Engine)
	}
	conn, err := sql.Open("sqlite", "file:"+d.Path+"?"+sqlitePragmas)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
