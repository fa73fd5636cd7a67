package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
	"comptoir/internal/orders"
)

// The seller's address may be given one line per line (--seller-address
// "3 quai des Arts\n75006 Paris", as the withdrawal form and the legal
// notice read it). The invoice's PDF printed it on two lines, but its page
// put the text as it was into the HTML, where a line break is a space:
// "3 quai des Arts 75006 Paris", street and town run together. The page
// now breaks the address where the setting does, as it does the buyer's.
func TestInvoicePageBreaksTheSellersAddressIntoLines(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) {
		c.SellerName, c.SellerAddress = "Atelier Lune SARL", "3 quai des Arts\n75006 Paris"
	})
	ctx := context.Background()
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 10_000)
	o, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 10}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := h.App.Invoices.ForOrder(ctx, o.ID)
	if err != nil || len(docs) != 1 {
		t.Fatalf("%d documents, %v", len(docs), err)
	}
	r := c.Get("/invoices/" + docs[0].ID)
	if r.Status != http.StatusOK {
		t.Fatalf("invoice page: %d", r.Status)
	}
	if !strings.Contains(r.Body, "Atelier Lune SARL<br>3 quai des Arts<br>75006 Paris<br>France") {
		i := strings.Index(r.Body, "Atelier Lune SARL")
		t.Fatalf("the seller's address is not on its lines:\n%s", r.Body[max(i, 0):min(max(i, 0)+200, len(r.Body))])
	}
}
