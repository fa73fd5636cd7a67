package desk_test

import (
	"strings"
	"testing"

	"comptoir/internal/db/dbtest"
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
	for _, tc := range []struct {
		name, query string
		args        []any
		index       string
	}{
		{"MarkBreaches", desk.MarkBreachesQuery, []any{t0}, "tickets_breach_scan"},
		{"WarnDeadlines", desk.WarnDueQuery, []any{t0, t0.Add(desk.DefaultWarnBefore), 200}, "tickets_breach_scan"},
	} {
		plan := dbtest.Plan(t, e.db, tc.query, tc.args...)
		text := strings.Join(plan, "\n")
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
