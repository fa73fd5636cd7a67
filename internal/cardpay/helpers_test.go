package cardpay

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/jobs"
	"comptoir/internal/money"
)

var t0 = time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)

// call is one Handler call as the test handler saw it.
type call struct {
	Method  string
	Payment Payment
	Refund  Refund
}

// recHandler records the Handler calls of committed transactions only: a
// call whose transaction rolls back is forgotten, as the domain's own
// changes would be.
type recHandler struct {
	mu    sync.Mutex
	calls []call
	fail  error // returned by every call when set
}

func (h *recHandler) record(tx *sql.Tx, c call) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail != nil {
		return h.fail
	}
	h.calls = append(h.calls, c)
	return nil
}

func (h *recHandler) PaymentSucceeded(ctx context.Context, tx *sql.Tx, p Payment) error {
	return h.record(tx, call{Method: "PaymentSucceeded", Payment: p})
}

func (h *recHandler) PaymentFailed(ctx context.Context, tx *sql.Tx, p Payment) error {
	return h.record(tx, call{Method: "PaymentFailed", Payment: p})
}

func (h *recHandler) RefundSettled(ctx context.Context, tx *sql.Tx, r Refund, p Payment) error {
	return h.record(tx, call{Method: "RefundSettled", Payment: p, Refund: r})
}

func (h *recHandler) setFail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail = err
}

func (h *recHandler) Calls() []call {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]call(nil), h.calls...)
}

type env struct {
	t   *testing.T
	d   *db.DB
	clk *clock.Manual
	h   *recHandler
	svc *Service
	rec *cardpaytest.Recorder // nil without stripe-mock
	ctx context.Context
}

type envOpts struct {
	stripe  bool // talk to stripe-mock through a recording proxy (skips without one)
	workers bool // run River with the cardpay workers
}

// newEnv gives the test its own database, proxy and River client, so that
// tests run in parallel (creating a PostgreSQL database is the slow part).
func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	t.Parallel()
	e := &env{t: t, d: dbtest.Open(t), clk: clock.NewManual(t0), h: &recHandler{}, ctx: context.Background()}
	apiURL := "http://127.0.0.1:1" // never called by tests without stripe
	if o.stripe {
		e.rec = cardpaytest.NewRecorder(t, cardpaytest.StripeURL(t))
		apiURL = e.rec.URL()
	}
	workers := river.NewWorkers()
	cfg := jobs.Config{}
	if o.workers {
		cfg.Workers = workers
		cfg.FetchPollInterval = 100 * time.Millisecond
	}
	client, err := jobs.New(e.d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = New(e.d, client, e.clk, Config{SecretKey: cardpaytest.SecretKey, WebhookSecret: cardpaytest.WebhookSecret, APIURL: apiURL}, e.h, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.AddWorkers(workers)
	if o.workers {
		if err := client.Start(e.ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			client.Stop(ctx)
		})
	}
	return e
}

func eur(minor int64) money.Amount { return money.MustNew(minor, "EUR") }

func (e *env) startInput(ref string, amount int64) StartInput {
	return StartInput{
		Purpose: PurposeOrder, ReferenceID: ref, CustomerID: "usr_1", CustomerEmail: "ada@example.test",
		Amount: eur(amount), Description: "Order " + ref, SuccessURL: "https://shop.test/orders/" + ref + "?paid={CHECKOUT_SESSION_ID}",
		CancelURL: "https://shop.test/orders/" + ref, Language: "fr",
	}
}

func (e *env) start(in StartInput) Payment {
	e.t.Helper()
	var p Payment
	err := e.d.Tx(e.ctx, func(tx *sql.Tx) error {
		var err error
		p, err = e.svc.StartCheckoutTx(e.ctx, tx, in)
		return err
	})
	if err != nil {
		e.t.Fatalf("StartCheckoutTx: %v", err)
	}
	return p
}

func (e *env) get(paymentID string) Payment {
	e.t.Helper()
	p, err := e.svc.Get(e.ctx, paymentID)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) getRefund(refundID string) Refund {
	e.t.Helper()
	r, err := e.svc.GetRefund(e.ctx, refundID)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.d.Read.QueryRowContext(e.ctx, query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (e *env) jobsOf(kind string) int {
	return e.count(`SELECT COUNT(*) FROM river_job WHERE kind = $1`, kind)
}

// deliver sends a signed event to HandleWebhook.
func (e *env) deliver(typ stripe.EventType, object map[string]any) (eventID string, payload []byte, sig string, err error) {
	eventID = cardpaytest.EventID()
	payload, sig = cardpaytest.Event(e.t, cardpaytest.WebhookSecret, eventID, typ, object)
	return eventID, payload, sig, e.svc.HandleWebhook(e.ctx, payload, sig)
}

func (e *env) mustDeliver(typ stripe.EventType, object map[string]any) (payload []byte, sig string) {
	e.t.Helper()
	_, payload, sig, err := e.deliver(typ, object)
	if err != nil {
		e.t.Fatalf("webhook %s: %v", typ, err)
	}
	return payload, sig
}

// completedSession is a checkout.session.completed object as Stripe sends
// it for p: the PaymentIntent and the customer as ids.
func completedSession(p Payment, sessionID, pi, customer string) map[string]any {
	return map[string]any{
		"id": sessionID, "object": "checkout.session", "mode": "payment", "status": "complete", "payment_status": "paid",
		"amount_total": p.Amount.Minor, "currency": "eur", "customer": customer, "payment_intent": pi,
		"metadata": map[string]any{"payment_id": p.ID, "purpose": string(p.Purpose), "reference_id": p.ReferenceID},
	}
}

// paid makes a paid Checkout payment of amount for ref, through the
// webhook.
func (e *env) paid(ref string, amount int64, pi string) Payment {
	e.t.Helper()
	p := e.start(e.startInput(ref, amount))
	e.mustDeliver(stripe.EventTypeCheckoutSessionCompleted, completedSession(p, "cs_"+ref, pi, "cus_"+ref))
	p = e.get(p.ID)
	if p.Status != StatusSucceeded {
		e.t.Fatalf("payment %s is %s after checkout.session.completed", p.ID, p.Status)
	}
	return p
}

func (e *env) refund(paymentID string, amount int64, reason string) (Refund, error) {
	var r Refund
	err := e.d.Tx(e.ctx, func(tx *sql.Tx) error {
		var err error
		r, err = e.svc.RefundTx(e.ctx, tx, paymentID, eur(amount), reason)
		return err
	})
	return r, err
}

// job is what River would hand a worker on the given attempt.
func job[T river.JobArgs](args T, attempt int) *river.Job[T] {
	return &river.Job[T]{
		JobRow: &rivertype.JobRow{ID: 1, Kind: args.Kind(), Attempt: attempt, MaxAttempts: stripeJobOpts().MaxAttempts, CreatedAt: t0},
		Args:   args,
	}
}

func isCancel(err error) bool {
	var c *rivertype.JobCancelError
	return errors.As(err, &c)
}

func wantCalls(t *testing.T, h *recHandler, want ...string) []call {
	t.Helper()
	got := h.Calls()
	var names []string
	for _, c := range got {
		names = append(names, c.Method)
	}
	if len(names) != len(want) {
		t.Fatalf("handler calls = %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("handler calls = %v, want %v", names, want)
		}
	}
	return got
}
