package web_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/invoices"
	"comptoir/internal/money"
	"comptoir/internal/orders"
)

// The accounting export gave every credit note's line quantity 1: the
// whole refund of 100 posts read as one post credited, and 15 € back on
// them as one post too. A line credited whole now says the quantity
// invoiced (100), as its PDF does; a part, which gives back an amount and
// not units, has no quantity (an empty cell, the PDF's "—"). The
// invoice's line keeps its quantity.
func TestExportSaysTheQuantityCredited(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	p := newService(t, h, "posts", 25)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	credit(t, h, u, 10_000)
	refunded := func(amount int64) invoices.Invoice {
		t.Helper()
		o, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 100}},
			Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			return h.App.Orders.RefundLineTx(ctx, tx, o.ID, o.Lines[0].ID, money.MustNew(amount, "EUR"), audit.System)
		}); err != nil {
			t.Fatal(err)
		}
		cn := creditNotes(t, h, o.ID)
		if len(cn) != 1 {
			t.Fatalf("%d credit notes", len(cn))
		}
		return cn[0]
	}
	part, whole := refunded(1500), refunded(2500)

	now := h.Clock.Now()
	r := admin.Get("/admin/invoices.csv?from=" + now.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + now.AddDate(0, 0, 1).Format(time.DateOnly))
	if r.Status != http.StatusOK {
		t.Fatalf("export: %d", r.Status)
	}
	rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	got := map[string][]string{} // number → quantity, total
	invoicesSeen := 0
	for _, row := range rows[1:] {
		if row[col["row"]] != "line" {
			continue
		}
		got[row[col["number"]]] = []string{row[col["quantity"]], row[col["total"]]}
		if row[col["kind"]] == invoices.KindInvoice {
			invoicesSeen++
			if q := row[col["quantity"]]; q != "100" {
				t.Errorf("invoice %s's line has quantity %q, want 100", row[col["number"]], q)
			}
		}
	}
	if invoicesSeen != 2 {
		t.Fatalf("%d invoices exported, want 2:\n%s", invoicesSeen, r.Body)
	}
	if g := got[whole.Number]; g == nil || g[0] != "100" || g[1] != "-25.00" {
		t.Errorf("the whole line's credit note %s exports as %q, want quantity 100 and total -25.00:\n%s", whole.Number, g, r.Body)
	}
	if g := got[part.Number]; g == nil || g[0] != "" || g[1] != "-15.00" {
		t.Errorf("the partial credit note %s exports as %q, want no quantity and total -15.00:\n%s", part.Number, g, r.Body)
	}
}
