package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/cardpay"
)

// unpaidCardOrder places a card order of a service (72 hours) through the
// API and leaves it unpaid; it returns its id and the buyer's token header.
func unpaidCardOrder(t *testing.T, h *apptest.Harness, c *apptest.Client, u account.User) (string, http.Header) {
	t.Helper()
	p := newService(t, h, "posts", 25)
	auth := h.Bearer(t, u.ID)
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, auth)
	var created struct {
		ID          string
		CheckoutURL string `json:"checkout_url"`
	}
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &created) != nil || created.CheckoutURL == "" {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	return created.ID, auth
}

// expireCheckout reports the order's Checkout page expired unpaid, as
// Stripe does after 24 hours; the order is canceled.
func expireCheckout(t *testing.T, h *apptest.Harness, orderID string) {
	t.Helper()
	pay, ok, err := h.App.Card.Pending(context.Background(), cardpay.PurposeOrder, orderID)
	if err != nil || !ok {
		t.Fatalf("pending payment: %v %v", ok, err)
	}
	expired := completed(pay)
	expired["status"], expired["payment_status"] = "expired", "unpaid"
	webhookDeliverer(t, h)(stripe.EventTypeCheckoutSessionExpired, expired)
	if o, _ := h.App.Orders.Get(context.Background(), orderID); o.Status != "canceled" {
		t.Fatalf("after the Checkout page expired: %s", o.Status)
	}
}

// A card order not paid yet, or canceled because its Checkout page expired
// unpaid, owes no delivery: it is never marked overdue, for the customer,
// the API or the agents, however long after its stated processing time. It
// was: Overdue looked at the lines' processing time alone.
func TestUnpaidCardOrderIsNeverOverdue(t *testing.T) {
	h := startWithStripe(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	orderID, auth := unpaidCardOrder(t, h, c, u)
	notOverdue := func(when string) {
		t.Helper()
		if page := c.Get("/orders/" + orderID); strings.Contains(page.Body, `id="overdue"`) || strings.Contains(page.Body, `class="badge bad"`) {
			t.Errorf("%s: the order page says the order is overdue", when)
		}
		if list := c.Get("/orders"); strings.Contains(list.Body, `class="badge bad"`) {
			t.Errorf("%s: my orders say the order is overdue", when)
		}
		if list := agent.Get("/console/orders"); strings.Contains(list.Body, `class="badge bad"`) {
			t.Errorf("%s: the console says the order is overdue", when)
		}
		if got := c.Send(http.MethodGet, "/api/v1/orders/"+orderID, "", nil, auth); strings.Contains(got.Body, `"overdue":true`) {
			t.Errorf("%s: the API says the order is overdue: %s", when, got.Body)
		}
	}
	h.Clock.Advance(73 * time.Hour)
	notOverdue("unpaid after its processing time")
	expireCheckout(t, h, orderID)
	notOverdue("canceled")
}

// The unpaid card order's page is where Stripe's "back" link (the Checkout
// page's cancel URL) and the failed payment page's "Go back" lead: it must
// let the buyer pay, which it did not (GET /orders/{id}/pay was reachable
// only from the checkout's redirect). Back from paying (the success URL,
// ?paid=1) before Stripe's report, it says the payment is being confirmed
// instead of offering to pay again. Paid or canceled, neither shows.
func TestUnpaidCardOrderPageOffersToPay(t *testing.T) {
	h := startWithStripe(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	orderID, _ := unpaidCardOrder(t, h, c, u)
	orderPath := "/orders/" + orderID
	payLink := `href="` + orderPath + `/pay"`
	mustContain(t, c.Get(orderPath), `id="order-pay"`, payLink, "Payer par carte")
	if r := c.Get(orderPath + "/pay"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "https://checkout.stripe.com/") {
		t.Fatalf("the pay link: %d %q", r.Status, r.Location)
	}
	back := c.Get(orderPath + "?paid=1")
	mustContain(t, back, `id="order-pay-confirming"`)
	if strings.Contains(back.Body, payLink) {
		t.Error("back from paying, the page offers to pay again")
	}
	if page := agent.Get("/console/orders/" + orderID); strings.Contains(page.Body, payLink) {
		t.Error("the agent's view of the order offers to pay it")
	}
	expireCheckout(t, h, orderID)
	if page := c.Get(orderPath); strings.Contains(page.Body, payLink) || strings.Contains(page.Body, `id="order-pay"`) {
		t.Error("a canceled order offers to pay it")
	}
}

// The receipt of a card order never paid says so. It read "Paid €0.00 ·
// Paid by card" while the order waited for its payment, and after its
// Checkout page expired unpaid.
func TestUnpaidCardOrderReceiptSaysUnpaid(t *testing.T) {
	h := startWithStripe(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	orderID, _ := unpaidCardOrder(t, h, c, u)
	for _, when := range []string{"waiting", "canceled"} {
		if when == "canceled" {
			expireCheckout(t, h, orderID)
		}
		r := c.Get("/orders/" + orderID + "/receipt")
		want := map[string]string{"waiting": "Awaiting payment", "canceled": "Canceled"}[when]
		mustContain(t, r, `id="receipt-unpaid">`+want, "€25.00")
		if strings.Contains(r.Body, "Paid by card") || strings.Contains(r.Body, "€0.00") {
			t.Errorf("%s: the receipt says the order was paid", when)
		}
	}
}
