package web_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/money"
)

// A credit note of an order links to the order in the invoices list, as
// the order's invoice does: before, only invoices of source "order" had
// the link, and the credit note named its order as bare text.
func TestInvoiceListLinksCreditNotesToTheirOrder(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 0)
	if err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		return h.App.Orders.RefundLineTx(ctx, tx, o.ID, o.Lines[0].ID, money.MustNew(500, "EUR"), adminActor)
	}); err != nil {
		t.Fatal(err)
	}
	docs, err := h.App.Invoices.ForOrder(ctx, o.ID)
	if err != nil || len(docs) != 2 {
		t.Fatalf("documents of the order: %d %v", len(docs), err)
	}
	page := c.Get("/invoices")
	link := `<a href="/orders/` + o.ID + `">` + o.ID + `</a>`
	if n := strings.Count(page.Body, link); n != 2 {
		t.Errorf("the list links the order %d times, want 2 (invoice and credit note)", n)
	}
}
