package claims_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/money"
	"comptoir/internal/policy"
)

// fakeSubscriptions stands in for internal/subscriptions.
type fakeSubscriptions struct {
	subject claims.SubscriptionSubject
	cancels []claims.SubscriptionCancel
}

func (f *fakeSubscriptions) ClaimSubject(ctx context.Context, id string) (claims.SubscriptionSubject, error) {
	if id != f.subject.ID {
		return claims.SubscriptionSubject{}, fmt.Errorf("subscription %s: %w", id, claims.ErrNotFound)
	}
	return f.subject, nil
}

func (f *fakeSubscriptions) CancelForClaimTx(ctx context.Context, tx *sql.Tx, c claims.SubscriptionCancel) (claims.SubscriptionRefund, error) {
	f.cancels = append(f.cancels, c)
	return claims.SubscriptionRefund{Destination: claims.DestBalance, LedgerEntryID: "ble_sub"}, nil
}

func TestSubscriptionCancelClaims(t *testing.T) {
	subs := &fakeSubscriptions{}
	e := setupWith(t, func(d *claims.Deps) { d.Subscriptions = subs })
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	paid := money.MustNew(990, "EUR")
	subs.subject = claims.SubscriptionSubject{ID: "sub_1", CustomerID: u.ID, PolicyVersion: "default@1",
		LastPaymentAt: t0, LastPayment: &paid, PeriodEnd: t0.Add(31 * day)}
	now := t0.Add(3 * day)
	e.clock.Set(now)
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.SubscriptionCancel, CustomerID: u.ID, SubscriptionID: "sub_1",
		Choice: policy.CancelPeriodEnd, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	facts, err := policy.DecodeFacts([]byte(`{"kind": "subscription_cancel", "filed_at": "2026-03-11T10:00:00Z",
		"customer": {"type": "consumer", "country": "FR"},
		"subscription": {"last_payment_at": "2026-03-08T10:00:00Z", "last_payment": {"amount": 990, "currency": "EUR"}, "period_end": "2026-04-08T10:00:00Z"},
		"choice": "period_end"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := policy.Evaluate(policy.Default(), facts, now)
	if !reflect.DeepEqual(c.Decision, want) || want.Outcome != policy.OutcomeRefund || want.Cancel != policy.CancelNow {
		t.Fatalf("decision %+v, policy eval %+v", c.Decision, want)
	}
	if len(subs.cancels) != 1 || subs.cancels[0].Cancel != policy.CancelNow || *subs.cancels[0].Refund != paid || subs.cancels[0].ClaimID != c.ID {
		t.Fatalf("cancellations %+v", subs.cancels)
	}
	refunds, _ := e.claims.Refunds(ctx, c.ID)
	if len(refunds) != 1 || refunds[0].SubscriptionID != "sub_1" || refunds[0].Status != claims.RefundSucceeded || refunds[0].Amount != paid {
		t.Fatalf("refunds %+v", refunds)
	}
	// An agent may decide it again, with the outcomes a subscription
	// claim has: refund (in full) or refused, never a redelivery.
	if _, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRedeliver, Actor: e.agentActor()}); claims.Code(err) != "invalid" {
		t.Fatalf("an agent redelivering a subscription: %v", err)
	}
	refused, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefused, Actor: e.agentActor()})
	if err != nil || refused.Decision.Outcome != policy.OutcomeRefused || refused.Decision.Cancel != policy.CancelPeriodEnd || refused.Decision.Refund != nil {
		t.Fatalf("an agent refusing a subscription claim: %+v, %v", refused.Decision, err)
	}
	if len(subs.cancels) != 2 || subs.cancels[1].Cancel != policy.CancelPeriodEnd || subs.cancels[1].Refund != nil {
		t.Fatalf("cancellations %+v", subs.cancels)
	}
	other := e.customer(t, "FR", account.CustomerConsumer, "fr")
	if _, err := e.claims.File(ctx, claims.FileInput{Kind: policy.SubscriptionCancel, CustomerID: other.ID, SubscriptionID: "sub_1",
		Choice: policy.CancelNow, Actor: customerActor(other)}); !errors.Is(err, claims.ErrNotFound) {
		t.Fatalf("someone else's subscription: %v", err)
	}
	if _, err := e.claims.File(ctx, claims.FileInput{Kind: policy.SubscriptionCancel, CustomerID: u.ID, SubscriptionID: "sub_1",
		Actor: customerActor(u)}); claims.Code(err) != "invalid" {
		t.Fatalf("no choice: %v", err)
	}

	// Without the subscriptions service, such claims cannot be filed.
	e2 := setup(t)
	u2 := e2.customer(t, "FR", account.CustomerConsumer, "fr")
	_, err = e2.claims.File(ctx, claims.FileInput{Kind: policy.SubscriptionCancel, CustomerID: u2.ID, SubscriptionID: "sub_1",
		Choice: policy.CancelNow, Actor: customerActor(u2)})
	if claims.Code(err) != "subscriptions_unavailable" {
		t.Fatalf("without subscriptions: %v", err)
	}
}

// A cancellation an agent files from a message written before the last
// renewal was charged: POLICY.md "no renewal is charged after the request".
// The claim counts the request at the message's time, so that renewal is
// refunded in full (outside the engine's refund window logic and whatever
// refund_requested says) and the subscription stops at once. It was decided
// facts.incomplete: billing stopped but the renewal stayed charged, on a
// claim no agent can decide.
func TestSubscriptionRenewedAfterAWrittenRequestIsRefundedInFull(t *testing.T) {
	subs := &fakeSubscriptions{}
	e := setupWith(t, func(d *claims.Deps) { d.Subscriptions = subs })
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	paid := money.MustNew(990, "EUR")
	subs.subject = claims.SubscriptionSubject{ID: "sub_1", CustomerID: u.ID, PolicyVersion: "default@1",
		LastPaymentAt: t0.Add(2 * day), LastPayment: &paid, PeriodEnd: t0.Add(33 * day)}
	// The agent gets to the message 20 days later: far outside the 7 days
	// of a refund counted from the payment.
	e.clock.Set(t0.Add(22 * day))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.SubscriptionCancel, CustomerID: u.ID, SubscriptionID: "sub_1",
		Choice: policy.CancelPeriodEnd, RefundRequested: ptr(false), FiledAt: t0.Add(day), SourceMessageID: "msg_1", Actor: e.agentActor()})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Decision
	if c.Status != claims.StatusDecided || d.Outcome != policy.OutcomeRefund || d.Rule != claims.RuleRenewedAfterRequest ||
		d.Refund == nil || *d.Refund != paid || d.Cancel != policy.CancelNow || d.PolicyVersion != "default@1" || d.Statutory {
		t.Fatalf("decision %+v", d)
	}
	mustContain(t, "the reason", d.Reason.FR, "9 mars 2026 à 11:00:00", "10 mars 2026 à 11:00:00", "9,90")
	mustContain(t, "the reason", d.Reason.EN, "9 March 2026 at 11:00:00", "10 March 2026 at 11:00:00", "€9.90")
	if len(subs.cancels) != 1 || subs.cancels[0].Cancel != policy.CancelNow || subs.cancels[0].Refund == nil || *subs.cancels[0].Refund != paid {
		t.Fatalf("cancellations %+v", subs.cancels)
	}
	if refunds, _ := e.claims.Refunds(ctx, c.ID); len(refunds) != 1 || refunds[0].Amount != paid || refunds[0].SubscriptionID != "sub_1" {
		t.Fatalf("refunds %+v", refunds)
	}
	mustContain(t, "the email", e.mails(t, u, "claim_filed")[0].Text, d.Reason.FR)

	// Already refunded: nothing more goes back, and billing still stops as
	// the customer chose.
	subs.cancels = nil
	subs.subject.Refunded = &paid
	subs.subject.ID = "sub_2"
	c, err = e.claims.File(ctx, claims.FileInput{Kind: policy.SubscriptionCancel, CustomerID: u.ID, SubscriptionID: "sub_2",
		Choice: policy.CancelPeriodEnd, FiledAt: t0.Add(day), SourceMessageID: "msg_2", Actor: e.agentActor()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Decision.Refund != nil || c.Decision.Cancel != policy.CancelPeriodEnd || len(subs.cancels) != 1 || subs.cancels[0].Refund != nil {
		t.Fatalf("already refunded: %+v, cancellations %+v", c.Decision, subs.cancels)
	}
}

// renewedOnce is a subscription whose renewal lands while the first
// cancellation is being carried out: the subscriptions service refuses it
// as taken on old facts (ErrSubjectChanged), as CancelForClaimTx does.
type renewedOnce struct {
	fakeSubscriptions
	renewal  time.Time
	refusals int
}

func (f *renewedOnce) CancelForClaimTx(ctx context.Context, tx *sql.Tx, c claims.SubscriptionCancel) (claims.SubscriptionRefund, error) {
	if !c.LastPaymentAt.Equal(f.renewal) {
		f.refusals++
		f.subject.LastPaymentAt = f.renewal
		return claims.SubscriptionRefund{}, fmt.Errorf("%w: renewed meanwhile", claims.ErrSubjectChanged)
	}
	return f.fakeSubscriptions.CancelForClaimTx(ctx, tx, c)
}

// An agent's decision on a subscription claim whose subscription renewed
// between reading its facts and the decision's transaction was a server
// error ("internal"); it is taken again on the renewed subscription.
func TestAgentDecisionOnASubscriptionRenewedMeanwhileIsTakenOnFreshFacts(t *testing.T) {
	subs := &renewedOnce{}
	e := setupWith(t, func(d *claims.Deps) { d.Subscriptions = subs })
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	paid := money.MustNew(990, "EUR")
	subs.subject = claims.SubscriptionSubject{ID: "sub_1", CustomerID: u.ID, PolicyVersion: "default@1",
		LastPaymentAt: t0, LastPayment: &paid, PeriodEnd: t0.Add(31 * day)}
	subs.renewal = t0 // the filing goes through on the first facts
	e.clock.Set(t0.Add(20 * day))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.SubscriptionCancel, CustomerID: u.ID, SubscriptionID: "sub_1",
		Choice: policy.CancelPeriodEnd, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	subs.renewal = t0.Add(31 * day) // then a renewal lands under the agent's decision
	got, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefused, Actor: e.agentActor()})
	if err != nil {
		t.Fatalf("agent decision on a subscription renewed meanwhile: %v (code %q)", err, claims.Code(err))
	}
	if subs.refusals != 1 || got.Decision.Outcome != policy.OutcomeRefused || len(subs.cancels) != 2 ||
		!subs.cancels[1].LastPaymentAt.Equal(subs.renewal) {
		t.Fatalf("decision %+v, refusals %d, cancellations %+v", got.Decision, subs.refusals, subs.cancels)
	}
}
