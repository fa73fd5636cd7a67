package claims_test

import (
	"strings"
	"testing"
	"time"

	"comptoir/internal/claims"
	"comptoir/internal/db/dbtest"
)

// The answer scans (MarkBreaches, then WarnDeadlines' search) read claims
// by promise time through the claims_answer_breach_scan partial index,
// which holds only the claims whose clock runs unflagged: their cost
// follows the claims due, not the history of decided ones.
func TestAnswerScansUseTheirIndex(t *testing.T) {
	e := setup(t)
	for _, tc := range []struct {
		name, query string
		args        []any
	}{
		{"MarkBreaches", claims.MarkBreachesQuery, []any{t0}},
		{"WarnDeadlines", claims.WarnDueQuery, []any{t0, t0.Add(6 * time.Hour), 200}},
	} {
		plan := dbtest.Plan(t, e.db, tc.query, tc.args...)
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "claims_answer_breach_scan") {
			t.Errorf("%s does not read claims_answer_breach_scan:\n%s", tc.name, text)
		}
		for _, l := range plan {
			if strings.Contains(l, "SCAN claims") && !strings.Contains(l, "INDEX") || strings.Contains(l, "Seq Scan on claims") {
				t.Errorf("%s scans all the claims:\n%s", tc.name, text)
			}
		}
	}
}
