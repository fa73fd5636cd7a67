package db_test

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/testlog"
	"comptoir/internal/testwait"
)

// lastAlter is the last PostgreSQL migration that alters a table, and
// that table.
func lastAlter(t *testing.T) (db.Migration, string) {
	t.Helper()
	ms, err := db.Migrations(db.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^ALTER TABLE (?:IF EXISTS )?(\w+)`)
	for i := len(ms) - 1; i >= 0; i-- {
		if m := re.FindStringSubmatch(ms[i].SQL); m != nil {
			return ms[i], m[1]
		}
	}
	t.Fatal("no migration alters a table")
	return db.Migration{}, ""
}

func columnCount(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.Read.QueryRow(`SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A migration's ALTER waiting for a table another session holds went
// first in the table's lock queue, and every query of the store on the
// table waited behind it for as long as the holder held on. The migration
// now waits lock_timeout at most, gives its place back, and tries again:
// the store's queries on the table go through meanwhile, and the
// migration applies once the holder lets go.
func TestMigrationDoesNotStallTheStoreBehindALock(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("PostgreSQL's lock queue; SQLite's migrations wait on its busy timeout")
	}
	dbtest.NeedConnections(t, 3)
	ctx := context.Background()
	m, table := lastAlter(t)
	d := dbtest.OpenMigratedTo(t, m.Version-1)
	pid, release := dbtest.HoldTable(t, d, table)

	const lockTimeout = 300 * time.Millisecond
	var retries atomic.Int32
	var logs testlog.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := d.MigrateWith(ctx, db.MigrateOptions{
			Logger: slog.New(slog.NewTextHandler(&logs, nil)), LockTimeout: lockTimeout, Attempts: 1000, Pause: time.Hour,
			// No pause: the migration queues again at once.
			Wait: func(context.Context, time.Duration) error { retries.Add(1); return nil },
		})
		done <- err
	}()
	dbtest.WaitQueuedBehind(t, d, table, "the migration")
	// A query of the store on the table, behind the migration in the
	// queue: without the lock timeout it waited as long as the holder.
	// Bounded (lock_timeout and scheduling), not for ever: on a loaded
	// machine 10 lock timeouts were not always enough.
	qctx, cancel := context.WithTimeout(ctx, testwait.Default)
	defer cancel()
	start := time.Now()
	var n int
	if err := d.Read.QueryRowContext(qctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatalf("a query on %s behind the waiting migration %04d_%s: %v after %v", table, m.Version, m.Name, err, time.Since(start))
	}
	t.Logf("the query on %s waited %v (lock_timeout %v)", table, time.Since(start), lockTimeout)

	testwait.Until(t, "the migration to say what it waits on", func() bool {
		return strings.Contains(logs.String(), "a migration waits for a lock another session holds")
	})
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("migration once the holder let go: %v", err)
		}
	case <-time.After(testwait.Default):
		t.Fatal("the migration did not apply once the holder let go")
	}
	if v, err := d.SchemaVersion(ctx); err != nil || v < m.Version {
		t.Errorf("schema version %d (%v), want at least %d", v, err, m.Version)
	}
	name := strconv.Itoa(m.Version)
	for len(name) < 4 {
		name = "0" + name
	}
	if l := logs.String(); retries.Load() == 0 || !strings.Contains(l, "migration="+name+"_"+m.Name) ||
		!strings.Contains(l, "pid "+strconv.Itoa(pid)+" idle in transaction") || !strings.Contains(l, "LOCK TABLE "+table) {
		t.Errorf("after %d retries the log does not name the migration and the session holding %s (pid %d): %s", retries.Load(), table, pid, l)
	}
}

// A lock that stays held past the attempts: the migration gives up with
// a clear error, nothing of it applied.
func TestMigrationGivesUpOnALockHeldTooLong(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("PostgreSQL's lock_timeout")
	}
	dbtest.NeedConnections(t, 2)
	ctx := context.Background()
	m, table := lastAlter(t)
	d := dbtest.OpenMigratedTo(t, m.Version-1)
	columns := columnCount(t, d)
	dbtest.HoldTable(t, d, table)

	var waits []time.Duration
	_, err := d.MigrateWith(ctx, db.MigrateOptions{LockTimeout: 100 * time.Millisecond, Attempts: 3, Pause: 7 * time.Second,
		Wait: func(_ context.Context, pause time.Duration) error { waits = append(waits, pause); return nil }})
	if !errors.Is(err, db.ErrMigrationLocked) || !strings.Contains(err.Error(), "_"+m.Name+": ") ||
		!strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "nothing of it was applied") {
		t.Fatalf("migration behind a lock held too long: %v", err)
	}
	if len(waits) != 2 || waits[0] != 7*time.Second {
		t.Errorf("paused %v between the 3 attempts, want 7s twice", waits)
	}
	if v, err := d.SchemaVersion(ctx); err != nil || v != m.Version-1 {
		t.Errorf("schema version %d (%v) after giving up, want %d", v, err, m.Version-1)
	}
	if n := columnCount(t, d); n != columns {
		t.Errorf("%d columns after giving up, %d before: half applied", n, columns)
	}
}
