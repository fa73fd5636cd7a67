package db

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func openTestSQLite(t testing.TB) *DB {
	t.Helper()
	d, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Write.Exec(`CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return d
}

// The cache must not change what queries return: the same query text run
// again, nested while its first rows are open, after a constraint failure,
// and after being evicted.
func TestStmtCacheKeepsResults(t *testing.T) {
	ctx := context.Background()
	d := openTestSQLite(t)
	const ins = `INSERT INTO kv (k, v) VALUES ($1, $2)`
	for i := range 5 {
		if _, err := d.Write.ExecContext(ctx, ins, fmt.Sprint("k", i), i); err != nil {
			t.Fatal(err)
		}
	}
	// A duplicate key fails, and the statement works again afterwards.
	if _, err := d.Write.ExecContext(ctx, ins, "k1", 9); !IsUniqueViolation(err) {
		t.Fatalf("duplicate insert: %v, want a unique violation", err)
	}
	if _, err := d.Write.ExecContext(ctx, ins, "k5", 5); err != nil {
		t.Fatalf("insert after a failure: %v", err)
	}

	// Nested: the outer rows hold the cached statement; the inner run of
	// the same text gets one of its own.
	const sel = `SELECT k, v FROM kv WHERE v >= $1 ORDER BY v`
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, sel, 3)
		if err != nil {
			return err
		}
		defer rows.Close()
		var outer []int
		for rows.Next() {
			var k string
			var v int
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			outer = append(outer, v)
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (`+sel+`)`, v).Scan(&n); err != nil {
				return err
			}
			inner, err := tx.QueryContext(ctx, sel, v)
			if err != nil {
				return err
			}
			m := 0
			for inner.Next() {
				m++
			}
			inner.Close()
			if m != n || m != 6-v {
				return fmt.Errorf("inner query from %d: %d rows (count %d), want %d", v, m, n, 6-v)
			}
		}
		if fmt.Sprint(outer) != "[3 4 5]" {
			return fmt.Errorf("outer rows %v", outer)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}

	// More distinct queries than the cache holds: every one still answers.
	for i := range stmtCacheSize + 20 {
		var v int
		q := fmt.Sprintf(`SELECT v + %d FROM kv WHERE k = $1`, i)
		if err := d.Read.QueryRowContext(ctx, q, "k2").Scan(&v); err != nil || v != 2+i {
			t.Fatalf("query %d: %d, %v", i, v, err)
		}
	}
	var v int
	if err := d.Read.QueryRowContext(ctx, sel, 5).Scan(new(string), &v); err != nil || v != 5 {
		t.Fatalf("after evictions: %d, %v", v, err)
	}
}

// The statements are kept: a second run of a query does not prepare it
// again on the same connection.
func TestStmtCacheReusesStatements(t *testing.T) {
	ctx := context.Background()
	d := openTestSQLite(t)
	conn, err := d.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var cc *cachingConn
	if err := conn.Raw(func(dc any) error {
		cc, _ = dc.(*cachingConn)
		return nil
	}); err != nil || cc == nil {
		t.Fatalf("the write connection is %T, want the caching wrapper", cc)
	}
	for i := range 3 {
		if _, err := conn.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, $2)`, fmt.Sprint(i), i); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM kv WHERE v <= $1`, i).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("count %d, %v", n, err)
		}
	}
	if got := cc.lru.Len(); got != 3 { // CREATE TABLE, INSERT, SELECT
		t.Errorf("%d statements cached, want 3", got)
	}
	// A script (two statements) is not cached, and runs whole.
	if _, err := conn.ExecContext(ctx, `INSERT INTO kv VALUES ('a', 10); INSERT INTO kv VALUES ('b', 11)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM kv WHERE v >= 10`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("script ran %d inserts, %v", n, err)
	}
	if got := cc.lru.Len(); got != 4 {
		t.Errorf("%d statements cached, want 4 (the script left out)", got)
	}
	// A long statement, as long as River's job completion (4.7 kB of SQL and
	// comments, run once per job), is kept too.
	long := "-- " + strings.Repeat("why this query is written so, ", 160) + "\nSELECT count(*) FROM kv"
	for range 2 {
		if err := conn.QueryRowContext(ctx, long).Scan(&n); err != nil || n != 5 {
			t.Fatalf("long query: %d, %v", n, err)
		}
	}
	if got := cc.lru.Len(); len(long) < 4700 || got != 5 {
		t.Errorf("%d statements cached after a %d-byte query, want 5", got, len(long))
	}
}

// BenchmarkReadByKey is a point query on the read pool: with the cache,
// SQLite parses and plans it once per connection instead of every time.
func BenchmarkReadByKey(b *testing.B) {
	ctx := context.Background()
	d := openTestSQLite(b)
	for i := range 100 {
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, $2)`, fmt.Sprint("k", i), i); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		var k string
		var v int
		if err := d.Read.QueryRowContext(ctx, `SELECT k, v FROM kv WHERE k = $1 AND v >= $2`, fmt.Sprint("k", i%100), 0).Scan(&k, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// A full group commit (maxGroup transactions, some failing) leaves the
// write connection's statement cache with one SAVEPOINT, one RELEASE and
// one ROLLBACK TO: with a savepoint name per place in the group it held
// 3 × maxGroup of them, most of the cache, and the hot statements they
// evicted were parsed again by the single writer.
func TestGroupSavepointsTakeThreeCachedStatements(t *testing.T) {
	ctx := context.Background()
	d := openTestSQLite(t)
	ctxs := make([]context.Context, maxGroup)
	fns := make([]func(*sql.Tx) error, maxGroup)
	for i := range fns {
		ctxs[i] = ctx
		fns[i] = func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, $2)`, fmt.Sprint(i), i); err != nil {
				return err
			}
			if i%2 == 1 {
				return fmt.Errorf("transaction %d fails", i)
			}
			return nil
		}
	}
	for i, err := range RunTogether(d, ctxs, fns) {
		if (err != nil) != (i%2 == 1) {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	var n int
	if err := d.Read.QueryRowContext(ctx, `SELECT count(*) FROM kv`).Scan(&n); err != nil || n != maxGroup/2 {
		t.Fatalf("%d rows committed (%v), want %d: the failing ones rolled back alone", n, err, maxGroup/2)
	}
	conn, err := d.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var savepoints []string
	if err := conn.Raw(func(dc any) error {
		cc, ok := dc.(*cachingConn)
		if !ok {
			return fmt.Errorf("the write connection is %T, want the caching wrapper", dc)
		}
		for e := cc.lru.Front(); e != nil; e = e.Next() {
			q := e.Value.(*cachedStmt).query
			if strings.HasPrefix(q, "SAVEPOINT") || strings.HasPrefix(q, "RELEASE") || strings.HasPrefix(q, "ROLLBACK TO") {
				savepoints = append(savepoints, q)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(savepoints) != 3 {
		t.Errorf("%d savepoint statements cached after a group of %d, want 3: %q…", len(savepoints), maxGroup, savepoints[:min(len(savepoints), 6)])
	}
}
