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

// The credit notes of an invoice are found through invoices_credit_notes,
// the partial index on refers_to that only credit notes are in: the
// credited sum of a line (creditSplit) and the chargeback's sum of an
// invoice's credit notes (ChargebackTx). Neither reads every invoice; the
// checkout's invoice is not written into that index.
func TestCreditNoteQueriesUseTheirIndex(t *testing.T) {
	d := dbtest.Open(t)
	for _, tc := range []struct {
		name, query string
		args        []any
	}{
		{"creditSplit", creditedQuery, []any{"ord_1", "inv_1", "r1"}},
		{"ChargebackTx", chargebackQuery, []any{"order", "ord_1"}},
	} {
		plan := dbtest.Plan(t, d, tc.query, tc.args...)
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "invoices_credit_notes") {
			t.Errorf("%s does not find the credit notes through invoices_credit_notes:\n%s", tc.name, text)
		}
		for _, l := range plan {
			if strings.HasPrefix(l, "SCAN c") || strings.Contains(l, "Seq Scan on invoices") {
				t.Errorf("%s reads every invoice:\n%s", tc.name, text)
			}
		}
	}
}

// The order page reads the order's documents (ForOrder) on every view:
// among its customer's (invoices_by_customer), never by reading every
// invoice ever issued (migration 0055 dropped invoices_by_order, which
// the query had used).
func TestForOrderQueryUsesIndexes(t *testing.T) {
	d := dbtest.Open(t)
	plan := dbtest.Plan(t, d, `SELECT `+invoiceCols+invoiceFrom+` WHERE `+forOrderWhere+` ORDER BY i.issued_at, i.id`, "ord_1")
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "invoices_by_customer") {
		t.Errorf("the documents of an order are not found among its customer's:\n%s", text)
	}
	for _, l := range plan {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "SCAN ") || strings.Contains(l, "Seq Scan on invoices") ||
			strings.Contains(l, "invoices_by_date") {
			t.Errorf("the documents of an order are found by reading every invoice:\n%s", text)
		}
	}
}

// The documents of a subscription or a top-up (ForOrder with their id)
// come in order from invoices_not_of_orders, which a checkout's invoice is
// not written into (migration 0059): not by reading every invoice, and
// nothing sorted.
func TestForSubscriptionOrTopUpQueryUsesItsIndex(t *testing.T) {
	d := dbtest.Open(t)
	for _, ref := range []string{"sub_1", "pay_1"} {
		plan := dbtest.Plan(t, d, `SELECT `+invoiceCols+invoiceFrom+` WHERE `+notOfOrderWhere+` ORDER BY i.issued_at, i.id`, ref)
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "invoices_not_of_orders") {
			t.Errorf("%s: the documents are not found through invoices_not_of_orders:\n%s", ref, text)
		}
		for _, l := range plan {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "SCAN ") || strings.Contains(l, "Seq Scan on invoices") ||
				strings.Contains(l, "invoices_by_date") || strings.Contains(l, "TEMP B-TREE") || strings.HasPrefix(l, "Sort") {
				t.Errorf("%s: the documents are found by reading every invoice, or sorted:\n%s", ref, text)
			}
		}
	}
}
