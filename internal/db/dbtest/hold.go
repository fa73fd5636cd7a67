package dbtest

import (
	"context"
	"testing"

	"comptoir/internal/db"
	"comptoir/internal/testwait"
)

// HoldTable opens a PostgreSQL transaction that holds table as a long
// report would (ACCESS SHARE), until the returned release or the test's
// end. pid is the holding session's, as pg_locks and the logs name it.
func HoldTable(t *testing.T, d *db.DB, table string) (pid int, release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := d.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `LOCK TABLE `+table+` IN ACCESS SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	released := false
	release = func() {
		if !released {
			released = true
			conn.ExecContext(ctx, `COMMIT`)
			conn.Close()
		}
	}
	t.Cleanup(release)
	return pid, release
}

// WaitQueuedBehind waits until some session waits for a lock on table,
// as a migration queued behind HoldTable's holder does: what, the waiter,
// names it in a failure.
func WaitQueuedBehind(t *testing.T, d *db.DB, table, what string) {
	t.Helper()
	testwait.Until(t, what+" to queue for "+table, func() bool {
		var n int
		d.Read.QueryRow(`SELECT COUNT(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted AND c.relname = $1`, table).Scan(&n)
		return n > 0
	})
}
