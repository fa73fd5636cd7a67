package claims

import (
	"slices"
	"strings"
	"testing"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
)

// Every non-delivery or withdrawal claim looks for an earlier refund of its
// line: the claims are found through their order, so the cost follows the
// order's claims, not every claim the store ever had.
func TestPriorRefundQueryFindsClaimsByOrder(t *testing.T) {
	d := dbtest.Open(t)
	plan := dbtest.Plan(t, d, priorRefundQuery, "ord_1", "non_delivery", "oln_1", "withdrawal")
	want := "SEARCH c USING INDEX claims_by_order (order_id=?)"
	if d.Engine == db.Postgres {
		want = "claims_by_order"
	}
	if !slices.ContainsFunc(plan, func(l string) bool { return strings.Contains(l, want) }) {
		t.Errorf("the prior refund query does not find the claims by their order (%q): %q", want, plan)
	}
}
