package desk_test

import (
	"context"
	"strings"
	"testing"

	"comptoir/internal/db"
	"comptoir/internal/desk"
)

// The SLA scan (MarkBreaches, then WarnDeadlines' search) reads tickets by
// promise time through the tickets_breach_scan partial index, never the
// whole table: it holds only the tickets with a deadline not yet flagged
// late, so the scan's cost follows them, not the history of closed tickets
// (cmd/comptoir-bench's "SLA scan" times it on two histories), nor the
// tickets flagged late and still unanswered, which MarkBreaches walked over
// at every run when it read tickets_promise_at.
func TestSLAScanUsesItsIndex(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	conn, err := e.db.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if e.db.Engine == db.Postgres {
		// On a few rows a sequential scan is cheapest whatever the
		// indexes; forbidding it shows whether the index can serve the
		// query at all.
		if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(ctx, `RESET enable_seqscan`)
	}
	for _, tc := range []struct {
		name, query string
		args        []any
		index       string
	}{
		{"MarkBreaches", desk.MarkBreachesQuery, []any{t0}, "tickets_breach_scan"},
		{"WarnDeadlines", desk.WarnDueQuery, []any{t0, t0.Add(desk.DefaultWarnBefore), 200}, "tickets_breach_scan"},
	} {
		explain := `EXPLAIN `
		if e.db.Engine == db.SQLite {
			explain = `EXPLAIN QUERY PLAN `
		}
		rows, err := conn.QueryContext(ctx, explain+tc.query, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			line := vals[len(vals)-1]
			if b, ok := line.([]byte); ok {
				line = string(b)
			}
			plan = append(plan, line.(string))
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		t.Logf("%s plan:\n%s", tc.name, text)
		if !strings.Contains(text, tc.index) {
			t.Errorf("%s does not read %s:\n%s", tc.name, tc.index, text)
		}
		if strings.Contains(text, "tickets_promise_at") {
			t.Errorf("%s reads tickets_promise_at, flagged tickets included:\n%s", tc.name, text)
		}
		for _, l := range plan {
			if strings.Contains(l, "SCAN tickets") && !strings.Contains(l, "INDEX") || strings.Contains(l, "Seq Scan on tickets") {
				t.Errorf("%s scans all the tickets:\n%s", tc.name, text)
			}
		}
	}
}
