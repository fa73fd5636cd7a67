package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/testlog"
	"comptoir/internal/testwait"
)

// Commands that change the store, run while another session holds the lock
// they need (on SQLite the file's write lock, as a sqlite3 shell left in a
// transaction does; on PostgreSQL the users table, as an operator's LOCK
// or a migration does), give up within their wait with one line that says
// so and exit 1 (failed while running), nothing changed. On PostgreSQL
// they waited for ever; on SQLite they failed with the driver's
// "begin: database is locked (5) (SQLITE_BUSY)". Once the lock is given
// back they work.
func TestCommandsGiveUpOnALockedDatabase(t *testing.T) {
	d, url := dbtest.OpenURL(t)
	env := map[string]string{"COMPTOIR_DATABASE_URL": url, "COMPTOIR_DATA_DIR": t.TempDir()}
	for _, args := range [][]string{{"migrate"}, {"user", "add", "--email", "admin@shop.test", "--role", "admin"},
		{"user", "add", "--email", "agent@shop.test", "--role", "agent"}} {
		if code, _, errOut := runCmd(t, env, args...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, errOut)
		}
	}
	// Shortened once the store is set up: on a loaded machine a user add
	// (opening the store, hashing a password) outlasted two seconds, and
	// the set-up failed as if the database were locked.
	old := databaseWait
	databaseWait = 2 * time.Second
	t.Cleanup(func() { databaseWait = old })

	ctx := context.Background()
	conn, err := d.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stmts := []string{`BEGIN IMMEDIATE`}
	if d.Engine == db.Postgres {
		stmts = []string{`BEGIN`, `LOCK TABLE users IN ACCESS EXCLUSIVE MODE`}
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	released := false
	release := func() {
		if !released {
			released = true
			conn.ExecContext(ctx, `ROLLBACK`)
		}
	}
	defer release()

	// Far below for ever, above the wait with room for a loaded machine.
	const within = 12 * time.Second
	for _, args := range [][]string{
		{"user", "add", "--email", "bob@shop.test", "--role", "agent"},
		{"user", "disable", "--email", "agent@shop.test"},
		{"token", "create", "--email", "admin@shop.test"},
	} {
		var out, errOut bytes.Buffer
		done := make(chan int, 1)
		start := time.Now()
		go func() { done <- run(ctx, args, &out, &errOut, func(k string) string { return env[k] }) }()
		select {
		case code := <-done:
			took := time.Since(start)
			if code != exitFailed || out.Len() != 0 || strings.Count(errOut.String(), "\n") != 1 ||
				!strings.HasPrefix(errOut.String(), "comptoir: the database stayed locked by another process or session") {
				t.Errorf("%v with the database locked: exit %d, stdout %q, stderr %q; want 1 and one line saying it is locked", args, code, out.String(), errOut.String())
			}
			if took > within {
				t.Errorf("%v with the database locked gave up after %v, want within %v", args, took, within)
			}
		case <-time.After(within):
			release() // lets the command end
			<-done
			t.Fatalf("%v with the database locked still waiting after %v", args, within)
		}
	}

	release()
	databaseWait = old
	if code, out, errOut := runCmd(t, env, "user", "add", "--email", "bob@shop.test", "--role", "agent"); code != 0 || !strings.HasPrefix(out, "created agent bob@shop.test") {
		t.Fatalf("user add once the lock is given back: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, out, errOut := runCmd(t, env, "user", "disable", "--email", "agent@shop.test"); code != 0 || !strings.HasPrefix(out, "disabled agent") {
		t.Fatalf("user disable once the lock is given back: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// A backup while another session holds a table locked (PostgreSQL: a
// migration, an operator's LOCK TABLE, a transaction left open after an
// ALTER) gives up after the commands' database wait, one line saying so,
// exit 1, no file left: pg_dump waited for the lock for ever. On SQLite a
// writer holding the file's lock does not stop a backup, which reads a
// snapshot: it is written whole.
func TestBackupGivesUpOnALockedTable(t *testing.T) {
	d, url := dbtest.OpenURL(t)
	env := map[string]string{"COMPTOIR_DATABASE_URL": url, "COMPTOIR_DATA_DIR": t.TempDir()}
	if code, _, errOut := runCmd(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, errOut)
	}
	old := databaseWait
	databaseWait = 2 * time.Second
	t.Cleanup(func() { databaseWait = old })
	ctx := context.Background()
	conn, err := d.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stmts := []string{`BEGIN IMMEDIATE`, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (100000, 'x', 'x')`}
	if d.Engine == db.Postgres {
		stmts = []string{`BEGIN`, `LOCK TABLE users IN ACCESS EXCLUSIVE MODE`}
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	defer conn.ExecContext(ctx, `ROLLBACK`)

	file := filepath.Join(t.TempDir(), "backup")
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"backup", "--to", file}, &out, &errOut, func(k string) string { return env[k] })
	}()
	const within = 12 * time.Second
	var code int
	select {
	case code = <-done:
	case <-time.After(within):
		conn.ExecContext(ctx, `ROLLBACK`) // lets the backup end
		<-done
		t.Fatalf("backup with a table locked still waiting after %v", within)
	}
	_, statErr := os.Stat(file)
	if d.Engine == db.SQLite {
		if code != 0 || statErr != nil {
			t.Fatalf("backup with the file's write lock held: exit %d (%v), stderr %q; want it written", code, statErr, errOut.String())
		}
		return
	}
	if code != exitFailed || out.Len() != 0 || strings.Count(errOut.String(), "\n") != 1 ||
		!strings.HasPrefix(errOut.String(), "comptoir: the database stayed locked by another session") {
		t.Errorf("backup with a table locked: exit %d, stdout %q, stderr %q; want 1 and one line saying it is locked", code, out.String(), errOut.String())
	}
	if !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("a failed backup left its file behind (%v)", statErr)
	}
}

// Migrations wait for what holds the database (another node migrating,
// a session's lock), as they must, but they waited in silence: a deploy's
// "comptoir migrate" hung with nothing said. Past migrationNote the log
// says what it waits on; once the holder lets go, the migration is done.
func TestMigrateSaysWhatItWaitsOn(t *testing.T) {
	old := migrationNote
	migrationNote = 200 * time.Millisecond
	t.Cleanup(func() { migrationNote = old })
	ctx := context.Background()
	var url string
	var holder *sql.Conn
	if dbtest.Engine() == db.Postgres {
		// Another node migrating holds the migration lock.
		var d *db.DB
		d, url = dbtest.OpenURL(t)
		conn, err := d.Write.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7244310001)`); err != nil {
			t.Fatal(err)
		}
		holder = conn
	} else {
		// A new store, its file's write lock held by another process.
		url = "sqlite:" + filepath.Join(t.TempDir(), "comptoir.db")
		d, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		conn, err := d.Write.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
			t.Fatal(err)
		}
		holder = conn
	}
	release := func() {
		if dbtest.Engine() == db.Postgres {
			holder.ExecContext(ctx, `SELECT pg_advisory_unlock(7244310001)`)
		} else {
			holder.ExecContext(ctx, `ROLLBACK`)
		}
		holder.Close()
	}
	env := map[string]string{"COMPTOIR_DATABASE_URL": url, "COMPTOIR_DATA_DIR": t.TempDir()}
	var out, errOut testlog.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"migrate"}, &out, &errOut, func(k string) string { return env[k] }) }()
	testwait.Until(t, "migrate saying what it waits on", func() bool {
		return strings.Contains(errOut.String(), `level=WARN msg="still opening the store: its migrations wait for the database`)
	})
	release()
	select {
	case code := <-done:
		if code != 0 || !strings.HasSuffix(errOut.String(), "; database is up to date\n") || strings.Count(errOut.String(), "still opening") != 1 {
			t.Fatalf("migrate once the holder let go: exit %d, stderr %q", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("migrate still waiting 30 s after the holder let go")
	}
}
