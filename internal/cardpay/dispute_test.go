package cardpay

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/stripe/stripe-go/v82"
)

// fakeRecorder answers the hold as internal/disputes would: open cases
// hold, a lost case holds for good, a closed case never reopens.
type fakeRecorder struct{ closed map[string]string }

func (f *fakeRecorder) DisputeEventTx(ctx context.Context, tx *sql.Tx, p Payment, d Dispute) (bool, bool, string, error) {
	if st, ok := f.closed[d.StripeID]; ok {
		return st == "lost", false, "dsp_" + d.StripeID, nil
	}
	if d.Closed() {
		f.closed[d.StripeID] = d.StripeStatus
	}
	return !d.Closed() || d.Lost(), d.Closed(), "dsp_" + d.StripeID, nil
}

func TestDisputeHoldsRefundsUntilWon(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.paid("ord_dsp", 2000, "pi_dsp")
	dispute := map[string]any{"id": "dp_1", "object": "dispute", "amount": 2000, "currency": "eur",
		"payment_intent": "pi_dsp", "reason": "fraudulent", "status": "needs_response"}
	e.mustDeliver(stripe.EventTypeChargeDisputeCreated, dispute)
	if _, err := e.refund(p.ID, 500, "goodwill"); !errors.Is(err, ErrPaymentDisputed) {
		t.Fatalf("refund while disputed: %v", err)
	}
	if got := e.get(p.ID); got.Refunded.Minor != 0 {
		t.Fatalf("a refused refund reserved %v", got.Refunded)
	}
	dispute["status"] = "won"
	e.mustDeliver(stripe.EventTypeChargeDisputeClosed, dispute)
	if _, err := e.refund(p.ID, 500, "goodwill"); err != nil {
		t.Fatalf("refund after a won dispute: %v", err)
	}
}

func TestLostDisputeKeepsTheHoldAndLateEventsDoNotReopen(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.svc.SetDisputeRecorder(&fakeRecorder{closed: map[string]string{}})
	p := e.paid("ord_dsp2", 2000, "pi_dsp2")
	dispute := map[string]any{"id": "dp_2", "object": "dispute", "amount": 2000, "currency": "eur",
		"payment_intent": "pi_dsp2", "reason": "product_not_received", "status": "lost"}
	// Closed arrives first (Stripe does not promise order), then a stale
	// update: the hold stays, the bank has given the money back.
	e.mustDeliver(stripe.EventTypeChargeDisputeClosed, dispute)
	dispute["status"] = "under_review"
	e.mustDeliver(stripe.EventTypeChargeDisputeUpdated, dispute)
	if _, err := e.refund(p.ID, 100, "goodwill"); !errors.Is(err, ErrPaymentDisputed) {
		t.Fatalf("refund after a lost dispute: %v", err)
	}
	// A dispute of a payment we do not know changes nothing.
	e.mustDeliver(stripe.EventTypeChargeDisputeCreated, map[string]any{"id": "dp_3", "object": "dispute", "amount": 100,
		"currency": "eur", "payment_intent": "pi_unknown", "reason": "fraudulent", "status": "needs_response"})
}
