package web_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/config"
	"comptoir/internal/id"
)

// The card tests count on a request waiting until the job has made the
// payment's Checkout page. They waited the 5 s a customer is given, and on
// a loaded machine (CI's two cores, packages tested in parallel) the job
// can take longer: the order's answer then came without its checkout_url,
// or the pay page without its redirect, and the test failed by chance.
// A store with card payments on waits as long as a test waits for
// anything (apptest, testwait.Default), and no longer than the page takes;
// here Stripe takes longer than the customer's 5 s to make it.
func TestCardTestsWaitForASlowCheckoutPage(t *testing.T) {
	const slow = 6 * time.Second
	rec := cardpaytest.NewRecorder(t, cardpaytest.StripeURL(t))
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/checkout/sessions"), func(m map[string]any) {
		// What is slow (Stripe here, the machine in CI), not a wait for
		// something to happen.
		<-time.After(slow)
		m["id"] = "cs_test_" + id.New("s")
		m["url"] = "https://checkout.stripe.com/c/pay/" + m["id"].(string)
		m["payment_intent"] = nil
	})
	h := apptest.StartWith(t, func(c *config.Config) {
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_comptoir", webhookSecret, rec.URL()
	})
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":10}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	start := time.Now()
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
	var o struct {
		Status      string `json:"status"`
		CheckoutURL string `json:"checkout_url"`
	}
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &o) != nil || o.Status != "pending_payment" || o.CheckoutURL == "" {
		t.Fatalf("card order, its page made in %v: %d after %v %s", slow, r.Status, time.Since(start), r.Body)
	}
}
