package cardpay

import (
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/cardpay/cardpaytest"
)

// firstPayment is a subscription's first Checkout payment, which saved the
// card pm_sub of Stripe customer cus_sub.
func (e *env) firstPayment() Payment {
	e.t.Helper()
	in := e.startInput("sub_1_p1", 990)
	in.Purpose, in.SaveCard = PurposeRenewal, true
	p := e.start(in)
	s := completedSession(p, "cs_sub", "", "cus_sub")
	s["payment_intent"] = map[string]any{"id": "pi_sub1", "object": "payment_intent", "status": "succeeded",
		"amount": 990, "currency": "eur", "payment_method": "pm_sub"}
	e.mustDeliver(stripe.EventTypeCheckoutSessionCompleted, s)
	return e.get(p.ID)
}

func (e *env) charge(ref string, amount int64) (Payment, error) {
	var p Payment
	err := e.d.Tx(e.ctx, func(tx *sql.Tx) error {
		var err error
		p, err = e.svc.ChargeSavedCardTx(e.ctx, tx, ChargeInput{
			Purpose: PurposeRenewal, ReferenceID: ref, CustomerID: "usr_1", Amount: eur(amount), Description: "Renewal " + ref,
		})
		return err
	})
	return p, err
}

func isPaymentIntentCreate(q cardpaytest.Request) bool {
	return q.Method == http.MethodPost && q.Path == "/v1/payment_intents"
}

func TestRenewalChargesTheSavedCardOffSession(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	first := e.firstPayment()
	if first.PaymentMethodID != "pm_sub" || first.StripeCustomerID != "cus_sub" {
		t.Fatalf("first payment did not save the card: %+v", first)
	}
	p, err := e.charge("sub_1_p2", 990)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != StatusCreating || p.PaymentMethodID != "pm_sub" {
		t.Fatalf("renewal = %+v", p)
	}
	// stripe-mock validates the request; the test decides that the bank
	// accepts (stripe-mock's fixture intent always "requires_payment_method").
	e.rec.Rewrite(isPaymentIntentCreate, func(o map[string]any) { o["status"] = "succeeded" })
	w := &chargeWorker{s: e.svc}
	if err := w.Work(e.ctx, job(ChargeSavedCardArgs{PaymentID: p.ID, Description: "Renewal sub_1_p2"}, 1)); err != nil {
		t.Fatalf("Work: %v", err)
	}
	reqs := e.rec.Requests(http.MethodPost, "/v1/payment_intents")
	if len(reqs) != 1 {
		t.Fatalf("%d payment intent requests, want 1", len(reqs))
	}
	q := reqs[0]
	if q.IdempotencyKey() != "renewal-"+p.ID {
		t.Errorf("Idempotency-Key = %q, want renewal-%s", q.IdempotencyKey(), p.ID)
	}
	for field, want := range map[string]string{
		"amount": "990", "currency": "eur", "customer": "cus_sub", "payment_method": "pm_sub",
		"off_session": "true", "confirm": "true", "metadata[payment_id]": p.ID, "metadata[reference_id]": "sub_1_p2",
	} {
		if got := q.Form.Get(field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	got := e.get(p.ID)
	if got.Status != StatusSucceeded || !strings.HasPrefix(got.PaymentIntentID, "pi_") {
		t.Errorf("renewal after the job: %+v", got)
	}
	calls := wantCalls(t, e.h, "PaymentSucceeded", "PaymentSucceeded")
	if calls[1].Payment.ID != p.ID {
		t.Errorf("second success is %s, want the renewal %s", calls[1].Payment.ID, p.ID)
	}
	if _, err := e.charge("sub_1_p2", 990); !errors.Is(err, ErrAlreadyPaid) {
		t.Errorf("charging the paid period again: %v", err)
	}
}

// The bank wants the customer to authenticate: the renewal waits in
// requires_action, the domain is told so, and the customer authenticating
// later settles it through the webhook.
func TestRenewalNeedingAuthentication(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	e.firstPayment()
	p, err := e.charge("sub_1_p3", 990)
	if err != nil {
		t.Fatal(err)
	}
	e.rec.Respond(isPaymentIntentCreate, http.StatusPaymentRequired, cardpaytest.StripeError("card_error", "authentication_required",
		"This payment requires authentication.", map[string]any{"decline_code": "authentication_required",
			"payment_intent": map[string]any{"id": "pi_auth", "object": "payment_intent", "status": "requires_payment_method"}}))
	w := &chargeWorker{s: e.svc}
	if err := w.Work(e.ctx, job(ChargeSavedCardArgs{PaymentID: p.ID, Description: "Renewal"}, 1)); err != nil {
		t.Fatalf("a decline is an outcome, not a job failure: %v", err)
	}
	got := e.get(p.ID)
	if got.Status != StatusRequiresAction || got.PaymentIntentID != "pi_auth" || !got.NeedsAuthentication() {
		t.Fatalf("after authentication_required: %+v", got)
	}
	calls := wantCalls(t, e.h, "PaymentSucceeded", "PaymentFailed")
	if !calls[1].Payment.NeedsAuthentication() {
		t.Errorf("PaymentFailed does not say authentication is needed: %+v", calls[1].Payment)
	}
	// Stripe's own event for the same decline changes nothing more.
	e.mustDeliver(stripe.EventTypePaymentIntentPaymentFailed, map[string]any{
		"id": "pi_auth", "object": "payment_intent", "status": "requires_payment_method", "amount": 990, "currency": "eur",
		"metadata":           map[string]any{"payment_id": p.ID},
		"last_payment_error": map[string]any{"type": "card_error", "code": "authentication_required"},
	})
	wantCalls(t, e.h, "PaymentSucceeded", "PaymentFailed")
	// The period is held while the customer may still authenticate.
	if _, err := e.charge("sub_1_p3", 990); !errors.Is(err, ErrPaymentInProgress) {
		t.Errorf("second charge while requires_action: %v", err)
	}
	e.mustDeliver(stripe.EventTypePaymentIntentSucceeded, map[string]any{
		"id": "pi_auth", "object": "payment_intent", "status": "succeeded", "amount": 990, "currency": "eur",
		"metadata": map[string]any{"payment_id": p.ID}, "payment_method": "pm_sub",
	})
	if got := e.get(p.ID); got.Status != StatusSucceeded {
		t.Errorf("after the customer authenticated: %s", got.Status)
	}
	wantCalls(t, e.h, "PaymentSucceeded", "PaymentFailed", "PaymentSucceeded")
}

// stripe-mock's own answer, an intent that still requires a payment method,
// is a decline.
func TestRenewalDeclined(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	e.firstPayment()
	p, err := e.charge("sub_1_p4", 990)
	if err != nil {
		t.Fatal(err)
	}
	w := &chargeWorker{s: e.svc}
	if err := w.Work(e.ctx, job(ChargeSavedCardArgs{PaymentID: p.ID, Description: "Renewal"}, 1)); err != nil {
		t.Fatalf("Work: %v", err)
	}
	got := e.get(p.ID)
	if got.Status != StatusFailed || got.NeedsAuthentication() {
		t.Errorf("renewal = %s (%q)", got.Status, got.LastError)
	}
	wantCalls(t, e.h, "PaymentSucceeded", "PaymentFailed")
	// A declined period can be charged again (another card, later).
	if _, err := e.charge("sub_1_p4", 990); err != nil {
		t.Errorf("retry after a decline: %v", err)
	}
}

func TestChargeWithoutSavedCard(t *testing.T) {
	e := newEnv(t, envOpts{})
	if _, err := e.charge("sub_2_p1", 500); !errors.Is(err, ErrNoSavedCard) {
		t.Errorf("no saved card: %v", err)
	}
}

// After a Checkout payment the job fetches the card (for renewals) and its
// country from Stripe.
func TestFetchDetailsFillsTheCard(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	p := e.paid("ord_30", 1500, "pi_30")
	if p.PaymentMethodID != "" {
		t.Fatalf("card known before the job: %+v", p)
	}
	w := &fetchWorker{s: e.svc}
	if err := w.Work(e.ctx, job(FetchDetailsArgs{PaymentID: p.ID}, 1)); err != nil {
		t.Fatalf("Work: %v", err)
	}
	reqs := e.rec.Requests(http.MethodGet, "/v1/payment_intents/pi_30")
	if len(reqs) != 1 {
		t.Fatalf("%d retrieve requests, want 1", len(reqs))
	}
	if f := reqs[0].Form; f.Get("expand[0]") != "payment_method" || f.Get("expand[1]") != "latest_charge" {
		t.Errorf("query = %v, want payment_method and latest_charge expanded", f)
	}
	got := e.get(p.ID)
	if !strings.HasPrefix(got.PaymentMethodID, "pm_") || got.PaymentIntentID != "pi_30" || got.StripeCustomerID != "cus_ord_30" {
		t.Errorf("after the job: %+v", got)
	}
	if got.CardCountry == "" {
		t.Errorf("card country not filled: %+v", got)
	}
}

func (e *env) release(ref string) bool {
	e.t.Helper()
	var released bool
	if err := e.d.Tx(e.ctx, func(tx *sql.Tx) error {
		var err error
		released, err = e.svc.ReleaseTx(e.ctx, tx, PurposeRenewal, ref, "subscription ended")
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return released
}

// The customer cancels while the renewal's charge waits for its job: the
// release cancels it, and the job never calls Stripe. Before, ReleaseTx
// left an off-session charge alone and the card was charged after the
// cancellation.
func TestReleasedRenewalChargeNeverReachesStripe(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	e.firstPayment()
	p, err := e.charge("sub_1_p6", 990)
	if err != nil {
		t.Fatal(err)
	}
	if !e.release("sub_1_p6") {
		t.Fatal("a queued off-session charge was not released")
	}
	w := &chargeWorker{s: e.svc}
	if err := w.Work(e.ctx, job(ChargeSavedCardArgs{PaymentID: p.ID, Description: "Renewal"}, 1)); err != nil {
		t.Fatalf("Work: %v", err)
	}
	if reqs := e.rec.Requests(http.MethodPost, "/v1/payment_intents"); len(reqs) != 0 {
		t.Fatalf("%d payment intents created for a released charge", len(reqs))
	}
	if got := e.get(p.ID); got.Status != StatusCanceled {
		t.Fatalf("released charge is %s", got.Status)
	}
	if n := e.jobsOf(CancelPaymentArgs{}.Kind()); n != 0 {
		t.Errorf("%d cancel jobs for a charge Stripe never saw", n)
	}
	wantCalls(t, e.h, "PaymentSucceeded") // the first payment only
}

// The release comes while the job is calling Stripe, which charges the
// card: the money is recorded as paid and the domain told, not left
// unrecorded behind a canceled payment.
func TestReleaseDuringTheChargeStillRecordsTheMoney(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	e.firstPayment()
	p, err := e.charge("sub_1_p7", 990)
	if err != nil {
		t.Fatal(err)
	}
	var releasedMidCall bool
	e.rec.Rewrite(isPaymentIntentCreate, func(o map[string]any) {
		releasedMidCall = e.release("sub_1_p7")
		o["status"] = "succeeded"
	})
	w := &chargeWorker{s: e.svc}
	if err := w.Work(e.ctx, job(ChargeSavedCardArgs{PaymentID: p.ID, Description: "Renewal"}, 1)); err != nil {
		t.Fatalf("Work: %v", err)
	}
	if !releasedMidCall {
		t.Fatal("the release during the call did not happen")
	}
	got := e.get(p.ID)
	if got.Status != StatusSucceeded || !strings.HasPrefix(got.PaymentIntentID, "pi_") {
		t.Fatalf("charged during its release: %+v", got)
	}
	calls := wantCalls(t, e.h, "PaymentSucceeded", "PaymentSucceeded")
	if calls[1].Payment.ID != p.ID {
		t.Errorf("second success is %s, want %s", calls[1].Payment.ID, p.ID)
	}
	// Stripe's own event for it changes nothing more.
	e.mustDeliver(stripe.EventTypePaymentIntentSucceeded, map[string]any{
		"id": got.PaymentIntentID, "object": "payment_intent", "status": "succeeded", "amount": 990, "currency": "eur",
		"metadata": map[string]any{"payment_id": p.ID},
	})
	wantCalls(t, e.h, "PaymentSucceeded", "PaymentSucceeded")
}

// A renewal charge retried more than a day after its job began (the store
// was down) may no longer be covered by its idempotency key: it looks for
// the PaymentIntent an earlier attempt made among the customer's, and
// records that one instead of charging the card a second time.
func TestLateRenewalRetryFindsTheEarlierCharge(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	e.firstPayment()
	p, err := e.charge("sub_1_p3", 990)
	if err != nil {
		t.Fatal(err)
	}
	e.rec.Rewrite(cardpaytest.To(http.MethodGet, "/v1/payment_intents"), firstOfList(func(o map[string]any) {
		o["id"], o["status"], o["amount"], o["currency"] = "pi_earlier", "succeeded", 990, "eur"
		o["metadata"] = map[string]any{"payment_id": p.ID}
	}))
	e.clk.Advance(25 * time.Hour)
	w := &chargeWorker{s: e.svc}
	if err := w.Work(e.ctx, job(ChargeSavedCardArgs{PaymentID: p.ID, Description: "Renewal sub_1_p3"}, 5)); err != nil {
		t.Fatalf("Work: %v", err)
	}
	if n := len(e.rec.Requests(http.MethodPost, "/v1/payment_intents")); n != 0 {
		t.Errorf("%d charges made, want none: the earlier one went through", n)
	}
	lookups := e.rec.Requests(http.MethodGet, "/v1/payment_intents")
	since := strconv.FormatInt(t0.Add(-time.Hour).Unix(), 10)
	if len(lookups) != 1 || lookups[0].Form.Get("customer") != "cus_sub" || lookups[0].Form.Get("created[gte]") != since {
		t.Fatalf("look-ups %+v, want one for cus_sub created since %s", lookups, since)
	}
	if got := e.get(p.ID); got.Status != StatusSucceeded || got.PaymentIntentID != "pi_earlier" {
		t.Errorf("renewal after the late retry: %s %q, want succeeded pi_earlier", got.Status, got.PaymentIntentID)
	}
}

// A renewal charge that Stripe answered with a server error may or may not
// have been made, and every retry under its key gets the same error back.
// The next attempt looks among the customer's intents for one an earlier
// attempt made and, finding none, charges under a new key: the renewal is
// paid instead of failing after a day of replayed errors.
func TestRenewalAfterAServerErrorLooksThenSendsANewKey(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	e.firstPayment()
	p, err := e.charge("sub_1_p500", 990)
	if err != nil {
		t.Fatal(err)
	}
	e.rec.Respond(func(q cardpaytest.Request) bool {
		return isPaymentIntentCreate(q) && q.IdempotencyKey() == "renewal-"+p.ID
	}, http.StatusInternalServerError, cardpaytest.StripeError("api_error", "", "An unknown error occurred", nil))
	e.rec.Rewrite(isPaymentIntentCreate, func(o map[string]any) { o["status"] = "succeeded" })
	w := &chargeWorker{s: e.svc}
	args := ChargeSavedCardArgs{PaymentID: p.ID, Description: "Renewal sub_1_p500"}
	if err := w.Work(e.ctx, job(args, 1)); err == nil || isCancel(err) {
		t.Fatalf("attempt 1 = %v, want a retryable error", err)
	}
	if n := len(e.rec.Requests(http.MethodGet, "/v1/payment_intents")); n != 0 {
		t.Errorf("attempt 1 looked %d times, want none", n)
	}
	if err := w.Work(e.ctx, job(args, 2)); err != nil {
		t.Fatalf("attempt 2 after a 500: %v", err)
	}
	if n := len(e.rec.Requests(http.MethodGet, "/v1/payment_intents")); n != 1 {
		t.Errorf("attempt 2 looked %d times for an earlier charge, want once", n)
	}
	creates := e.rec.Requests(http.MethodPost, "/v1/payment_intents")
	if len(creates) < 2 || creates[len(creates)-1].IdempotencyKey() != "renewal-"+p.ID+"-r1" {
		t.Fatalf("%d charge requests, the last under %q; want a last one under renewal-%s-r1", len(creates), creates[len(creates)-1].IdempotencyKey(), p.ID)
	}
	if got := e.get(p.ID); got.Status != StatusSucceeded {
		t.Errorf("renewal after attempt 2: %s (%q), want succeeded", got.Status, got.LastError)
	}
}

// The card renewals charge is the one the customer gave last, whatever
// happened to older payments since: a refund or a dispute of a payment made
// with an old card touches that payment, and renewals then went back to
// the old card (expired, or replaced on the authentication page), declined
// at every retry until the subscription ended.
func TestSavedCardIsTheLastOneGivenNotTheLastTouched(t *testing.T) {
	e := newEnv(t, envOpts{})
	old := e.firstPayment() // pm_sub of cus_sub
	e.clk.Advance(30 * 24 * time.Hour)
	in := e.startInput("sub_1_p2", 990)
	in.Purpose, in.SaveCard = PurposeRenewal, true
	p := e.start(in)
	s := completedSession(p, "cs_new", "", "cus_new")
	s["payment_intent"] = map[string]any{"id": "pi_new", "object": "payment_intent", "status": "succeeded",
		"amount": 990, "currency": "eur", "payment_method": "pm_new"}
	e.mustDeliver(stripe.EventTypeCheckoutSessionCompleted, s)
	want := SavedCard{StripeCustomerID: "cus_new", PaymentMethodID: "pm_new"}
	if got, err := e.svc.SavedCardOf(e.ctx, e.d.Read, "usr_1"); err != nil || got != want {
		t.Fatalf("saved card %+v %v, want %+v", got, err, want)
	}
	// A month on, the old payment is refunded in part, and disputed.
	e.clk.Advance(30 * 24 * time.Hour)
	if _, err := e.refund(old.ID, 100, "goodwill"); err != nil {
		t.Fatal(err)
	}
	e.mustDeliver(stripe.EventTypeChargeDisputeCreated, map[string]any{"id": "dp_old", "object": "dispute", "amount": 890,
		"currency": "eur", "payment_intent": old.PaymentIntentID, "reason": "general", "status": "needs_response"})
	if got, err := e.svc.SavedCardOf(e.ctx, e.d.Read, "usr_1"); err != nil || got != want {
		t.Fatalf("saved card after the old payment's refund and dispute: %+v %v, want %+v", got, err, want)
	}
}
