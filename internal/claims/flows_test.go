package claims_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"comptoir/internal/account"
	"comptoir/internal/alerts"
	"comptoir/internal/claims"
	"comptoir/internal/locale"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

func TestNonDeliveryOfALatePartlyDeliveredLineIsRefundedToTheBalance(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 400) // 10,00 € paid, 400 of 1000 delivered
	e.clock.Set(t0.Add(96 * time.Hour))               // the 72 h processing time has passed
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Message: "Only 400 arrived.", Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Decision
	if c.Status != claims.StatusDecided || d.Outcome != policy.OutcomeRefund || d.Rule != "non_delivery.partial" || d.Refund == nil ||
		*d.Refund != money.MustNew(600, "EUR") || d.Statutory || d.PolicyVersion != "default@1" {
		t.Fatalf("claim %+v", c)
	}
	if got := e.balance(t, u); got != 10000-1000+600 {
		t.Fatalf("balance %d", got)
	}
	read, _ := e.orders.Get(ctx, o.ID)
	if read.Lines[0].Refunded.Minor != 600 || read.Refunded.Minor != 600 {
		t.Fatalf("order refunded %v, line refunded %v", read.Refunded, read.Lines[0].Refunded)
	}
	refunds, err := e.claims.Refunds(ctx, c.ID)
	if err != nil || len(refunds) != 1 {
		t.Fatalf("refunds %+v %v", refunds, err)
	}
	r := refunds[0]
	if r.Destination != claims.DestBalance || r.Status != claims.RefundSucceeded || r.Amount.Minor != 600 || r.LedgerEntryID == "" || r.LineID != o.Lines[0].ID {
		t.Fatalf("refund %+v", r)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM balance_entries WHERE id = $1 AND kind = 'refund' AND amount = 600 AND reference_type = 'claim_refund' AND reference_id = $2`,
		r.LedgerEntryID, r.ID); n != 1 {
		t.Fatalf("ledger entry for the refund: %d", n)
	}
	ms := e.mails(t, u, "claim_filed")
	if len(ms) != 1 {
		t.Fatalf("%d claim_filed emails", len(ms))
	}
	mustContain(t, "the email", ms[0].Subject+ms[0].Text, c.ID, d.Reason.FR, "6,00", "12 mars 2026 à 11:00:00 CET", "«\u00a0Non livré\u00a0»")
	if n := e.count(t, `SELECT COUNT(*) FROM audit_log WHERE subject_type = 'claim' AND subject_id = $1 AND action = 'file'`, c.ID); n != 1 {
		t.Fatalf("audit of the filing: %d", n)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM audit_log WHERE subject_type = 'claim_refund' AND subject_id = $1`, r.ID); n != 1 {
		t.Fatalf("audit of the refund: %d", n)
	}
	// The same claim again would pay the undelivered share a second time.
	_, err = e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if !errors.Is(err, claims.ErrAlreadyDecided) || claims.Code(err) != "claim_already_decided" {
		t.Fatalf("second non-delivery claim: %v", err)
	}
}

func TestWaitingDeliveryIsDecidedAgainWhenTheProcessingTimeHasPassed(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "en")
	o := e.order(t, u, e.service(t), 1000, true, 0)
	line := o.Lines[0]
	filed := t0.Add(24 * time.Hour)
	e.clock.Set(filed)
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != claims.StatusOpen || c.Decision.Outcome != policy.OutcomeWaitingDelivery {
		t.Fatalf("claim %+v", c)
	}
	mustContain(t, "the decision", c.Decision.Reason.EN, "11 March 2026")
	var scheduled []time.Time
	rows, err := e.db.Read.Query(`SELECT scheduled_at FROM river_job WHERE kind = 'claims.redecide'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var at time.Time
		if err := rows.Scan(&at); err != nil {
			t.Fatal(err)
		}
		scheduled = append(scheduled, at)
	}
	rows.Close()
	if len(scheduled) != 1 || !scheduled[0].Equal(line.ProcessingUntil) {
		t.Fatalf("re-decision jobs scheduled at %v, want one at %v", scheduled, line.ProcessingUntil)
	}

	job := &river.Job[claims.RedecideArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1}, Args: claims.RedecideArgs{ClaimID: c.ID}}
	worker := e.claims.RedecideWorker()
	// Run early (a clock ahead of ours): nothing changes, a new job waits.
	e.clock.Set(t0.Add(48 * time.Hour))
	if err := worker.Work(ctx, job); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.claims.Get(ctx, c.ID); got.Revision != 1 || got.Decision.Outcome != policy.OutcomeWaitingDelivery {
		t.Fatalf("early run changed the claim: %+v", got)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM river_job WHERE kind = 'claims.redecide'`); n != 2 {
		t.Fatalf("%d re-decision jobs after an early run", n)
	}
	// Half is delivered in time; then the processing time passes.
	if _, err := e.orders.RecordDelivery(ctx, orders.DeliveryInput{OrderID: o.ID, LineID: line.ID, Delivered: 500, Source: orders.SourceAgent, Actor: admin}); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(73 * time.Hour)
	e.clock.Set(now)
	if err := worker.Work(ctx, job); err != nil {
		t.Fatal(err)
	}
	got, _ := e.claims.Get(ctx, c.ID)
	facts, err := policy.DecodeFacts([]byte(situation{kind: policy.NonDelivery, country: "FR", ctype: "consumer", qty: 1000, delivered: 500, consent: true, filed: 24 * time.Hour}.factsJSON(1000, "service")))
	if err != nil {
		t.Fatal(err)
	}
	want := policy.Evaluate(policy.Default(), facts, now)
	if !reflect.DeepEqual(got.Decision, want) || want.Rule != "non_delivery.partial" || got.Status != claims.StatusDecided {
		t.Fatalf("re-decision %+v, policy eval %+v", got.Decision, want)
	}
	if b := e.balance(t, u); b != 10000-1000+500 {
		t.Fatalf("balance %d", b)
	}
	ms := e.mails(t, u, "claim_decided")
	if len(ms) != 1 {
		t.Fatalf("%d claim_decided emails", len(ms))
	}
	mustContain(t, "the email", ms[0].Text, want.Reason.EN, "9 March 2026 at 11:00:00 CET")
	// At least once: running it again changes nothing.
	if err := worker.Work(ctx, job); err != nil {
		t.Fatal(err)
	}
	history, _ := e.claims.Decisions(ctx, c.ID)
	if len(history) != 2 || history[0].Decision.Outcome != policy.OutcomeWaitingDelivery || history[1].Decision.Rule != "non_delivery.partial" {
		t.Fatalf("history %+v", history)
	}
	if b := e.balance(t, u); b != 10000-1000+500 {
		t.Fatalf("balance after a second run %d", b)
	}
	// A job for a claim that does not exist is cancelled, not retried.
	var cancel *river.JobCancelError
	if err := worker.Work(ctx, &river.Job[claims.RedecideArgs]{JobRow: job.JobRow, Args: claims.RedecideArgs{ClaimID: "clm_nothing"}}); !errors.As(err, &cancel) {
		t.Fatalf("unknown claim: %v", err)
	}
}

// Minimal files of each kind, recognised by their first bytes.
var (
	pngFile  = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 64)...)
	pdfFile  = []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n")
	exeFile  = append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), bytes.Repeat([]byte{0}, 64)...)
	htmlFile = []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
)

func file(name string, content []byte) claims.EvidenceInput {
	return claims.EvidenceInput{Name: name, File: bytes.NewReader(content)}
}

func TestNotAsDescribedNeedsEvidenceThenAnAgentDecides(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 1000)
	e.clock.Set(t0.Add(2 * day))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o.ID, Message: "These are bots.", Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Decision.Outcome != policy.OutcomeAwaitingEvidence || !c.Open() {
		t.Fatalf("claim %+v", c)
	}
	// Evidence, however late, moves it to review.
	added := t0.Add(20 * day)
	e.clock.Set(added)
	c, evs, err := e.claims.AddEvidence(ctx, u.ID, c.ID, []claims.EvidenceInput{
		{Text: "  Half of the accounts have no posts.  "}, file("../../screens/capture.png", pngFile), file("facture.pdf", pdfFile),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Decision.Outcome != policy.OutcomeReview || c.Decision.Rule != "not_as_described.review" || !c.Open() || len(evs) != 3 {
		t.Fatalf("after evidence: %+v, %d pieces", c.Decision, len(evs))
	}
	facts, err := policy.DecodeFacts([]byte(`{"kind": "not_as_described", "filed_at": "2026-03-10T10:00:00Z",
		"customer": {"type": "consumer", "country": "FR"},
		"order": {"placed_at": "2026-03-08T10:00:00Z", "paid_at": "2026-03-08T10:00:00Z", "paid": {"amount": 1000, "currency": "EUR"},
			"product_kind": "service", "quantity": 1000, "delivered": 1000},
		"evidence": [{"kind": "text", "at": "2026-03-28T10:00:00Z"}, {"kind": "file", "at": "2026-03-28T10:00:00Z"}, {"kind": "file", "at": "2026-03-28T10:00:00Z"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := policy.Evaluate(policy.Default(), facts, added); !reflect.DeepEqual(c.Decision, want) {
		t.Fatalf("decision after evidence %+v, policy eval %+v", c.Decision, want)
	}
	list, err := e.claims.Evidence(ctx, c.ID)
	if err != nil || len(list) != 3 {
		t.Fatalf("evidence %+v %v", list, err)
	}
	if list[0].Text != "Half of the accounts have no posts." || list[1].FileName != "capture.png" || list[1].ContentType != "image/png" ||
		list[2].ContentType != "application/pdf" || list[1].Size != int64(len(pngFile)) || len(list[1].SHA256) != 64 || list[1].AddedBy != u.ID {
		t.Fatalf("evidence %+v", list)
	}
	rc, meta, err := e.claims.OpenEvidence(ctx, c.ID, list[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	content, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(content, pngFile) || meta.ContentType != "image/png" {
		t.Fatalf("opened %q as %s", content, meta.ContentType)
	}
	if _, _, err := e.claims.OpenEvidence(ctx, "clm_other", list[1].ID); !errors.Is(err, claims.ErrNotFound) {
		t.Fatalf("evidence through another claim: %v", err)
	}
	mustContain(t, "the email", e.mails(t, u, "claim_decided")[0].Text, c.Decision.Reason.FR)

	// Only agents decide, and a refusal needs one of the policy's reasons.
	if _, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefused, ReasonCode: "expectation_only", Actor: customerActor(u)}); !errors.Is(err, claims.ErrForbidden) {
		t.Fatalf("a customer deciding: %v", err)
	}
	for _, code := range []string{"", "because", "delivery record"} {
		if _, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefused, ReasonCode: code, Actor: e.agentActor()}); claims.Code(err) != "invalid" {
			t.Fatalf("refusal with reason %q: %v", code, err)
		}
	}
	c, err = e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefused, ReasonCode: "expectation_only",
		Note: "The description promised followers, not engagement.", Actor: e.agentActor()})
	if err != nil {
		t.Fatal(err)
	}
	wording, _ := policy.Default().AgentReason("expectation_only")
	if c.Status != claims.StatusDecided || c.Decision.Outcome != policy.OutcomeRefused || c.Decision.Rule != "agent.expectation_only" ||
		c.Decision.Reason != wording || c.DecidedBy != e.agent.ID {
		t.Fatalf("refused claim %+v", c)
	}
	ms := e.mails(t, u, "claim_decided")
	mustContain(t, "the refusal email", ms[0].Text, wording.FR)
	if strings.Contains(ms[0].Text, "engagement") {
		t.Fatal("the agent's internal note reached the customer")
	}
	history, _ := e.claims.Decisions(ctx, c.ID)
	if len(history) != 3 || history[2].ReasonCode != "expectation_only" || history[2].Note == "" || history[2].DecidedBy != e.agent.ID {
		t.Fatalf("history %+v", history)
	}
	if _, _, err := e.claims.AddEvidence(ctx, u.ID, c.ID, []claims.EvidenceInput{{Text: "more"}}); !errors.Is(err, claims.ErrClaimNotOpen) {
		t.Fatalf("evidence on a decided claim: %v", err)
	}

	// Another claim of the kind may be filed once the first is decided; an
	// agent upholds this one in part.
	c2, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Decision.Rule != "not_as_described.statutory_awaiting_evidence" || !c2.Decision.Statutory {
		t.Fatalf("claim filed 20 days after payment: %+v", c2.Decision)
	}
	before := e.balance(t, u)
	c2, err = e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c2.ID, Outcome: policy.OutcomeRefund, Refund: ptr(money.MustNew(250, "EUR")), Actor: e.agentActor()})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Decision.Rule != "agent.refund" || *c2.Decision.Refund != money.MustNew(250, "EUR") || !c2.Decision.Statutory || e.balance(t, u) != before+250 {
		t.Fatalf("partial refund %+v, balance %d", c2.Decision, e.balance(t, u))
	}
	mustContain(t, "the refund email", e.mails(t, u, "claim_decided")[0].Text, "2,50")
	// Never above what is left; store credit only with the customer's
	// acceptance.
	_, err = e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c2.ID, Outcome: policy.OutcomeRefund, Refund: ptr(money.MustNew(751, "EUR")), Actor: e.agentActor()})
	if !errors.Is(err, claims.ErrOverRefund) || claims.Code(err) != "over_refund" {
		t.Fatalf("refund above what is left: %v", err)
	}
	_, err = e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c2.ID, Outcome: policy.OutcomeCredit, Refund: ptr(money.MustNew(100, "EUR")), Actor: e.agentActor()})
	if !errors.Is(err, claims.ErrCreditNotAccepted) {
		t.Fatalf("credit without acceptance: %v", err)
	}
	if _, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c2.ID, Outcome: policy.OutcomeCredit, Refund: ptr(money.MustNew(100, "EUR")),
		CustomerAcceptedCredit: true, Actor: e.agentActor()}); err != nil {
		t.Fatal(err)
	}
	refunds, _ := e.claims.Refunds(ctx, c2.ID)
	if len(refunds) != 2 || refunds[1].Destination != claims.DestCredit || refunds[1].CustomerAcceptedCreditAt.IsZero() || refunds[1].Amount.Minor != 100 {
		t.Fatalf("refunds %+v", refunds)
	}
	if read, _ := e.orders.Get(ctx, o.ID); read.Lines[0].Refunded.Minor != 350 {
		t.Fatalf("line refunded %v", read.Lines[0].Refunded)
	}
}

func ptr[T any](v T) *T { return &v }

func TestRefusedEvidenceLeavesNothingBehind(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 100, true, 100)
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	big := append(append([]byte{}, pngFile...), bytes.Repeat([]byte{1}, 64<<10)...) // above the test's 64 KiB limit
	for _, tc := range []struct {
		name  string
		batch []claims.EvidenceInput
		err   error
		code  string
	}{
		{"too large", []claims.EvidenceInput{file("big.png", big)}, claims.ErrEvidenceTooLarge, "evidence_too_large"},
		{"an executable", []claims.EvidenceInput{file("invoice.pdf", exeFile)}, claims.ErrEvidenceTypeForbidden, "evidence_type_forbidden"},
		{"HTML", []claims.EvidenceInput{file("proof.txt", htmlFile)}, claims.ErrEvidenceTypeForbidden, "evidence_type_forbidden"},
		{"good pieces with a bad one", []claims.EvidenceInput{{Text: "see attached"}, file("a.png", pngFile), file("run.exe", exeFile)}, claims.ErrEvidenceTypeForbidden, "evidence_type_forbidden"},
		{"an empty file", []claims.EvidenceInput{file("empty.pdf", nil)}, claims.ErrEvidenceEmpty, "evidence_empty"},
		{"too many files", []claims.EvidenceInput{file("1.png", pngFile), file("2.png", pngFile), file("3.png", pngFile), file("4.png", pngFile)}, claims.ErrTooManyEvidence, "evidence_too_many"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := e.claims.AddEvidence(ctx, u.ID, c.ID, tc.batch)
			if !errors.Is(err, tc.err) || claims.Code(err) != tc.code {
				t.Fatalf("AddEvidence = %v (%s), want %v", err, claims.Code(err), tc.err)
			}
			if n := e.count(t, `SELECT COUNT(*) FROM claim_evidence`); n != 0 {
				t.Fatalf("%d evidence rows stored", n)
			}
			if files := blobFiles(t, e.blobDir); len(files) != 0 {
				t.Fatalf("blobs left: %v", files)
			}
			got, err := e.claims.Get(ctx, c.ID)
			if err != nil || !got.Open() || got.Decision.Outcome != policy.OutcomeAwaitingEvidence || got.Revision != 1 {
				t.Fatalf("claim after a refused upload: %+v %v", got, err)
			}
		})
	}
	var eerr *claims.EvidenceError
	_, _, err = e.claims.AddEvidence(ctx, u.ID, c.ID, []claims.EvidenceInput{{Text: "x"}, file("C:\\Users\\ana\\run\u202egnp.exe", exeFile)})
	if !errors.As(err, &eerr) || eerr.Index != 1 || eerr.Name != "rungnp.exe" {
		t.Fatalf("evidence error %#v", err)
	}
	// A file within the limits is stored, under a generated key.
	if _, _, err := e.claims.AddEvidence(ctx, u.ID, c.ID, []claims.EvidenceInput{file("../../etc/passwd", pdfFile)}); err != nil {
		t.Fatal(err)
	}
	files := blobFiles(t, e.blobDir)
	if len(files) != 1 || !strings.HasPrefix(filepath.Base(files[0]), "evd_") {
		t.Fatalf("blobs %v", files)
	}
}

func blobFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestClaimsOnSomeoneElsesOrderDoNotExist(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ana := e.customer(t, "FR", account.CustomerConsumer, "fr")
	ben := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, ana, e.service(t), 100, true, 0)
	for _, in := range []claims.FileInput{
		{Kind: policy.NonDelivery, CustomerID: ben.ID, OrderID: o.ID, Actor: customerActor(ben)},
		{Kind: policy.NonDelivery, CustomerID: ben.ID, OrderID: o.ID, Actor: e.agentActor()},
		{Kind: policy.NonDelivery, CustomerID: ana.ID, OrderID: o.ID, Actor: customerActor(ben)},
		{Kind: policy.NonDelivery, CustomerID: ana.ID, OrderID: "ord_nothing", Actor: customerActor(ana)},
		{Kind: policy.NonDelivery, CustomerID: ana.ID, OrderID: o.ID, LineID: "oln_nothing", Actor: customerActor(ana)},
	} {
		if _, err := e.claims.File(ctx, in); !errors.Is(err, claims.ErrNotFound) || claims.Code(err) != "not_found" {
			t.Errorf("File(%+v) = %v", in, err)
		}
	}
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.Dissatisfied, CustomerID: ana.ID, OrderID: o.ID, Actor: customerActor(ana)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.claims.GetForCustomer(ctx, ben.ID, c.ID); !errors.Is(err, claims.ErrNotFound) {
		t.Errorf("GetForCustomer by another customer: %v", err)
	}
	if _, _, err := e.claims.AddEvidence(ctx, ben.ID, c.ID, []claims.EvidenceInput{{Text: "x"}}); !errors.Is(err, claims.ErrNotFound) {
		t.Errorf("AddEvidence by another customer: %v", err)
	}
	if page, _, err := e.claims.List(ctx, claims.ListFilter{CustomerID: ben.ID}); err != nil || len(page) != 0 {
		t.Errorf("another customer's list: %v %v", page, err)
	}
	if page, _, err := e.claims.List(ctx, claims.ListFilter{CustomerID: ana.ID, Status: claims.StatusOpen}); err != nil || len(page) != 1 || page[0].ID != c.ID {
		t.Errorf("the customer's list: %v %v", page, err)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM claims`); n != 1 {
		t.Errorf("%d claims stored", n)
	}
}

func TestOneOpenClaimPerKindPerLine(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 100, true, 100)
	in := claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)}
	if _, err := e.claims.File(ctx, in); err != nil {
		t.Fatal(err)
	}
	_, err := e.claims.File(ctx, in)
	if !errors.Is(err, claims.ErrDuplicateOpenClaim) || claims.Code(err) != "claim_already_open" {
		t.Fatalf("second open claim: %v", err)
	}
	in.Kind = policy.Dissatisfied
	if _, err := e.claims.File(ctx, in); err != nil {
		t.Fatalf("another kind on the same line: %v", err)
	}
	// The database holds the rule when filings race.
	o2 := e.order(t, u, e.service(t), 100, true, 100)
	results := make(chan error, 10)
	for range 10 {
		go func() {
			_, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o2.ID, Actor: customerActor(u)})
			results <- err
		}()
	}
	ok := 0
	for range 10 {
		switch err := <-results; {
		case err == nil:
			ok++
		case !errors.Is(err, claims.ErrDuplicateOpenClaim):
			t.Errorf("racing filing: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d racing filings succeeded", ok)
	}
	// A line must be named when the order has several.
	p2 := e.service(t)
	e.clock.Set(t0)
	multi, err := e.orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true,
		Lines: []orders.LineInput{{ProductID: p2.ID, Quantity: 10}, {ProductID: e.service(t).ID, Quantity: 10}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.claims.File(ctx, claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID, OrderID: multi.ID, Actor: customerActor(u)})
	var verr *claims.ValidationError
	if !errors.As(err, &verr) || verr.Fields["line_id"] != "required" {
		t.Fatalf("no line on a two-line order: %v", err)
	}
	if _, err := e.claims.File(ctx, claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID, OrderID: multi.ID, LineID: multi.Lines[1].ID, Actor: customerActor(u)}); err != nil {
		t.Fatal(err)
	}
}

func TestWithdrawal(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 300)
	now := t0.Add(5 * day) // 13 March, 11:00 in Paris
	e.clock.Set(now)
	if !claims.WithdrawalOpen(o, now) || !e.claims.WithdrawalOpen(o, now) {
		t.Fatal("no withdrawal button 5 days after the order")
	}
	c, err := e.claims.Withdraw(ctx, u.ID, o.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	d := c.Decision
	if d.Outcome != policy.OutcomeRefund || d.Rule != "withdrawal.statutory_undelivered" || !d.Statutory || *d.Refund != money.MustNew(700, "EUR") {
		t.Fatalf("withdrawal %+v", d)
	}
	if b := e.balance(t, u); b != 10000-1000+700 {
		t.Fatalf("balance %d", b)
	}
	ack := e.mails(t, u, "claim_withdrawal")
	if len(ack) != 1 {
		t.Fatalf("%d acknowledgements", len(ack))
	}
	mustContain(t, "the acknowledgement", ack[0].Subject+"\n"+ack[0].Text, "Accusé de réception", "Reçue le\u00a0: 13 mars 2026 à 11:00:00 CET",
		d.Reason.FR, c.ID, "support durable")
	if _, err := e.claims.Withdraw(ctx, u.ID, o.ID, ""); !errors.Is(err, claims.ErrAlreadyDecided) {
		t.Fatalf("withdrawing twice: %v", err)
	}
	if claims.WithdrawalOpen(o, t0.Add(15*day)) {
		t.Fatal("withdrawal button 15 days after the order")
	}

	biz := e.customer(t, "FR", account.CustomerBusiness, "en")
	bo := e.order(t, biz, e.service(t), 1000, false, 0)
	e.clock.Set(now)
	c, err = e.claims.Withdraw(ctx, biz.ID, bo.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Decision.Outcome != policy.OutcomeRefused || c.Decision.Rule != "withdrawal.business" || c.Decision.Refund != nil || c.Status != claims.StatusDecided {
		t.Fatalf("business withdrawal %+v", c.Decision)
	}
	if b := e.balance(t, biz); b != 10000-1000 {
		t.Fatalf("business balance %d", b)
	}
	mustContain(t, "the business acknowledgement", e.mails(t, biz, "claim_withdrawal")[0].Text, "Received on: 13 March 2026 at 11:00:00 CET", c.Decision.Reason.EN)
}

// TestUndeliveredPartIsRefundedOnce: a line's undelivered part is paid back
// once, whichever of non_delivery and withdrawal comes first. 10,00 € paid,
// 400 of 1000 delivered: the first claim refunds the undelivered 6,00 €; a
// withdrawal after it refunds nothing more (the consumer pays for what was
// delivered, 4,00 €), and a non_delivery claim after a withdrawal is refused
// (its formula, a share of what is left, would pay 2,40 € again), or, filed
// before it, decided without a refund.
func TestUndeliveredPartIsRefundedOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")

	o := e.order(t, u, e.service(t), 1000, true, 400)
	e.clock.Set(t0.Add(96 * time.Hour)) // the 72 h processing time has passed
	nd, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil || nd.Decision.Rule != "non_delivery.partial" || *nd.Decision.Refund != money.MustNew(600, "EUR") {
		t.Fatalf("non-delivery: %+v %v", nd.Decision, err)
	}
	w, err := e.claims.Withdraw(ctx, u.ID, o.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if w.Decision.Outcome != policy.OutcomeNone || w.Decision.Rule != "withdrawal.nothing_refundable" || w.Decision.Refund != nil || !w.Decision.Statutory {
		t.Fatalf("withdrawal after the non-delivery refund: %+v", w.Decision)
	}
	if len(e.mails(t, u, "claim_withdrawal")) != 1 {
		t.Fatal("the withdrawal was not acknowledged")
	}
	if b := e.balance(t, u); b != 10000-1000+600 {
		t.Fatalf("balance %d, want %d", b, 10000-1000+600)
	}

	o = e.order(t, u, e.service(t), 1000, true, 400)
	e.clock.Set(t0.Add(96 * time.Hour))
	w, err = e.claims.Withdraw(ctx, u.ID, o.ID, "")
	if err != nil || w.Decision.Rule != "withdrawal.statutory_undelivered" || *w.Decision.Refund != money.MustNew(600, "EUR") {
		t.Fatalf("withdrawal: %+v %v", w.Decision, err)
	}
	_, err = e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if !errors.Is(err, claims.ErrAlreadyDecided) || claims.Code(err) != "claim_already_decided" {
		t.Fatalf("non-delivery after the withdrawal: %v", err)
	}
	if b := e.balance(t, u); b != 10000-1000+600-1000+600 {
		t.Fatalf("balance %d, want %d", b, 10000-1000+600-1000+600)
	}

	// A non_delivery claim filed while the line was still processing, then
	// a withdrawal: once the processing time has passed, the claim is
	// decided without paying the undelivered part again.
	balance := e.balance(t, u)
	o = e.order(t, u, e.service(t), 1000, true, 400)
	e.clock.Set(t0.Add(24 * time.Hour))
	nd, err = e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil || nd.Decision.Outcome != policy.OutcomeWaitingDelivery {
		t.Fatalf("non-delivery during the processing time: %+v %v", nd.Decision, err)
	}
	if w, err = e.claims.Withdraw(ctx, u.ID, o.ID, ""); err != nil || *w.Decision.Refund != money.MustNew(600, "EUR") {
		t.Fatalf("withdrawal: %+v %v", w.Decision, err)
	}
	e.clock.Set(t0.Add(96 * time.Hour))
	nd, err = e.claims.Redecide(ctx, nd.ID)
	if err != nil {
		t.Fatal(err)
	}
	if nd.Status != claims.StatusDecided || nd.Decision.Outcome != policy.OutcomeNone || nd.Decision.Rule != claims.RuleWithdrawnBefore || nd.Decision.Refund != nil {
		t.Fatalf("non-delivery decided after the withdrawal: %s %+v", nd.Status, nd.Decision)
	}
	mustContain(t, "the decision email", e.mails(t, u, "claim_decided")[len(e.mails(t, u, "claim_decided"))-1].Text, nd.Decision.Reason.FR)
	if b := e.balance(t, u); b != balance-1000+600 {
		t.Fatalf("balance %d, want %d", b, balance-1000+600)
	}
}

func TestCardPaidOrdersAreRefundedToTheCard(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 400)
	// Card checkout is another package's; the order is marked card-paid
	// here to exercise the refund's route.
	e.paidByCard(t, o)
	e.clock.Set(t0.Add(4 * day))
	balance := e.balance(t, u)
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	refunds, _ := e.claims.Refunds(ctx, c.ID)
	if len(refunds) != 1 || refunds[0].Destination != claims.DestCard || refunds[0].Status != claims.RefundPending || refunds[0].CardRefundID != "rfd_1" ||
		len(e.card.calls) != 1 || e.card.calls[0].Minor != 600 || e.balance(t, u) != balance {
		t.Fatalf("card refund %+v, calls %v", refunds, e.card.calls)
	}
	for range 2 { // the report may come twice
		if err := e.db.Tx(ctx, func(tx *sql.Tx) error { return e.claims.CardRefundSettledTx(ctx, tx, "rfd_1", true, money.Amount{}) }); err != nil {
			t.Fatal(err)
		}
	}
	refunds, _ = e.claims.Refunds(ctx, c.ID)
	if refunds[0].Status != claims.RefundSucceeded {
		t.Fatalf("settled refund %+v", refunds[0])
	}

	// Without a card refunder the claim cannot be carried out, so nothing
	// of it is recorded.
	e2 := setupWith(t, func(d *claims.Deps) { d.Card = nil })
	u2 := e2.customer(t, "FR", account.CustomerConsumer, "fr")
	o2 := e2.order(t, u2, e2.service(t), 1000, true, 400)
	e2.paidByCard(t, o2)
	e2.clock.Set(t0.Add(4 * day))
	_, err = e2.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u2.ID, OrderID: o2.ID, Actor: customerActor(u2)})
	if claims.Code(err) != "card_refund_unavailable" || e2.count(t, `SELECT COUNT(*) FROM claims`) != 0 {
		t.Fatalf("card refund without a refunder: %v", err)
	}
}

type recordedAlert struct{ role, kind, subject string }

type alertsSpy struct{ got []recordedAlert }

// NotifyTx records the alert's subject as an agent reading French has it.
func (a *alertsSpy) NotifyTx(_ context.Context, _ *sql.Tx, role, kind string, d alerts.Data) error {
	if d.SubjectIn != nil {
		d.Subject = d.SubjectIn(alerts.Words{Lang: "fr", Messages: locale.MustLoad()})
	}
	a.got = append(a.got, recordedAlert{role, kind, d.Subject})
	return nil
}

func TestFailedCardRefundAlertsTheAgents(t *testing.T) {
	spy := &alertsSpy{}
	e := setupWith(t, func(d *claims.Deps) { d.Alerts = spy })
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 400)
	e.paidByCard(t, o)
	e.clock.Set(t0.Add(4 * day))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := e.orders.Get(ctx, o.ID); got.Lines[0].Refunded.Minor != 600 {
		t.Fatalf("line refunded %v while the card refund is pending, want 600", got.Lines[0].Refunded)
	}
	for range 2 { // the report may come twice: the release happens once
		if err := e.db.Tx(ctx, func(tx *sql.Tx) error { return e.claims.CardRefundSettledTx(ctx, tx, "rfd_1", false, money.Amount{}) }); err != nil {
			t.Fatal(err)
		}
	}
	refunds, _ := e.claims.Refunds(ctx, c.ID)
	if refunds[0].Status != claims.RefundFailed || len(spy.got) != 1 || spy.got[0] != (recordedAlert{account.RoleAgent, "card_refund_failed", "réclamation " + c.ID + ", " + u.Name}) {
		t.Fatalf("refund %+v, alerts %+v", refunds[0], spy.got)
	}
	// The failed amount is refundable again: the line is as before the
	// refund, and the whole line can now be refunded. It stays settled
	// (an agent pays the customer another way), so the order reads
	// delivered for the part kept, not partly delivered.
	got, _ := e.orders.Get(ctx, o.ID)
	if got.Lines[0].Refunded.Minor != 0 || got.Refunded.Minor != 0 || got.Status != orders.StatusCompleted {
		t.Fatalf("after the failed card refund: line refunded %v, order refunded %v, status %s (was %s), want completed",
			got.Lines[0].Refunded, got.Refunded, got.Status, o.Status)
	}
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		return e.orders.RefundLineTx(ctx, tx, o.ID, o.Lines[0].ID, money.MustNew(1000, "EUR"), e.agentActor())
	}); err != nil {
		t.Fatalf("refund of the whole line after the failure: %v", err)
	}
}

// Stripe may report failed a card refund that had succeeded (the card was
// closed since; the bank sent the money back to the store). The customer
// was not paid after all: the claim refund becomes failed and the agents
// are alerted, once; the line stays counted, as its credit note does.
// Before, the claim kept saying the money went back and nobody was told.
func TestCardRefundFailingAfterItSucceededAlertsTheAgents(t *testing.T) {
	spy := &alertsSpy{}
	e := setupWith(t, func(d *claims.Deps) { d.Alerts = spy })
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 400)
	e.paidByCard(t, o)
	e.clock.Set(t0.Add(4 * day))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	settle := func(succeeded bool) {
		t.Helper()
		if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
			return e.claims.CardRefundSettledTx(ctx, tx, "rfd_1", succeeded, money.Amount{})
		}); err != nil {
			t.Fatal(err)
		}
	}
	settle(true)
	for range 2 { // the report may come twice
		settle(false)
	}
	refunds, _ := e.claims.Refunds(ctx, c.ID)
	if refunds[0].Status != claims.RefundFailed || len(spy.got) != 1 || spy.got[0] != (recordedAlert{account.RoleAgent, "card_refund_failed", "réclamation " + c.ID + ", " + u.Name}) {
		t.Fatalf("refund %+v, alerts %+v", refunds[0], spy.got)
	}
	if got, _ := e.orders.Get(ctx, o.ID); got.Lines[0].Refunded.Minor != 600 {
		t.Fatalf("line refunded %v, want the 600 its credit note counts", got.Lines[0].Refunded)
	}
}

// Once the customer is erased their files are gone from the store: the
// claim still lists the evidence (kind, size, digest, name "erased"), and
// opening it answers not found, not an internal error.
func TestErasedEvidenceFileIsNotFound(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 100, true, 100)
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	_, evs, err := e.claims.AddEvidence(ctx, u.ID, c.ID, []claims.EvidenceInput{file("capture.png", pngFile)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		keys, err = claims.EraseCustomerTx(ctx, tx, u.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := e.blobs.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.claims.OpenEvidence(ctx, c.ID, evs[0].ID); !errors.Is(err, claims.ErrNotFound) {
		t.Fatalf("opening erased evidence: %v, want not found", err)
	}
}
