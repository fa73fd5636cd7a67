package web_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/claims"
	"comptoir/internal/invoices"
	"comptoir/internal/money"
	"comptoir/internal/policy"
	"comptoir/internal/subscriptions"
	"comptoir/internal/testwait"
)

// creditNotes lists the credit notes of an order or subscription.
func creditNotes(t *testing.T, h *apptest.Harness, orderID string) []invoices.Invoice {
	t.Helper()
	docs, err := h.App.Invoices.ForOrder(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	var out []invoices.Invoice
	for _, d := range docs {
		if d.Kind == invoices.KindCreditNote {
			out = append(out, d)
		}
	}
	return out
}

// replayRefundSucceeded reports again, as Stripe may, that a card refund
// succeeded: by webhook, and straight to the claims as the job would.
func replayRefundSucceeded(t *testing.T, h *apptest.Harness, r cardpay.Refund, pi string) {
	t.Helper()
	obj := map[string]any{"id": "re_" + r.ID, "object": "refund", "status": "succeeded", "amount": r.Amount.Minor, "currency": "eur",
		"payment_intent": pi, "metadata": map[string]any{"refund_id": r.ID}}
	for range 3 {
		payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeRefundUpdated, obj)
		if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
			t.Fatalf("refund.updated webhook: %d", got)
		}
	}
	if err := h.App.DB.Tx(context.Background(), func(tx *sql.Tx) error {
		return h.App.Claims.CardRefundSettledTx(context.Background(), tx, r.ID, true, money.Amount{})
	}); err != nil {
		t.Fatal(err)
	}
}

// A claim's card refund gets its credit note only when Stripe confirms it:
// a refund that fails leaves none, one that succeeds exactly one, however
// often its success is reported.
func TestCardRefundCreditNoteOnlyOnSuccess(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	agent, _ := h.User(t, account.RoleAgent, "agent@example.fr")
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
	var created struct{ ID string }
	if json.Unmarshal([]byte(r.Body), &created); r.Status != http.StatusCreated {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	pay, ok, err := h.App.Card.Pending(ctx, cardpay.PurposeOrder, created.ID)
	if err != nil || !ok {
		t.Fatalf("pending payment: %v %v", ok, err)
	}
	payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
		t.Fatalf("webhook: %d", got)
	}
	o, _ := h.App.Orders.Get(ctx, created.ID)
	if _, err := h.App.Orders.RecordDelivery(ctx, deliveryOf(o.ID, o.Lines[0].ID, 40)); err != nil {
		t.Fatal(err)
	}
	docs, _ := h.App.Invoices.ForOrder(ctx, o.ID)
	if len(docs) != 1 || docs[0].Kind != invoices.KindInvoice {
		t.Fatalf("documents of the paid order: %+v", docs)
	}

	// Stripe refuses the claim's refund: no credit note, ever.
	rec.Respond(cardpaytest.To(http.MethodPost, "/v1/refunds"), http.StatusBadRequest,
		cardpaytest.StripeError("invalid_request_error", "charge_already_refunded", "Charge has already been refunded.", nil))
	h.Clock.Advance(73 * time.Hour)
	cl, err := h.App.Claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: u.Actor()})
	if err != nil {
		t.Fatal(err)
	}
	if cn := creditNotes(t, h, o.ID); len(cn) != 0 {
		t.Fatalf("a pending card refund has a credit note: %+v", cn)
	}
	testwait.Until(t, "the card refund to fail", func() bool {
		rs, _ := h.App.Claims.Refunds(ctx, cl.ID)
		return len(rs) == 1 && rs[0].Status == claims.RefundFailed
	})
	if cn := creditNotes(t, h, o.ID); len(cn) != 0 {
		t.Fatalf("a failed card refund has a credit note: %+v", cn)
	}

	// An agent refunds again and Stripe accepts: one credit note, numbered
	// next in its series, for the amount refunded.
	rec.ClearRules()
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/refunds"), func(m map[string]any) { m["status"] = "succeeded" })
	amount := money.MustNew(1500, "EUR")
	if _, err := h.App.Claims.Decide(ctx, claims.AgentDecision{ClaimID: cl.ID, Outcome: policy.OutcomeRefund, Refund: &amount,
		Actor: agent.Actor()}); err != nil {
		t.Fatal(err)
	}
	var second claims.Refund
	testwait.Until(t, "the second card refund to succeed", func() bool {
		rs, _ := h.App.Claims.Refunds(ctx, cl.ID)
		for _, r := range rs {
			if r.Status == claims.RefundSucceeded {
				second = r
				return true
			}
		}
		return false
	})
	cn := creditNotes(t, h, o.ID)
	if len(cn) != 1 || cn[0].Total != amount || cn[0].RefersTo != docs[0].ID || cn[0].SourceID != second.CardRefundID {
		t.Fatalf("credit notes after the refund succeeded: %+v", cn)
	}
	// The failed refund took no number: the series has no gap.
	first := cn[0].Number
	if first != invoices.FormatNumber(invoices.SeriesCreditNote, 2026, 1) {
		t.Fatalf("first credit note numbered %s", first)
	}

	cardRefund, err := h.App.Card.GetRefund(ctx, second.CardRefundID)
	if err != nil {
		t.Fatal(err)
	}
	replayRefundSucceeded(t, h, cardRefund, "pi_"+pay.ID)
	if cn := creditNotes(t, h, o.ID); len(cn) != 1 || cn[0].Number != first {
		t.Fatalf("credit notes after the success was reported again: %+v", cn)
	}
}

// cancelRefunded cancels a card subscription inside the refund window and
// returns its claim refund as recorded in the end.
func cancelRefunded(t *testing.T, h *apptest.Harness, u account.User, c *apptest.Client, sub subscriptions.Subscription,
	final string) claims.Refund {
	t.Helper()
	ctx := context.Background()
	h.Clock.Advance(3 * 24 * time.Hour)
	r := postJSON(c, "/api/v1/subscriptions/"+sub.ID+"/cancel", `{"mode":"period_end"}`, h.Bearer(t, u.ID))
	if r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	var claimID string
	if err := h.App.DB.Read.QueryRowContext(ctx, `SELECT claim_id FROM claim_refunds WHERE subscription_id = $1`, sub.ID).Scan(&claimID); err != nil {
		t.Fatalf("claim refund of the cancellation: %v", err)
	}
	var out claims.Refund
	testwait.Until(t, "the subscription's card refund to be "+final, func() bool {
		rs, _ := h.App.Claims.Refunds(ctx, claimID)
		if len(rs) == 1 && string(rs[0].Status) == final {
			out = rs[0]
			return true
		}
		return false
	})
	return out
}

// A subscription claim's card refund that fails: no credit note, the
// claim's refund keeps the failure, agents are alerted, and the period's
// payment is refundable again (the money never left).
func TestSubscriptionCardRefundFails(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	agent, _ := h.User(t, account.RoleAgent, "agent@example.fr")
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	sub := scaSubscription(t, h, u, c)
	rec.Respond(cardpaytest.To(http.MethodPost, "/v1/refunds"), http.StatusBadRequest,
		cardpaytest.StripeError("invalid_request_error", "charge_already_refunded", "Charge has already been refunded.", nil))
	refund := cancelRefunded(t, h, u, c, sub, string(claims.RefundFailed))
	if refund.Destination != claims.DestCard || refund.Amount.Minor != 990 {
		t.Fatalf("claim refund %+v", refund)
	}
	if cn := creditNotes(t, h, sub.ID); len(cn) != 0 {
		t.Fatalf("a failed card refund has a credit note: %+v", cn)
	}
	periods, _ := h.App.Subscriptions.Periods(ctx, sub.ID)
	if len(periods) != 1 || periods[0].Status != subscriptions.PeriodPaid {
		t.Fatalf("the period after its refund failed: %+v", periods)
	}
	last, ok, err := h.App.Subscriptions.LastPayment(ctx, sub.ID)
	if err != nil || !ok || last.Status != subscriptions.PeriodPaid {
		t.Fatalf("last payment is not refundable again: %+v %v %v", last, ok, err)
	}
	testwait.Until(t, "the agents to be alerted", func() bool { return len(mailsOf(t, h, agent, "alert_card_refund_failed")) == 1 })
	if m := mailsOf(t, h, agent, "alert_card_refund_failed")[0]; !strings.Contains(m.Text, "\u00a0: remboursement par carte "+refund.CardRefundID+"\n") {
		t.Errorf("the French alert does not name the card refund in French:\n%s", m.Text)
	}

	// Stripe then reports the refund succeeded after all: the money left,
	// so the period is refunded again, the claim refund succeeded, and one
	// credit note is issued.
	cardRefund, err := h.App.Card.GetRefund(ctx, refund.CardRefundID)
	if err != nil {
		t.Fatal(err)
	}
	replayRefundSucceeded(t, h, cardRefund, "pi_first")
	if cn := creditNotes(t, h, sub.ID); len(cn) != 1 || cn[0].Total.Minor != 990 || cn[0].Number != invoices.FormatNumber(invoices.SeriesCreditNote, 2026, 1) {
		t.Fatalf("credit notes after a late success: %+v", cn)
	}
	if periods, _ := h.App.Subscriptions.Periods(ctx, sub.ID); periods[0].Status != subscriptions.PeriodRefunded {
		t.Fatalf("the period after a late success: %+v", periods[0])
	}
	if rs, _ := h.App.Claims.Refunds(ctx, refund.ClaimID); len(rs) != 1 || rs[0].Status != claims.RefundSucceeded {
		t.Fatalf("claim refund after a late success: %+v", rs)
	}
}

// A claim's card refund reported failed, then succeeded (Stripe may do
// so): the amount is counted on the line again and one credit note issued.
func TestCardRefundSucceedingAfterFailure(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
	var created struct{ ID string }
	if json.Unmarshal([]byte(r.Body), &created); r.Status != http.StatusCreated {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	pay, _, _ := h.App.Card.Pending(ctx, cardpay.PurposeOrder, created.ID)
	payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
		t.Fatalf("webhook: %d", got)
	}
	o, _ := h.App.Orders.Get(ctx, created.ID)
	if _, err := h.App.Orders.RecordDelivery(ctx, deliveryOf(o.ID, o.Lines[0].ID, 40)); err != nil {
		t.Fatal(err)
	}
	rec.Respond(cardpaytest.To(http.MethodPost, "/v1/refunds"), http.StatusBadRequest,
		cardpaytest.StripeError("invalid_request_error", "charge_already_refunded", "Charge has already been refunded.", nil))
	h.Clock.Advance(73 * time.Hour)
	cl, err := h.App.Claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: u.Actor()})
	if err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the card refund to fail", func() bool {
		rs, _ := h.App.Claims.Refunds(ctx, cl.ID)
		return len(rs) == 1 && rs[0].Status == claims.RefundFailed
	})
	rs, _ := h.App.Claims.Refunds(ctx, cl.ID)
	cardRefund, _ := h.App.Card.GetRefund(ctx, rs[0].CardRefundID)
	replayRefundSucceeded(t, h, cardRefund, "pi_"+pay.ID)
	if rs, _ := h.App.Claims.Refunds(ctx, cl.ID); rs[0].Status != claims.RefundSucceeded {
		t.Fatalf("claim refund after a late success: %+v", rs[0])
	}
	if got, _ := h.App.Orders.Get(ctx, o.ID); got.Lines[0].Refunded.Minor != 1500 || got.Refunded.Minor != 1500 {
		t.Fatalf("line refunded %v, order refunded %v after a late success", got.Lines[0].Refunded, got.Refunded)
	}
	if cn := creditNotes(t, h, o.ID); len(cn) != 1 || cn[0].Total.Minor != 1500 || cn[0].SourceID != cardRefund.ID {
		t.Fatalf("credit notes after a late success: %+v", cn)
	}
}

// A subscription claim's card refund that succeeds gets exactly one credit
// note, in the transaction that records the success, however often it is
// reported.
func TestSubscriptionCardRefundSucceeds(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	sub := scaSubscription(t, h, u, c)
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/refunds"), func(m map[string]any) { m["status"] = "succeeded" })
	refund := cancelRefunded(t, h, u, c, sub, string(claims.RefundSucceeded))
	cn := creditNotes(t, h, sub.ID)
	if len(cn) != 1 || cn[0].Total.Minor != 990 || cn[0].SourceID != refund.CardRefundID {
		t.Fatalf("credit notes after the refund succeeded: %+v", cn)
	}
	periods, _ := h.App.Subscriptions.Periods(ctx, sub.ID)
	if len(periods) != 1 || periods[0].Status != subscriptions.PeriodRefunded {
		t.Fatalf("the refunded period: %+v", periods)
	}
	cardRefund, err := h.App.Card.GetRefund(ctx, refund.CardRefundID)
	if err != nil {
		t.Fatal(err)
	}
	replayRefundSucceeded(t, h, cardRefund, "pi_first")
	if again := creditNotes(t, h, sub.ID); len(again) != 1 || again[0].Number != cn[0].Number {
		t.Fatalf("credit notes after the success was reported again: %+v", again)
	}
}
