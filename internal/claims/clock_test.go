package claims_test

import (
	"context"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/desk/sla"
	"comptoir/internal/money"
	"comptoir/internal/policy"
)

// unhappy files a dissatisfied claim on a delivered service at the
// clock's time plus offset after t0: the policy leaves it to an agent.
func (e *env) unhappy(t *testing.T, at time.Time) claims.Claim {
	t.Helper()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 100, true, 100)
	e.clock.Set(at)
	c, err := e.claims.File(context.Background(), claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Decision.Outcome != policy.OutcomeSolution || !c.Open() {
		t.Fatalf("dissatisfied claim %+v", c.Decision)
	}
	return c
}

func (e *env) get(t *testing.T, id string) claims.Claim {
	t.Helper()
	c, err := e.claims.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) breachAudits(t *testing.T, id string) int {
	t.Helper()
	return e.count(t, `SELECT COUNT(*) FROM audit_log WHERE subject_type = 'claim' AND subject_id = $1 AND action = 'claim.breached'`, id)
}

func TestClaimLeftToAnAgentGetsBothClocksAndAnAutomaticOneNone(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	filed := t0.Add(3 * day)
	c := e.unhappy(t, filed)
	if !c.AnswerTargetAt.Equal(filed.Add(24*time.Hour)) || !c.AnswerPromiseAt.Equal(filed.Add(48*time.Hour)) || !c.Waiting() {
		t.Fatalf("clocks of the filed claim: target %v promise %v answered %v", c.AnswerTargetAt, c.AnswerPromiseAt, c.AnsweredAt)
	}
	// As stored, too.
	if r := e.get(t, c.ID); !r.AnswerTargetAt.Equal(c.AnswerTargetAt) || !r.AnswerPromiseAt.Equal(c.AnswerPromiseAt) || !r.Waiting() || r.AnswerBreached {
		t.Fatalf("stored clocks %+v", r)
	}

	// A claim decided automatically (a refund) has no clock.
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 400)
	e.clock.Set(t0.Add(96 * time.Hour))
	r, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Decision.Outcome != policy.OutcomeRefund {
		t.Fatalf("refund claim %+v", r.Decision)
	}
	if r = e.get(t, r.ID); !r.AnswerPromiseAt.IsZero() || !r.AnswerTargetAt.IsZero() || r.Waiting() {
		t.Fatalf("automatic refund has clocks: %+v", r)
	}

	// An agent's decision stops the clock, in time: not late.
	e.clock.Set(filed.Add(30 * time.Hour))
	if _, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefund,
		Refund: ptr(money.MustNew(50, "EUR")), Actor: e.agentActor()}); err != nil {
		t.Fatal(err)
	}
	c = e.get(t, c.ID)
	if c.Waiting() || !c.AnsweredAt.Equal(filed.Add(30*time.Hour)) || c.AnswerBreached || c.Late(filed.Add(100*time.Hour)) {
		t.Fatalf("answered claim %+v", c)
	}
	// Past the promise now, but answered: nothing to flag.
	if n, err := e.claims.MarkBreaches(ctx, filed.Add(100*time.Hour)); err != nil || n != 0 {
		t.Fatalf("scan after the answer: %d, %v", n, err)
	}
}

func TestClaimClocksCountTheStoresBusinessHours(t *testing.T) {
	cal, err := sla.ParseHours("Europe/Paris", "mon-fri 09:00-18:00", "2026-03-12")
	if err != nil {
		t.Fatal(err)
	}
	p := sla.DefaultPolicy
	p.Calendar = cal
	e := setupFull(t, func(*claims.Deps) {}, func(o *claims.Options) { o.AnswerClock = claims.SLAClock(p) })
	// Filed Wednesday 11 March at 11:00 in Paris. 24 business hours: 7 on
	// Wednesday, none on Thursday (a holiday) nor at the weekend, 9 on
	// Friday, 8 on Monday: Monday 17:00 in Paris. 48: Monday 18:00, then
	// Tuesday and Wednesday, and 5 on Thursday 19th: 14:00 in Paris.
	c := e.unhappy(t, t0.Add(3*day))
	if want := time.Date(2026, 3, 16, 16, 0, 0, 0, time.UTC); !c.AnswerTargetAt.Equal(want) {
		t.Errorf("target %v, want %v", c.AnswerTargetAt, want)
	}
	if want := time.Date(2026, 3, 19, 13, 0, 0, 0, time.UTC); !c.AnswerPromiseAt.Equal(want) {
		t.Errorf("promise %v, want %v", c.AnswerPromiseAt, want)
	}
	// The customer's mail gives that date, in the zone it gives the
	// receipt's time in, not only the policy's "48 hours".
	filed := e.mails(t, account.User{ID: c.CustomerID}, "claim_filed")
	if len(filed) != 1 {
		t.Fatalf("%d claim_filed mails", len(filed))
	}
	mustContain(t, "the claim's mail", filed[0].Text, "le 11 mars 2026 à 11:00:00 CET.", // the zone as the pages name it
		"Votre réclamation reste ouverte\u00a0: un conseiller vous répondra au plus tard le 19 mars 2026 à 14:00 CET.")
}

func TestEvidenceArrivalStartsTheClock(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 1000)
	e.clock.Set(t0.Add(2 * day))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o.ID, Message: "Bots.", Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Decision.Outcome != policy.OutcomeAwaitingEvidence || c.Waiting() || !c.AnswerPromiseAt.IsZero() {
		t.Fatalf("waiting for the customer, yet a clock runs: %+v", c)
	}
	// Waiting for the customer: nothing to flag however long it takes.
	if n, err := e.claims.MarkBreaches(ctx, t0.Add(30*day)); err != nil || n != 0 {
		t.Fatalf("scan: %d, %v", n, err)
	}
	arrived := t0.Add(5 * day)
	e.clock.Set(arrived)
	if _, _, err := e.claims.AddEvidence(ctx, u.ID, c.ID, []claims.EvidenceInput{{Text: "No posts at all."}}); err != nil {
		t.Fatal(err)
	}
	c = e.get(t, c.ID)
	if c.Decision.Outcome != policy.OutcomeReview || !c.Waiting() ||
		!c.AnswerTargetAt.Equal(arrived.Add(24*time.Hour)) || !c.AnswerPromiseAt.Equal(arrived.Add(48*time.Hour)) {
		t.Fatalf("after evidence: %v, target %v, promise %v", c.Decision.Outcome, c.AnswerTargetAt, c.AnswerPromiseAt)
	}
	// More evidence does not restart it.
	e.clock.Set(arrived.Add(time.Hour))
	if _, _, err := e.claims.AddEvidence(ctx, u.ID, c.ID, []claims.EvidenceInput{{Text: "And no followers either."}}); err != nil {
		t.Fatal(err)
	}
	if r := e.get(t, c.ID); !r.AnswerPromiseAt.Equal(arrived.Add(48 * time.Hour)) {
		t.Fatalf("more evidence moved the promise to %v", r.AnswerPromiseAt)
	}
}

func TestScanMarksALateClaimOnceAndAuditsIt(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	filed := t0.Add(3 * day)
	c := e.unhappy(t, filed)
	promise := filed.Add(48 * time.Hour)
	if n, err := e.claims.MarkBreaches(ctx, promise); err != nil || n != 0 {
		t.Fatalf("scan at the promise itself: %d, %v", n, err)
	}
	if n, err := e.claims.CountBreaches(ctx); err != nil || n != 0 {
		t.Fatalf("breaches before: %d, %v", n, err)
	}
	for i, want := range []int{1, 0} {
		if n, err := e.claims.MarkBreaches(ctx, promise.Add(time.Minute)); err != nil || n != want {
			t.Fatalf("scan %d: %d, %v; want %d", i+1, n, err, want)
		}
	}
	if n := e.breachAudits(t, c.ID); n != 1 {
		t.Fatalf("%d breach audit entries", n)
	}
	c = e.get(t, c.ID)
	if !c.AnswerBreached || !c.Waiting() || !c.Late(promise.Add(time.Minute)) {
		t.Fatalf("late claim %+v", c)
	}
	if n, err := e.claims.CountBreaches(ctx); err != nil || n != 1 {
		t.Fatalf("breaches: %d, %v", n, err)
	}
	// The late answer stops the clock without counting the breach again,
	// and the claim no longer counts as open and late.
	e.clock.Set(promise.Add(time.Hour))
	if _, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefused, ReasonCode: "expectation_only", Actor: e.agentActor()}); err != nil {
		t.Fatal(err)
	}
	if n := e.breachAudits(t, c.ID); n != 1 {
		t.Fatalf("%d breach audit entries after the late answer", n)
	}
	if c = e.get(t, c.ID); c.Waiting() || !c.AnswerBreached {
		t.Fatalf("answered late claim %+v", c)
	}
	if n, err := e.claims.CountBreaches(ctx); err != nil || n != 0 {
		t.Fatalf("breaches after the answer: %d, %v", n, err)
	}
}

func TestDecisionAfterThePromiseMarksTheClaimLateOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	filed := t0.Add(3 * day)
	c := e.unhappy(t, filed)
	late := filed.Add(50 * time.Hour)
	e.clock.Set(late)
	// The scan has not run: the decision itself counts the breach.
	if _, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefund,
		Refund: ptr(money.MustNew(50, "EUR")), Actor: e.agentActor()}); err != nil {
		t.Fatal(err)
	}
	c = e.get(t, c.ID)
	if !c.AnswerBreached || !c.AnsweredAt.Equal(late) || c.Waiting() {
		t.Fatalf("claim decided late %+v", c)
	}
	if n := e.breachAudits(t, c.ID); n != 1 {
		t.Fatalf("%d breach audit entries", n)
	}
	// A second decision and the scan change nothing more.
	e.clock.Set(late.Add(time.Hour))
	if _, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefund,
		Refund: ptr(money.MustNew(10, "EUR")), Actor: e.agentActor()}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.claims.MarkBreaches(ctx, late.Add(2*time.Hour)); err != nil || n != 0 {
		t.Fatalf("scan: %d, %v", n, err)
	}
	if n := e.breachAudits(t, c.ID); n != 1 {
		t.Fatalf("%d breach audit entries after another decision and a scan", n)
	}
	if r := e.get(t, c.ID); !r.AnsweredAt.Equal(late) {
		t.Fatalf("answered at %v, want the first answer %v", r.AnsweredAt, late)
	}
}

func TestConsoleListPutsTheNearestPromiseFirst(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	early := e.unhappy(t, t0.Add(3*day))
	later := e.unhappy(t, t0.Add(3*day+2*time.Hour))
	// Open, waiting for the customer: no promise, after the others.
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 1000)
	e.clock.Set(t0.Add(3 * day))
	evid, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(cs []claims.Claim) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	page, next, err := e.claims.List(ctx, claims.ListFilter{Status: claims.StatusOpen, ByPromise: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(page), []string{early.ID, later.ID, evid.ID}; !equal(got, want) || next != "" {
		t.Fatalf("by promise %v (next %q), want %v", got, next, want)
	}
	// Pages by position.
	page, next, err = e.claims.List(ctx, claims.ListFilter{Status: claims.StatusOpen, ByPromise: true, Limit: 2})
	if err != nil || !equal(ids(page), []string{early.ID, later.ID}) || next != claims.PromiseCursor(page[1]) {
		t.Fatalf("first page %v next %q %v", ids(page), next, err)
	}
	page, next, err = e.claims.List(ctx, claims.ListFilter{Status: claims.StatusOpen, ByPromise: true, Limit: 2, After: next})
	if err != nil || !equal(ids(page), []string{evid.ID}) || next != "" {
		t.Fatalf("second page %v next %q %v", ids(page), next, err)
	}
	// Newest first otherwise, as before.
	page, _, err = e.claims.List(ctx, claims.ListFilter{Status: claims.StatusOpen})
	if err != nil || !equal(ids(page), []string{evid.ID, later.ID, early.ID}) {
		t.Fatalf("by id %v %v", ids(page), err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
