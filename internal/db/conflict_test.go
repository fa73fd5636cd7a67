package db_test

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
)

// TestTxRetriesTheLoserOfADeadlock: two transactions lock two rows in
// opposite orders, each waiting for the other to hold its first row before
// asking for its second. PostgreSQL aborts one of them (40P01); Tx runs it
// again, behind the winner, and both succeed. Before, the loser's caller
// got the deadlock error (a visitor, a 500).
func TestTxRetriesTheLoserOfADeadlock(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("SQLite has one writer: its transactions never overlap")
	}
	dbtest.NeedConnections(t, 2)
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_dl (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.ExecContext(ctx, `INSERT INTO t_dl (k, v) VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	held := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	signal := [2]func(){sync.OnceFunc(func() { close(held[0]) }), sync.OnceFunc(func() { close(held[1]) })}
	var attempts atomic.Int32
	var runs [2]atomic.Int32
	finished := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		first, second := i+1, 2-i // 1 then 2, or 2 then 1
		wg.Go(func() {
			defer close(finished[i])
			errs[i] = d.Tx(ctx, func(tx *sql.Tx) error {
				attempts.Add(1)
				if runs[i].Add(1) > 1 {
					// The rerun starts once the winner has committed. Sooner,
					// on a loaded machine, it could take its first row back
					// before the winner, woken by the loser's abort, had
					// taken it: a second deadlock, and more runs than the one
					// this test counts.
					<-finished[1-i]
				}
				if _, err := tx.ExecContext(ctx, `UPDATE t_dl SET v = v + 1 WHERE k = $1`, first); err != nil {
					return err
				}
				signal[i]()
				<-held[1-i] // the other holds its first row (at once on a rerun)
				_, err := tx.ExecContext(ctx, `UPDATE t_dl SET v = v + 1 WHERE k = $1`, second)
				return err
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d: %v (conflict: %v)", i, err, db.IsConflict(err))
		}
	}
	if n := attempts.Load(); n != 3 {
		t.Errorf("%d attempts; want 3 (the deadlock's loser run again once)", n)
	}
	if n := d.ConflictsRetried(); n != 1 {
		t.Errorf("%d conflicts counted; want 1 (the metric and the lock-order tests read it)", n)
	}
	var v1, v2 int
	if err := d.Read.QueryRowContext(ctx, `SELECT (SELECT v FROM t_dl WHERE k = 1), (SELECT v FROM t_dl WHERE k = 2)`).Scan(&v1, &v2); err != nil {
		t.Fatal(err)
	}
	if v1 != 2 || v2 != 2 {
		t.Errorf("rows %d and %d; want 2 and 2 (each transaction counted once)", v1, v2)
	}
}

// TestTxGivesUpOnConflictsAfterItsAttempts: a transaction that loses its
// conflict every time is run TxAttempts times, then its error (still a
// conflict, for the web server's 503) is returned.
func TestTxGivesUpOnConflictsAfterItsAttempts(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("PostgreSQL's conflicts")
	}
	ctx := context.Background()
	d := dbtest.Open(t)
	var attempts int
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		attempts++
		// What the server says to a deadlock's loser, raised by hand.
		_, err := tx.ExecContext(ctx, `DO $$ BEGIN RAISE EXCEPTION 'lost' USING ERRCODE = 'deadlock_detected'; END $$`)
		return err
	})
	if !db.IsConflict(err) || attempts != db.TxAttempts {
		t.Fatalf("after %d attempts: %v; want a conflict after %d", attempts, err, db.TxAttempts)
	}
}
