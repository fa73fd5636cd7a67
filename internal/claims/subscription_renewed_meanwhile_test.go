package claims_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/money"
	"comptoir/internal/policy"
	"comptoir/internal/subscriptions"
)

// lateSubscriptions is the real subscriptions adapter, set once the claims
// environment (whose database it needs) exists.
type lateSubscriptions struct{ claims.Subscriptions }

// subscribedOnBalance starts a monthly plan of price cents, paid from the
// balance (100 EUR) of a French consumer reading lang, on claims wired to
// the real subscriptions adapter.
func subscribedOnBalance(t *testing.T, price int64, lang string) (*env, *subscriptions.Service, account.User, subscriptions.Subscription) {
	t.Helper()
	ctx := context.Background()
	late := &lateSubscriptions{}
	e := setupWith(t, func(d *claims.Deps) { d.Subscriptions = late })
	subs := subscriptions.New(e.db, e.clock, e.catalog, e.ledger, e.accounts, e.outbox, nil, subscriptions.Options{BaseURL: "http://shop.test", StoreName: "Shop"})
	late.Subscriptions = subscriptions.ClaimsAdapter{S: subs, Ledger: e.ledger}
	plan, err := e.catalog.Create(ctx, admin, catalog.ProductInput{
		Slug: "monthly", Kind: catalog.KindSubscription, NameFR: "Mensuel", NameEN: "Monthly", DescriptionFR: "Chaque mois.",
		DescriptionEN: "Every month.", UnitPrice: money.MustNew(price, "EUR"), PlanInterval: catalog.IntervalMonth,
	})
	if err != nil {
		t.Fatal(err)
	}
	u := e.customer(t, "FR", account.CustomerConsumer, lang)
	sub, err := subs.Start(ctx, subscriptions.StartInput{CustomerID: u.ID, PlanID: plan.ID, Payment: subscriptions.PayBalance,
		ImmediatePerformance: true, WithdrawalWaiver: true, Lang: lang}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e, subs, u, sub
}

// A customer stops a monthly subscription, refund asked (the default), in
// the minute its period ends, and its renewal commits between the reading
// of the facts and the claim's transaction. The decision read the old
// period's payment (a month ago: no refund) but the renewal charged the
// customer a moment before the cancellation took effect: it used to stop
// now with that fresh payment kept (9,90 € for nothing). The filing now
// finds the last payment is no longer the one it decided on and decides
// again: the renewal was charged under 7 days ago, so it is refunded and
// the subscription stops.
func TestSubscriptionRenewedWhileTheCancellationIsDecided(t *testing.T) {
	ctx := context.Background()
	e, subs, u, sub := subscribedOnBalance(t, 990, "fr") // 100 EUR of balance
	e.clock.Set(sub.CurrentPeriodEnd.Add(30 * time.Second))
	var once sync.Once
	claims.SetAfterGather(e.claims, func() {
		once.Do(func() {
			if err := subs.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
				t.Errorf("renewal: %v", err)
			}
		})
	})
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.SubscriptionCancel, CustomerID: u.ID, SubscriptionID: sub.ID,
		Choice: policy.CancelNow, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := subs.Periods(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[1].Status != subscriptions.PeriodRefunded {
		t.Fatalf("periods %+v, want the renewal charged then refunded", ps)
	}
	if c.Decision.Outcome != policy.OutcomeRefund || c.Decision.Refund == nil || c.Decision.Refund.Minor != 990 || c.Decision.Cancel != policy.CancelNow {
		t.Fatalf("decision %+v", c.Decision)
	}
	if b := e.balance(t, u); b != 10000-990 {
		t.Fatalf("balance %d, want %d: the first period paid, the renewal given back", b, 10000-990)
	}
	if got, _ := subs.Get(ctx, sub.ID); got.Status != subscriptions.StatusCanceled {
		t.Fatalf("subscription %s", got.Status)
	}
}

// A customer whose renewal failed (past due, retried) stops their
// subscription choosing "keep until the end of the period": the paid period
// is over, so it ends now (subscriptions.CancelTx), and the decision says
// so. It said "cancel": "period_end" and "it ends at the end of the paid
// period, on 8 April 2026", two days before, while the subscription had
// ended at once.
func TestSubscriptionPastDueCancellationSaysItEndsNow(t *testing.T) {
	ctx := context.Background()
	e, subs, u, sub := subscribedOnBalance(t, 9000, "en") // 100 EUR: one period, not two
	e.clock.Set(sub.CurrentPeriodEnd)
	if err := subs.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	if got, _ := subs.Get(ctx, sub.ID); got.Status != subscriptions.StatusPastDue {
		t.Fatalf("after the failed renewal: %s", got.Status)
	}
	e.clock.Advance(2 * 24 * time.Hour)
	preview, err := e.claims.Preview(ctx, claims.FileInput{Kind: policy.SubscriptionCancel, CustomerID: u.ID, SubscriptionID: sub.ID,
		Choice: policy.CancelPeriodEnd, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.SubscriptionCancel, CustomerID: u.ID, SubscriptionID: sub.ID,
		Choice: policy.CancelPeriodEnd, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := subs.Get(ctx, sub.ID)
	if got.Status != subscriptions.StatusCanceled || !got.EndedAt.Equal(e.clock.Now()) {
		t.Fatalf("subscription %s ended %s", got.Status, got.EndedAt)
	}
	for _, d := range []policy.Decision{preview, c.Decision} {
		if d.Cancel != policy.CancelNow || d.Outcome != policy.OutcomeRefused || strings.Contains(d.Reason.EN, "8 April") ||
			!strings.Contains(d.Reason.EN, "immediately") {
			t.Fatalf("decision %+v, want refused and ending now", d)
		}
	}
	if c.Choice != policy.CancelPeriodEnd {
		t.Fatalf("the customer's choice is kept as made: %s", c.Choice)
	}
}
