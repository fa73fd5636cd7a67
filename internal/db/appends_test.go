package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
)

// Append's rows are written with their transaction, in order, with the
// arguments as given; one that fails rolls the whole transaction back; a
// transaction Tx did not start writes them at once.
func TestAppendedRowsCommitWithTheirTransaction(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_app (k TEXT PRIMARY KEY, n INTEGER NOT NULL, note TEXT, at `+timestampType(d)+`)`); err != nil {
		t.Fatal(err)
	}
	rows := func() map[string]int {
		t.Helper()
		r, err := d.Read.QueryContext(ctx, `SELECT k, n FROM t_app`)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got := map[string]int{}
		for r.Next() {
			var k string
			var n int
			if err := r.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			got[k] = n
		}
		return got
	}
	at := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	insert := `INSERT INTO t_app (k, n, note, at) VALUES ($1, $2, $3, $4)`

	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insert, "direct", 1, nil, at); err != nil {
			return err
		}
		for i, k := range []string{"a", "b", "c"} {
			if err := db.Append(ctx, tx, insert, k, i, sql.NullString{String: "x", Valid: i == 1}, at); err != nil {
				return err
			}
		}
		// Not there yet on PostgreSQL: sent with the commit.
		want := 3
		if d.Engine == db.Postgres {
			want = 0
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM t_app WHERE k IN ('a', 'b', 'c')`).Scan(&n); err != nil || n != want {
			t.Errorf("appended rows seen inside the transaction: %d, want %d (%v)", n, want, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(); len(got) != 4 || got["direct"] != 1 || got["a"] != 0 || got["b"] != 1 || got["c"] != 2 {
		t.Fatalf("rows after commit: %v", got)
	}
	var note sql.NullString
	var when time.Time
	if err := d.Read.QueryRowContext(ctx, `SELECT note, at FROM t_app WHERE k = 'b'`).Scan(&note, &when); err != nil || note.String != "x" || !when.Equal(at) {
		t.Fatalf("appended arguments: %v %v %v", note, when, err)
	}

	// An appended row that fails (a key already taken) fails the
	// transaction, and nothing of it is written.
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insert, "first", 1, nil, at); err != nil {
			return err
		}
		if err := db.Append(ctx, tx, insert, "second", 2, nil, at); err != nil {
			return err
		}
		return db.Append(ctx, tx, insert, "a", 3, nil, at)
	})
	if err == nil || !db.IsUniqueViolation(err) {
		t.Fatalf("a failing appended row: Tx returned %v", err)
	}
	if got := rows(); len(got) != 4 || got["first"] != 0 || got["second"] != 0 {
		t.Fatalf("rows after a failed append: %v", got)
	}

	// A transaction Tx did not start: written at once, seen by the next
	// statement.
	tx, err := d.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := db.Append(ctx, tx, insert, "raw", 5, nil, at); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT n FROM t_app WHERE k = 'raw'`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("append outside Tx: %d %v", n, err)
	}
	if err := db.Append(ctx, tx, insert, "a", 0, nil, at); !db.IsUniqueViolation(err) {
		t.Fatalf("append outside Tx of a taken key: %v", err)
	}
}

// AppendWrapped's row fails with the caller's own error (what it would
// have returned had it run the statement), from Tx or from FlushAppends;
// FlushAppends writes the queue at once, in order, so that the next
// statement sees it; a row failing in the middle of a flushed pipeline
// fails the transaction with that row's error, and nothing of it is
// written, the rows before it included.
func TestAppendWrappedAndFlushAppends(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_wrap (k TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0))`); err != nil {
		t.Fatal(err)
	}
	insert := `INSERT INTO t_wrap (k, n) VALUES ($1, $2)`
	errTaken := errors.New("key taken")
	wrap := func(err error) error {
		if db.IsUniqueViolation(err) {
			return fmt.Errorf("%w: %w", errTaken, err)
		}
		return fmt.Errorf("t_wrap: %w", err)
	}
	count := func(q db.Querier) int {
		t.Helper()
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM t_wrap`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	err := d.Tx(ctx, func(tx *sql.Tx) error {
		for i, k := range []string{"a", "b"} {
			if err := db.AppendWrapped(ctx, tx, wrap, insert, k, i); err != nil {
				return err
			}
		}
		if err := db.FlushAppends(ctx, tx); err != nil {
			return err
		}
		// Flushed: the rows are there for the next statement.
		if res, err := tx.ExecContext(ctx, `UPDATE t_wrap SET n = n + 10 WHERE k IN ('a', 'b')`); err != nil {
			return err
		} else if n, _ := res.RowsAffected(); n != 2 {
			t.Errorf("update after FlushAppends changed %d rows, want 2", n)
		}
		if err := db.FlushAppends(ctx, tx); err != nil { // nothing left: nothing sent
			return err
		}
		return db.AppendWrapped(ctx, tx, wrap, insert, "c", 2)
	})
	if err != nil {
		t.Fatal(err)
	}
	var a, c int
	if err := d.Read.QueryRowContext(ctx, `SELECT (SELECT n FROM t_wrap WHERE k = 'a'), (SELECT n FROM t_wrap WHERE k = 'c')`).Scan(&a, &c); err != nil || a != 10 || c != 2 {
		t.Fatalf("after commit: a=%d c=%d (%v)", a, c, err)
	}

	// The second of three rows fails (a key taken): its own error, from
	// FlushAppends and then from Tx; the first and third are not written.
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		for _, r := range []struct {
			k string
			n int
		}{{"d", 1}, {"a", 1}, {"e", 1}} {
			if err := db.AppendWrapped(ctx, tx, wrap, insert, r.k, r.n); err != nil {
				return err
			}
		}
		err := db.FlushAppends(ctx, tx)
		if !errors.Is(err, errTaken) {
			t.Errorf("FlushAppends with a taken key: %v, want the row's wrapped error", err)
		}
		return err
	})
	if !errors.Is(err, errTaken) || !db.IsUniqueViolation(err) {
		t.Fatalf("Tx with a taken key flushed: %v", err)
	}
	if n := count(d.Read); n != 3 {
		t.Fatalf("%d rows after the failed flush, want 3", n)
	}

	// The same from the commit's pipeline, for another error (a check):
	// the row's wrapped error, nothing written.
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		if err := db.AppendWrapped(ctx, tx, wrap, insert, "f", 1); err != nil {
			return err
		}
		if err := db.AppendWrapped(ctx, tx, wrap, insert, "g", -1); err != nil {
			return err
		}
		return db.Append(ctx, tx, insert, "h", 1)
	})
	if err == nil || !strings.Contains(err.Error(), "t_wrap: ") || errors.Is(err, errTaken) {
		t.Fatalf("Tx with a row failing its check: %v", err)
	}
	if n := count(d.Read); n != 3 {
		t.Fatalf("%d rows after the failed commit, want 3", n)
	}
}

// A query made with a context of FlushingReads, in a transaction with
// appended rows, sends them first and sees them (on SQLite they are there
// already); so does a later one, at no further cost. Without
// FlushingReads, and for a statement run with ExecContext, nothing is sent
// early: the rows wait for the commit, as before (no round trip added).
// An appended row that fails fails the query with its own error, and the
// transaction. Rows a rolled-back transaction left queued are not sent by
// a later one's query on the same connection.
func TestFlushingReadsSeeAppendedRows(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_fr (k TEXT PRIMARY KEY, n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	insert := `INSERT INTO t_fr (k, n) VALUES ($1, $2)`
	pg := d.Engine == db.Postgres
	count := func(ctx context.Context, tx *sql.Tx) int {
		t.Helper()
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM t_fr`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var rt db.RoundTrips
	cctx := db.CountRoundTrips(ctx, &rt)
	reads := db.FlushingReads(cctx)
	err := d.Tx(cctx, func(tx *sql.Tx) error {
		for i, k := range []string{"a", "b", "c"} {
			if err := db.Append(cctx, tx, insert, k, i); err != nil {
				return err
			}
		}
		if n, want := count(cctx, tx), map[bool]int{true: 0, false: 3}[pg]; n != want {
			t.Errorf("a query without FlushingReads sees %d rows, want %d", n, want)
		}
		if _, err := tx.ExecContext(reads, `UPDATE t_fr SET n = n + 1 WHERE k = 'zz'`); err != nil {
			return err
		}
		before := rt.Load()
		if n := count(reads, tx); n != 3 {
			t.Errorf("a query with FlushingReads sees %d rows, want 3", n)
		}
		if got, want := rt.Load()-before, map[bool]int64{true: 2, false: 1}[pg]; got != want {
			t.Errorf("the query with the rows sent: %d round trips, want %d", got, want)
		}
		before = rt.Load()
		if n := count(reads, tx); n != 3 {
			t.Errorf("a second query sees %d rows, want 3", n)
		}
		if got := rt.Load() - before; got != 1 {
			t.Errorf("a query with nothing left to send: %d round trips, want 1", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A failing row: the query returns its error, wrapped as its caller
	// asked, and Tx that error; nothing is written.
	errTaken := errors.New("key taken")
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		if err := db.Append(ctx, tx, insert, "d", 1); err != nil {
			return err
		}
		if err := db.AppendWrapped(ctx, tx, func(err error) error { return fmt.Errorf("%w: %w", errTaken, err) }, insert, "a", 1); err != nil {
			return err
		}
		var n int
		return tx.QueryRowContext(db.FlushingReads(ctx), `SELECT COUNT(*) FROM t_fr`).Scan(&n)
	})
	if !errors.Is(err, errTaken) || !db.IsUniqueViolation(err) {
		t.Fatalf("a query after a failing appended row: %v", err)
	}

	// Rolled back with rows queued; the next transactions' queries send
	// none of them (on PostgreSQL the pool's connections are reused).
	rollback := errors.New("rollback")
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		if err := db.Append(ctx, tx, insert, "e", 1); err != nil {
			return err
		}
		return rollback
	}); !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	for range 4 {
		if err := d.Tx(ctx, func(tx *sql.Tx) error {
			if n := count(db.FlushingReads(ctx), tx); n != 3 {
				t.Errorf("after a rollback: %d rows, want 3", n)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// AppendRow's rows of one RowInsert are all written, in their order and
// with their values, by one statement per transaction on PostgreSQL
// (counted by a statement trigger), among other appended rows; a row
// appended after FlushAppends is a statement of its own. On SQLite each is
// written at once.
func TestAppendRowMergesARowInsert(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	setup := []string{
		`CREATE TABLE t_rows (id ` + map[db.Engine]string{db.Postgres: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", db.SQLite: "INTEGER PRIMARY KEY"}[d.Engine] + `, k TEXT NOT NULL, n INTEGER, at ` + timestampType(d) + `)`,
		`CREATE TABLE t_other (k TEXT PRIMARY KEY)`,
	}
	if d.Engine == db.Postgres {
		setup = append(setup, `CREATE TABLE t_stmts (n INTEGER NOT NULL)`,
			`CREATE FUNCTION t_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t_stmts VALUES (1); RETURN NULL; END $$`,
			`CREATE TRIGGER t_count AFTER INSERT ON t_rows FOR EACH STATEMENT EXECUTE FUNCTION t_count()`)
	}
	for _, s := range setup {
		if _, err := d.Write.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	ins := db.NewRowInsert("t_rows", "k", "n", "at")
	at := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		for i, k := range []string{"a", "b", "c", "d"} {
			if i == 3 {
				if err := db.FlushAppends(ctx, tx); err != nil {
					return err
				}
			}
			var n any
			if i != 1 {
				n = i
			}
			if err := db.AppendRow(ctx, tx, ins, k, n, at.Add(time.Duration(i)*time.Second)); err != nil {
				return err
			}
			if err := db.Append(ctx, tx, `INSERT INTO t_other (k) VALUES ($1)`, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Read.QueryContext(ctx, `SELECT k, n, at FROM t_rows ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	for r.Next() {
		var k string
		var n sql.NullInt64
		var when time.Time
		if err := r.Scan(&k, &n, &when); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %v %d %s", k, n.Valid, n.Int64, when.UTC().Format(time.TimeOnly)))
	}
	if want := "a true 0 03:00:00|b false 0 03:00:01|c true 2 03:00:02|d true 3 03:00:03"; strings.Join(got, "|") != want {
		t.Errorf("rows %q, want %q", strings.Join(got, "|"), want)
	}
	var others int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM t_other`).Scan(&others); err != nil || others != 4 {
		t.Errorf("%d other rows (%v), want 4", others, err)
	}
	if d.Engine == db.Postgres {
		var stmts int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM t_stmts`).Scan(&stmts); err != nil || stmts != 2 {
			t.Errorf("%d statements wrote the rows (%v), want 2: the three before the flush, the one after", stmts, err)
		}
	}
	// Many rows: a statement per maxMergedRows (32), all written.
	if _, err := d.Write.ExecContext(ctx, `DELETE FROM t_rows`); err != nil {
		t.Fatal(err)
	}
	if d.Engine == db.Postgres {
		if _, err := d.Write.ExecContext(ctx, `DELETE FROM t_stmts`); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		for i := range 70 {
			if err := db.AppendRow(ctx, tx, ins, fmt.Sprint(i), i, at); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var rowsWritten, sum int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*), SUM(n) FROM t_rows`).Scan(&rowsWritten, &sum); err != nil || rowsWritten != 70 || sum != 69*70/2 {
		t.Errorf("%d rows, sum %d (%v), want 70, %d", rowsWritten, sum, err, 69*70/2)
	}
	if d.Engine == db.Postgres {
		var stmts int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM t_stmts`).Scan(&stmts); err != nil || stmts != 3 {
			t.Errorf("70 rows in %d statements (%v), want 3", stmts, err)
		}
	}
	if err := d.Tx(ctx, func(tx *sql.Tx) error { return db.AppendRow(ctx, tx, ins, "short") }); err == nil {
		t.Error("a row of one value for three columns was accepted")
	}
}
