package cardpay

import (
	"database/sql"
	"errors"
	"net/http"
	"sync"
	"testing"

	"comptoir/internal/cardpay/cardpaytest"
)

// heldRenewal is an off-session renewal charge the bank answered with
// authentication_required: requires_action, holding the reference.
func (e *env) heldRenewal(ref string) Payment {
	e.t.Helper()
	e.firstPayment()
	p, err := e.charge(ref, 990)
	if err != nil {
		e.t.Fatal(err)
	}
	e.rec.Respond(isPaymentIntentCreate, http.StatusPaymentRequired, cardpaytest.StripeError("card_error", "authentication_required",
		"This payment requires authentication.", map[string]any{"decline_code": "authentication_required",
			"payment_intent": map[string]any{"id": "pi_auth", "object": "payment_intent", "status": "requires_action"}}))
	w := &chargeWorker{s: e.svc}
	if err := w.Work(e.ctx, job(ChargeSavedCardArgs{PaymentID: p.ID, Description: "Renewal"}, 1)); err != nil {
		e.t.Fatal(err)
	}
	if got := e.get(p.ID); got.Status != StatusRequiresAction {
		e.t.Fatalf("held renewal is %s", got.Status)
	}
	e.rec.ClearRules()
	return e.get(p.ID)
}

func (e *env) authInput(ref, customer string) StartInput {
	in := e.startInput(ref, 990)
	in.Purpose, in.CustomerID, in.SaveCard = PurposeRenewal, customer, true
	return in
}

func (e *env) countJobs(kind string) int {
	e.t.Helper()
	var n int
	if err := e.d.Read.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM river_job WHERE kind = $1`, kind).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// However many times (and however concurrently) the customer follows the
// link, the held charge is released once and one Checkout payment is
// made; the held PaymentIntent is canceled at Stripe under its own key.
func TestAuthenticationReleasesTheHeldChargeOnceAndOpensOnePage(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	held := e.heldRenewal("spd_auth")

	// Another customer (or amount) cannot take the reference.
	err := e.d.Tx(e.ctx, func(tx *sql.Tx) error {
		_, err := e.svc.StartAuthenticationTx(e.ctx, tx, e.authInput("spd_auth", "usr_other"))
		return err
	})
	if !errors.Is(err, ErrPaymentInProgress) || e.get(held.ID).Status != StatusRequiresAction {
		t.Fatalf("another customer: %v, held now %s", err, e.get(held.ID).Status)
	}

	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := e.d.Tx(e.ctx, func(tx *sql.Tx) error {
				p, err := e.svc.StartAuthenticationTx(e.ctx, tx, e.authInput("spd_auth", "usr_1"))
				ids[i] = p.ID
				return err
			})
			if err != nil {
				t.Errorf("StartAuthenticationTx: %v", err)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("concurrent visits made different payments: %v", ids)
		}
	}
	ps, err := e.svc.ForReference(e.ctx, e.d.Read, PurposeRenewal, "spd_auth")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].ID != held.ID || ps[0].Status != StatusCanceled || ps[1].ID != ids[0] || ps[1].Status != StatusCreating ||
		ps[1].Amount != eur(990) {
		t.Fatalf("payments of the reference: %+v", ps)
	}
	if c, k := e.countJobs(CancelPaymentArgs{}.Kind()), e.countJobs(CreateCheckoutArgs{}.Kind()); c != 1 || k != 2 {
		t.Fatalf("%d cancel jobs (want 1), %d checkout jobs (want 2: the first payment and this one)", c, k)
	}
	// The handler heard nothing of the release: the domain asked for it.
	wantCalls(t, e.h, "PaymentSucceeded", "PaymentFailed")

	w := &cancelWorker{s: e.svc}
	for range 2 { // a retried job sends the same key
		if err := w.Work(e.ctx, job(CancelPaymentArgs{PaymentID: held.ID}, 1)); err != nil {
			t.Fatalf("cancel job: %v", err)
		}
	}
	reqs := e.rec.Requests(http.MethodPost, "/v1/payment_intents/pi_auth/cancel")
	if len(reqs) != 2 || reqs[0].IdempotencyKey() != "cancel-"+held.ID || reqs[1].IdempotencyKey() != reqs[0].IdempotencyKey() {
		t.Fatalf("cancel requests %+v", reqs)
	}
}

// A cancel Stripe answered with a server error is sent again under a new
// key: under the old one Stripe replayed the 500 at every retry, and the
// released charge stayed open at Stripe, where the customer could still
// authenticate and pay it.
func TestCancelAfterAServerErrorSendsANewKey(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	held := e.heldRenewal("spd_c500")
	if err := e.d.Tx(e.ctx, func(tx *sql.Tx) error {
		_, err := e.svc.ReleaseTx(e.ctx, tx, PurposeRenewal, "spd_c500", "subscription ended")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	path := "/v1/payment_intents/pi_auth/cancel"
	e.rec.Respond(func(q cardpaytest.Request) bool {
		return q.Method == http.MethodPost && q.Path == path && q.IdempotencyKey() == "cancel-"+held.ID
	}, http.StatusInternalServerError, cardpaytest.StripeError("api_error", "", "An unknown error occurred", nil))
	w := &cancelWorker{s: e.svc}
	if err := w.Work(e.ctx, job(CancelPaymentArgs{PaymentID: held.ID}, 1)); err == nil || isCancel(err) {
		t.Fatalf("attempt 1 = %v, want a retryable error", err)
	}
	if err := w.Work(e.ctx, job(CancelPaymentArgs{PaymentID: held.ID}, 2)); err != nil {
		t.Fatalf("attempt 2 after a 500: %v", err)
	}
	reqs := e.rec.Requests(http.MethodPost, path)
	if last := reqs[len(reqs)-1].IdempotencyKey(); last != "cancel-"+held.ID+"-r1" {
		t.Errorf("last cancel under %q, want cancel-%s-r1", last, held.ID)
	}
}

// ReleaseTx closes what waits for the customer and nothing else.
func TestReleaseClosesTheWaitingPayment(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	held := e.heldRenewal("spd_rel")
	release := func(ref string) bool {
		var ok bool
		if err := e.d.Tx(e.ctx, func(tx *sql.Tx) error {
			var err error
			ok, err = e.svc.ReleaseTx(e.ctx, tx, PurposeRenewal, ref, "subscription ended")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !release("spd_rel") || e.get(held.ID).Status != StatusCanceled {
		t.Fatalf("held charge not released: %s", e.get(held.ID).Status)
	}
	if release("spd_rel") {
		t.Fatal("released twice")
	}
	// A paid reference is never released.
	first, _ := e.svc.ForReference(e.ctx, e.d.Read, PurposeRenewal, "sub_1_p1")
	if release("sub_1_p1") || e.get(first[0].ID).Status != StatusSucceeded {
		t.Fatal("a paid payment was released")
	}
}
