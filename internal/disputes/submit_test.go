package disputes

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/clock"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/jobs"
	"comptoir/internal/money"
)

// Evidence that Stripe answered with a server error is sent again under new
// keys (…-r1), after looking whether the failed request submitted it: under
// the old keys Stripe replayed its stored 500 at every retry, until the job
// gave up after 12 attempts and the agents were told the evidence failed.
// stripe-mock answers behind a proxy that replays a 500 under the first key.
func TestEvidenceAfterAServerErrorLooksThenSendsNewKeys(t *testing.T) {
	ctx := context.Background()
	s, rec, caseID := submittedCase(t)
	d := s.db
	const stripeID = "dp_test_500"
	const attempt = "dsp-attempt-1"
	evidenceKey := "dispute-evidence-" + attempt
	rec.Respond(func(q cardpaytest.Request) bool {
		return q.Method == http.MethodPost && q.Path == "/v1/disputes/"+stripeID && q.IdempotencyKey() == evidenceKey
	}, http.StatusInternalServerError, cardpaytest.StripeError("api_error", "", "An unknown error occurred", nil))

	w := &submitWorker{s: s}
	if err := w.Work(ctx, submitJob(caseID, attempt, 1)); err == nil {
		t.Fatal("attempt 1 against a 500 succeeded")
	}
	if got, _ := s.Get(ctx, caseID); got.Submission != SubmitQueued {
		t.Fatalf("after a 500: %s, want still queued", got.Submission)
	}
	if err := w.Work(ctx, submitJob(caseID, attempt, 2)); err != nil {
		t.Fatalf("attempt 2 after a 500: %v", err)
	}
	if n := len(rec.Requests(http.MethodGet, "/v1/disputes/"+stripeID)); n != 1 {
		t.Errorf("attempt 2 looked %d times whether the evidence was submitted, want once", n)
	}
	sent := rec.Requests(http.MethodPost, "/v1/disputes/"+stripeID)
	if len(sent) != 2 || sent[1].IdempotencyKey() != evidenceKey+"-r1" {
		var keys []string
		for _, q := range sent {
			keys = append(keys, q.IdempotencyKey())
		}
		t.Errorf("evidence sent under %v, want %s then %s-r1", keys, evidenceKey, evidenceKey)
	}
	uploads := rec.Requests(http.MethodPost, "/v1/files")
	if len(uploads) != 2 || !strings.HasSuffix(uploads[1].IdempotencyKey(), "-r1") {
		t.Errorf("%d uploads, the last under %q", len(uploads), uploads[len(uploads)-1].IdempotencyKey())
	}
	if got, _ := s.Get(ctx, caseID); got.Submission != SubmitSubmitted || got.SubmitError != "" {
		t.Fatalf("after attempt 2: %s (%q), want submitted", got.Submission, got.SubmitError)
	}
	var round int
	if err := d.Read.QueryRowContext(ctx, `SELECT key_round FROM disputes WHERE id = $1`, caseID).Scan(&round); err != nil || round != 1 {
		t.Fatalf("key_round %d %v, want 1", round, err)
	}
}

// noHandler is a card payment handler for a test that takes no payment.
type noHandler struct{}

func (noHandler) PaymentSucceeded(context.Context, *sql.Tx, cardpay.Payment) error { return nil }
func (noHandler) PaymentFailed(context.Context, *sql.Tx, cardpay.Payment) error    { return nil }
func (noHandler) RefundSettled(context.Context, *sql.Tx, cardpay.Refund, cardpay.Payment) error {
	return nil
}

var t0 = time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)

// submittedCase is an open case (dp_test_500) of a card top-up whose
// evidence an agent submitted, with cardpay talking to stripe-mock through
// a recording proxy.
func submittedCase(t *testing.T) (*Service, *cardpaytest.Recorder, string) {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(t0)
	rec := cardpaytest.NewRecorder(t, cardpaytest.StripeURL(t))
	ins, err := jobs.New(d, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	card, err := cardpay.New(d, ins, clk, cardpay.Config{SecretKey: cardpaytest.SecretKey, WebhookSecret: cardpaytest.WebhookSecret,
		APIURL: rec.URL()}, noHandler{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := New(d, clk, ins, card, nil, nil)
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO card_payments (id, purpose, reference_id, customer_id, amount, currency, status,
			payment_intent_id, created_at, updated_at) VALUES ('pay_d500', 'topup', 'top_d500', 'usr_d500', 2500, 'EUR', 'succeeded', 'pi_d500', $1, $1)`, t0); err != nil {
			return err
		}
		p := cardpay.Payment{ID: "pay_d500", Purpose: cardpay.PurposeTopUp, ReferenceID: "top_d500", CustomerID: "usr_d500",
			Amount: money.MustNew(2500, "EUR")}
		_, _, err := s.DisputeEventTx(ctx, tx, p, cardpay.Dispute{StripeID: "dp_test_500", Event: "created", Amount: p.Amount,
			Reason: "fraudulent", StripeStatus: "needs_response"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cases, err := s.List(ctx, 10)
	if err != nil || len(cases) != 1 {
		t.Fatalf("cases: %+v %v", cases, err)
	}
	if _, err := s.Submit(ctx, cases[0].ID, "The top-up was used.", audit.System); err != nil {
		t.Fatal(err)
	}
	return s, rec, cases[0].ID
}

// submitJob is what River hands the submission worker on attempt n.
func submitJob(caseID, attempt string, n int) *river.Job[SubmitArgs] {
	return &river.Job[SubmitArgs]{
		JobRow: &rivertype.JobRow{ID: 1, Kind: SubmitArgs{}.Kind(), Attempt: n, MaxAttempts: SubmitArgs{}.InsertOpts().MaxAttempts, CreatedAt: t0},
		Args:   SubmitArgs{DisputeID: caseID, Attempt: attempt, AssembledAt: t0},
	}
}

// A server error answered to a request that submitted the evidence all
// the same: the next attempt finds it submitted at Stripe and records it,
// sending nothing again (Stripe refuses a second submission, which the job
// took for a refusal of the evidence and told the agents so).
func TestEvidenceSubmittedDespiteAServerErrorIsNotSentAgain(t *testing.T) {
	ctx := context.Background()
	s, rec, caseID := submittedCase(t)
	const attempt = "dsp-attempt-2"
	rec.Respond(func(q cardpaytest.Request) bool {
		return q.Method == http.MethodPost && q.Path == "/v1/disputes/dp_test_500" && q.IdempotencyKey() == "dispute-evidence-"+attempt
	}, http.StatusInternalServerError, cardpaytest.StripeError("api_error", "", "An unknown error occurred", nil))
	rec.Rewrite(cardpaytest.To(http.MethodGet, "/v1/disputes/dp_test_500"), func(m map[string]any) {
		m["status"] = "under_review"
		m["evidence_details"].(map[string]any)["submission_count"] = 1
	})
	w := &submitWorker{s: s}
	if err := w.Work(ctx, submitJob(caseID, attempt, 1)); err == nil {
		t.Fatal("attempt 1 against a 500 succeeded")
	}
	if err := w.Work(ctx, submitJob(caseID, attempt, 2)); err != nil {
		t.Fatalf("attempt 2: %v", err)
	}
	if n := len(rec.Requests(http.MethodPost, "/v1/disputes/dp_test_500")); n != 1 {
		t.Errorf("evidence sent %d times, want once", n)
	}
	if got, _ := s.Get(ctx, caseID); got.Submission != SubmitSubmitted || got.StripeStatus != "under_review" {
		t.Fatalf("after attempt 2: %s %s, want submitted, under_review", got.Submission, got.StripeStatus)
	}
}
