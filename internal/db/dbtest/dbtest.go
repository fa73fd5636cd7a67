// Package dbtest gives each test a freshly migrated database on the engine
// that the run is for: COMPTOIR_TEST_ENGINE=sqlite (the default) or postgres,
// with COMPTOIR_TEST_DATABASE_URL naming a PostgreSQL server on which the
// tests may create databases (make test starts a throw-away one).
//
// Migrating takes longer than copying, so each engine migrates once: SQLite
// into a template file copied per test, PostgreSQL into a template database
// cloned per test (CREATE DATABASE … TEMPLATE).
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/jobs"
)

// Engine is the engine this test run uses.
func Engine() db.Engine {
	if os.Getenv("COMPTOIR_TEST_ENGINE") == string(db.Postgres) {
		return db.Postgres
	}
	return db.SQLite
}

// NeedConnections skips a test that holds n connections at once by design
// (transactions made to wait on each other) when COMPTOIR_TEST_PG_POOL
// gives its database fewer.
func NeedConnections(t testing.TB, n int) {
	t.Helper()
	if limit := PoolLimit(); limit > 0 && Engine() == db.Postgres && limit < n {
		t.Skipf("needs %d connections at once; COMPTOIR_TEST_PG_POOL=%d", n, limit)
	}
}

// PoolLimit is the pool size COMPTOIR_TEST_PG_POOL gives every PostgreSQL
// test database, 0 when it is not set.
func PoolLimit() int {
	n, _ := strconv.Atoi(os.Getenv("COMPTOIR_TEST_PG_POOL"))
	return n
}

// Open returns a new, migrated, empty database, closed and removed when the
// test ends.
func Open(t testing.TB) *db.DB {
	t.Helper()
	d, _ := OpenURL(t)
	return d
}

// OpenURL is Open that also returns the database URL, for tests that start
// the real server or CLI on it.
func OpenURL(t testing.TB) (*db.DB, string) {
	t.Helper()
	var u string
	if Engine() == db.Postgres {
		u = newPostgres(t)
	} else {
		u = newSQLite(t)
	}
	d, err := db.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d, u
}

// OpenMigratedTo opens an empty database (SQLite: a new file; PostgreSQL: a
// new schema of a test database) with comptoir's migrations applied up to
// version upTo only, for tests of what a later migration does to the rows
// an older version wrote. d.Migrate applies the rest.
func OpenMigratedTo(t testing.TB, upTo int) *db.DB {
	t.Helper()
	ctx := context.Background()
	var raw string
	if Engine() == db.Postgres {
		d, u := OpenURL(t)
		const schema = "legacy"
		if _, err := d.Write.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
			t.Fatal(err)
		}
		raw = withParam(t, u, "search_path", schema)
	} else {
		raw = "sqlite:" + filepath.Join(t.TempDir(), "legacy.db")
	}
	d, err := db.Open(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ms, err := db.Migrations(d.Engine)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:upTo] {
		tx, err := d.Write.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			t.Fatalf("migration %d: %v", m.Version, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, m.Version, m.Name, "x"); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// Migrate applies comptoir's and River's migrations: the whole schema.
func Migrate(ctx context.Context, d *db.DB) error {
	if err := d.Migrate(ctx); err != nil {
		return err
	}
	return jobs.Migrate(ctx, d)
}

var sqliteTemplate struct {
	once sync.Once
	path string
	err  error
}

func newSQLite(t testing.TB) string {
	t.Helper()
	sqliteTemplate.once.Do(func() {
		dir, err := os.MkdirTemp("", "comptoir-dbtest-")
		if err != nil {
			sqliteTemplate.err = err
			return
		}
		path := filepath.Join(dir, "template.db")
		sqliteTemplate.path = path
		sqliteTemplate.err = buildSQLiteTemplate(path)
	})
	if sqliteTemplate.err != nil {
		t.Fatalf("sqlite template: %v", sqliteTemplate.err)
	}
	path := filepath.Join(t.TempDir(), "comptoir.db")
	if err := copyFile(sqliteTemplate.path, path); err != nil {
		t.Fatalf("copy sqlite template: %v", err)
	}
	return "sqlite:" + path
}

func buildSQLiteTemplate(path string) error {
	ctx := context.Background()
	d, err := db.Open(ctx, "sqlite:"+path)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := Migrate(ctx, d); err != nil {
		return err
	}
	// Fold the write-ahead log into the main file so that copying the one
	// file copies the whole database.
	_, err = d.Write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

var pg struct {
	once     sync.Once
	admin    *sql.DB
	base     *url.URL
	template string
	err      error
}

func newPostgres(t testing.TB) string {
	t.Helper()
	raw := os.Getenv("COMPTOIR_TEST_DATABASE_URL")
	if raw == "" {
		t.Fatal("COMPTOIR_TEST_ENGINE=postgres needs COMPTOIR_TEST_DATABASE_URL (make test sets both)")
	}
	pg.once.Do(func() { pg.err = preparePostgres(raw) })
	if pg.err != nil {
		t.Fatalf("postgres template: %v", pg.err)
	}
	name := "t_" + randomHex(8)
	ctx := context.Background()
	if _, err := pg.admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, pg.template)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		pg.admin.ExecContext(context.Background(), fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name))
	})
	u := databaseURL(pg.base, name)
	if n := PoolLimit(); n > 0 {
		// A pool of one connection turns code that waits for a second
		// connection while its transaction holds the first into a hang
		// at once; with the real pool it only hangs once as many such
		// transactions run together as the pool has connections.
		u = withParam(t, u, "pool_max_conns", strconv.Itoa(n))
	}
	return u
}

// withParam is the database URL raw with its query parameter key set.
func withParam(t testing.TB, raw, key, value string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func databaseURL(base *url.URL, name string) string {
	u := *base
	u.Path = "/" + name
	return u.String()
}

// preparePostgres makes sure a template database holding the current
// migrations exists. Its name carries a hash of the migrations, so a changed
// schema gets a new template; test processes running at once take turns
// through an advisory lock.
func preparePostgres(raw string) error {
	base, err := url.Parse(raw)
	if err != nil {
		return err
	}
	pg.base = base
	admin, err := sql.Open("pgx", raw)
	if err != nil {
		return err
	}
	pg.admin = admin
	ms, err := db.Migrations(db.Postgres)
	if err != nil {
		return err
	}
	h := sha256.New()
	for _, m := range ms {
		fmt.Fprintf(h, "%d %s\n%s\n", m.Version, m.Name, m.SQL)
	}
	pg.template = "tpl_" + hex.EncodeToString(h.Sum(nil))[:16]

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7244310002)`); err != nil {
		return err
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(7244310002)`)
	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, pg.template).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	// Build under a temporary name and rename at the end, so that a process
	// killed half-way never leaves a half-migrated template behind.
	building := pg.template + "_build"
	conn.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, building))
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s`, building)); err != nil {
		return err
	}
	d, err := db.Open(ctx, databaseURL(base, building))
	if err != nil {
		return err
	}
	err = Migrate(ctx, d)
	d.Close()
	if err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, building, pg.template))
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
