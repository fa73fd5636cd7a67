package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/pdftext"
)

// TestSubscriptionInvoiceNamesItsSubscription: a subscription's invoice
// said "Order sub_…" under its number, on its page and in its PDF (the
// one emailed), naming a subscription an order the customer never placed
// and cannot find among their orders. It now says "Subscription sub_…"
// ("Abonnement sub_…"); an order's invoice still names its order.
func TestSubscriptionInvoiceNamesItsSubscription(t *testing.T) {
	for _, tc := range []struct{ lang, sub, order string }{
		{"en", "Subscription ", "Order "},
		{"fr", "Abonnement ", "Commande "},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			h := apptest.Start(t)
			ctx := context.Background()
			plan := newPlan(t, h, "pro", 990, 0)
			u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
			credit(t, h, u, 990)
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
			docs, err := h.App.Invoices.ForOrder(ctx, subID)
			if err != nil || len(docs) != 1 {
				t.Fatalf("the subscription's invoices: %+v %v", docs, err)
			}
			inv := docs[0]
			page := c.Get("/invoices/" + inv.ID)
			if !strings.Contains(page.Body, tc.sub+subID) || strings.Contains(page.Body, tc.order+subID) {
				t.Errorf("the invoice page does not name the subscription as one:\n%s", page.Body)
			}
			text := pdftext.Text(t, []byte(c.Get("/invoices/"+inv.ID+".pdf").Body))
			if !strings.Contains(text, tc.sub+subID) || strings.Contains(text, tc.order+subID) {
				t.Errorf("the PDF does not name the subscription as one:\n%s", text)
			}
		})
	}
}
