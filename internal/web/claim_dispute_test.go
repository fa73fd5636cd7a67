package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/claims"
	"comptoir/internal/orders"
)

// disputedClaim is a customer's dissatisfied claim on a card-paid,
// delivered order (25.00 of posts) whose payment the bank disputes.
type disputedClaim struct {
	customer account.User
	order    orders.Order
	payment  cardpay.Payment
	claimID  string
}

// fileDisputedClaim places and pays such an order by card, delivers it,
// files the customer's claim in the form and opens the bank's dispute
// (dispute id dp_test_<name>).
func fileDisputedClaim(t *testing.T, h *apptest.Harness, deliver func(stripe.EventType, map[string]any), agent account.User, name string) disputedClaim {
	t.Helper()
	ctx := t.Context()
	u, c := h.User(t, account.RoleCustomer, "ana-"+name+"@example.fr")
	p := newService(t, h, "posts-"+name, 25)
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
	var created struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &created) != nil {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	pay, ok, err := h.App.Card.Pending(ctx, cardpay.PurposeOrder, created.ID)
	if err != nil || !ok {
		t.Fatalf("pending payment: %v %v", ok, err)
	}
	deliver(stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	o, err := h.App.Orders.Get(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Orders.RecordDelivery(ctx, orders.DeliveryInput{OrderID: o.ID, LineID: o.Lines[0].ID, Delivered: 100,
		Source: orders.SourceAgent, Actor: audit.Actor{ID: agent.ID, Role: account.RoleAgent}}); err != nil {
		t.Fatal(err)
	}
	filed := c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"dissatisfied"}, "message": {"Not what I hoped."}})
	claimID := strings.TrimPrefix(filed.Location, "/claims/")
	if filed.Status != http.StatusSeeOther || claimID == "" {
		t.Fatalf("%s: file a claim: %d %q", name, filed.Status, filed.Location)
	}
	deliver(stripe.EventTypeChargeDisputeCreated, map[string]any{
		"id": "dp_test_" + name, "object": "dispute", "amount": 2500, "currency": "eur", "charge": "ch_test_" + name,
		"payment_intent": "pi_" + pay.ID, "reason": "general", "status": "needs_response",
		"evidence_details": map[string]any{"due_by": h.Clock.Now().AddDate(0, 0, 10).Unix(), "has_evidence": false, "past_due": false, "submission_count": 0},
	})
	return disputedClaim{customer: u, order: o, payment: pay, claimID: claimID}
}

// checkNothingMoved fails unless d's claim is still open and no money
// moved: the balance as before, nothing refunded on the line or the card,
// and none of the claim's refunds or switches recorded.
func checkNothingMoved(t *testing.T, h *apptest.Harness, d disputedClaim, balanceBefore int64) {
	t.Helper()
	ctx := t.Context()
	got, err := h.App.Claims.Get(ctx, d.claimID)
	line, _ := h.App.Orders.Get(ctx, d.order.ID)
	refunds, _ := h.App.Claims.Refunds(ctx, d.claimID)
	sw, _ := h.App.Claims.Switches(ctx, d.claimID)
	card, _ := h.App.Card.Get(ctx, d.payment.ID)
	if err != nil || got.Status != claims.StatusOpen || balanceOf(t, h, d.customer) != balanceBefore || line.Lines[0].Refunded.Minor != 0 ||
		len(refunds) != 0 || len(sw) != 0 || card.Refunded.Minor != 0 {
		t.Errorf("changed: claim %s %v, balance %d (was %d), refunded %v, refunds %d, switches %d, card refunded %v", got.Status, err,
			balanceOf(t, h, d.customer), balanceBefore, line.Lines[0].Refunded, len(refunds), len(sw), card.Refunded)
	}
}

// An agent's store credit decision on a card-paid order's claim (the
// customer accepted credit instead of a card refund) puts the money into
// the balance. It went ahead while the order's card payment was disputed
// with the bank, which holds card refunds: when the bank then awarded the
// chargeback, the customer was paid twice. The credit now waits for the
// bank as card refunds and switches do: refused in the console (fr, en)
// and the API (payment_disputed, 409), saying why, nothing changed.
func TestCreditWaitsForADisputedCardPayment(t *testing.T) {
	h := startWithStripe(t)
	m := h.App.Messages
	deliver := webhookDeliverer(t, h)
	agentUser, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	for _, lang := range []string{"fr", "en"} {
		agent.PostForm("/lang", url.Values{"lang": {lang}})
		d := fileDisputedClaim(t, h, deliver, agentUser, "credit-"+lang)
		before := balanceOf(t, h, d.customer)

		// 5.00 of the line's 25.00 as store credit the customer accepted.
		r := agent.PostForm("/console/claims/"+d.claimID+"/decision", url.Values{"decision_key": {formKey(t, agent.Get("/console/claims/"+d.claimID), "decision_key")},
			"outcome": {"credit"}, "amount": {"5.00"}, "currency": {"EUR"}, "credit_accepted": {"yes"}})
		if r.Status != http.StatusConflict {
			t.Errorf("%s: console credit on a disputed payment: %d", lang, r.Status)
		}
		mustContain(t, r, m.T(lang, "claim.error.credit_payment_disputed"))
		r = postJSON(agent, "/api/v1/claims/"+d.claimID+"/decision", `{"outcome":"credit","refund":{"amount":500,"currency":"EUR"},"customer_accepted_credit":true}`,
			h.Bearer(t, agentUser.ID))
		if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"code":"payment_disputed"`) {
			t.Errorf("%s: API credit on a disputed payment: %d %s", lang, r.Status, r.Body)
		}
		checkNothingMoved(t, h, d, before)
	}
}

// A switch to another product gives the claimed line's value back to the
// balance, where it buys the new order. It went ahead while the order's
// card payment was disputed with the bank, which holds card refunds: when
// the bank then awarded the chargeback, the customer was paid twice. The
// switch now waits for the bank as card refunds do: refused in the console
// (fr, en) and the API (payment_disputed, 409), saying why, nothing changed.
func TestSwitchWaitsForADisputedCardPayment(t *testing.T) {
	h := startWithStripe(t)
	m := h.App.Messages
	deliver := webhookDeliverer(t, h)
	agentUser, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	other := newService(t, h, "other", 20)
	for _, lang := range []string{"fr", "en"} {
		agent.PostForm("/lang", url.Values{"lang": {lang}})
		d := fileDisputedClaim(t, h, deliver, agentUser, "switch-"+lang)
		before := balanceOf(t, h, d.customer)

		// 100 posts at 0.20: 20.00, less than the line's 25.00, the rest
		// as store credit the customer accepted.
		r := agent.PostForm("/console/claims/"+d.claimID+"/decision", url.Values{"decision_key": {formKey(t, agent.Get("/console/claims/"+d.claimID), "decision_key")},
			"outcome": {"switch"}, "product_id": {other.ID}, "quantity": {"100"}, "credit_accepted": {"yes"}})
		if r.Status != http.StatusConflict {
			t.Errorf("%s: console switch of a disputed payment: %d", lang, r.Status)
		}
		mustContain(t, r, m.T(lang, "claim.error.switch_payment_disputed"))
		r = postJSON(agent, "/api/v1/claims/"+d.claimID+"/decision", `{"outcome":"switch","product_id":"`+other.ID+`","quantity":100,"customer_accepted_credit":true}`,
			h.Bearer(t, agentUser.ID))
		if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"code":"payment_disputed"`) {
			t.Errorf("%s: API switch of a disputed payment: %d %s", lang, r.Status, r.Body)
		}
		checkNothingMoved(t, h, d, before)
	}
}
