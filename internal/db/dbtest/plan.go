package dbtest

import (
	"context"
	"strings"
	"testing"

	"comptoir/internal/db"
)

// Plan returns the lines of the engine's plan for query: EXPLAIN QUERY PLAN's
// details on SQLite, EXPLAIN's lines on PostgreSQL. On PostgreSQL sequential
// scans are switched off for it: on a test's few rows they are the cheapest
// plan whatever the indexes, and the question is whether the query can be
// served without one.
func Plan(t testing.TB, d *db.DB, query string, args ...any) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := d.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	explain := `EXPLAIN QUERY PLAN `
	if d.Engine == db.Postgres {
		explain = `EXPLAIN `
		if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(ctx, `RESET enable_seqscan`)
	}
	rows, err := conn.QueryContext(ctx, explain+query, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		vals, err := db.Values(rows, len(cols))
		if err != nil {
			t.Fatal(err)
		}
		// The detail is the last column on both engines.
		switch v := vals[len(vals)-1].(type) {
		case []byte:
			plan = append(plan, string(v))
		case string:
			plan = append(plan, v)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("plan:\n%s", strings.Join(plan, "\n"))
	return plan
}
