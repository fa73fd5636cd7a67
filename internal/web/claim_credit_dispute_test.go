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
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/claims"
	"comptoir/internal/config"
	"comptoir/internal/id"
	"comptoir/internal/orders"
)

// An agent's store credit decision on a card-paid order's claim (the
// customer accepted credit instead of a card refund) puts the money into
// the balance. It went ahead while the order's card payment was disputed
// with the bank, which holds card refunds: when the bank then awarded the
// chargeback, the customer was paid twice. The credit now waits for the
// bank as card refunds and switches do: refused in the console (fr, en)
// and the API (payment_disputed, 409), saying why, nothing changed.
func TestCreditWaitsForADisputedCardPayment(t *testing.T) {
	rec := cardpaytest.NewRecorder(t, cardpaytest.StripeURL(t))
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/checkout/sessions"), func(m map[string]any) {
		m["id"] = "cs_test_" + id.New("s")
		m["url"] = "https://checkout.stripe.com/c/pay/" + m["id"].(string)
		m["payment_intent"] = nil
	})
	h := apptest.StartWith(t, func(c *config.Config) {
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_comptoir", webhookSecret, rec.URL()
	})
	ctx := t.Context()
	m := h.App.Messages
	deliver := webhookDeliverer(t, h)
	agentUser, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	for _, lang := range []string{"fr", "en"} {
		agent.PostForm("/lang", url.Values{"lang": {lang}})
		u, c := h.User(t, account.RoleCustomer, "ana-"+lang+"@example.fr")
		p := newService(t, h, "posts-"+lang, 25)
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
			Source: orders.SourceAgent, Actor: audit.Actor{ID: agentUser.ID, Role: account.RoleAgent}}); err != nil {
			t.Fatal(err)
		}
		filed := c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"dissatisfied"}, "message": {"Not what I hoped."}})
		claimID := strings.TrimPrefix(filed.Location, "/claims/")
		if filed.Status != http.StatusSeeOther || claimID == "" {
			t.Fatalf("%s: file a claim: %d %q", lang, filed.Status, filed.Location)
		}
		// The bank opens a dispute on the order's payment.
		deliver(stripe.EventTypeChargeDisputeCreated, map[string]any{
			"id": "dp_test_credit_" + lang, "object": "dispute", "amount": 2500, "currency": "eur", "charge": "ch_test_" + lang,
			"payment_intent": "pi_" + pay.ID, "reason": "general", "status": "needs_response",
			"evidence_details": map[string]any{"due_by": h.Clock.Now().AddDate(0, 0, 10).Unix(), "has_evidence": false, "past_due": false, "submission_count": 0},
		})
		before := balanceOf(t, h, u)

		// 5.00 of the line's 25.00 as store credit the customer accepted.
		r = agent.PostForm("/console/claims/"+claimID+"/decision", url.Values{"decision_key": {formKey(t, agent.Get("/console/claims/"+claimID), "decision_key")},
			"outcome": {"credit"}, "amount": {"5.00"}, "currency": {"EUR"}, "credit_accepted": {"yes"}})
		if r.Status != http.StatusConflict {
			t.Errorf("%s: console credit on a disputed payment: %d", lang, r.Status)
		}
		mustContain(t, r, m.T(lang, "claim.error.credit_payment_disputed"))
		r = postJSON(agent, "/api/v1/claims/"+claimID+"/decision", `{"outcome":"credit","refund":{"amount":500,"currency":"EUR"},"customer_accepted_credit":true}`,
			h.Bearer(t, agentUser.ID))
		if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"code":"payment_disputed"`) {
			t.Errorf("%s: API credit on a disputed payment: %d %s", lang, r.Status, r.Body)
		}

		got, err := h.App.Claims.Get(ctx, claimID)
		line, _ := h.App.Orders.Get(ctx, o.ID)
		refunds, _ := h.App.Claims.Refunds(ctx, claimID)
		card, _ := h.App.Card.Get(ctx, pay.ID)
		if err != nil || got.Status != claims.StatusOpen || balanceOf(t, h, u) != before || line.Lines[0].Refunded.Minor != 0 || len(refunds) != 0 ||
			card.Refunded.Minor != 0 {
			t.Errorf("%s: changed: claim %s %v, balance %d (was %d), refunded %v, refunds %d, card refunded %v", lang, got.Status, err,
				balanceOf(t, h, u), before, line.Lines[0].Refunded, len(refunds), card.Refunded)
		}
	}
}
