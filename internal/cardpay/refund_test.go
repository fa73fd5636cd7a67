package cardpay

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/cardpay/cardpaytest"
)

// Fifty agents refund 10 each, at once, on a payment of 200: exactly twenty
// refunds fit, and the database agrees with itself afterwards.
func TestConcurrentRefundsNeverExceedThePayment(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.paid("ord_20", 200, "pi_20")

	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.refund(p.ID, 10, "claim")
		}()
	}
	wg.Wait()
	ok, refused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrRefundExceedsPayment):
			refused++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 20 || refused != 30 {
		t.Errorf("%d refunds reserved and %d refused, want 20 and 30", ok, refused)
	}
	got := e.get(p.ID)
	if got.Refunded != eur(200) {
		t.Errorf("refunded = %v, want 200", got.Refunded)
	}
	var sum int
	if err := e.d.Read.QueryRowContext(e.ctx, `SELECT COALESCE(SUM(amount), 0) FROM card_refunds WHERE payment_id = $1 AND status <> 'failed'`,
		p.ID).Scan(&sum); err != nil || sum != 200 {
		t.Errorf("sum of refunds = %d (%v), want 200", sum, err)
	}
	if c := e.jobsOf("cardpay.refund"); c != 20 {
		t.Errorf("%d refund jobs, want 20", c)
	}
	if _, err := e.refund(p.ID, 1, ""); !errors.Is(err, ErrRefundExceedsPayment) {
		t.Errorf("one more cent: %v", err)
	}
	// The database itself refuses more than the payment, whatever the code.
	if _, err := e.d.Write.ExecContext(e.ctx, `UPDATE card_payments SET refunded = amount + 1 WHERE id = $1`, p.ID); err == nil {
		t.Error("CHECK (refunded <= amount) did not hold")
	}
	// Nor can a refund be stored without reserving its amount, or erased.
	if _, err := e.d.Write.ExecContext(e.ctx, `INSERT INTO card_refunds (id, payment_id, amount, status, created_at, updated_at)
		VALUES ('rfd_sneaky', $1, 1, 'pending', $2, $2)`, p.ID, t0); err == nil {
		t.Error("a refund was stored without its reservation")
	}
	if _, err := e.d.Write.ExecContext(e.ctx, `DELETE FROM card_refunds WHERE payment_id = $1`, p.ID); err == nil {
		t.Error("refunds were deleted")
	}
	if _, err := e.d.Write.ExecContext(e.ctx, `UPDATE card_refunds SET amount = amount + 1 WHERE payment_id = $1`, p.ID); err == nil {
		t.Error("a refund's amount changed")
	}
}

func TestRefundRefusals(t *testing.T) {
	e := newEnv(t, envOpts{})
	unpaid := e.start(e.startInput("ord_21", 100))
	if _, err := e.refund(unpaid.ID, 10, ""); !errors.Is(err, ErrNotRefundable) {
		t.Errorf("unpaid: %v", err)
	}
	p := e.paid("ord_22", 100, "pi_22")
	if _, err := e.refund(p.ID, 101, ""); !errors.Is(err, ErrRefundExceedsPayment) {
		t.Errorf("over the payment: %v", err)
	}
	if _, err := e.refund(p.ID, 0, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero: %v", err)
	}
	if _, err := e.refund("pay_nope", 10, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown payment: %v", err)
	}
	if got := e.get(p.ID); got.Refunded.Minor != 0 {
		t.Errorf("refused refunds reserved %v", got.Refunded)
	}
}

// The job asks stripe-mock for the refund with the refund's own key and
// records its answer.
func TestRefundJobCallsStripeAndSettles(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	p := e.paid("ord_23", 200, "pi_23")
	r, err := e.refund(p.ID, 50, "requested_by_customer")
	if err != nil {
		t.Fatal(err)
	}
	w := &refundWorker{s: e.svc}
	if err := w.Work(e.ctx, job(RefundArgs{RefundID: r.ID}, 1)); err != nil {
		t.Fatalf("Work: %v", err)
	}
	reqs := e.rec.Requests(http.MethodPost, "/v1/refunds")
	if len(reqs) != 1 {
		t.Fatalf("%d refund requests, want 1", len(reqs))
	}
	q := reqs[0]
	if q.IdempotencyKey() != "refund-"+r.ID {
		t.Errorf("Idempotency-Key = %q, want refund-%s", q.IdempotencyKey(), r.ID)
	}
	for field, want := range map[string]string{
		"amount": "50", "payment_intent": "pi_23", "reason": "requested_by_customer",
		"metadata[refund_id]": r.ID, "metadata[payment_id]": p.ID,
	} {
		if got := q.Form.Get(field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	got := e.getRefund(r.ID)
	if got.Status != RefundSucceeded || !strings.HasPrefix(got.StripeRefundID, "re_") {
		t.Errorf("refund after the job: %+v", got)
	}
	calls := wantCalls(t, e.h, "PaymentSucceeded", "RefundSettled")
	if c := calls[1]; c.Refund.ID != r.ID || c.Refund.Status != RefundSucceeded || c.Payment.Refunded != eur(50) {
		t.Errorf("RefundSettled(%+v, refunded %v)", c.Refund, c.Payment.Refunded)
	}
	// Run again (River runs jobs at least once): nothing more.
	if err := w.Work(e.ctx, job(RefundArgs{RefundID: r.ID}, 2)); err != nil || len(e.rec.Requests("", "")) != 1 {
		t.Errorf("second run: %v, %d requests", err, len(e.rec.Requests("", "")))
	}
}

// Stripe refusing the refund (here: the PaymentIntent it names does not
// exist) fails it, releases its amount and tells the domain.
func TestFailedRefundJobReleasesTheReservation(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	p := e.paid("ord_24", 200, "pi_missing")
	r, err := e.refund(p.ID, 120, "withdrawal")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.get(p.ID); got.Refunded != eur(120) {
		t.Fatalf("reserved %v, want 120", got.Refunded)
	}
	e.rec.Respond(func(q cardpaytest.Request) bool {
		return q.Method == http.MethodPost && q.Path == "/v1/refunds" && q.Form.Get("payment_intent") == "pi_missing"
	}, http.StatusNotFound, cardpaytest.StripeError("invalid_request_error", "resource_missing",
		"No such payment_intent: 'pi_missing'", map[string]any{"param": "payment_intent"}))
	w := &refundWorker{s: e.svc}
	err = w.Work(e.ctx, job(RefundArgs{RefundID: r.ID}, 1))
	if !isCancel(err) {
		t.Fatalf("Work = %v, want a cancel (permanent)", err)
	}
	got := e.getRefund(r.ID)
	if got.Status != RefundFailed || !strings.Contains(got.LastError, "resource_missing") {
		t.Errorf("refund = %s %q", got.Status, got.LastError)
	}
	if after := e.get(p.ID); after.Refunded.Minor != 0 {
		t.Errorf("refunded = %v after the failure, want 0", after.Refunded)
	}
	calls := wantCalls(t, e.h, "PaymentSucceeded", "RefundSettled")
	if c := calls[1]; c.Refund.Status != RefundFailed || c.Payment.Refunded.Minor != 0 {
		t.Errorf("RefundSettled(%+v, refunded %v)", c.Refund, c.Payment.Refunded)
	}
	// What was released can be refunded again.
	if _, err := e.refund(p.ID, 200, ""); err != nil {
		t.Errorf("full refund after the release: %v", err)
	}
}

// Stripe down: the job retries and the reservation holds; at the last
// attempt the refund fails and the amount comes back.
func TestRefundJobRetriesThenGivesUp(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	p := e.paid("ord_25", 100, "pi_25")
	r, err := e.refund(p.ID, 30, "")
	if err != nil {
		t.Fatal(err)
	}
	e.rec.Respond(cardpaytest.To(http.MethodPost, "/v1/refunds"), http.StatusTooManyRequests,
		cardpaytest.StripeError("invalid_request_error", "rate_limit", "Too many requests", nil))
	w := &refundWorker{s: e.svc}
	if err := w.Work(e.ctx, job(RefundArgs{RefundID: r.ID}, 1)); err == nil || isCancel(err) {
		t.Fatalf("first attempt = %v, want a retryable error", err)
	}
	if got := e.getRefund(r.ID); got.Status != RefundPending || e.get(p.ID).Refunded != eur(30) {
		t.Errorf("after a retryable failure: %s, refunded %v", got.Status, e.get(p.ID).Refunded)
	}
	last := stripeJobOpts().MaxAttempts
	if err := w.Work(e.ctx, job(RefundArgs{RefundID: r.ID}, last)); err == nil {
		t.Fatal("last attempt succeeded against a failing Stripe")
	}
	if got := e.getRefund(r.ID); got.Status != RefundFailed || e.get(p.ID).Refunded.Minor != 0 {
		t.Errorf("after the last attempt: %s, refunded %v", got.Status, e.get(p.ID).Refunded)
	}
	for _, q := range e.rec.Requests(http.MethodPost, "/v1/refunds") {
		if q.IdempotencyKey() != "refund-"+r.ID {
			t.Errorf("Idempotency-Key %q", q.IdempotencyKey())
		}
	}
}

// A refund Stripe answered with a server error is retried under a new key,
// after looking among the payment's refunds for one the failed request may
// have made: under the old key it failed at every retry and the customer's
// money never went back.
func TestRefundAfterAServerErrorLooksThenSendsANewKey(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	p := e.paid("ord_r500", 100, "pi_r500")
	r, err := e.refund(p.ID, 40, "")
	if err != nil {
		t.Fatal(err)
	}
	e.rec.Respond(func(q cardpaytest.Request) bool {
		return q.Method == http.MethodPost && q.Path == "/v1/refunds" && q.IdempotencyKey() == "refund-"+r.ID
	}, http.StatusInternalServerError, cardpaytest.StripeError("api_error", "", "An unknown error occurred", nil))
	w := &refundWorker{s: e.svc}
	if err := w.Work(e.ctx, job(RefundArgs{RefundID: r.ID}, 1)); err == nil || isCancel(err) {
		t.Fatalf("attempt 1 = %v, want a retryable error", err)
	}
	if err := w.Work(e.ctx, job(RefundArgs{RefundID: r.ID}, 2)); err != nil {
		t.Fatalf("attempt 2 after a 500: %v", err)
	}
	if n := len(e.rec.Requests(http.MethodGet, "/v1/refunds")); n != 1 {
		t.Errorf("attempt 2 looked %d times for an earlier refund, want once", n)
	}
	creates := e.rec.Requests(http.MethodPost, "/v1/refunds")
	if last := creates[len(creates)-1].IdempotencyKey(); last != "refund-"+r.ID+"-r1" {
		t.Errorf("last refund request under %q, want refund-%s-r1", last, r.ID)
	}
	if got := e.getRefund(r.ID); got.Status != RefundSucceeded {
		t.Errorf("refund after attempt 2: %s (%q), want succeeded", got.Status, got.LastError)
	}
}

// Refunds that Stripe settles later are settled by their webhooks, once;
// a refund that fails after succeeding gives its amount back.
func TestRefundWebhooks(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.paid("ord_26", 300, "pi_26")
	r, err := e.refund(p.ID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	refundObj := func(status string) map[string]any {
		return map[string]any{"id": "re_26", "object": "refund", "amount": 100, "currency": "eur", "status": status,
			"payment_intent": "pi_26", "metadata": map[string]any{"refund_id": r.ID, "payment_id": p.ID}}
	}
	e.mustDeliver(stripe.EventTypeRefundCreated, refundObj("pending"))
	if got := e.getRefund(r.ID); got.Status != RefundPending || got.StripeRefundID != "re_26" {
		t.Errorf("after refund.created (pending): %+v", got)
	}
	payload, sig := e.mustDeliver(stripe.EventTypeRefundUpdated, refundObj("succeeded"))
	if got := e.getRefund(r.ID); got.Status != RefundSucceeded {
		t.Errorf("after refund.updated (succeeded): %s", got.Status)
	}
	if err := e.svc.HandleWebhook(e.ctx, payload, sig); err != nil {
		t.Fatal(err)
	}
	// charge.refunded listing the same refund: already settled.
	e.mustDeliver(stripe.EventTypeChargeRefunded, map[string]any{
		"id": "ch_26", "object": "charge", "amount": 300, "amount_refunded": 100, "payment_intent": "pi_26",
		"refunds": map[string]any{"object": "list", "data": []any{refundObj("succeeded")}},
	})
	wantCalls(t, e.h, "PaymentSucceeded", "RefundSettled")
	if got := e.get(p.ID); got.Refunded != eur(100) {
		t.Errorf("refunded = %v, want 100", got.Refunded)
	}

	// The bank sends it back (closed card): the refund fails after all.
	e.mustDeliver(stripe.EventTypeRefundFailed, refundObj("failed"))
	if got := e.getRefund(r.ID); got.Status != RefundFailed {
		t.Errorf("after refund.failed: %s", got.Status)
	}
	if got := e.get(p.ID); got.Refunded.Minor != 0 {
		t.Errorf("refunded = %v after refund.failed, want 0", got.Refunded)
	}
	calls := wantCalls(t, e.h, "PaymentSucceeded", "RefundSettled", "RefundSettled")
	if calls[2].Refund.Status != RefundFailed {
		t.Errorf("second RefundSettled: %+v", calls[2].Refund)
	}

	// Events come in any order: an older snapshot saying "succeeded"
	// (refund.created or charge.refunded sent before the failure) arriving
	// after refund.failed changes nothing. Before, it reserved the refund
	// again and reported it succeeded: a credit note for money that came
	// back to the store.
	e.mustDeliver(stripe.EventTypeChargeRefunded, map[string]any{
		"id": "ch_26", "object": "charge", "amount": 300, "amount_refunded": 100, "payment_intent": "pi_26",
		"refunds": map[string]any{"object": "list", "data": []any{refundObj("succeeded")}},
	})
	if got := e.getRefund(r.ID); got.Status != RefundFailed {
		t.Errorf("late succeeded after refund.failed: %s", got.Status)
	}
	if got := e.get(p.ID); got.Refunded.Minor != 0 {
		t.Errorf("refunded = %v after a late succeeded, want 0", got.Refunded)
	}
	wantCalls(t, e.h, "PaymentSucceeded", "RefundSettled", "RefundSettled")
}

// firstOfList edits a Stripe list answer's first object (stripe-mock's
// fixture) into what an earlier attempt of ours would have left at Stripe.
func firstOfList(edit func(obj map[string]any)) func(map[string]any) {
	return func(list map[string]any) {
		data, _ := list["data"].([]any)
		if len(data) == 0 {
			return
		}
		if obj, ok := data[0].(map[string]any); ok {
			edit(obj)
		}
	}
}

// Stripe forgets an idempotency key after a day. A refund job retried
// that late (the store was down) looks among the payment's refunds for the
// one an earlier attempt made, and records it instead of refunding twice;
// within the day it trusts the key and does not look.
func TestLateRefundRetryLooksBeforeRefunding(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	p := e.paid("ord_late", 200, "pi_late")
	r, err := e.refund(p.ID, 80, "")
	if err != nil {
		t.Fatal(err)
	}
	w := &refundWorker{s: e.svc}
	create, list := cardpaytest.To(http.MethodPost, "/v1/refunds"), cardpaytest.To(http.MethodGet, "/v1/refunds")
	e.rec.Respond(create, http.StatusServiceUnavailable, cardpaytest.StripeError("api_error", "", "try again", nil))

	e.clk.Advance(22 * time.Hour)
	if err := w.Work(e.ctx, job(RefundArgs{RefundID: r.ID}, 2)); err == nil || isCancel(err) {
		t.Fatalf("attempt 2 with Stripe down = %v, want a retryable error", err)
	}
	if n := len(e.rec.Requests(http.MethodGet, "/v1/refunds")); n != 0 {
		t.Errorf("attempt 2, within the key's day: %d look-ups, want none", n)
	}

	// A day on, nothing of ours among the payment's refunds (stripe-mock's
	// fixture carries no refund_id): the job asks again.
	e.clk.Advance(3 * time.Hour)
	if err := w.Work(e.ctx, job(RefundArgs{RefundID: r.ID}, 3)); err == nil || isCancel(err) {
		t.Fatalf("attempt 3 with Stripe down = %v, want a retryable error", err)
	}
	lookups := e.rec.Requests(http.MethodGet, "/v1/refunds")
	if len(lookups) != 1 || lookups[0].Form.Get("payment_intent") != "pi_late" {
		t.Fatalf("attempt 3: look-ups %+v, want one for pi_late", lookups)
	}
	if n := len(e.rec.Requests(http.MethodPost, "/v1/refunds")); n != 2 {
		t.Errorf("attempt 3: %d refund requests in all, want 2 (none found, so asked again)", n)
	}

	// The last of those calls reached Stripe after all: the next attempt
	// finds that refund and asks for nothing more.
	e.rec.ClearRules()
	e.rec.Rewrite(list, firstOfList(func(o map[string]any) {
		o["id"], o["status"], o["amount"], o["payment_intent"] = "re_earlier", "succeeded", 80, "pi_late"
		o["metadata"] = map[string]any{"refund_id": r.ID, "payment_id": p.ID}
	}))
	e.clk.Advance(24 * time.Hour)
	if err := w.Work(e.ctx, job(RefundArgs{RefundID: r.ID}, 4)); err != nil {
		t.Fatalf("attempt 4: %v", err)
	}
	if n := len(e.rec.Requests(http.MethodPost, "/v1/refunds")); n != 2 {
		t.Errorf("attempt 4 asked for a refund again (%d requests in all, want 2)", n)
	}
	if got := e.getRefund(r.ID); got.Status != RefundSucceeded || got.StripeRefundID != "re_earlier" {
		t.Errorf("refund after attempt 4: %s %q, want succeeded re_earlier", got.Status, got.StripeRefundID)
	}
	if got := e.get(p.ID); got.Refunded != eur(80) {
		t.Errorf("refunded = %v, want 80", got.Refunded)
	}
}
