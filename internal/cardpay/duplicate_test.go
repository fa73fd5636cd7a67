package cardpay

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/alerts"
	"comptoir/internal/locale"
)

// recAlerts records the alerts of committed transactions.
type recAlerts struct {
	mu   sync.Mutex
	sent []alerts.Data
}

func (a *recAlerts) NotifyTx(ctx context.Context, tx *sql.Tx, role, kind string, d alerts.Data) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if role != "admin" || kind != "card_payment_duplicate" {
		return nil
	}
	if d.DetailIn != nil { // as the alerts service writes it for an admin reading English
		d.Detail = d.DetailIn(alerts.Words{Lang: "en", Messages: locale.MustLoad()})
	}
	if d.SubjectIn != nil {
		d.Subject = d.SubjectIn(alerts.Words{Lang: "en", Messages: locale.MustLoad()})
	}
	a.sent = append(a.sent, d)
	return nil
}

// An off-session charge we recorded failed (our last attempt met Stripe's
// 5xx answers) that Stripe made all the same: its success takes the period
// back, since nothing else holds it, and the domain is told. Before, it was
// logged and the money left unaccounted for.
func TestChargeRecordedFailedThatStripeMadeIsPaid(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.firstPayment()
	p, err := e.charge("spd_failed", 990)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.Write.ExecContext(e.ctx, `UPDATE card_payments SET status = 'failed', last_error = 'stripe 500 api_error' WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	e.mustDeliver(stripe.EventTypePaymentIntentSucceeded, map[string]any{
		"id": "pi_late", "object": "payment_intent", "status": "succeeded", "amount": 990, "currency": "eur",
		"metadata": map[string]any{"payment_id": p.ID},
	})
	got := e.get(p.ID)
	if got.Status != StatusSucceeded || got.Duplicate || got.Refunded.Minor != 0 || got.PaymentIntentID != "pi_late" {
		t.Fatalf("late success of a failed charge: %+v", got)
	}
	wantCalls(t, e.h, "PaymentSucceeded", "PaymentSucceeded")
}

// A duplicate's refund is cardpay's, not the domain's: the Handler hears
// of neither the duplicate nor its refund, and a refund that fails at the
// bank alerts the admins again (the store still holds the money).
func TestDuplicateRefundFailureAlertsTheAdmins(t *testing.T) {
	e := newEnv(t, envOpts{})
	al := &recAlerts{}
	e.svc.SetAlerts(al)
	first := e.start(e.startInput("ord_dup", 700))
	if _, err := e.d.Write.ExecContext(e.ctx, `UPDATE card_payments SET status = 'canceled', checkout_session_id = 'cs_dup1' WHERE id = $1`, first.ID); err != nil {
		t.Fatal(err)
	}
	second := e.start(e.startInput("ord_dup", 700))
	e.mustDeliver(stripe.EventTypeCheckoutSessionCompleted, completedSession(second, "cs_dup2", "pi_dup2", "cus_dup"))
	e.mustDeliver(stripe.EventTypeCheckoutSessionCompleted, completedSession(first, "cs_dup1", "pi_dup1", "cus_dup"))
	dup := e.get(first.ID)
	if dup.Status != StatusSucceeded || !dup.Duplicate || dup.Refunded.Minor != 700 {
		t.Fatalf("duplicate: %+v", dup)
	}
	if paid := e.get(second.ID); paid.Status != StatusSucceeded || paid.Duplicate {
		t.Fatalf("the payment of the order: %+v", paid)
	}
	var refundID string
	if err := e.d.Read.QueryRowContext(e.ctx, `SELECT id FROM card_refunds WHERE payment_id = $1`, first.ID).Scan(&refundID); err != nil {
		t.Fatal(err)
	}
	e.mustDeliver(stripe.EventTypeRefundFailed, map[string]any{
		"id": "re_dup", "object": "refund", "status": "failed", "failure_reason": "expired_or_canceled_card", "amount": 700,
		"currency": "eur", "metadata": map[string]any{"refund_id": refundID},
	})
	if r := e.getRefund(refundID); r.Status != RefundFailed {
		t.Fatalf("refund %+v", r)
	}
	if len(al.sent) != 2 || al.sent[0].Subject != "order ord_dup, usr_1" || !strings.Contains(al.sent[0].Detail, second.ID) ||
		!strings.Contains(al.sent[1].Detail, "expired_or_canceled_card") {
		t.Fatalf("alerts: %+v", al.sent)
	}
	// The order hears of its own payment only.
	calls := wantCalls(t, e.h, "PaymentSucceeded")
	if calls[0].Payment.ID != second.ID {
		t.Fatalf("handler told of %s", calls[0].Payment.ID)
	}
}

// disputeRec is the test handler that also hears of disputes.
type disputeRec struct {
	*recHandler
	disputed []string
}

func (h *disputeRec) PaymentDisputed(ctx context.Context, tx *sql.Tx, p Payment) error {
	h.disputed = append(h.disputed, p.ID)
	return nil
}

// A duplicate disputed at the bank: the hold is recorded on it, but the
// domain, which never counted it, is not told (it would take a top-up back
// from the balance, or stop renewals), and the reference is not held.
func TestDisputedDuplicateIsNotTheDomains(t *testing.T) {
	e := newEnv(t, envOpts{})
	h := &disputeRec{recHandler: e.h}
	e.svc.handler = h
	first := e.start(e.startInput("spd_dsp", 700))
	if _, err := e.d.Write.ExecContext(e.ctx, `UPDATE card_payments SET status = 'canceled', checkout_session_id = 'cs_d1' WHERE id = $1`, first.ID); err != nil {
		t.Fatal(err)
	}
	second := e.start(e.startInput("spd_dsp", 700))
	e.mustDeliver(stripe.EventTypeCheckoutSessionCompleted, completedSession(second, "cs_d2", "pi_d2", "cus_d"))
	e.mustDeliver(stripe.EventTypeCheckoutSessionCompleted, completedSession(first, "cs_d1", "pi_d1", "cus_d"))
	e.mustDeliver(stripe.EventTypeChargeDisputeCreated, map[string]any{"id": "dp_dup", "object": "dispute", "amount": 700,
		"currency": "eur", "payment_intent": "pi_d1", "reason": "duplicate", "status": "needs_response"})
	if len(h.disputed) != 0 {
		t.Fatalf("the domain heard of the duplicate's dispute: %v", h.disputed)
	}
	if held, err := DisputeHeldTx(e.ctx, e.d.Read, PurposeOrder, []string{"spd_dsp"}); err != nil || held {
		t.Fatalf("reference held by the duplicate's dispute: %v %v", held, err)
	}
	if n := e.count(`SELECT COUNT(*) FROM card_payments WHERE id = $1 AND dispute_hold`, first.ID); n != 1 {
		t.Fatal("the duplicate's hold is not recorded")
	}
}

// Two intents succeed for one payment (a renewal charge whose job resumed
// after Stripe forgot its key, and whose look-up missed the first intent):
// the second is money taken too. It gets a payment of its own, a duplicate
// refunded in full; the payment keeps its intent and its domain is told
// nothing more; the same news again changes nothing.
func TestSecondIntentForOnePaymentIsRefunded(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.firstPayment()
	p, err := e.charge("spd_two", 990)
	if err != nil {
		t.Fatal(err)
	}
	intent := func(pi string) map[string]any {
		return map[string]any{"id": pi, "object": "payment_intent", "status": "succeeded", "amount": 990, "currency": "eur",
			"customer": "cus_sub", "payment_method": "pm_sub", "metadata": map[string]any{"payment_id": p.ID}}
	}
	e.mustDeliver(stripe.EventTypePaymentIntentSucceeded, intent("pi_one"))
	for range 2 {
		e.mustDeliver(stripe.EventTypePaymentIntentSucceeded, intent("pi_two"))
	}
	if got := e.get(p.ID); got.Status != StatusSucceeded || got.PaymentIntentID != "pi_one" || got.Refunded.Minor != 0 || got.Duplicate {
		t.Fatalf("the payment: %+v", got)
	}
	var dupID string
	if err := e.d.Read.QueryRowContext(e.ctx, `SELECT id FROM card_payments WHERE payment_intent_id = 'pi_two'`).Scan(&dupID); err != nil {
		t.Fatal(err)
	}
	dup := e.get(dupID)
	if dup.Status != StatusSucceeded || !dup.Duplicate || dup.ReferenceID != "spd_two" || dup.Refunded.Minor != 990 {
		t.Fatalf("the second intent: %+v", dup)
	}
	if n := e.count(`SELECT COUNT(*) FROM card_refunds WHERE payment_id = $1`, dupID); n != 1 {
		t.Fatalf("%d refunds of the second intent", n)
	}
	wantCalls(t, e.h, "PaymentSucceeded", "PaymentSucceeded")
}
