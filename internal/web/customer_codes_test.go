package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/id"
)

// A customer's invoice list named a renewal's invoice by its subscription's
// ID ("sub_01…") in the Order column, and a top-up's by its payment's, as
// plain text; the customer's ticket page gave each attachment's MIME type
// ("image/png"). The list says "Subscription" (linked to it) and
// "Top-up" (linked to the balance) in the page's language, and the type
// stays for the console, as the claim page already did; the console's
// invoice list keeps the IDs.
func TestCustomerPagesShowNoRawReferences(t *testing.T) {
	h := apptest.Start(t)
	users := authzUsers(t, h)
	o := authzSetup(t, h, users)
	ctx := context.Background()
	payment := id.New("pay")
	if _, err := h.App.DB.Write.ExecContext(ctx, `INSERT INTO invoices (id, kind, series, year, seq, number, source_type, source_id, order_id,
		customer_id, refers_to, issued_at, lang, currency, net, vat, total, seller_name, seller_address, seller_country, seller_vat_number,
		seller_registration, buyer_name, buyer_address, buyer_country, buyer_type, buyer_vat_number, prices_include_vat, billing_country,
		card_country, vat_country, vat_reason, reverse_charge, zone)
		VALUES ($1, 'invoice', 'F', 2026, 900, 'F-2026-000900', 'topup', $2, $2, $3, NULL, $4, 'fr', 'EUR', 1000, 200, 1200, 'S', 'A', 'FR', '', '',
		'Ana', 'Lyon', 'FR', 'consumer', '', TRUE, 'FR', '', 'FR', 'seller_country', FALSE, 'UTC')`,
		id.New("inv"), payment, users[custA].ID, h.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	_, c := signedInClient(t, h, users[custA])
	_, staff := signedInClient(t, h, users[admin])
	for _, tc := range []struct{ lang, sub, topup string }{{"fr", "Abonnement", "Rechargement"}, {"en", "Subscription", "Top-up"}} {
		c.PostForm("/lang", url.Values{"lang": {tc.lang}})
		list := c.Get("/invoices")
		mustContain(t, list, `<a href="/subscriptions/`+o.sub+`" class="invoice-of">`+tc.sub+`</a>`, `<a href="/balance" class="invoice-of">`+tc.topup+`</a>`)
		if text := visibleText(list.Body); strings.Contains(text, "sub_") || strings.Contains(text, "pay_") {
			t.Errorf("%s: the invoice list shows raw references", tc.lang)
		}
		ticket := c.Get("/support/tickets/" + o.ticket)
		mustContain(t, ticket, "receipt.png")
		if strings.Contains(visibleText(ticket.Body), "image/png") {
			t.Errorf("%s: the customer's ticket page shows a MIME type", tc.lang)
		}
	}
	mustContain(t, staff.Get("/console/tickets/"+o.ticket), "image/png")
	mustContain(t, staff.Get("/invoices"), o.sub, payment) // an admin's list is everyone's, in the console
}
