package web_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/claims"
	"comptoir/internal/money"
	"comptoir/internal/policy"
	"comptoir/internal/testwait"
)

// A claim's card refund that Stripe refuses for good gives its amount back
// to the order line: the line is refundable as before, however often the
// failure is reported, and a new refund of the whole line then succeeds.
func TestFailedCardRefundIsRefundableAgain(t *testing.T) {
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

	// Stripe refuses the refund (a parameter it rejects): final at once.
	rec.Respond(cardpaytest.To(http.MethodPost, "/v1/refunds"), http.StatusBadRequest,
		cardpaytest.StripeError("invalid_request_error", "charge_already_refunded", "Charge has already been refunded.", nil))
	h.Clock.Advance(73 * time.Hour)
	cl, err := h.App.Claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID,
		Actor: u.Actor()})
	if err != nil {
		t.Fatal(err)
	}
	refunds, _ := h.App.Claims.Refunds(ctx, cl.ID)
	if len(refunds) != 1 || refunds[0].Destination != claims.DestCard || refunds[0].Amount.Minor != 1500 {
		t.Fatalf("claim refunds %+v", refunds)
	}
	testwait.Until(t, "the card refund to fail", func() bool {
		rs, _ := h.App.Claims.Refunds(ctx, cl.ID)
		return rs[0].Status == claims.RefundFailed
	})
	cardRefund, err := h.App.Card.GetRefund(ctx, refunds[0].CardRefundID)
	if err != nil || cardRefund.Status != cardpay.RefundFailed || !strings.Contains(cardRefund.LastError, "charge_already_refunded") {
		t.Fatalf("card refund %+v %v", cardRefund, err)
	}
	check := func(when string, want int64) {
		t.Helper()
		got, _ := h.App.Orders.Get(ctx, o.ID)
		paid, _ := h.App.Card.Get(ctx, pay.ID)
		if got.Lines[0].Refunded.Minor != want || got.Refunded.Minor != want || paid.Refunded.Minor != want {
			t.Fatalf("%s: line refunded %v, order refunded %v, card payment refunded %v; want %d",
				when, got.Lines[0].Refunded, got.Refunded, paid.Refunded, want)
		}
	}
	check("after the failed refund", 0)

	// Stripe reports the failure again, several times at once: nothing
	// more is released.
	failed := map[string]any{"id": "re_failed", "object": "refund", "status": "failed", "amount": 1500, "currency": "eur",
		"payment_intent": pay.PaymentIntentID, "metadata": map[string]any{"refund_id": cardRefund.ID}}
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeRefundFailed, failed)
			if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
				t.Errorf("refund.failed webhook: %d", got)
			}
		}()
	}
	wg.Wait()
	check("after the failure was reported again", 0)

	// The whole line can be refunded to the card now, and Stripe accepts.
	rec.ClearRules()
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/refunds"), func(m map[string]any) { m["status"] = "succeeded" })
	var again string
	if err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := h.App.Orders.RefundLineTx(ctx, tx, o.ID, o.Lines[0].ID, money.MustNew(2500, "EUR"), adminActor); err != nil {
			return err
		}
		var err error
		again, err = cardpay.OrderRefunds{S: h.App.Card}.RefundOrderTx(ctx, tx, o.ID, money.MustNew(2500, "EUR"), "agent")
		return err
	}); err != nil {
		t.Fatalf("refund of the whole line after the failure: %v", err)
	}
	testwait.Until(t, "the new refund to succeed", func() bool {
		r, _ := h.App.Card.GetRefund(ctx, again)
		return r.Status == cardpay.RefundSucceeded
	})
	check("after the new refund", 2500)
	if got, _ := h.App.Orders.Get(ctx, o.ID); got.Status != "refunded" {
		t.Fatalf("fully refunded order is %s", got.Status)
	}
}
