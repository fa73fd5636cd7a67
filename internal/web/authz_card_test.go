package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/cardpay"
	"comptoir/internal/testwait"
)

// The authorization matrix runs in a store without card payments, where
// the card routes answer 404 to everyone. Here cards are on: customer A's
// unpaid card order and card top-up are A's alone to pay (the others get
// what they get for any object of A's, and nothing changes), the top-up
// form refuses staff and other sites' pages, and the Stripe webhook
// refuses an unsigned event unchanged.
func TestCardRoutesAreTheirOwners(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	a, ac := h.User(t, account.RoleCustomer, "ana@example.fr")
	b, _ := h.User(t, account.RoleCustomer, "ben@example.fr")
	ag, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	ad, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	p := newService(t, h, "posts", 25)
	r := postJSON(ac, "/api/v1/orders", `{"lines":[{"product_id":"`+p.ID+`","quantity":100}],"payment":"card",`+
		`"consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`, h.Bearer(t, a.ID))
	var order struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &order) != nil {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	orderPay, ok, err := h.App.Card.Pending(ctx, cardpay.PurposeOrder, order.ID)
	if err != nil || !ok {
		t.Fatalf("the order's payment: %v %v", ok, err)
	}
	r = postJSON(ac, "/api/v1/balance/topups", `{"amount":{"amount":2000,"currency":"EUR"}}`, h.Bearer(t, a.ID))
	var topUp struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &topUp) != nil {
		t.Fatalf("top-up: %d %s", r.Status, r.Body)
	}
	// Their Checkout pages are made in the background: made before the
	// requests, they change nothing while the requests are checked.
	for _, id := range []string{orderPay.ID, topUp.ID} {
		if _, err := h.App.Card.WaitCheckoutURL(ctx, id, testwait.Default); err != nil {
			t.Fatalf("Checkout page of %s: %v", id, err)
		}
	}

	session := func(u account.User) http.Header {
		return http.Header{"Cookie": {"comptoir_session=" + newSession(t, h, u.ID)}, "Sec-Fetch-Site": {"same-origin"}}
	}
	crossSite := session(a)
	crossSite.Set("Sec-Fetch-Site", "cross-site")
	crossSite.Set("Origin", "https://evil.example")
	sr := newStateReader(t, h.App.DB)
	c := h.NewClient(t)
	for _, tc := range []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		location                 string // its start
	}{
		{"B pays A's order", "GET", "/orders/" + order.ID + "/pay", "", session(b), 404, ""},
		{"an agent pays A's order", "GET", "/orders/" + order.ID + "/pay", "", session(ag), 404, ""},
		{"an admin pays A's order", "GET", "/orders/" + order.ID + "/pay", "", session(ad), 404, ""},
		{"a visitor pays A's order", "GET", "/orders/" + order.ID + "/pay", "", nil, 303, "/signin?next="},
		{"B reads A's unpaid order", "GET", "/orders/" + order.ID, "", session(b), 404, ""},
		{"an agent tops up", "POST", "/balance/topup", "amount=20", session(ag), 404, ""},
		{"another site tops up A's balance", "POST", "/balance/topup", "amount=20", crossSite, 403, ""},
		{"an agent tops up through the API", "POST", "/api/v1/balance/topups", `{"amount":{"amount":2000,"currency":"EUR"}}`, h.Bearer(t, ag.ID), 404, ""},
		{"an unsigned Stripe event", "POST", "/api/v1/webhooks/stripe", `{"id":"evt_1","type":"checkout.session.completed","data":{"object":{"metadata":{"payment_id":"` + orderPay.ID + `"}}}}`,
			http.Header{"Stripe-Signature": {"t=1,v1=00"}}, 400, ""},
		// The control: A is sent to the Checkout page of their order.
		{"A pays their order", "GET", "/orders/" + order.ID + "/pay", "", session(a), 303, "https://checkout.stripe.com/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctype := "application/x-www-form-urlencoded"
			if strings.HasPrefix(tc.body, "{") {
				ctype = "application/json"
			}
			before := sr.read(t)
			r := c.Send(tc.method, tc.path, ctype, strings.NewReader(tc.body), tc.header)
			if ch := before.changes(sr.read(t)); len(ch) > 0 {
				t.Errorf("%d, and the database changed:%s", r.Status, describe(ch))
			}
			if r.Status != tc.status || !strings.HasPrefix(r.Location, tc.location) {
				t.Errorf("%d %q, want %d %q…", r.Status, r.Location, tc.status, tc.location)
			}
			if tc.header.Get("Cookie") != "" && tc.status >= 400 && strings.Contains(r.Body, a.Email) {
				t.Error("the refusal shows A's details")
			}
		})
	}
}
