package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
)

// A card top-up paid but not yet confirmed by Stripe's webhook was nowhere
// on the balance page: the customer back from paying saw the balance
// unchanged and no sign of their money. The page lists it as pending, with
// its amount, in the customer's language, until the webhook credits it.
func TestBalanceShowsAPendingCardTopUp(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	for _, tc := range []struct{ lang, amount, typed, pending string }{
		{"fr", "20,00\u00a0€ par carte, commencé le ", "20,00", "Rechargements en attente"},
		{"en", "€12.50 by card, started ", "12.50", "Top-ups pending"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			u, c := h.User(t, account.RoleCustomer, "ana-"+tc.lang+"@example.fr")
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			if r := c.Get("/balance"); strings.Contains(r.Body, `id="topups-pending"`) {
				t.Fatalf("a pending top-up before any:\n%s", r.Body)
			}
			if r := c.PostForm("/balance/topup", url.Values{"amount": {tc.typed}}); r.Status != http.StatusSeeOther {
				t.Fatalf("top-up: %d %s", r.Status, r.Body)
			}
			waiting, err := h.App.Card.Waiting(ctx, u.ID, cardpay.PurposeTopUp, 10)
			if err != nil || len(waiting) != 1 {
				t.Fatalf("waiting top-ups: %+v %v", waiting, err)
			}
			pay := waiting[0]
			// Back from Stripe, the webhook not yet arrived.
			r := c.Get("/balance?topup=1")
			mustContain(t, r, `id="topups-pending"`, tc.pending, `<li id="topup-pending-`+pay.ID+`">`+tc.amount)
			payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, completed(pay))
			if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
				t.Fatalf("webhook: %d", got)
			}
			if r := c.Get("/balance"); strings.Contains(r.Body, `id="topups-pending"`) {
				t.Fatalf("the top-up still pending once credited:\n%s", r.Body)
			}
			if balanceOf(t, h, u) != pay.Amount.Minor {
				t.Fatalf("balance after the webhook: %d", balanceOf(t, h, u))
			}
		})
	}
}
