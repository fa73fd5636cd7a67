package db_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in      string
		engine  db.Engine
		path    string
		dsn     string // "" for the input itself
		pool    int
		wantErr string
	}{
		{in: "sqlite:./comptoir-data/comptoir.db", engine: db.SQLite, path: "./comptoir-data/comptoir.db"},
		{in: "sqlite:///var/lib/comptoir/c.db", engine: db.SQLite, path: "/var/lib/comptoir/c.db"},
		{in: "postgres://u@localhost/comptoir", engine: db.Postgres},
		{in: "postgresql://u@localhost/comptoir", engine: db.Postgres},
		// pool_max_conns sizes the pool and is kept from the driver (the
		// server would refuse it as a setting); the rest stays as written.
		{in: "postgres://u:p%40ss@localhost/x?pool_max_conns=12", engine: db.Postgres, dsn: "postgres://u:p%40ss@localhost/x", pool: 12},
		{in: "postgres://u@localhost/x?sslmode=disable&pool_max_conns=3&application_name=a%20b", engine: db.Postgres,
			dsn: "postgres://u@localhost/x?sslmode=disable&application_name=a%20b", pool: 3},
		{in: "postgres://u:s3cret@localhost/x?pool_max_conns=0", wantErr: "pool_max_conns must be a whole number from 1 to 1000"},
		{in: "postgres://u:s3cret@localhost/x?pool_max_conns=many", wantErr: `not "many"`},
		{in: "mysql://u@localhost/x", wantErr: `unknown database scheme "mysql"`},
		{in: "sqlite:", wantErr: "needs a file path"},
		{in: "sqlite:x.db?mode=ro", wantErr: "takes no options"},
		{in: "", wantErr: "unknown database scheme"},
		// A postgres URL the driver cannot use is refused here, naming
		// the problem but never the password.
		{in: "postgres://u:s3cret@localhost:notaport/x", wantErr: `invalid port ":notaport"`},
		{in: "postgres://u:s3cret@localhost/x?sslmode=bogus", wantErr: "sslmode is invalid"},
		{in: "postgres://u:s3cret@localhost/x?connect_timeout=soon", wantErr: "connect_timeout"},
	} {
		got, err := db.ParseURL(tc.in)
		if tc.wantErr != "" {
			if err == nil || !errors.Is(err, db.ErrBadURL) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseURL(%q) error = %v, want ErrBadURL containing %q", tc.in, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("ParseURL(%q) error shows the password: %v", tc.in, err)
			}
			continue
		}
		wantDSN := ""
		if tc.engine == db.Postgres {
			wantDSN = tc.in
			if tc.dsn != "" {
				wantDSN = tc.dsn
			}
		}
		if err != nil || got.Engine != tc.engine || got.Path != tc.path || got.DSN != wantDSN || got.PoolMaxConns != tc.pool {
			t.Errorf("ParseURL(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

// The PostgreSQL pool keeps as many idle connections as it may open: fewer
// made each burst of requests close connections and the next one fork new
// backends. pool_max_conns in the URL sizes it.
func TestPostgreSQLPoolKeepsItsConnections(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("the pool is PostgreSQL's")
	}
	if dbtest.PoolLimit() > 0 {
		t.Skip("COMPTOIR_TEST_PG_POOL sizes the pool of this run")
	}
	_, u := dbtest.OpenURL(t)
	for _, tc := range []struct {
		url  string
		want int
	}{
		{u, db.DefaultPoolMaxConns()},
		{withQuery(u, "pool_max_conns=3"), 3},
	} {
		d, err := db.Open(context.Background(), tc.url)
		if err != nil {
			t.Fatal(err)
		}
		// Hold every connection at once, then give them all back: all of
		// them must stay open for the next burst.
		ctx := context.Background()
		var conns []*sql.Conn
		for range tc.want {
			c, err := d.Write.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.PingContext(ctx); err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		st := d.Write.Stats()
		for _, c := range conns {
			c.Close()
		}
		after := d.Write.Stats()
		d.Close()
		if st.MaxOpenConnections != tc.want || st.OpenConnections != tc.want {
			t.Errorf("%s: pool allows %d, opened %d; want %d", tc.url, st.MaxOpenConnections, st.OpenConnections, tc.want)
		}
		if after.Idle != tc.want || after.MaxIdleClosed != 0 {
			t.Errorf("%s: after the burst %d connections idle, %d closed for the idle limit; want %d and 0", tc.url, after.Idle, after.MaxIdleClosed, tc.want)
		}
	}
}

func withQuery(u, kv string) string {
	if strings.Contains(u, "?") {
		return u + "&" + kv
	}
	return u + "?" + kv
}

func TestMigrationsMatchAcrossEngines(t *testing.T) {
	lite, err := db.Migrations(db.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := db.Migrations(db.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d: every schema change needs both", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Name != pg[i].Name {
			t.Errorf("migration %d is %q on sqlite and %q on postgres", i+1, lite[i].Name, pg[i].Name)
		}
	}
}

func TestMigrateIsIdempotentAndRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if err := d.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if err := d.CheckVersion(ctx); err != nil {
		t.Fatalf("CheckVersion on a migrated database: %v", err)
	}
	if _, err := d.Write.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 'x')`); err != nil {
		t.Fatal(err)
	}
	if err := d.Migrate(ctx); !errors.Is(err, db.ErrTooNew) {
		t.Fatalf("Migrate on a newer schema = %v, want ErrTooNew", err)
	}
	if err := d.CheckVersion(ctx); !errors.Is(err, db.ErrTooNew) {
		t.Fatalf("CheckVersion on a newer schema = %v, want ErrTooNew", err)
	}
}

func TestTimesRoundTripAndCompareInSQL(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_times (n INTEGER NOT NULL, at `+timestampType(d)+` NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	// A whole second and fractions of it: stored text on SQLite must still
	// compare in time order.
	base := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	times := []time.Time{base, base.Add(500 * time.Millisecond), base.Add(450 * time.Millisecond), base.Add(time.Microsecond), base.Add(time.Second)}
	for i, at := range times {
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO t_times (n, at) VALUES ($1, $2)`, i, at); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := d.Read.QueryContext(ctx, `SELECT n, at FROM t_times WHERE at > $1 ORDER BY at`, base)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var order []int
	for rows.Next() {
		var n int
		var at time.Time
		if err := rows.Scan(&n, &at); err != nil {
			t.Fatal(err)
		}
		if !at.Equal(times[n]) {
			t.Errorf("row %d: read %v, wrote %v", n, at, times[n])
		}
		order = append(order, n)
	}
	if want := []int{3, 2, 1, 4}; !equal(order, want) {
		t.Fatalf("time order = %v, want %v", order, want)
	}
}

func TestUniqueViolationIsRecognised(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_u (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.ExecContext(ctx, `INSERT INTO t_u (k) VALUES ($1)`, "a"); err != nil {
		t.Fatal(err)
	}
	_, err := d.Write.ExecContext(ctx, `INSERT INTO t_u (k) VALUES ($1)`, "a")
	if !db.IsUniqueViolation(err) {
		t.Fatalf("duplicate insert error %v not recognised", err)
	}
	if db.IsUniqueViolation(errors.New("UNIQUE constraint failed")) {
		t.Fatal("a plain error must not count as a unique violation")
	}
}

func TestTxRollsBackOnError(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_r (k TEXT)`); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO t_r (k) VALUES ('x')`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v", err)
	}
	var n int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM t_r`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows after rollback = %d, %v", n, err)
	}
}

func timestampType(d *db.DB) string {
	if d.Engine == db.Postgres {
		return "TIMESTAMPTZ"
	}
	return "TIMESTAMP"
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
