package subscriptions_test

import (
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/localtime"
	"comptoir/internal/subscriptions"
)

// A store in Paris counts periods on Paris's wall clock: a subscription
// taken at 00:30 on 1 March (23:30 UTC on 28 February) renews on 1 April
// at 00:30, summer time, and on 1 May, and the emails say so in both
// languages. Counted in UTC, it renewed on 28 March (29 March 00:30 in
// Paris) and on the 28th after that.
func TestRenewalLandsOnTheLocalAnniversary(t *testing.T) {
	paris, err := localtime.Load("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t, envOpts{zone: paris})
	taken := time.Date(2026, 2, 28, 23, 30, 0, 0, time.UTC)
	april := time.Date(2026, 3, 31, 22, 30, 0, 0, time.UTC) // 1 April 00:30 CEST
	may := time.Date(2026, 4, 30, 22, 30, 0, 0, time.UTC)   // 1 May 00:30 CEST
	plan := e.plan(t, subscriptions.IntervalMonth, 990, 0)
	for _, tc := range []struct{ lang, started, renewed, next string }{
		{"fr", "1er avril 2026 à 00:30 CEST", "1er avril 2026 à 00:30 CEST", "1er mai 2026 à 00:30 CEST"},
		{"en", "1 April 2026 at 00:30 CEST", "1 April 2026 at 00:30 CEST", "1 May 2026 at 00:30 CEST"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			e.clock.Set(taken)
			u := e.customer(t, tc.lang, "FR", account.CustomerConsumer, 5000)
			sub := e.start(t, start(u, plan, subscriptions.PayBalance))
			if sub.AnchorDay != 1 || !sub.CurrentPeriodEnd.Equal(april) {
				t.Fatalf("taken on 1 March in Paris: anchored on the %d, first period ends %s", sub.AnchorDay, sub.CurrentPeriodEnd)
			}
			contains(t, e.lastMail(t, u, subscriptions.MailStarted), tc.started)

			e.clock.Set(april.Add(-time.Second))
			if n, err := e.subs.RenewDue(ctx, e.clock.Now()); err != nil || n != 0 {
				t.Fatalf("RenewDue before 1 April in Paris: %d, %v", n, err)
			}
			e.clock.Set(april.Add(30 * time.Second))
			if n, err := e.subs.RenewDue(ctx, e.clock.Now()); err != nil || n != 1 {
				t.Fatalf("RenewDue on 1 April in Paris: %d, %v", n, err)
			}
			e.renew(t, sub.ID)
			got := e.get(t, sub.ID)
			if got.Status != subscriptions.StatusActive || !got.CurrentPeriodStart.Equal(april) || !got.CurrentPeriodEnd.Equal(may) {
				t.Fatalf("after the renewal: %s → %s (%s), want %s → %s", got.CurrentPeriodStart, got.CurrentPeriodEnd, got.Status, april, may)
			}
			contains(t, e.lastMail(t, u, subscriptions.MailRenewed), tc.renewed, tc.next)
		})
	}
}

// A 7-day trial taken at 10:00 in Paris a week before the clocks go forward
// ends at 10:00 on the seventh day, and the paid periods keep that time; it
// ended at 11:00 when counted in 24-hour steps.
func TestTrialEndsAtTheTimeOfDayItBegan(t *testing.T) {
	paris, err := localtime.Load("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t, envOpts{zone: paris})
	e.clock.Set(time.Date(2026, 3, 25, 9, 0, 0, 0, time.UTC)) // 10:00 CET
	plan := e.plan(t, subscriptions.IntervalMonth, 990, 7)
	u := e.customer(t, "fr", "FR", account.CustomerConsumer, 5000)
	sub := e.start(t, start(u, plan, subscriptions.PayBalance))
	want := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC) // 10:00 CEST
	if sub.Status != subscriptions.StatusTrialing || !sub.TrialEnd.Equal(want) || !sub.CurrentPeriodEnd.Equal(want) {
		t.Fatalf("trial taken at 10:00 in Paris: %s, ends %s (period %s), want %s", sub.Status, sub.TrialEnd, sub.CurrentPeriodEnd, want)
	}
	contains(t, e.lastMail(t, u, subscriptions.MailStarted), "1er avril 2026")
}
