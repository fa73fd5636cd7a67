package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/config"
	"comptoir/internal/id"
	"comptoir/internal/invoices"
)

// With prices entered VAT excluded, a card order is charged the price plus
// the VAT of the day it is placed; Stripe may confirm the payment after the
// rate changed (a Checkout page stays open for hours, and rates change at
// midnight). The invoice must say what was paid: the amount charged, with
// the VAT in force when it was paid inside it, never the price plus the
// new VAT (an invoice for more, or less, than the customer paid).
func TestCardOrderExcludingVATInvoicesWhatWasCharged(t *testing.T) {
	rec := cardpaytest.NewRecorder(t, cardpaytest.StripeURL(t))
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/checkout/sessions"), func(m map[string]any) {
		m["id"] = "cs_test_" + id.New("s")
		m["url"] = "https://checkout.stripe.com/c/pay/" + m["id"].(string)
		m["payment_intent"] = nil
	})
	h := apptest.StartWith(t, func(c *config.Config) {
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_comptoir", webhookSecret, rec.URL()
		c.PricesExcludeVAT = true
	})
	ctx := context.Background()
	p := newService(t, h, "posts", 25) // 0.25 € a post, VAT excluded
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
	var created struct{ ID string }
	if json.Unmarshal([]byte(r.Body), &created); r.Status != http.StatusCreated {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	pay, ok, err := h.App.Card.Pending(ctx, cardpay.PurposeOrder, created.ID)
	if err != nil || !ok || pay.Amount.Minor != 3000 {
		t.Fatalf("pending payment %+v %v %v: want 25.00 € + 20 %%", pay, ok, err)
	}
	// The French rate goes up at midnight; the customer pays at 00:30.
	tomorrow := h.Clock.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	if err := h.App.Invoices.AddRate(ctx, "FR", tomorrow, 2100, ""); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(14*time.Hour + 30*time.Minute)
	payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
		t.Fatalf("webhook: %d", got)
	}
	o, err := h.App.Orders.Get(ctx, created.ID)
	if err != nil || o.Paid.Minor != 3000 {
		t.Fatalf("order after payment: %+v %v", o, err)
	}
	docs, err := h.App.Invoices.ForOrder(ctx, created.ID)
	if err != nil || len(docs) != 1 {
		t.Fatalf("%d documents, %v", len(docs), err)
	}
	inv := docs[0]
	// 30.00 charged, 21 % inside it: 24.79 + 5.21.
	if inv.Total.Minor != 3000 || inv.Lines[0].RateBP != 2100 || inv.VAT.Minor != 521 || inv.Net.Minor != 2479 {
		t.Fatalf("invoice %d + %d = %d at %d bp, for 30.00 € paid", inv.Net.Minor, inv.VAT.Minor, inv.Total.Minor, inv.Lines[0].RateBP)
	}
	if inv.Kind != invoices.KindInvoice {
		t.Fatalf("kind %s", inv.Kind)
	}
}
