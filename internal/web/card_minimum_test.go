package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// countRows counts the rows of table (a name of ours, never input).
func countRows(t *testing.T, h *apptest.Harness, table string) int {
	t.Helper()
	var n int
	if err := h.App.DB.Read.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A card order or card subscription for less than Stripe's smallest charge
// (0.50 EUR) is refused before anything is written or asked of Stripe: a
// 422 "invalid" naming the payment field in the API, the reason in the
// visitor's language on the pages. Paying the same from the balance still
// works. Before, the order or subscription was written and its Checkout
// job called Stripe, whose refusal reached the customer as "try again".
func TestCardPaymentsBelowStripesMinimumAreRefusedFirst(t *testing.T) {
	h := startWithStripe(t)
	small := newService(t, h, "tiny", 3) // at least 10: 0.30 EUR
	plan := newPlan(t, h, "tiny-plan", 40, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	auth := h.Bearer(t, u.ID)
	order := func(payment string) string {
		return `{"lines":[{"product_id":"` + small.ID + `","quantity":10}],"payment":"` + payment + `","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	}
	type apiErr struct {
		Error struct {
			Code, Message string
			Fields        map[string]string
		}
	}
	refused := func(what string, r apptest.Response, amount string) {
		t.Helper()
		var e apiErr
		json.Unmarshal([]byte(r.Body), &e)
		if r.Status != http.StatusUnprocessableEntity || e.Error.Code != "invalid" || e.Error.Fields["payment"] != "below_card_minimum" ||
			!strings.Contains(e.Error.Message, "0,50") || !strings.Contains(e.Error.Message, amount) {
			t.Fatalf("%s: %d %s", what, r.Status, r.Body)
		}
	}
	refused("API card order of 0.30 EUR", postJSON(c, "/api/v1/orders", order("card"), auth), "0,30")
	refused("API card subscription of 0.40 EUR",
		postJSON(c, "/api/v1/subscriptions", `{"plan_id":"`+plan.ID+`","payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`, auth), "0,40")

	// The pages, in French (the customer's language) and in English.
	for lang, want := range map[string]string{
		"fr": "Le paiement par carte commence à 0,50",
		"en": "Card payments start at €0.50",
	} {
		c.PostForm("/lang", url.Values{"lang": {lang}, "next": {"/cart"}})
		c.PostForm("/cart", url.Values{"product_id": {small.ID}, "quantity": {"10"}})
		key := checkoutKey.FindStringSubmatch(c.Get("/cart").Body)[1]
		r := c.PostForm("/checkout", url.Values{"checkout_key": {key}, "payment": {"card"}, "accept_policy": {"default@1"},
			"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, want) {
			t.Fatalf("%s card checkout page of 0.30 EUR: %d %s", lang, r.Status, r.Body)
		}
		r = c.PostForm("/subscriptions", url.Values{"plan_id": {plan.ID}, "payment": {"card"}, "accept_policy": {"default@1"},
			"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, want) {
			t.Fatalf("%s card subscription page of 0.40 EUR: %d %s", lang, r.Status, r.Body)
		}
	}
	for _, table := range []string{"orders", "subscriptions", "card_payments"} {
		if n := countRows(t, h, table); n != 0 {
			t.Fatalf("%d %s after refusals, want none", n, table)
		}
	}

	// The balance pays any amount.
	credit(t, h, u, 100)
	if r := postJSON(c, "/api/v1/orders", order("balance"), auth); r.Status != http.StatusCreated {
		t.Fatalf("balance order of 0.30 EUR: %d %s", r.Status, r.Body)
	}
	subscribeWithBalance(t, c, auth, plan.ID)
	if n := countRows(t, h, "card_payments"); n != 0 {
		t.Fatalf("%d card payments for balance payments", n)
	}
}
