package disputes

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
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
	fileID := uniqueFiles(rec)[0]

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
	// The PDF was uploaded in the first round, before the evidence met
	// the 500: the second round sends that file, and uploads nothing.
	uploads := rec.Requests(http.MethodPost, "/v1/files")
	if len(uploads) != 1 || strings.HasSuffix(uploads[0].IdempotencyKey(), "-r1") {
		t.Errorf("%d uploads of the evidence PDF, want one, in the first round", len(uploads))
	}
	for i, q := range sent {
		if got := q.Form.Get("evidence[service_documentation]"); got != fileID {
			t.Errorf("evidence %d sends the file %q, want %q (the one uploaded)", i+1, got, fileID)
		}
	}
	if got, _ := s.Get(ctx, caseID); got.Submission != SubmitSubmitted || got.SubmitError != "" {
		t.Fatalf("after attempt 2: %s (%q), want submitted", got.Submission, got.SubmitError)
	}
	var round int
	if err := d.Read.QueryRowContext(ctx, `SELECT key_round FROM disputes WHERE id = $1`, caseID).Scan(&round); err != nil || round != 1 {
		t.Fatalf("key_round %d %v, want 1", round, err)
	}
}

// uniqueFiles gives each file stripe-mock creates (always its fixture's id)
// an id of its own, as Stripe does, in order: file_test_1, file_test_2…
func uniqueFiles(rec *cardpaytest.Recorder) []string {
	var ids []string
	for i := range 3 {
		ids = append(ids, fmt.Sprintf("file_test_%d", i+1))
	}
	var n atomic.Int32
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/files"), func(m map[string]any) {
		m["id"] = ids[min(int(n.Add(1)), len(ids))-1]
	})
	return ids
}

// A submission whose PDF differs from the one uploaded in an earlier round
// (the records it shows changed meanwhile) uploads it, under the round's
// key, and sends that file: the evidence carries the pack as it is sent.
func TestEvidenceFileUploadedAgainWhenItsPDFChanged(t *testing.T) {
	ctx := context.Background()
	s, rec, caseID := submittedCase(t)
	const attempt = "dsp-attempt-3"
	rec.Respond(func(q cardpaytest.Request) bool {
		return q.Method == http.MethodPost && q.Path == "/v1/disputes/dp_test_500" && q.IdempotencyKey() == "dispute-evidence-"+attempt
	}, http.StatusInternalServerError, cardpaytest.StripeError("api_error", "", "An unknown error occurred", nil))
	ids := uniqueFiles(rec)
	w := &submitWorker{s: s}
	if err := w.Work(ctx, submitJob(caseID, attempt, 1)); err == nil {
		t.Fatal("attempt 1 against a 500 succeeded")
	}
	// What the first round uploaded, as if its PDF had been another.
	if _, err := s.db.Write.ExecContext(ctx, `UPDATE disputes SET evidence_file_sha256 = 'another pdf' WHERE id = $1`, caseID); err != nil {
		t.Fatal(err)
	}
	if err := w.Work(ctx, submitJob(caseID, attempt, 2)); err != nil {
		t.Fatalf("attempt 2: %v", err)
	}
	uploads := rec.Requests(http.MethodPost, "/v1/files")
	if len(uploads) != 2 || uploads[1].IdempotencyKey() != "dispute-file-"+attempt+"-r1" {
		t.Fatalf("%d uploads; want 2, the second under the next round's key", len(uploads))
	}
	sent := rec.Requests(http.MethodPost, "/v1/disputes/dp_test_500")
	if len(sent) != 2 || sent[1].Form.Get("evidence[service_documentation]") != ids[1] {
		t.Fatalf("evidence sent %d times, last with the file %q; want twice, then with %q", len(sent),
			sent[len(sent)-1].Form.Get("evidence[service_documentation]"), ids[1])
	}
	var file, sum string
	if err := s.db.Read.QueryRowContext(ctx, `SELECT evidence_file_id, evidence_file_sha256 FROM disputes WHERE id = $1`, caseID).Scan(&file, &sum); err != nil {
		t.Fatal(err)
	}
	if file != ids[1] || len(sum) != 64 {
		t.Fatalf("recorded file %q (%q), want %q and the PDF's SHA-256", file, sum, ids[1])
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
		_, _, _, err := s.DisputeEventTx(ctx, tx, p, cardpay.Dispute{StripeID: "dp_test_500", Event: "created", Amount: p.Amount,
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

// A server error on the upload of the evidence PDF says nothing of
// whether Stripe made the file, and Stripe replays it under that key: the
// next round uploaded the PDF again under its new key, and a file made by
// the failed upload stayed at Stripe, unused, with the customer's records
// in it. The next round now looks first among the dispute evidence files
// for one named after the case and the PDF's SHA-256, of the PDF's size:
// found, it is sent and nothing is uploaded; a file of another PDF, or
// none (stripe-mock's list alone), and the PDF is uploaded under the
// round's key.
func TestEvidenceFileMadeDespiteAServerErrorIsNotUploadedAgain(t *testing.T) {
	for _, c := range []struct {
		what  string
		shown func(name string, size int) (string, int) // the file the list shows besides stripe-mock's, or ""
		found bool
	}{
		{"the file the failed upload made", func(name string, size int) (string, int) { return name, size }, true},
		{"a file of another PDF of the case", func(name string, size int) (string, int) {
			return strings.TrimSuffix(name, ".pdf")[:len(name)-4-64] + strings.Repeat("0", 64) + ".pdf", size
		}, false},
		{"a file of the same name and another size", func(name string, size int) (string, int) { return name, size + 1 }, false},
		{"stripe-mock's file alone", func(string, int) (string, int) { return "", 0 }, false},
	} {
		t.Run(c.what, func(t *testing.T) {
			ctx := context.Background()
			s, rec, caseID := submittedCase(t)
			const attempt = "dsp-attempt-4"
			rec.Respond(func(q cardpaytest.Request) bool {
				return q.Method == http.MethodPost && q.Path == "/v1/files" && q.IdempotencyKey() == "dispute-file-"+attempt
			}, http.StatusInternalServerError, cardpaytest.StripeError("api_error", "", "An unknown error occurred", nil))
			ids := uniqueFiles(rec)
			w := &submitWorker{s: s}
			if err := w.Work(ctx, submitJob(caseID, attempt, 1)); err == nil {
				t.Fatal("attempt 1 against a 500 on the upload succeeded")
			}
			uploads := rec.Requests(http.MethodPost, "/v1/files")
			if len(uploads) != 1 {
				t.Fatalf("attempt 1 uploaded %d times", len(uploads))
			}
			var name string
			var size int
			if _, err := fmt.Sscanf(uploads[0].Form.Get("file"), "%s %d", &name, &size); err != nil ||
				!strings.HasPrefix(name, "evidence-"+caseID+"-") || !strings.HasSuffix(name, ".pdf") || len(name) != len("evidence-"+caseID+"-.pdf")+64 {
				t.Fatalf("uploaded %q (%v), want evidence-%s-<SHA-256>.pdf", uploads[0].Form.Get("file"), err, caseID)
			}
			rec.Rewrite(cardpaytest.To(http.MethodGet, "/v1/files"), func(m map[string]any) {
				data := m["data"].([]any)
				shownName, shownSize := c.shown(name, size)
				if shownName == "" {
					return
				}
				f := map[string]any{}
				for k, v := range data[0].(map[string]any) {
					f[k] = v
				}
				f["id"], f["filename"], f["size"], f["links"] = "file_made", shownName, shownSize, nil
				m["data"] = append(data, f)
			})
			if err := w.Work(ctx, submitJob(caseID, attempt, 2)); err != nil {
				t.Fatalf("attempt 2: %v", err)
			}
			want, wantUploads := "file_made", 1
			if !c.found {
				want, wantUploads = ids[0], 2 // the first upload was answered 500, not by stripe-mock
			}
			uploads = rec.Requests(http.MethodPost, "/v1/files")
			if len(uploads) != wantUploads || !c.found && uploads[1].IdempotencyKey() != "dispute-file-"+attempt+"-r1" {
				t.Errorf("%d uploads, want %d", len(uploads), wantUploads)
			}
			sent := rec.Requests(http.MethodPost, "/v1/disputes/dp_test_500")
			if len(sent) != 1 || sent[0].Form.Get("evidence[service_documentation]") != want {
				t.Fatalf("evidence sent %d times, with the file %q; want once, with %q", len(sent), sent[len(sent)-1].Form.Get("evidence[service_documentation]"), want)
			}
			looked := rec.Requests(http.MethodGet, "/v1/files")
			if len(looked) != 1 || looked[0].Form.Get("purpose") != "dispute_evidence" || looked[0].Form.Get("created[gte]") == "" {
				t.Fatalf("attempt 2 listed files %d times (%v), want once, the dispute evidence created since a day", len(looked), looked)
			}
			var file string
			if err := s.db.Read.QueryRowContext(ctx, `SELECT evidence_file_id FROM disputes WHERE id = $1`, caseID).Scan(&file); err != nil || file != want {
				t.Fatalf("recorded file %q (%v), want %q", file, err, want)
			}
			if got, _ := s.Get(ctx, caseID); got.Submission != SubmitSubmitted {
				t.Fatalf("after attempt 2: %s, want submitted", got.Submission)
			}
		})
	}
}
