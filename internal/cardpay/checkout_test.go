package cardpay

import (
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/testwait"
)

// The whole path through River: the job sends Stripe the right request,
// under the payment's idempotency key, and the URL reaches the caller.
func TestCheckoutJobSendsTheRightRequestAndTheURLArrives(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true, workers: true})
	in := e.startInput("ord_1", 1234)
	in.SaveCard = true
	p := e.start(in)
	if p.Status != StatusCreating || !strings.HasPrefix(p.ID, "pay_") || p.Amount != eur(1234) {
		t.Fatalf("started payment = %+v", p)
	}

	u, err := e.svc.WaitCheckoutURL(e.ctx, p.ID, testwait.Default)
	if err != nil {
		t.Fatalf("WaitCheckoutURL: %v", err)
	}
	if !strings.HasPrefix(u, "https://checkout.stripe.com/") {
		t.Errorf("checkout URL = %q", u)
	}
	reqs := e.rec.Requests(http.MethodPost, "/v1/checkout/sessions")
	if len(reqs) != 1 {
		t.Fatalf("%d checkout session requests, want 1", len(reqs))
	}
	r := reqs[0]
	if got := r.IdempotencyKey(); got != "checkout-"+p.ID {
		t.Errorf("Idempotency-Key = %q, want checkout-%s", got, p.ID)
	}
	for field, want := range map[string]string{
		"mode":                                          "payment",
		"line_items[0][quantity]":                       "1",
		"line_items[0][price_data][unit_amount]":        "1234",
		"line_items[0][price_data][currency]":           "eur",
		"line_items[0][price_data][product_data][name]": "Order ord_1",
		"customer_email":                                "ada@example.test",
		"customer_creation":                             "always",
		"metadata[payment_id]":                          p.ID,
		"metadata[purpose]":                             "order",
		"metadata[reference_id]":                        "ord_1",
		"payment_intent_data[metadata][payment_id]":     p.ID,
		"payment_intent_data[setup_future_usage]":       "off_session",
		"payment_method_types[0]":                       "card",
		"success_url":                                   in.SuccessURL,
		"cancel_url":                                    in.CancelURL,
		"locale":                                        "fr",
		"client_reference_id":                           p.ID,
	} {
		if got := r.Form.Get(field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	if auth := r.Header.Get("Authorization"); auth != "Bearer "+cardpaytest.SecretKey {
		t.Errorf("Authorization = %q", auth)
	}

	p = e.get(p.ID)
	if p.Status != StatusAwaitingCustomer || p.CheckoutURL != u || !strings.HasPrefix(p.CheckoutSessionID, "cs_") {
		t.Errorf("after the job: %+v", p)
	}
	rows, err := audit.ForSubject(e.ctx, e.d.Read, "card_payment", p.ID)
	if err != nil || len(rows) != 2 || rows[0].Action != "payment.created" || rows[1].Action != "payment.awaiting_customer" {
		t.Errorf("audit = %+v, %v", rows, err)
	}

	// A second click on "pay" reaches the same page; nothing new is asked
	// of Stripe.
	again := e.start(in)
	if again.ID != p.ID || again.CheckoutURL != u {
		t.Errorf("second start = %s %q, want %s %q", again.ID, again.CheckoutURL, p.ID, u)
	}
	if n := e.jobsOf("cardpay.create_checkout"); n != 1 {
		t.Errorf("%d checkout jobs, want 1", n)
	}
	if len(e.h.Calls()) != 0 {
		t.Errorf("handler called: %+v", e.h.Calls())
	}
}

// A retried job sends the same key, so Stripe answers with the first
// session instead of creating another; once the page exists, a further run
// asks nothing.
func TestCheckoutRetrySendsTheSameIdempotencyKey(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	p := e.start(e.startInput("ord_2", 500))
	w := &checkoutWorker{s: e.svc}
	args := CreateCheckoutArgs{PaymentID: p.ID, Description: "Order ord_2", SuccessURL: "https://shop.test/s", CancelURL: "https://shop.test/c", Locale: "en"}

	e.rec.Respond(cardpaytest.To(http.MethodPost, "/v1/checkout/sessions"), http.StatusTooManyRequests,
		cardpaytest.StripeError("invalid_request_error", "rate_limit", "Too many requests", nil))
	err := w.Work(e.ctx, job(args, 1))
	if err == nil || isCancel(err) {
		t.Fatalf("Work with Stripe busy = %v, want a retryable error", err)
	}
	if got := e.get(p.ID); got.Status != StatusCreating || !strings.Contains(got.LastError, "429") {
		t.Errorf("after a 429: status %s, last error %q", got.Status, got.LastError)
	}

	e.rec.ClearRules()
	if err := w.Work(e.ctx, job(args, 2)); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	if err := w.Work(e.ctx, job(args, 3)); err != nil {
		t.Fatalf("third run: %v", err)
	}
	reqs := e.rec.Requests(http.MethodPost, "/v1/checkout/sessions")
	if len(reqs) < 2 {
		t.Fatalf("%d requests, want the failed ones and one more", len(reqs))
	}
	for i, r := range reqs {
		if r.IdempotencyKey() != "checkout-"+p.ID {
			t.Errorf("request %d: Idempotency-Key %q", i, r.IdempotencyKey())
		}
	}
	// River's next attempt succeeded with the same key, and a run after it
	// asks nothing.
	if got := e.get(p.ID); got.Status != StatusAwaitingCustomer || got.LastError != "" {
		t.Errorf("after success: status %s, last error %q", got.Status, got.LastError)
	}
	before := len(reqs)
	if err := w.Work(e.ctx, job(args, 4)); err != nil || len(e.rec.Requests("", "")) != before {
		t.Errorf("a run after success called Stripe again (%v)", err)
	}
}

// Stripe stores a server error under the request's idempotency key and
// answers every later request with that key the same way, for a day. The
// attempt after a 500 sends a new key and gets its page; River's retries
// under the old key failed for as long as they lasted, and the customer
// waited for a page that never came.
func TestCheckoutAfterAServerErrorSendsANewKey(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	p := e.start(e.startInput("ord_500", 500))
	w := &checkoutWorker{s: e.svc}
	args := CreateCheckoutArgs{PaymentID: p.ID, Description: "Order ord_500", SuccessURL: "https://shop.test/s", CancelURL: "https://shop.test/c", Locale: "fr"}
	replaysUnder := func(key string) func(cardpaytest.Request) bool {
		return func(q cardpaytest.Request) bool {
			return q.Method == http.MethodPost && q.Path == "/v1/checkout/sessions" && q.IdempotencyKey() == key
		}
	}
	e.rec.Respond(replaysUnder("checkout-"+p.ID), http.StatusInternalServerError,
		cardpaytest.StripeError("api_error", "", "An unknown error occurred", nil))

	if err := w.Work(e.ctx, job(args, 1)); err == nil || isCancel(err) {
		t.Fatalf("attempt 1 = %v, want a retryable error", err)
	}
	if err := w.Work(e.ctx, job(args, 2)); err != nil {
		t.Fatalf("attempt 2 after a 500: %v", err)
	}
	if got := e.get(p.ID); got.Status != StatusAwaitingCustomer || got.CheckoutURL == "" || got.LastError != "" {
		t.Fatalf("after attempt 2: status %s, url %q, last error %q", got.Status, got.CheckoutURL, got.LastError)
	}
	var keys []string
	for _, q := range e.rec.Requests(http.MethodPost, "/v1/checkout/sessions") {
		keys = append(keys, q.IdempotencyKey())
	}
	if len(keys) < 2 || keys[0] != "checkout-"+p.ID || keys[len(keys)-1] != "checkout-"+p.ID+"-r1" {
		t.Errorf("Idempotency-Keys %q, want checkout-%s then checkout-%s-r1", keys, p.ID, p.ID)
	}
}

// Stripe refusing the request is final: the payment fails, the domain is
// told once, and the waiting customer gets an answer at once. (Amounts
// below our table's minimum never get here, CheckMinimum; Stripe may still
// refuse a higher one, as when it converts to another settlement currency.)
func TestCheckoutRefusedByStripeFailsThePayment(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	p := e.start(e.startInput("ord_3", 60))
	e.rec.Respond(cardpaytest.To(http.MethodPost, "/v1/checkout/sessions"), http.StatusBadRequest,
		cardpaytest.StripeError("invalid_request_error", "amount_too_small", "Amount must be at least €0.50 eur", nil))
	w := &checkoutWorker{s: e.svc}
	err := w.Work(e.ctx, job(CreateCheckoutArgs{PaymentID: p.ID, Description: "x", SuccessURL: "https://s.test", CancelURL: "https://s.test"}, 1))
	if !isCancel(err) {
		t.Fatalf("Work = %v, want a cancel (permanent)", err)
	}
	got := e.get(p.ID)
	if got.Status != StatusFailed || !strings.Contains(got.LastError, "amount_too_small") {
		t.Errorf("payment = %s %q", got.Status, got.LastError)
	}
	calls := wantCalls(t, e.h, "PaymentFailed")
	if calls[0].Payment.ID != p.ID || calls[0].Payment.Status != StatusFailed {
		t.Errorf("PaymentFailed(%+v)", calls[0].Payment)
	}
	if _, err := e.svc.WaitCheckoutURL(e.ctx, p.ID, time.Second); !errors.Is(err, ErrCheckoutFailed) {
		t.Errorf("WaitCheckoutURL = %v, want ErrCheckoutFailed", err)
	}
	// The failed attempt does not hold the order: the customer can try again.
	again := e.start(e.startInput("ord_3", 60))
	if again.ID == p.ID || again.Status != StatusCreating {
		t.Errorf("new attempt = %+v", again)
	}
}

func TestWaitCheckoutURLTimesOut(t *testing.T) {
	e := newEnv(t, envOpts{}) // no worker: the page never comes
	p := e.start(e.startInput("ord_4", 100))
	start := time.Now()
	_, err := e.svc.WaitCheckoutURL(e.ctx, p.ID, 200*time.Millisecond)
	if !errors.Is(err, ErrCheckoutPending) {
		t.Fatalf("WaitCheckoutURL = %v, want ErrCheckoutPending", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond { // it gave the page the whole timeout
		t.Errorf("waited %v", d)
	}
	if _, err := e.svc.WaitCheckoutURL(e.ctx, "pay_unknown", time.Second); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown payment: %v", err)
	}
}

func TestStartCheckoutValidatesAndKeepsOneLivePaymentPerReference(t *testing.T) {
	e := newEnv(t, envOpts{})
	bad := []func(*StartInput){
		func(in *StartInput) { in.Purpose = "gift" },
		func(in *StartInput) { in.ReferenceID = "" },
		func(in *StartInput) { in.CustomerID = "" },
		func(in *StartInput) { in.Amount = eur(0) },
		func(in *StartInput) { in.Amount = eur(-5) },
		func(in *StartInput) { in.Amount.Currency = "eur" },
		func(in *StartInput) { in.Description = " " },
		func(in *StartInput) { in.SuccessURL = "/relative" },
		func(in *StartInput) { in.CancelURL = "javascript:alert(1)" },
		func(in *StartInput) { in.CustomerEmail = "Ada <ada@example.test>" },
	}
	for i, mutate := range bad {
		in := e.startInput("ord_v", 100)
		mutate(&in)
		err := e.d.Tx(e.ctx, func(tx *sql.Tx) error { _, err := e.svc.StartCheckoutTx(e.ctx, tx, in); return err })
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("case %d: %v, want ErrInvalid", i, err)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM card_payments`); n != 0 {
		t.Errorf("%d payments stored from invalid input", n)
	}

	p := e.start(e.startInput("ord_5", 100))
	other := e.startInput("ord_5", 200) // another amount for the same order
	err := e.d.Tx(e.ctx, func(tx *sql.Tx) error { _, err := e.svc.StartCheckoutTx(e.ctx, tx, other); return err })
	if !errors.Is(err, ErrPaymentInProgress) {
		t.Errorf("another amount: %v, want ErrPaymentInProgress", err)
	}
	e.mustDeliver("checkout.session.completed", completedSession(p, "cs_5", "pi_5", "cus_5"))
	var got Payment
	err = e.d.Tx(e.ctx, func(tx *sql.Tx) error {
		var err error
		got, err = e.svc.StartCheckoutTx(e.ctx, tx, e.startInput("ord_5", 100))
		return err
	})
	if !errors.Is(err, ErrAlreadyPaid) || got.ID != p.ID {
		t.Errorf("paid order: %v (%s), want ErrAlreadyPaid with %s", err, got.ID, p.ID)
	}
	// A rolled-back start leaves nothing behind, job included.
	_ = e.d.Tx(e.ctx, func(tx *sql.Tx) error {
		if _, err := e.svc.StartCheckoutTx(e.ctx, tx, e.startInput("ord_6", 100)); err != nil {
			t.Fatal(err)
		}
		return errors.New("the order failed")
	})
	if n := e.count(`SELECT COUNT(*) FROM card_payments WHERE reference_id = 'ord_6'`); n != 0 {
		t.Errorf("rolled-back payment stored")
	}
	if n := e.jobsOf("cardpay.create_checkout"); n != 1 {
		t.Errorf("%d checkout jobs, want 1 (ord_5 only)", n)
	}
}

func TestDisabledWithoutKeys(t *testing.T) {
	d := newEnv(t, envOpts{}).d
	svc, err := New(d, nil, nil, Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if svc.Enabled() || (Config{}).Enabled() {
		t.Error("enabled without keys")
	}
	err = d.Tx(t.Context(), func(tx *sql.Tx) error {
		_, err := svc.StartCheckoutTx(t.Context(), tx, StartInput{})
		return err
	})
	if !errors.Is(err, ErrDisabled) {
		t.Errorf("StartCheckoutTx disabled: %v", err)
	}
	if err := svc.HandleWebhook(t.Context(), []byte(`{}`), ""); !errors.Is(err, ErrDisabled) {
		t.Errorf("HandleWebhook disabled: %v", err)
	}
	for _, cfg := range []Config{
		{SecretKey: "sk_test_x"},
		{WebhookSecret: "whsec_x"},
		{SecretKey: "sk_test_x", WebhookSecret: "whsec_x", APIURL: "ftp://x"},
	} {
		if _, err := New(d, nil, nil, cfg, &recHandler{}, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("New(%+v) = %v, want ErrInvalid", cfg, err)
		}
	}
}
