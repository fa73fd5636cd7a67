package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/config"
	"comptoir/internal/money"
)

// closedPort is a local port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// TestStripeUnreachable places a card order while Stripe cannot be reached:
// the order is kept unpaid with its payment retried, the pay page says
// plainly that the card service is unreachable and nothing was charged,
// and no money or invoice was written.
func TestStripeUnreachable(t *testing.T) {
	port := closedPort(t)
	h := apptest.StartWith(t, func(c *config.Config) {
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_comptoir", "whsec_test", fmt.Sprintf("http://127.0.0.1:%d", port)
	})
	ctx := context.Background()
	d := h.App.DB
	p, err := h.App.Catalog.Create(ctx, faultAdmin, catalog.ProductInput{
		Slug: "posts", Kind: catalog.KindService, NameFR: "Publications", NameEN: "Posts", DescriptionFR: "Des publications.",
		DescriptionEN: "Some posts.", UnitPrice: money.MustNew(100, "EUR"), MinQuantity: 1, MaxQuantity: 10, ProcessingTime: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":1}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`
	r := c.Send(http.MethodPost, "/api/v1/orders", "application/json", strings.NewReader(body), h.Bearer(t, u.ID))
	var o struct{ ID, Status, CheckoutURL string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &o) != nil || o.Status != "pending_payment" || strings.Contains(r.Body, "checkout_url") {
		t.Fatalf("card checkout with Stripe unreachable: %d %s", r.Status, r.Body)
	}
	pg := c.Get("/orders/" + o.ID + "/pay")
	if pg.Status != http.StatusServiceUnavailable || !strings.Contains(pg.Body, `id="pay-unreachable"`) || !strings.Contains(pg.Body, "Rien n’a été débité") {
		t.Fatalf("pay page with Stripe unreachable: %d %s", pg.Status, pg.Body)
	}
	var paid, entries, invoices, live int
	d.Read.QueryRow(`SELECT paid FROM orders WHERE id = $1`, o.ID).Scan(&paid)
	d.Read.QueryRow(`SELECT COUNT(*) FROM balance_entries WHERE customer_id = $1`, u.ID).Scan(&entries)
	d.Read.QueryRow(`SELECT COUNT(*) FROM invoices WHERE source_id = $1`, o.ID).Scan(&invoices)
	d.Read.QueryRow(`SELECT COUNT(*) FROM card_payments WHERE reference_id = $1 AND status = 'creating' AND last_error <> ''`, o.ID).Scan(&live)
	if paid != 0 || entries != 0 || invoices != 0 || live != 1 {
		t.Fatalf("after the failed attempt: paid %d, %d ledger entries, %d invoices, %d payments waiting for a retry", paid, entries, invoices, live)
	}
}
