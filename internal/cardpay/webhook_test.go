package cardpay

import (
	"bytes"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/cardpay/cardpaytest"
)

func TestCheckoutCompletedSettlesOnceAndReplaysChangeNothing(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.start(e.startInput("ord_10", 2500))

	// The event can arrive before the job has stored the session (the job
	// crashed after Stripe answered): the metadata finds the payment.
	payload, sig := e.mustDeliver(stripe.EventTypeCheckoutSessionCompleted, completedSession(p, "cs_10", "pi_10", "cus_10"))
	got := e.get(p.ID)
	if got.Status != StatusSucceeded || got.PaymentIntentID != "pi_10" || got.StripeCustomerID != "cus_10" || got.CheckoutSessionID != "cs_10" {
		t.Fatalf("after completed: %+v", got)
	}
	calls := wantCalls(t, e.h, "PaymentSucceeded")
	if c := calls[0].Payment; c.ID != p.ID || c.Status != StatusSucceeded || c.PaymentIntentID != "pi_10" || c.Amount != eur(2500) {
		t.Errorf("PaymentSucceeded(%+v)", c)
	}
	// The card is not in the event: a job will ask Stripe for it.
	if n := e.jobsOf("cardpay.fetch_details"); n != 1 {
		t.Errorf("%d fetch_details jobs, want 1", n)
	}

	// Stripe redelivers the same event: nothing changes.
	if err := e.svc.HandleWebhook(e.ctx, payload, sig); err != nil {
		t.Fatalf("replay: %v", err)
	}
	// The PaymentIntent's own success event: already settled, nothing more.
	e.mustDeliver(stripe.EventTypePaymentIntentSucceeded, map[string]any{
		"id": "pi_10", "object": "payment_intent", "status": "succeeded", "amount": 2500, "currency": "eur",
		"metadata": map[string]any{"payment_id": p.ID},
	})
	wantCalls(t, e.h, "PaymentSucceeded")
	if n := e.count(`SELECT COUNT(*) FROM stripe_events`); n != 2 {
		t.Errorf("%d events recorded, want 2", n)
	}
	if n := e.jobsOf("cardpay.fetch_details"); n != 1 {
		t.Errorf("%d fetch_details jobs after the replay, want 1", n)
	}
	if after := e.get(p.ID); !after.UpdatedAt.Equal(got.UpdatedAt) || after.Status != StatusSucceeded {
		t.Errorf("replay changed the payment: %+v", after)
	}
}

func TestCheckoutCompletedWithExpandedIntentStoresTheCard(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.start(e.startInput("ord_11", 900))
	session := completedSession(p, "cs_11", "", "cus_11")
	session["payment_intent"] = map[string]any{
		"id": "pi_11", "object": "payment_intent", "status": "succeeded", "amount": 900, "currency": "eur",
		"payment_method": map[string]any{"id": "pm_11", "object": "payment_method", "type": "card",
			"card": map[string]any{"country": "BE", "last4": "4242"}},
	}
	e.mustDeliver(stripe.EventTypeCheckoutSessionCompleted, session)
	got := e.get(p.ID)
	if got.PaymentMethodID != "pm_11" || got.CardCountry != "BE" || got.PaymentIntentID != "pi_11" {
		t.Errorf("card not stored: %+v", got)
	}
	if n := e.jobsOf("cardpay.fetch_details"); n != 0 {
		t.Errorf("fetch_details scheduled although the card is known")
	}
	card, err := e.svc.SavedCardOf(e.ctx, e.d.Read, "usr_1")
	if err != nil || card != (SavedCard{StripeCustomerID: "cus_11", PaymentMethodID: "pm_11"}) {
		t.Errorf("SavedCardOf = %+v, %v", card, err)
	}
}

func TestBadSignatureChangesNothing(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.start(e.startInput("ord_12", 700))
	payload, _ := cardpaytest.Event(t, cardpaytest.WebhookSecret, "evt_bad", stripe.EventTypeCheckoutSessionCompleted,
		completedSession(p, "cs_12", "pi_12", "cus_12"))
	tampered := bytes.Replace(payload, []byte(`"amount_total":700`), []byte(`"amount_total":7`), 1)
	if bytes.Equal(tampered, payload) {
		t.Fatal("tampering did not change the payload")
	}
	cases := map[string]struct {
		payload []byte
		sig     string
	}{
		"other secret":      {payload, cardpaytest.Sign("whsec_attacker", payload, time.Now())},
		"tampered body":     {tampered, cardpaytest.Sign(cardpaytest.WebhookSecret, payload, time.Now())},
		"no header":         {payload, ""},
		"garbage header":    {payload, "t=abc,v1=zz"},
		"too old":           {payload, cardpaytest.Sign(cardpaytest.WebhookSecret, payload, time.Now().Add(-time.Hour))},
		"signature dropped": {payload, strings.Split(cardpaytest.Sign(cardpaytest.WebhookSecret, payload, time.Now()), ",")[0]},
	}
	for name, c := range cases {
		if err := e.svc.HandleWebhook(e.ctx, c.payload, c.sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", name, err)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM stripe_events`); n != 0 {
		t.Errorf("%d events recorded", n)
	}
	if got := e.get(p.ID); got.Status != StatusCreating || got.PaymentIntentID != "" {
		t.Errorf("payment changed: %+v", got)
	}
	wantCalls(t, e.h)

	// Correctly signed but for another API version than the SDK decodes.
	old := bytes.Replace(payload, []byte(stripe.APIVersion), []byte("2020-08-27"), 1)
	if err := e.svc.HandleWebhook(e.ctx, old, cardpaytest.Sign(cardpaytest.WebhookSecret, old, time.Now())); !errors.Is(err, ErrBadPayload) {
		t.Errorf("old API version: %v, want ErrBadPayload", err)
	}
}

func TestWebhookHTTPHandler(t *testing.T) {
	e := newEnv(t, envOpts{})
	srv := httptest.NewServer(e.svc.WebhookHandler())
	defer srv.Close()
	p := e.start(e.startInput("ord_13", 300))
	payload, sig := cardpaytest.Event(t, cardpaytest.WebhookSecret, "evt_http", stripe.EventTypeCheckoutSessionCompleted,
		completedSession(p, "cs_13", "pi_13", "cus_13"))
	post := func(body []byte, sig string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		if sig != "" {
			req.Header.Set("Stripe-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(payload, cardpaytest.Sign("whsec_other", payload, time.Now())); code != http.StatusBadRequest {
		t.Errorf("bad signature: %d, want 400", code)
	}
	if got := e.get(p.ID); got.Status != StatusCreating {
		t.Errorf("bad signature changed the payment")
	}
	if code := post(payload, sig); code != http.StatusOK {
		t.Errorf("good event: %d, want 200", code)
	}
	if code := post(payload, sig); code != http.StatusOK {
		t.Errorf("replay: %d, want 200", code)
	}
	big := append(bytes.Repeat([]byte(" "), MaxWebhookBody), payload...)
	if code := post(big, cardpaytest.Sign(cardpaytest.WebhookSecret, big, time.Now())); code != http.StatusRequestEntityTooLarge {
		t.Errorf("over 1 MiB: %d, want 413", code)
	}
	e.h.setFail(errors.New("database of orders down"))
	p2 := e.start(e.startInput("ord_14", 300))
	payload2, sig2 := cardpaytest.Event(t, cardpaytest.WebhookSecret, "evt_http2", stripe.EventTypeCheckoutSessionCompleted,
		completedSession(p2, "cs_14", "pi_14", "cus_14"))
	if code := post(payload2, sig2); code != http.StatusInternalServerError {
		t.Errorf("handler failing: %d, want 500 so that Stripe retries", code)
	}
	wantCalls(t, e.h, "PaymentSucceeded")
}

// A Handler error rolls back the whole event, its id included, so Stripe's
// retry applies it later.
func TestHandlerErrorRollsTheEventBack(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.start(e.startInput("ord_15", 400))
	e.h.setFail(errors.New("orders unavailable"))
	_, payload, sig, err := e.deliver(stripe.EventTypeCheckoutSessionCompleted, completedSession(p, "cs_15", "pi_15", "cus_15"))
	if err == nil {
		t.Fatal("HandleWebhook succeeded although the handler failed")
	}
	if got := e.get(p.ID); got.Status != StatusCreating || got.PaymentIntentID != "" {
		t.Errorf("payment changed: %+v", got)
	}
	if n := e.count(`SELECT COUNT(*) FROM stripe_events`); n != 0 {
		t.Errorf("event recorded although not applied")
	}
	e.h.setFail(nil)
	if err := e.svc.HandleWebhook(e.ctx, payload, sig); err != nil {
		t.Fatalf("Stripe's retry: %v", err)
	}
	if got := e.get(p.ID); got.Status != StatusSucceeded {
		t.Errorf("retry not applied: %s", got.Status)
	}
	wantCalls(t, e.h, "PaymentSucceeded")
}

func TestExpiredCheckoutCancelsAndFreesTheReference(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.start(e.startInput("ord_16", 100))
	e.mustDeliver(stripe.EventTypeCheckoutSessionExpired, map[string]any{
		"id": "cs_16", "object": "checkout.session", "status": "expired", "payment_status": "unpaid",
		"amount_total": 100, "currency": "eur", "metadata": map[string]any{"payment_id": p.ID},
	})
	got := e.get(p.ID)
	if got.Status != StatusCanceled {
		t.Fatalf("status %s, want canceled", got.Status)
	}
	calls := wantCalls(t, e.h, "PaymentFailed")
	if calls[0].Payment.Status != StatusCanceled || calls[0].Payment.NeedsAuthentication() {
		t.Errorf("PaymentFailed(%+v)", calls[0].Payment)
	}
	again := e.start(e.startInput("ord_16", 100))
	if again.ID == p.ID {
		t.Error("new attempt reuses the canceled payment")
	}
	// A late "completed" for the expired session cannot settle it while
	// another payment holds the reference: the money arrived all the same,
	// so it is recorded as a duplicate and refunded in full; the domain,
	// whose reference the other payment holds, hears nothing. A second
	// event for it refunds nothing more.
	for range 2 {
		e.mustDeliver(stripe.EventTypeCheckoutSessionCompleted, completedSession(p, "cs_16", "pi_16", "cus_16"))
	}
	got = e.get(p.ID)
	if got.Status != StatusSucceeded || !got.Duplicate || got.Refunded != eur(100) || got.PaymentIntentID != "pi_16" {
		t.Errorf("closed payment paid late: %+v", got)
	}
	if n := e.count(`SELECT COUNT(*) FROM card_refunds WHERE payment_id = $1 AND reason = 'duplicate'`, p.ID); n != 1 {
		t.Errorf("%d refunds of the duplicate, want 1", n)
	}
	if held := e.get(again.ID); held.Status != StatusCreating || held.Duplicate {
		t.Errorf("the payment holding the reference: %+v", held)
	}
	wantCalls(t, e.h, "PaymentFailed")
}

// A Checkout page we released (the order abandoned on an erasure, the
// subscription ended) can still be paid until its expiry reaches Stripe,
// and longer when Stripe is unreachable meanwhile. The money arrived: the
// payment is recorded as paid and the Handler told, once, so that the
// domain that gave the reference up gives the money back; before, it was
// only logged and the customer was charged for nothing.
func TestReleasedCheckoutPaidAnywayIsRecordedOnce(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.start(e.startInput("ord_rel", 2500))
	if _, err := e.svc.db.Write.ExecContext(e.ctx, `UPDATE card_payments SET status = 'awaiting_customer',
		checkout_session_id = 'cs_rel', checkout_url = 'https://checkout.stripe.com/c/cs_rel' WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	var released bool
	if err := e.d.Tx(e.ctx, func(tx *sql.Tx) (err error) {
		released, err = e.svc.ReleaseTx(e.ctx, tx, PurposeOrder, "ord_rel", "customer erased")
		return err
	}); err != nil || !released {
		t.Fatalf("ReleaseTx = %v, %v", released, err)
	}
	if n := e.jobsOf(CancelPaymentArgs{}.Kind()); n != 1 {
		t.Fatalf("%d jobs to expire the page at Stripe, want 1", n)
	}
	payload, sig := e.mustDeliver(stripe.EventTypeCheckoutSessionCompleted, completedSession(p, "cs_rel", "pi_rel", "cus_rel"))
	got := e.get(p.ID)
	if got.Status != StatusSucceeded || got.PaymentIntentID != "pi_rel" {
		t.Fatalf("released page paid anyway: %+v", got)
	}
	calls := wantCalls(t, e.h, "PaymentSucceeded")
	if calls[0].Payment.ID != p.ID || calls[0].Payment.Status != StatusSucceeded {
		t.Errorf("PaymentSucceeded(%+v)", calls[0].Payment)
	}
	// The redelivery, and Stripe's event for the intent, change nothing.
	if err := e.svc.HandleWebhook(e.ctx, payload, sig); err != nil {
		t.Fatal(err)
	}
	e.mustDeliver(stripe.EventTypePaymentIntentSucceeded, map[string]any{
		"id": "pi_rel", "object": "payment_intent", "status": "succeeded", "amount": 2500, "currency": "eur",
		"metadata": map[string]any{"payment_id": p.ID},
	})
	wantCalls(t, e.h, "PaymentSucceeded")
	// Paid, it can be refunded.
	if _, err := e.refund(p.ID, 2500, "paid after release"); err != nil {
		t.Fatalf("refund: %v", err)
	}
}

func TestUnknownAndForeignEventsAreRecordedAndIgnored(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.start(e.startInput("ord_17", 100))
	e.mustDeliver("customer.created", map[string]any{"id": "cus_x", "object": "customer"})
	// A session comptoir did not create (a payment link made by hand).
	e.mustDeliver(stripe.EventTypeCheckoutSessionCompleted, map[string]any{
		"id": "cs_foreign", "object": "checkout.session", "payment_status": "paid", "amount_total": 100, "currency": "eur",
	})
	// A refund made in the dashboard.
	e.mustDeliver(stripe.EventTypeRefundUpdated, map[string]any{"id": "re_foreign", "object": "refund", "status": "succeeded", "amount": 5})
	if n := e.count(`SELECT COUNT(*) FROM stripe_events`); n != 3 {
		t.Errorf("%d events recorded, want 3", n)
	}
	if got := e.get(p.ID); got.Status != StatusCreating {
		t.Errorf("payment changed: %s", got.Status)
	}
	wantCalls(t, e.h)
}

func TestCheckoutAmountMismatchDoesNotSettle(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.start(e.startInput("ord_18", 5000))
	s := completedSession(p, "cs_18", "pi_18", "cus_18")
	s["amount_total"] = 50
	e.mustDeliver(stripe.EventTypeCheckoutSessionCompleted, s)
	if got := e.get(p.ID); got.Status != StatusCreating {
		t.Errorf("settled on a different amount: %s", got.Status)
	}
	wantCalls(t, e.h)
}
