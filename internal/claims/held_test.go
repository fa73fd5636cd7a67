package claims_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/money"
	"comptoir/internal/policy"
)

// disputedErr is cardpay.ErrPaymentDisputed as claims sees it: an error
// with the code payment_disputed.
type disputedErr struct{}

func (disputedErr) Error() string     { return "the payment is disputed; refunds are held" }
func (disputedErr) ErrorCode() string { return "payment_disputed" }

// A consumer who withdraws while their bank handles a dispute about the
// card payment was refused ("payment_disputed") and nothing was recorded:
// no acknowledgement, and once the dispute was over the 14 days were too.
// The withdrawal is now recorded and acknowledged at once, waits for the
// bank, and is decided as the policy says as soon as refunds are possible.
func TestWithdrawalDuringADisputeIsRecordedAndDecidedOnceTheHoldLifts(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 0)
	e.paidByCard(t, o)
	e.card.refuse = disputedErr{}
	filed := t0.Add(2 * day)
	e.clock.Set(filed)
	c, err := e.claims.Withdraw(ctx, u.ID, o.ID, "")
	if err != nil {
		t.Fatalf("withdrawal during a dispute: %v", err)
	}
	if !c.Open() || c.Decision.Outcome != policy.OutcomeReview || c.Decision.Rule != claims.RuleRefundHeld || !c.FiledAt.Equal(filed) ||
		!c.Decision.Statutory || c.Decision.Refund != nil || c.Waiting() {
		t.Fatalf("held withdrawal %+v", c)
	}
	acks := e.mails(t, u, "claim_withdrawal")
	if len(acks) != 1 {
		t.Fatalf("%d acknowledgements", len(acks))
	}
	mustContain(t, "the acknowledgement", acks[0].Text, "10 mars 2026 à 11:00:00", "contestation du paiement")
	if rs, _ := e.claims.Refunds(ctx, c.ID); len(rs) != 0 {
		t.Fatalf("refunds while held: %+v", rs)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM river_job WHERE kind = 'claims.redecide'`); n != 1 {
		t.Fatalf("%d re-decisions scheduled", n)
	}

	// Still held when the job runs: scheduled again, nothing changes.
	worker := e.claims.RedecideWorker()
	job := func(id int64) *river.Job[claims.RedecideArgs] {
		return &river.Job[claims.RedecideArgs]{JobRow: &rivertype.JobRow{ID: id, Attempt: 1}, Args: claims.RedecideArgs{ClaimID: c.ID}}
	}
	e.clock.Set(filed.Add(6 * time.Hour))
	if err := worker.Work(ctx, job(1)); err != nil {
		t.Fatalf("job while held: %v", err)
	}
	if got := e.get(t, c.ID); got.Decision.Rule != claims.RuleRefundHeld || got.Revision != c.Revision {
		t.Fatalf("claim after a held re-decision %+v", got)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM river_job WHERE kind = 'claims.redecide'`); n != 2 {
		t.Fatalf("%d re-decisions scheduled, want the next one", n)
	}

	// The bank decided for the store: the withdrawal is refunded in full,
	// to the card, statutory, decided on the day it was sent.
	e.card.refuse = nil
	e.clock.Set(filed.Add(30 * day))
	if err := worker.Work(ctx, job(2)); err != nil {
		t.Fatal(err)
	}
	got := e.get(t, c.ID)
	if got.Open() || got.Decision.Outcome != policy.OutcomeRefund || got.Decision.Refund.Minor != 1000 || !got.Decision.Statutory {
		t.Fatalf("withdrawal once the hold lifted %+v", got.Decision)
	}
	if rs, _ := e.claims.Refunds(ctx, c.ID); len(rs) != 1 || rs[0].Destination != claims.DestCard || rs[0].Amount.Minor != 1000 {
		t.Fatalf("refunds %+v", rs)
	}
}

// A dispute the store lost gave the money back through the bank (counted
// on the line): the held claim is then decided on that, with nothing more
// to refund, and not held again.
func TestHeldClaimAfterALostDisputeIsDecidedOnWhatTheBankGaveBack(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 400)
	e.paidByCard(t, o)
	e.card.refuse = disputedErr{} // a lost dispute keeps the hold for good
	e.clock.Set(t0.Add(4 * day))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil || c.Decision.Rule != claims.RuleRefundHeld {
		t.Fatalf("held claim %+v %v", c, err)
	}
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		return e.orders.Chargeback(ctx, tx, o.ID, "dp_lost", money.MustNew(1000, "EUR"))
	}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(t0.Add(30 * day))
	job := &river.Job[claims.RedecideArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1}, Args: claims.RedecideArgs{ClaimID: c.ID}}
	if err := e.claims.RedecideWorker().Work(ctx, job); err != nil {
		t.Fatal(err)
	}
	got := e.get(t, c.ID)
	if got.Open() || got.Decision.Refund != nil || got.Decision.Rule == claims.RuleRefundHeld {
		t.Fatalf("held claim after a lost dispute %+v", got.Decision)
	}
	if rs, _ := e.claims.Refunds(ctx, c.ID); len(rs) != 0 {
		t.Fatalf("refunds %+v", rs)
	}
}

// Evidence sent to a claim held by a dispute was refused: adding it decides
// the claim again, the engine's decision refunds, and the refund is held,
// so the whole addition failed ("payment_disputed", a 409 on the pages)
// and the customer could not add to their file while the bank decided.
// The evidence is now kept and the claim stays held.
func TestEvidenceToAHeldClaimIsKeptAndTheClaimStaysHeld(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 400)
	e.paidByCard(t, o)
	e.card.refuse = disputedErr{}
	e.clock.Set(t0.Add(4 * day))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil || c.Decision.Rule != claims.RuleRefundHeld {
		t.Fatalf("held claim %+v %v", c, err)
	}
	e.clock.Set(t0.Add(5 * day))
	got, added, err := e.claims.AddEvidence(ctx, u.ID, c.ID, []claims.EvidenceInput{{Text: "Only 400 of 1000 arrived."}})
	if err != nil {
		t.Fatalf("evidence to a held claim: %v", err)
	}
	if len(added) != 1 || got.Decision.Rule != claims.RuleRefundHeld || !got.Open() {
		t.Fatalf("after evidence: %+v, %d pieces", got.Decision, len(added))
	}
	if list, err := e.claims.Evidence(ctx, c.ID); err != nil || len(list) != 1 || list[0].Text != "Only 400 of 1000 arrived." {
		t.Fatalf("evidence kept %+v %v", list, err)
	}
	if rs, _ := e.claims.Refunds(ctx, c.ID); len(rs) != 0 {
		t.Fatalf("refunds while held: %+v", rs)
	}
	if history, _ := e.claims.Decisions(ctx, c.ID); len(history) != 1 {
		t.Fatalf("%d decisions after evidence to a held claim, want the held one only", len(history))
	}
}

// A claim waiting for its processing time whose payment is disputed
// meanwhile: at the deadline the engine refunds what is undelivered, the
// refund is held, and the re-decision job failed, again and again, leaving
// the claim "waiting for delivery" past its date with no word to the
// customer. It is now held, as a claim filed during the dispute is: the
// customer is told, and it is decided again until the hold lifts.
func TestClaimWaitingForDeliveryIsHeldWhenItsRefundFallsDuringADispute(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 0)
	e.paidByCard(t, o)
	e.clock.Set(t0.Add(24 * time.Hour))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil || c.Decision.Outcome != policy.OutcomeWaitingDelivery {
		t.Fatalf("waiting claim %+v %v", c, err)
	}
	e.card.refuse = disputedErr{}
	e.clock.Set(t0.Add(73 * time.Hour))
	job := &river.Job[claims.RedecideArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1}, Args: claims.RedecideArgs{ClaimID: c.ID}}
	if err := e.claims.RedecideWorker().Work(ctx, job); err != nil {
		t.Fatalf("re-decision during a dispute: %v", err)
	}
	got := e.get(t, c.ID)
	if !got.Open() || got.Decision.Rule != claims.RuleRefundHeld || got.Decision.Refund != nil {
		t.Fatalf("claim at its deadline during a dispute %+v", got.Decision)
	}
	if ms := e.mails(t, u, "claim_decided"); len(ms) != 1 {
		t.Fatalf("%d claim_decided emails, want the customer told of the hold", len(ms))
	} else {
		mustContain(t, "the email", ms[0].Text, "contestation du paiement")
	}
	if n := e.count(t, `SELECT COUNT(*) FROM river_job WHERE kind = 'claims.redecide' AND scheduled_at > $1`, t0.Add(73*time.Hour)); n != 1 {
		t.Fatalf("%d later re-decisions scheduled, want one", n)
	}

	// The bank decided for the store: the undelivered part is refunded.
	e.card.refuse = nil
	e.clock.Set(t0.Add(20 * day))
	if err := e.claims.RedecideWorker().Work(ctx, job); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, c.ID); got.Open() || got.Decision.Refund == nil || got.Decision.Rule == claims.RuleRefundHeld {
		t.Fatalf("claim once the hold lifted %+v", got.Decision)
	}
	if rs, _ := e.claims.Refunds(ctx, c.ID); len(rs) != 1 {
		t.Fatalf("refunds once the hold lifted: %+v", rs)
	}
}

// A withdrawal refiled from the customer's in-time message (the late one
// on record refused) whose refund the card payment's dispute holds was
// refused with payment_disputed, the message's time lost, where File
// records such a withdrawal and decides it once the bank has. Refiled, it
// is now the same: reopened at the message's time, held, acknowledged,
// and refunded in full once the hold lifts.
func TestWithdrawalFromAnEarlierMessageDuringADisputeIsHeld(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 400)
	e.paidByCard(t, o)
	inTime := t0.Add(10 * day)
	e.clock.Set(t0.Add(20 * day))
	refused, err := e.claims.Withdraw(ctx, u.ID, o.ID, "")
	if err != nil || refused.Decision.Outcome != policy.OutcomeRefused {
		t.Fatalf("the customer's late withdrawal: %+v %v", refused.Decision, err)
	}
	acks := len(e.mails(t, u, "claim_withdrawal"))
	e.card.refuse = disputedErr{}
	defer func() { e.card.refuse = nil }()
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.Withdrawal, OrderID: o.ID, Message: "Je me rétracte.",
		FiledAt: inTime, SourceMessageID: "msg-in-time", Actor: e.agentActor()})
	if err != nil {
		t.Fatalf("withdrawal from the in-time message during a dispute: %v", err)
	}
	if c.ID != refused.ID || !c.Open() || c.Decision.Outcome != policy.OutcomeReview || c.Decision.Rule != claims.RuleRefundHeld ||
		!c.FiledAt.Equal(inTime) || c.SourceMessageID != "msg-in-time" || !c.Decision.Statutory || c.Decision.Refund != nil {
		t.Fatalf("refiled during a dispute: %+v", c)
	}
	if got := e.get(t, c.ID); !got.Open() || !got.FiledAt.Equal(inTime) || got.Decision.Rule != claims.RuleRefundHeld {
		t.Fatalf("stored: %+v", got)
	}
	if ms := e.mails(t, u, "claim_withdrawal"); len(ms) != acks+1 || !strings.Contains(ms[0].Text, "contestation du paiement") {
		t.Errorf("%d acknowledgements (was %d): %v", len(ms), acks, ms)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM river_job WHERE kind = 'claims.redecide'`); n != 1 {
		t.Fatalf("%d re-decisions scheduled", n)
	}
	// The bank decided for the store: refunded as of the message.
	e.card.refuse = nil
	e.clock.Set(t0.Add(40 * day))
	job := &river.Job[claims.RedecideArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1}, Args: claims.RedecideArgs{ClaimID: c.ID}}
	if err := e.claims.RedecideWorker().Work(ctx, job); err != nil {
		t.Fatal(err)
	}
	got := e.get(t, c.ID)
	if got.Open() || got.Decision.Outcome != policy.OutcomeRefund || got.Decision.Refund.Minor != 600 || !got.Decision.Statutory {
		t.Fatalf("once the hold lifted: %+v", got.Decision)
	}
	if rs, _ := e.claims.Refunds(ctx, c.ID); len(rs) != 1 || rs[0].Destination != claims.DestCard || rs[0].Amount.Minor != 600 {
		t.Fatalf("refunds %+v", rs)
	}
}
