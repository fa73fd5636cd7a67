package db_test

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"modernc.org/sqlite"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/testwait"
)

// A request whose caller leaves (a closed connection, a deadline) while
// one of its statements runs loses its own transaction only. On SQLite the
// transactions waiting together share one database transaction (the group
// commit), and the driver interrupted a statement whose context ended:
// SQLite rolls back the whole transaction when an INSERT, UPDATE or DELETE
// inside one is interrupted, and every other transaction of the group
// failed with it. A request whose context ended before its turn still
// never runs; on PostgreSQL, where each is a transaction of its own, the
// one cancelled is rolled back by the server, alone.
func TestCancelledStatementSparesTheOthersTransactions(t *testing.T) {
	dbtest.NeedConnections(t, 5)
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_cancel (who TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	slowInsert, entered, release := slowStatement(t, d)

	// The others' contexts can be cancelled too, as a request's can: only
	// the one that is, is.
	others, cancelOthers := context.WithCancel(ctx)
	defer cancelOthers()
	leaving, leave := context.WithCancel(ctx)
	defer leave()
	gone, cancelGone := context.WithCancel(ctx)
	cancelGone()

	insert := func(ctx context.Context, tx *sql.Tx, who string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t_cancel (who) VALUES ($1)`, who)
		return err
	}
	var goneRan atomic.Bool
	ctxs := []context.Context{others, leaving, gone, others}
	fns := []func(*sql.Tx) error{
		func(tx *sql.Tx) error { return insert(others, tx, "before") },
		func(tx *sql.Tx) error {
			if err := insert(leaving, tx, "leaving"); err != nil {
				return err
			}
			if _, err := tx.ExecContext(leaving, slowInsert, "leaving, slow"); err != nil {
				return err
			}
			return insert(leaving, tx, "leaving, after")
		},
		func(tx *sql.Tx) error { goneRan.Store(true); return insert(gone, tx, "gone") },
		func(tx *sql.Tx) error { return insert(others, tx, "after") },
	}
	results := make(chan []error, 1)
	go func() { results <- db.RunTogether(d, ctxs, fns) }()
	select {
	case <-entered:
	case <-time.After(testwait.Default):
		t.Fatal("the slow statement never ran")
	}
	leave() // its caller goes away while the statement runs
	release()
	var errs []error
	select {
	case errs = <-results:
	case <-time.After(testwait.Default):
		t.Fatal("the transactions never ended")
	}

	for i, who := range []string{"before", "", "", "after"} {
		if who != "" && errs[i] != nil {
			t.Errorf("the transaction %q, beside one whose caller left: %v", who, errs[i])
		}
	}
	t.Logf("the transaction whose caller left during its statement: %v", errs[1])
	if !errors.Is(errs[1], context.Canceled) {
		t.Errorf("the transaction whose caller left during its statement: %v, want context.Canceled", errs[1])
	}
	if !errors.Is(errs[2], context.Canceled) || goneRan.Load() {
		t.Errorf("the transaction whose caller left before its turn: %v, ran %v; want context.Canceled, not run", errs[2], goneRan.Load())
	}
	got, err := db.Strings(ctx, d.Read, `SELECT who FROM t_cancel ORDER BY who`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"after", "before"}; !slices.Equal(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
}

// A group broken by a real error (SQLite rolled the whole transaction
// back: a full disk, out of memory; here a member's ROLLBACK) fails every
// member that ran or would have, with that error; but a member whose
// context had ended before its turn never ran, and says so with its
// context's error, as it does in a group that commits. Before, it reported
// the group's error, as if it had been tried. On PostgreSQL, where each is
// a transaction of its own, the one cancelled never begins either.
func TestBrokenGroupSparesTheGoneTheirOwnError(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_cancel (who TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	gone, cancelGone := context.WithCancel(ctx)
	cancelGone()
	insert := func(who string) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO t_cancel (who) VALUES ($1)`, who)
			return err
		}
	}
	var goneRan atomic.Bool
	breaker := errors.New("the whole transaction is gone")
	errs := db.RunTogether(d, []context.Context{ctx, ctx, gone, ctx}, []func(*sql.Tx) error{
		insert("before"),
		func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `ROLLBACK`); err != nil {
				return err
			}
			return breaker
		},
		func(tx *sql.Tx) error { goneRan.Store(true); return insert("gone")(tx) },
		insert("after"),
	})
	if !errors.Is(errs[2], context.Canceled) || goneRan.Load() {
		t.Errorf("the member whose context ended before its turn: %v, ran %v; want context.Canceled, not run", errs[2], goneRan.Load())
	}
	if !errors.Is(errs[1], breaker) {
		t.Errorf("the member that broke the group: %v, want its own error", errs[1])
	}
	if d.Engine == db.SQLite {
		for _, i := range []int{0, 3} {
			if errs[i] == nil || errors.Is(errs[i], context.Canceled) {
				t.Errorf("member %d of the broken group: %v, want the group's error", i, errs[i])
			}
		}
		got, err := db.Strings(ctx, d.Read, `SELECT who FROM t_cancel ORDER BY who`)
		if err != nil || len(got) != 0 {
			t.Errorf("rows %q (%v), want none: the group was rolled back", got, err)
		}
	}
}

// A group whose BEGIN fails ran nobody: its members get the BEGIN's
// error, but a member whose context had already ended says so with its
// context's error, as it does when the group breaks for another reason
// (TestBrokenGroupSparesTheGoneTheirOwnError). Before, it reported the
// BEGIN's error. Here BEGIN fails because the write connection was left
// inside a transaction. On PostgreSQL each is a transaction of its own and
// there is no group BEGIN.
func TestFailedGroupBeginSparesTheGoneTheirOwnError(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if d.Engine != db.SQLite {
		t.Skip("the group's own BEGIN: on PostgreSQL each is a transaction of its own")
	}
	if _, err := d.Write.ExecContext(ctx, `BEGIN`); err != nil {
		t.Fatal(err)
	}
	gone, cancelGone := context.WithCancel(ctx)
	cancelGone()
	var ran atomic.Int32
	fn := func(*sql.Tx) error { ran.Add(1); return nil }
	errs := db.RunTogether(d, []context.Context{ctx, gone, ctx}, []func(*sql.Tx) error{fn, fn, fn})
	if _, err := d.Write.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 0 {
		t.Errorf("%d members ran in a group whose BEGIN failed", ran.Load())
	}
	if !errors.Is(errs[1], context.Canceled) {
		t.Errorf("the member whose context had ended: %v, want context.Canceled", errs[1])
	}
	for _, i := range []int{0, 2} {
		if errs[i] == nil || errors.Is(errs[i], context.Canceled) || !strings.Contains(errs[i].Error(), "begin") {
			t.Errorf("member %d of the group whose BEGIN failed: %v, want the BEGIN's error", i, errs[i])
		}
	}
}

// Only a group's statements ignore their contexts' cancellation: a query
// on the read connections, and a statement run on the write connection
// outside any group (as River's and a checkpoint are), are still
// interrupted when their context ends, which rolls back nothing of
// anybody else's.
func TestStatementsOutsideGroupsStayCancellable(t *testing.T) {
	if dbtest.Engine() != db.SQLite {
		t.Skip("the SQLite driver's interrupts; on PostgreSQL pgx cancels every statement whose context ends, as before")
	}
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(context.Background(), `CREATE TABLE t_cancel (who TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"a read", func(ctx context.Context) error {
			var n int
			return d.Read.QueryRowContext(ctx, gatedRows+` SELECT COUNT(*) FROM n WHERE comptoir_test_gate(x)`).Scan(&n)
		}},
		{"a write outside groups", func(ctx context.Context) error {
			_, err := d.Write.ExecContext(ctx, `INSERT INTO t_cancel (who) `+gatedRows+` SELECT 'outside' FROM n WHERE comptoir_test_gate(x) AND x = 1`)
			return err
		}},
	} {
		g := sqliteGate(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.run(ctx) }()
		select {
		case <-g.entered:
		case <-time.After(testwait.Default):
			t.Fatalf("%s never ran", c.name)
		}
		cancel()
		g.open()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) || g.calls.Load() >= 10000 {
				t.Errorf("%s whose context ended while it ran: %v after %d rows of 10000, want context.Canceled before the end",
					c.name, err, g.calls.Load())
			}
		case <-time.After(testwait.Default):
			t.Fatalf("%s never ended", c.name)
		}
	}
	var n int
	if err := d.Read.QueryRow(`SELECT COUNT(*) FROM t_cancel`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows (%v), want none: the interrupted INSERT left nothing", n, err)
	}
}

// slowStatement returns an INSERT into t_cancel of the row ($1) that runs
// until release is called, entered closed once it runs.
//
// On SQLite it calls comptoir_test_gate, which waits there. Released, the
// gate also waits until the driver is done watching the statement's
// context (its watcher goroutine, which interrupts the statement once the
// context ends, has done so or was never started): the statement goes on
// only then, so that an interrupt the driver delivers always lands in it.
// On PostgreSQL the statement waits for an advisory lock the test holds
// to its end: release does nothing there, the cancellation alone ends it.
func slowStatement(t *testing.T, d *db.DB) (query string, entered <-chan struct{}, release func()) {
	t.Helper()
	if d.Engine == db.Postgres {
		in := make(chan struct{})
		ctx := context.Background()
		holder, err := d.Write.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { holder.Close() })
		key := time.Now().UnixNano()
		if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
			t.Fatal(err)
		}
		go func() {
			deadline := time.Now().Add(testwait.Default)
			for time.Now().Before(deadline) {
				var n int
				holder.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
					AND (classid::bigint << 32) | objid::bigint = $1`, key).Scan(&n)
				if n > 0 {
					close(in)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		// Held until the test ends (the holder's session closes): the
		// statement ends only by being cancelled.
		return fmt.Sprintf(`INSERT INTO t_cancel (who) SELECT $1::text FROM (SELECT pg_advisory_xact_lock(%d)) l`, key), in, func() {}
	}
	g := sqliteGate(t)
	return `INSERT INTO t_cancel (who) ` + gatedRows + ` SELECT $1 FROM n WHERE comptoir_test_gate(x) AND x = 1`, g.entered, g.open
}

// gatedRows numbers the rows n(x) a gated statement reads: thousands after
// the first, the gate's, so that an interrupt is seen between two.
const gatedRows = `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 10000)`

// sqliteGate arms comptoir_test_gate for the test: entered is closed once
// a statement calls it with 1, which waits there until open is called.
func sqliteGate(t *testing.T) *gateState {
	g := &gateState{entered: make(chan struct{}), release: make(chan struct{})}
	theGate.Store(g)
	t.Cleanup(func() { theGate.Store(nil) })
	return g
}

type gateState struct {
	entered, release chan struct{}
	once             sync.Once
	// calls counts the gate's calls: for a statement that calls it on
	// every row, fewer than gatedRows' 10000 once it was interrupted.
	calls atomic.Int64
}

func (g *gateState) open() { g.once.Do(func() { close(g.release) }) }

var theGate atomic.Pointer[gateState]

func init() {
	sqlite.MustRegisterScalarFunction("comptoir_test_gate", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		g := theGate.Load()
		if g == nil {
			return true, nil
		}
		if g.calls.Add(1); args[0] != int64(1) {
			return true, nil
		}
		close(g.entered)
		deadline := time.After(testwait.Default)
		select {
		case <-g.release:
		case <-deadline:
			return nil, errors.New("comptoir_test_gate: never released")
		}
		for watchingContexts() {
			select {
			case <-deadline:
				return nil, errors.New("comptoir_test_gate: the driver still watches a context")
			case <-time.After(time.Millisecond):
			}
		}
		return true, nil
	})
}

// watchingContexts reports whether the SQLite driver has a goroutine
// watching a statement's context, to interrupt it once the context ends.
func watchingContexts() bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Contains(buf[:n], []byte("modernc.org/sqlite.interruptOnDone.func"))
		}
		buf = make([]byte, 2*len(buf))
	}
}
