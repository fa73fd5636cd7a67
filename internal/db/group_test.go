package db_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
)

// Concurrent transactions that share commits still succeed or fail one by
// one: a failing one leaves nothing, the others all commit.
func TestConcurrentTransactionsCommitOrFailAlone(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_g (n INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	const n = 300
	boom := errors.New("boom")
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.Tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO t_g (n) VALUES ($1)`, i); err != nil {
					return err
				}
				if i%3 == 0 {
					return boom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i%3 == 0) != errors.Is(err, boom) || (i%3 != 0 && err != nil) {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	rows, err := d.Read.QueryContext(ctx, `SELECT n FROM t_g`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]bool{}
	for rows.Next() {
		var v int
		rows.Scan(&v)
		got[v] = true
	}
	for i := 0; i < n; i++ {
		if got[i] == (i%3 == 0) {
			t.Fatalf("row %d present=%v", i, got[i])
		}
	}
}

// The commit counters count the transactions made durable, not those
// rolled back, and never more flushes than transactions. PostgreSQL
// groups commits itself: nothing to count.
func TestCommitStatsCountDurableTransactions(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_s (n INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	before := d.CommitStats()
	boom := errors.New("boom")
	var wg sync.WaitGroup
	for i := range 90 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.Tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO t_s (n) VALUES ($1)`, i); err != nil || i%3 != 0 {
					return err
				}
				return boom
			})
		}()
	}
	wg.Wait()
	if _, err := d.Exec(ctx, `INSERT INTO t_s (n) VALUES (1000)`); err != nil {
		t.Fatal(err)
	}
	got := d.CommitStats()
	if d.Engine == db.Postgres {
		if got != (db.CommitStats{}) {
			t.Fatalf("PostgreSQL: %+v, want zeros", got)
		}
		return
	}
	commits, txs := got.Commits-before.Commits, got.Transactions-before.Transactions
	if txs != 61 || commits < 1 || commits > txs {
		t.Fatalf("%d transactions in %d commits, want 61 (60 + the Exec) in 1..61", txs, commits)
	}
	// The writer's time: every group ran and committed, and the commits
	// are part of the work, not beside it.
	busy, flushing := got.Busy-before.Busy, got.Flushing-before.Flushing
	if flushing <= 0 || busy < flushing {
		t.Fatalf("writer busy %v, committing %v: want 0 < committing <= busy", busy, flushing)
	}
}

// A constraint failure in one transaction of a group does not spoil the
// group: its savepoint alone is rolled back.
func TestFailingStatementRollsBackOnlyItsTransaction(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_u2 (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.Tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO t_u2 (k) VALUES ($1)`, fmt.Sprintf("own-%d", i)); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO t_u2 (k) VALUES ('shared')`)
				return err
			})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !db.IsUniqueViolation(err):
			t.Fatalf("unexpected error %v", err)
		}
	}
	var rowsN int
	d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM t_u2`).Scan(&rowsN)
	if ok != 1 || rowsN != 2 {
		t.Fatalf("%d transactions committed, %d rows; want 1 and 2", ok, rowsN)
	}
}

func TestPanicReachesItsCallerOnly(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_p (k TEXT)`); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if p := recover(); p != "kaboom" {
				t.Fatalf("recovered %v", p)
			}
		}()
		d.Tx(ctx, func(tx *sql.Tx) error {
			tx.ExecContext(ctx, `INSERT INTO t_p (k) VALUES ('lost')`)
			panic("kaboom")
		})
	}()
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t_p (k) VALUES ('kept')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var k string
	var n int
	if err := d.Read.QueryRowContext(ctx, `SELECT MIN(k), COUNT(*) FROM t_p`).Scan(&k, &n); err != nil || k != "kept" || n != 1 {
		t.Fatalf("rows after a panic: %q ×%d %v", k, n, err)
	}
}

func TestTxAfterCloseFails(t *testing.T) {
	d, err := db.Open(context.Background(), "sqlite:"+t.TempDir()+"/c.db")
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	err = d.Tx(context.Background(), func(tx *sql.Tx) error { return nil })
	if err == nil {
		t.Fatal("Tx after Close succeeded")
	}
}

// Exec, from many goroutines at once beside transactions: each statement
// is applied once and reports its own outcome (rows affected, a unique
// violation), a failing one changing nothing.
func TestExecAlongsideTransactions(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_e (n INTEGER PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const n = 100
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, errs[i] = d.Exec(ctx, `INSERT INTO t_e (n, v) VALUES ($1, 0)`, i)
		}()
		go func() {
			defer wg.Done()
			errs[n+i] = d.Tx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO t_e (n, v) VALUES ($1, 0)`, n+i)
				return err
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("statement %d: %v", i, err)
		}
	}
	res, err := d.Exec(ctx, `UPDATE t_e SET v = v + 1 WHERE n < $1`, 10)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := res.RowsAffected(); err != nil || k != 10 {
		t.Fatalf("rows affected %d, %v; want 10", k, err)
	}
	if _, err := d.Exec(ctx, `INSERT INTO t_e (n, v) VALUES (1, 5)`); !db.IsUniqueViolation(err) {
		t.Fatalf("duplicate: %v, want a unique violation", err)
	}
	var count, sum int
	if err := d.Read.QueryRowContext(ctx, `SELECT count(*), sum(v) FROM t_e`).Scan(&count, &sum); err != nil || count != 2*n || sum != 10 {
		t.Fatalf("%d rows summing to %d (%v), want %d and 10", count, sum, err, 2*n)
	}
}

// ExecRow, from many goroutines at once: each upsert counts once and gets
// its own RETURNING row; a statement that returns none says so and changes
// nothing.
func TestExecRowReturnsItsOwnRow(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_r (k TEXT PRIMARY KEY, hits INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const n = 50
	got := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = d.ExecRow(ctx, `INSERT INTO t_r (k, hits) VALUES ('a', 1)
				ON CONFLICT (k) DO UPDATE SET hits = t_r.hits + 1 RETURNING hits`, nil, &got[i])
		})
	}
	wg.Wait()
	seen := map[int]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("upsert %d: %v", i, err)
		}
		seen[got[i]] = true
	}
	if len(seen) != n || !seen[1] || !seen[n] {
		t.Fatalf("the upserts returned %d distinct counts, want 1..%d", len(seen), n)
	}
	var none int
	if err := d.ExecRow(ctx, `UPDATE t_r SET hits = 0 WHERE k = $1 RETURNING hits`, []any{"b"}, &none); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("no row: %v, want sql.ErrNoRows", err)
	}
}

// A checkpoint runs between group commits, never inside one: transactions
// committing around it all succeed, and the last one leaves an empty
// write-ahead log whose old page images (a deleted secret) are gone from
// the disk.
func TestCheckpointBetweenGroupsTruncatesTheLog(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_c (n INTEGER PRIMARY KEY, s TEXT)`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 220)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- d.Tx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO t_c (n, s) VALUES ($1, $2)`, i, fmt.Sprintf("secret-%03d-zq", i))
				return err
			})
			if i%20 == 0 {
				errs <- d.Checkpoint(ctx)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM t_c`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if d.Engine != db.SQLite {
		return // nothing to look at: the server's files are its own
	}
	if d.Path == "" {
		t.Fatal("no database file")
	}
	for _, f := range []string{d.Path, d.Path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("-zq")) {
			t.Errorf("deleted rows still readable in %s", f)
		}
		if strings.HasSuffix(f, "-wal") && len(b) != 0 {
			t.Errorf("write-ahead log not truncated: %d bytes", len(b))
		}
	}
}

// A function given to AfterCommit runs once its transaction has committed,
// and never for one that rolled back — also when, on SQLite, both shared
// one group commit and only one was rolled back to its savepoint.
func TestAfterCommitRunsForCommittedTransactionsOnly(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_hook (n INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	const n = 200
	boom := errors.New("boom")
	var mu sync.Mutex
	ran := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := d.Tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO t_hook (n) VALUES ($1)`, i); err != nil {
					return err
				}
				d.AfterCommit(tx, func() {
					// The change is visible to others when the hook runs.
					var got int
					if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM t_hook WHERE n = $1`, i).Scan(&got); err != nil || got != 1 {
						t.Errorf("hook of %d ran before its row was readable: %d %v", i, got, err)
					}
					mu.Lock()
					ran[i]++
					mu.Unlock()
				})
				if i%4 == 0 {
					return boom
				}
				return nil
			})
			if (i%4 == 0) != errors.Is(err, boom) || (i%4 != 0 && err != nil) {
				t.Errorf("tx %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		want := 1
		if i%4 == 0 {
			want = 0
		}
		if ran[i] != want {
			t.Errorf("hook of tx %d ran %d times, want %d", i, ran[i], want)
		}
	}
}

// Background work alone waits for company rather than taking a disk flush
// of its own: a transaction somebody waits on, arriving meanwhile, commits
// with it at once. Closing the store ends the wait too, and commits.
func TestUnhurriedWorkWaitsForCompany(t *testing.T) {
	d, err := db.Open(context.Background(), "sqlite:"+t.TempDir()+"/unhurried.db")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t (v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{}, 1)
	// A minute: a test that waits that long has failed.
	defer db.SetUnhurriedWait(time.Minute, func() { waiting <- struct{}{} })()
	within := func(what string, c <-chan error) {
		t.Helper()
		select {
		case err := <-c:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: still waiting", what)
		}
	}
	background := func(v string) <-chan error {
		done := make(chan error, 1)
		go func() {
			_, err := d.Exec(db.Unhurried(ctx), `INSERT INTO t (v) VALUES ($1)`, v)
			done <- err
		}()
		select {
		case <-waiting:
		case <-time.After(20 * time.Second):
			t.Fatal("background work did not wait for company")
		}
		return done
	}

	bg := background("background")
	fg := make(chan error, 1)
	go func() {
		_, err := d.Exec(ctx, `INSERT INTO t (v) VALUES ('foreground')`)
		fg <- err
	}()
	within("the foreground transaction", fg)
	within("the background work it joined", bg)

	bg = background("at close")
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	within("closing", closed)
	within("the background work when closing", bg)
	d2, err := db.Open(ctx, "sqlite:"+d.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	got, err := db.Strings(ctx, d2.Read, `SELECT v FROM t ORDER BY rowid`)
	if err != nil || strings.Join(got, ",") != "background,foreground,at close" {
		t.Fatalf("rows %v, %v", got, err)
	}
}

// A transaction whose context ends while it waits for the writer (here
// the writer waits on a lock another connection holds) leaves at once,
// without running, instead of waiting out the busy timeout: a request
// answers within its own deadline. Once the lock is given back the writer
// goes on, and the transaction that left never runs.
func TestTransactionLeavesTheWritersQueueWhenItsContextEnds(t *testing.T) {
	if dbtest.Engine() != db.SQLite {
		t.Skip("the writer's queue is the SQLite group committer's")
	}
	d := dbtest.Open(t)
	other, err := sql.Open("sqlite", "file:"+d.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	holder, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	ran := false
	start := time.Now()
	err = d.Tx(short, func(tx *sql.Tx) error { ran = true; return nil })
	if took := time.Since(start); took >= db.SQLiteBusyTimeout {
		t.Errorf("the transaction left after %v, the busy timeout", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !db.IsUnavailable(err) {
		t.Errorf("transaction whose context ended while the writer waited on a lock: %v, want the deadline, as unavailable", err)
	}
	if _, err := holder.ExecContext(ctx, `COMMIT`); err != nil {
		t.Fatal(err)
	}
	if err := d.Tx(ctx, func(tx *sql.Tx) error { return nil }); err != nil {
		t.Fatalf("once the lock is given back: %v", err)
	}
	if ran {
		t.Error("the transaction that left the queue ran")
	}
}
