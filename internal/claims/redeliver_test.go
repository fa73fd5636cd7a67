package claims_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

// redeliverFirst is the default policy with non_delivery set to offer
// redelivery first, under the version the test orders record (default@1).
func redeliverFirst(t *testing.T) func(*claims.Deps) {
	t.Helper()
	doc := policy.DefaultDocument()
	doc = bytes.Replace(doc, []byte("counting = \"exact\"\nremedy = \"refund\""), []byte("counting = \"exact\"\nremedy = \"redeliver\""), 1)
	p, err := policy.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind(policy.NonDelivery).Remedy != policy.RemedyRedeliver || p.ID() != "default@1" {
		t.Fatalf("test policy %s: %+v", p.ID(), p.Kind(policy.NonDelivery))
	}
	return func(d *claims.Deps) {
		d.Policies = func(v string) (*policy.Policy, error) {
			if v != p.ID() {
				return nil, claims.ErrUnknownPolicy
			}
			return p, nil
		}
	}
}

func redecideJobsAt(t *testing.T, e *env) []time.Time {
	t.Helper()
	rows, err := e.db.Read.Query(`SELECT scheduled_at FROM river_job WHERE kind = 'claims.redecide' ORDER BY scheduled_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var at time.Time
		if err := rows.Scan(&at); err != nil {
			t.Fatal(err)
		}
		out = append(out, at)
	}
	return out
}

// A store that offers redelivery first: the claim does not close on the
// redelivery. It waits, open, for the line's new due time, and if the line
// is still not delivered then, the undelivered part is refunded as the
// policy's refund rule says — once, however many times and however
// concurrently the re-decision runs.
func TestRedeliveryFirstThatNeverComesIsRefundedAtItsNewDueTime(t *testing.T) {
	e := setupWith(t, redeliverFirst(t))
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "en")
	o := e.order(t, u, e.service(t), 1000, true, 400) // 10,00 € paid, 400 of 1000 delivered
	line := o.Lines[0]
	filed := t0.Add(96 * time.Hour) // the 72 h processing time has passed
	e.clock.Set(filed)
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Message: "Only 400 arrived.", Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	due := filed.Add(72 * time.Hour)
	if c.Status != claims.StatusOpen || c.Decision.Outcome != policy.OutcomeWaitingDelivery || c.Decision.Rule != "non_delivery.processing" ||
		c.Decision.Refund != nil {
		t.Fatalf("claim after the redelivery: %+v", c)
	}
	mustContain(t, "the decision", c.Decision.Reason.EN, "15 March 2026")
	history, err := e.claims.Decisions(ctx, c.ID)
	if err != nil || len(history) != 2 || history[0].Decision.Outcome != policy.OutcomeRedeliver || history[0].Seq != 1 ||
		history[1].Decision.Outcome != policy.OutcomeWaitingDelivery || history[1].Seq != 2 || c.Revision != 2 {
		t.Fatalf("history %+v %v (revision %d)", history, err, c.Revision)
	}
	read, _ := e.orders.Get(ctx, o.ID)
	if !read.Lines[0].ProcessingUntil.Equal(due) {
		t.Fatalf("line due again at %v, want %v", read.Lines[0].ProcessingUntil, due)
	}
	if jobs := redecideJobsAt(t, e); len(jobs) != 1 || !jobs[0].Equal(due) {
		t.Fatalf("re-decision jobs at %v, want one at %v", jobs, due)
	}
	if b := e.balance(t, u); b != 10000-1000 {
		t.Fatalf("balance %d", b)
	}
	// The customer reads both: the redelivery, and that the claim waits
	// for it and will be decided again at the new due time.
	ms := e.mails(t, u, "claim_filed")
	if len(ms) != 1 {
		t.Fatalf("%d claim_filed emails", len(ms))
	}
	mustContain(t, "the email", ms[0].Text, history[0].Decision.Reason.EN, c.Decision.Reason.EN, "stays open")
	// Meanwhile the same claim cannot be filed twice.
	if _, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)}); !errors.Is(err, claims.ErrDuplicateOpenClaim) {
		t.Fatalf("second claim while waiting: %v", err)
	}

	// The new due time passes with nothing more delivered: the job, run
	// several times at once and again later, refunds the undelivered part
	// once, as the refund rule computes it.
	e.clock.Set(due.Add(time.Minute))
	worker := e.claims.RedecideWorker()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = worker.Work(ctx, &river.Job[claims.RedecideArgs]{JobRow: &rivertype.JobRow{ID: int64(i + 1), Attempt: 1}, Args: claims.RedecideArgs{ClaimID: c.ID}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if _, err := e.claims.Redecide(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := e.claims.Get(ctx, c.ID)
	if got.Status != claims.StatusDecided || got.Decision.Outcome != policy.OutcomeRefund || got.Decision.Rule != "non_delivery.partial" ||
		got.Decision.Refund == nil || *got.Decision.Refund != money.MustNew(600, "EUR") || got.Decision.PolicyVersion != "default@1" {
		t.Fatalf("claim after the new due time: %+v", got)
	}
	if b := e.balance(t, u); b != 10000-1000+600 {
		t.Fatalf("balance %d", b)
	}
	if refunds, _ := e.claims.Refunds(ctx, c.ID); len(refunds) != 1 || refunds[0].Amount.Minor != 600 {
		t.Fatalf("refunds %+v", refunds)
	}
	read, _ = e.orders.Get(ctx, o.ID)
	if read.Lines[0].Refunded.Minor != 600 || read.Refunded.Minor != 600 || read.Lines[0].ID != line.ID {
		t.Fatalf("line refunded %v, order %v", read.Lines[0].Refunded, read.Refunded)
	}
	if history, _ = e.claims.Decisions(ctx, c.ID); len(history) != 3 {
		t.Fatalf("history %+v", history)
	}
	ds := e.mails(t, u, "claim_decided")
	if len(ds) != 1 {
		t.Fatalf("%d claim_decided emails", len(ds))
	}
	mustContain(t, "the decision email", ds[0].Text, got.Decision.Reason.EN, "6.00")
	// And no other claim pays the undelivered share again.
	if _, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)}); !errors.Is(err, claims.ErrAlreadyDecided) {
		t.Fatalf("claim after the refund: %v", err)
	}
}

// The redelivery that does come: the claim is decided on the delivery
// record at the new due time (an agent checks it), and nothing is refunded.
func TestRedeliveryFirstThatComesRefundsNothing(t *testing.T) {
	e := setupWith(t, redeliverFirst(t))
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 0)
	e.clock.Set(t0.Add(96 * time.Hour))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != claims.StatusOpen || c.Decision.Outcome != policy.OutcomeWaitingDelivery {
		t.Fatalf("claim %+v", c)
	}
	mustContain(t, "le courriel", e.mails(t, u, "claim_filed")[0].Text, "nous relançons d’abord la livraison", "réexaminée à cette date")
	if _, err := e.orders.RecordDelivery(ctx, orders.DeliveryInput{OrderID: o.ID, LineID: o.Lines[0].ID, Delivered: 1000, Source: orders.SourceAgent, Actor: admin}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(t0.Add(96*time.Hour + 73*time.Hour))
	got, err := e.claims.Redecide(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Decision.Outcome != policy.OutcomeReview || got.Decision.Rule != "non_delivery.delivered" || got.Decision.Refund != nil {
		t.Fatalf("claim after a redelivery that came: %+v", got)
	}
	if b := e.balance(t, u); b != 10000-1000 {
		t.Fatalf("balance %d", b)
	}
}

// An agent who sends an undelivered line back to processing leaves the
// claim waiting for it too, and it refunds if the redelivery never comes.
func TestAgentRedeliveryWaitsThenRefunds(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "en")
	o := e.order(t, u, e.service(t), 1000, true, 0)
	e.clock.Set(t0.Add(24 * time.Hour))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil || c.Decision.Outcome != policy.OutcomeWaitingDelivery {
		t.Fatalf("claim %+v %v", c, err)
	}
	e.clock.Set(t0.Add(48 * time.Hour))
	c, err = e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRedeliver, Note: "supplier restarted", Actor: e.agentActor()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != claims.StatusOpen || c.Decision.Outcome != policy.OutcomeWaitingDelivery {
		t.Fatalf("claim after the agent's redelivery: %+v", c)
	}
	history, _ := e.claims.Decisions(ctx, c.ID)
	if len(history) != 3 || history[1].Decision.Outcome != policy.OutcomeRedeliver || history[1].DecidedBy != e.agent.ID ||
		history[1].Note != "supplier restarted" || history[2].DecidedBy != "" {
		t.Fatalf("history %+v", history)
	}
	e.clock.Set(t0.Add(48*time.Hour + 72*time.Hour))
	got, err := e.claims.Redecide(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Decision.Outcome != policy.OutcomeRefund || got.Decision.Rule != "non_delivery.undelivered" || got.Decision.Refund.Minor != 1000 {
		t.Fatalf("claim after the new due time: %+v", got)
	}
	if b := e.balance(t, u); b != 10000 {
		t.Fatalf("balance %d", b)
	}
}

// An agent's redelivery on a decided non_delivery claim would reopen it to
// wait for the line, and a decided claim is never reopened (the database
// refuses it): it is refused (claim_not_reopened) and changes nothing,
// the line not sent back to processing. Before, the agent got a server
// error. The agent may still refund or refuse it.
func TestAgentRedeliveryDoesNotReopenADecidedClaim(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "en")
	o := e.order(t, u, e.service(t), 1000, true, 0)
	e.clock.Set(t0.Add(24 * time.Hour))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	c, err = e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefused,
		ReasonCode: policy.AgentReasons[0], Actor: e.agentActor()})
	if err != nil || c.Open() {
		t.Fatalf("refusal: %+v %v", c, err)
	}
	before, _ := e.orders.Get(ctx, o.ID)
	jobs := len(redecideJobsAt(t, e))
	e.clock.Set(t0.Add(48 * time.Hour))
	_, err = e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRedeliver, Actor: e.agentActor()})
	if !errors.Is(err, claims.ErrNotReopened) || claims.Code(err) != "claim_not_reopened" {
		t.Fatalf("redelivery on a decided claim: %v (%s)", err, claims.Code(err))
	}
	now, _ := e.claims.Get(ctx, c.ID)
	after, _ := e.orders.Get(ctx, o.ID)
	if now.Open() || now.Revision != c.Revision || !after.Lines[0].ProcessingUntil.Equal(before.Lines[0].ProcessingUntil) ||
		len(redecideJobsAt(t, e)) != jobs {
		t.Fatalf("claim %s rev %d (was %d), line due %v (was %v), %d jobs (was %d): want nothing changed",
			now.Status, now.Revision, c.Revision, after.Lines[0].ProcessingUntil, before.Lines[0].ProcessingUntil, len(redecideJobsAt(t, e)), jobs)
	}
	// The redelivery is decided on a new claim about the line, which
	// waits for it.
	again, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: again.ID, Outcome: policy.OutcomeRedeliver, Actor: e.agentActor()}); err != nil ||
		got.Decision.Outcome != policy.OutcomeWaitingDelivery {
		t.Fatalf("redelivery on a new claim: %+v %v", got, err)
	}
	// The decided one may still be refunded.
	if got, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefund,
		Refund: ptr(money.MustNew(1000, "EUR")), Actor: e.agentActor()}); err != nil || got.Open() {
		t.Fatalf("refund after the refused redelivery: %+v %v", got, err)
	}
}
