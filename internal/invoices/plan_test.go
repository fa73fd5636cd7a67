package invoices

import (
	"strings"
	"testing"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
)

// Numbering reads the waiting notices on every pass, that is after every
// checkout: its cost must follow the notices waiting, not the invoices
// ever issued. The plan starts from invoice_notices and finds each invoice
// by its id. The join order is SQLite's question (CROSS JOIN fixes it);
// PostgreSQL chooses by its statistics, which a test database does not
// have, and the numbering tests check what the query returns on both.
func TestNoticesQueryStartsFromNotices(t *testing.T) {
	d := dbtest.Open(t)
	if d.Engine != db.SQLite {
		t.Skip("join order fixed in the query for SQLite's planner; PostgreSQL plans by statistics")
	}
	plan := dbtest.Plan(t, d, noticesQuery)
	if len(plan) < 2 || plan[0] != "SCAN n" || !strings.HasPrefix(plan[1], "SEARCH i USING INDEX") || !strings.HasSuffix(plan[1], "(id=?)") {
		t.Errorf("the notices query does not start from the notices and look invoices up by id: %q", plan)
	}
}
