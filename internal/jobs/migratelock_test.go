package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/jobs"
	"comptoir/internal/testlog"
	"comptoir/internal/testwait"
)

// riverBefore opens an empty store with River's migrations applied up to
// the one before the last that alters a table, and says which migration
// and table those are.
func riverBefore(t *testing.T) (d *db.DB, m *rivermigrate.Migrator[*sql.Tx], last rivermigrate.Migration, table string) {
	t.Helper()
	d = dbtest.OpenMigratedTo(t, 0)
	m, err := rivermigrate.New(riverdatabasesql.New(d.Write), nil)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^ALTER TABLE (?:/\* TEMPLATE: schema \*/)?(\w+)`)
	all := m.AllVersions()
	for i := len(all) - 1; i >= 0 && table == ""; i-- {
		if g := re.FindStringSubmatch(all[i].SQLUp); g != nil {
			last, table = all[i], g[1]
		}
	}
	if table == "" {
		t.Fatal("no migration of River's alters a table")
	}
	if _, err := m.Migrate(context.Background(), rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: last.Version - 1}); err != nil {
		t.Fatal(err)
	}
	return d, m, last, table
}

// riverVersion is the latest of River's migrations applied.
func riverVersion(t *testing.T, m *rivermigrate.Migrator[*sql.Tx]) int {
	t.Helper()
	vs, err := m.ExistingVersions(context.Background())
	if err != nil || len(vs) == 0 {
		t.Fatalf("River's versions: %v %v", vs, err)
	}
	return vs[len(vs)-1].Version
}

// River's migrations ran without a lock timeout: one altering river_job
// behind a session holding it went first in the table's lock queue, and
// every query of the job queue (inserting a job with an order, fetching
// work) waited behind it for as long as the holder held on. Each now waits
// lock_timeout at most, gives its place back and tries again, as
// comptoir's own do (TestMigrationDoesNotStallTheStoreBehindALock).
func TestRiverMigrationDoesNotStallTheQueueBehindALock(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("PostgreSQL's lock queue; SQLite's migrations wait on its busy timeout")
	}
	dbtest.NeedConnections(t, 3)
	ctx := context.Background()
	d, m, last, table := riverBefore(t)
	pid, release := dbtest.HoldTable(t, d, table)

	const lockTimeout = 300 * time.Millisecond
	var retries atomic.Int32
	var logs testlog.Buffer
	done := make(chan error, 1)
	go func() {
		done <- jobs.MigrateWith(ctx, d, db.MigrateOptions{
			Logger: slog.New(slog.NewTextHandler(&logs, nil)), LockTimeout: lockTimeout, Attempts: 1000, Pause: time.Hour,
			Wait: func(context.Context, time.Duration) error { retries.Add(1); return nil },
		})
	}()
	dbtest.WaitQueuedBehind(t, d, table, "River's migration")
	// Bounded (lock_timeout and scheduling), not for ever: on a loaded
	// machine 10 lock timeouts were not always enough.
	qctx, cancel := context.WithTimeout(ctx, testwait.Default)
	defer cancel()
	start := time.Now()
	var n int
	if err := d.Read.QueryRowContext(qctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatalf("a query on %s behind River's waiting migration %03d: %v after %v", table, last.Version, err, time.Since(start))
	}
	t.Logf("the query on %s waited %v (lock_timeout %v)", table, time.Since(start), lockTimeout)
	testwait.Until(t, "River's migration to say what it waits on", func() bool {
		return strings.Contains(logs.String(), "a migration waits for a lock another session holds")
	})
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("River's migrations once the holder let go: %v", err)
		}
	case <-time.After(testwait.Default):
		t.Fatal("River's migrations did not apply once the holder let go")
	}
	if v, want := riverVersion(t, m), m.AllVersions()[len(m.AllVersions())-1].Version; v != want {
		t.Errorf("River at version %d, want %d", v, want)
	}
	if l := logs.String(); retries.Load() == 0 || !strings.Contains(l, "migration=river_"+leftPad(last.Version)+"_") ||
		!strings.Contains(l, "pid "+strconv.Itoa(pid)+" idle in transaction") {
		t.Errorf("after %d retries the log does not name River's migration %d and the session holding %s (pid %d): %s",
			retries.Load(), last.Version, table, pid, l)
	}
}

// A lock held past the attempts: River's migration gives up with the same
// clear error as comptoir's, nothing of it applied.
func TestRiverMigrationGivesUpOnALockHeldTooLong(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("PostgreSQL's lock_timeout")
	}
	dbtest.NeedConnections(t, 2)
	d, m, last, table := riverBefore(t)
	dbtest.HoldTable(t, d, table)
	var waits []time.Duration
	// Bounded, so that a migration waiting on the lock for good fails
	// the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Default)
	defer cancel()
	err := jobs.MigrateWith(ctx, d, db.MigrateOptions{LockTimeout: 100 * time.Millisecond, Attempts: 3, Pause: 7 * time.Second,
		Wait: func(_ context.Context, pause time.Duration) error { waits = append(waits, pause); return nil }})
	if !errors.Is(err, db.ErrMigrationLocked) || !strings.Contains(err.Error(), "river_"+leftPad(last.Version)+"_") ||
		!strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "nothing of it was applied") {
		t.Fatalf("River's migration behind a lock held too long: %v", err)
	}
	if len(waits) != 2 || waits[0] != 7*time.Second {
		t.Errorf("paused %v between the 3 attempts, want 7s twice", waits)
	}
	if v := riverVersion(t, m); v != last.Version-1 {
		t.Errorf("River at version %d after giving up, want %d", v, last.Version-1)
	}
}

func leftPad(v int) string {
	s := strconv.Itoa(v)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

// River's migrations, applied one transaction each, take an empty store
// to River's latest version (the test databases come from a template
// migrated once, which does not run them again).
func TestRiverMigratesAnEmptyStore(t *testing.T) {
	d := dbtest.OpenMigratedTo(t, 0)
	if err := jobs.Migrate(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	var latest int
	if err := d.Read.QueryRow(`SELECT MAX(version) FROM river_migration`).Scan(&latest); err != nil {
		t.Fatal(err)
	}
	m, err := rivermigrate.New(riverdatabasesql.New(d.Write), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := m.AllVersions()[len(m.AllVersions())-1].Version; latest != want {
		t.Errorf("River at version %d, want %d", latest, want)
	}
	if err := jobs.Migrate(context.Background(), d); err != nil {
		t.Errorf("migrating again: %v", err)
	}
}
