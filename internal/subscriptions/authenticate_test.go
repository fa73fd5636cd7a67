package subscriptions_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/subscriptions"
)

// A renewal the bank wants the customer to authenticate: the email links
// to the page, retries count without charging while the authentication is
// pending, the on-session payment settles the failed period once, and the
// link ends with the subscription (whose waiting payment is released).
func TestRenewalWaitingForAuthentication(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "en", "FR", account.CustomerConsumer, 0)
	other := e.customer(t, "en", "FR", account.CustomerConsumer, 0)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalMonth, 990, 14), subscriptions.PayCard))
	settle := func(fn func(tx *sql.Tx) error) {
		t.Helper()
		if err := e.db.Tx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Set(sub.CurrentPeriodEnd)
	e.renew(t, sub.ID)
	period := e.periods(t, sub.ID)[0]
	settle(func(tx *sql.Tx) error {
		return e.subs.PeriodAuthenticationRequiredTx(ctx, tx, period.ID, "stripe 402 card_error authentication_required")
	})
	link := "http://shop.test/subscriptions/" + sub.ID + "/authenticate"
	contains(t, e.lastMail(t, u, subscriptions.MailPaymentFailed), link, "3-D Secure", "your bank asks you to confirm")

	if _, _, err := e.subs.AuthenticationPeriod(ctx, other.ID, sub.ID); !errors.Is(err, subscriptions.ErrNotFound) {
		t.Fatalf("another customer's period: %v", err)
	}
	_, got, err := e.subs.AuthenticationPeriod(ctx, u.ID, sub.ID)
	if err != nil || got.ID != period.ID || got.Amount.Minor != 990 {
		t.Fatalf("period to authenticate: %+v %v", got, err)
	}
	called := 0
	if err := e.subs.PayPeriodOnSession(ctx, other.ID, sub.ID, func(context.Context, *sql.Tx, subscriptions.Subscription, subscriptions.Period) error {
		called++
		return nil
	}); !errors.Is(err, subscriptions.ErrNotFound) || called != 0 {
		t.Fatalf("another customer paying: %v, called %d", err, called)
	}
	if err := e.subs.PayPeriodOnSession(ctx, u.ID, sub.ID, func(_ context.Context, _ *sql.Tx, _ subscriptions.Subscription, p subscriptions.Period) error {
		if p.ID != period.ID {
			t.Errorf("paying period %s, want %s", p.ID, period.ID)
		}
		called++
		return nil
	}); err != nil || called != 1 {
		t.Fatalf("paying on-session: %v, called %d", err, called)
	}

	// The retry comes while the authentication is pending: no charge.
	e.card.pending = true
	p := e.periods(t, sub.ID)[0]
	e.clock.Set(p.NextAttemptAt)
	if err := e.subs.Retry(ctx, p.ID, p.Attempts); err != nil {
		t.Fatal(err)
	}
	p = e.periods(t, sub.ID)[0]
	if len(e.card.calls()) != 1 || p.Status != subscriptions.PeriodFailed || p.Attempts != 2 || !strings.HasPrefix(p.LastError, "authentication_required") {
		t.Fatalf("retry during authentication: %d charges, period %+v", len(e.card.calls()), p)
	}
	if ms := e.mails(t, u, subscriptions.MailPaymentFailed); len(ms) != 2 || !strings.Contains(ms[0].Text, link) {
		t.Fatalf("%d payment-failed emails", len(ms))
	}

	// The customer paid on the Checkout page: the failed period is paid,
	// once however often it is reported.
	settle(func(tx *sql.Tx) error { return e.subs.PeriodPaidTx(ctx, tx, p.ID, "pay_checkout") })
	settle(func(tx *sql.Tx) error { return e.subs.PeriodPaidTx(ctx, tx, p.ID, "pay_checkout") })
	after := e.get(t, sub.ID)
	p = e.periods(t, sub.ID)[0]
	if after.Status != subscriptions.StatusActive || !after.CurrentPeriodEnd.Equal(p.End) || p.Status != subscriptions.PeriodPaid ||
		p.PaymentReference != "pay_checkout" || !p.NextAttemptAt.IsZero() {
		t.Fatalf("after the on-session payment: %+v, period %+v", after, p)
	}
	if ms := e.mails(t, u, subscriptions.MailRenewed); len(ms) != 1 {
		t.Fatalf("%d renewal emails", len(ms))
	}
	if _, _, err := e.subs.AuthenticationPeriod(ctx, u.ID, sub.ID); !errors.Is(err, subscriptions.ErrNotFound) {
		t.Fatalf("link after payment: %v", err)
	}

	// Next period: never authenticated, the schedule ends the subscription
	// and releases the waiting payment.
	e.card.pending = false
	e.clock.Set(after.CurrentPeriodEnd)
	e.renew(t, sub.ID)
	next := e.periods(t, sub.ID)[1]
	settle(func(tx *sql.Tx) error {
		return e.subs.PeriodAuthenticationRequiredTx(ctx, tx, next.ID, "authentication_required")
	})
	e.card.pending = true
	for range subscriptions.RetrySchedule {
		next = e.periods(t, sub.ID)[1]
		e.clock.Set(next.NextAttemptAt)
		if err := e.subs.Retry(ctx, next.ID, next.Attempts); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.get(t, sub.ID); got.Status != subscriptions.StatusCanceled {
		t.Fatalf("after the last attempt: %s", got.Status)
	}
	if len(e.card.released) != 1 || e.card.released[0] != next.ID {
		t.Fatalf("released %v, want [%s]", e.card.released, next.ID)
	}
	if _, _, err := e.subs.AuthenticationPeriod(ctx, u.ID, sub.ID); !errors.Is(err, subscriptions.ErrNotFound) {
		t.Fatalf("link after the subscription ended: %v", err)
	}
}
