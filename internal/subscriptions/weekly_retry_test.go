package subscriptions_test

import (
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/localtime"
	"comptoir/internal/subscriptions"
)

// A weekly plan is retried inside the week it charges: after one, three and
// six days, not seven. A last retry that succeeds pays for the week the
// customer is in, and the next week is charged on its usual day. Retried
// at seven days, the payment bought a week already over and the next one
// was charged the minute after.
func TestWeeklyRetriesFallInsideTheWeek(t *testing.T) {
	paris, err := localtime.Load("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t, envOpts{zone: paris})
	plan := e.plan(t, subscriptions.IntervalWeek, 990, 0)
	day := 24 * time.Hour
	for _, tc := range []struct {
		lang  string
		dates []string // the next attempt, as each payment-failed email says
	}{
		{"fr", []string{"8 février 2026 à 11:00 CET", "10 février 2026 à 11:00 CET", "13 février 2026 à 11:00 CET"}},
		{"en", []string{"8 February 2026 at 11:00 CET", "10 February 2026 at 11:00 CET", "13 February 2026 at 11:00 CET"}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			e.clock.Set(t0)
			u := e.customer(t, tc.lang, "FR", account.CustomerConsumer, 990)
			sub := e.start(t, start(u, plan, subscriptions.PayBalance))
			due := sub.CurrentPeriodEnd // 7 February, 11:00 in Paris
			end := due.Add(7 * day)
			if !due.Equal(t0.Add(7 * day)) {
				t.Fatalf("first week ends %s", due)
			}
			e.clock.Set(due)
			e.renew(t, sub.ID) // the balance is empty: past due
			wantNext := []time.Time{due.Add(day), due.Add(3 * day), end.Add(-day)}
			for i, next := range wantNext {
				ps := e.periods(t, sub.ID)
				p := ps[len(ps)-1]
				if p.Status != subscriptions.PeriodFailed || p.Attempts != i+1 || !p.NextAttemptAt.Equal(next) {
					t.Fatalf("after attempt %d: next attempt %s, want %s (%+v)", i+1, p.NextAttemptAt, next, p)
				}
				contains(t, e.lastMail(t, u, subscriptions.MailPaymentFailed), tc.dates[i])
				if i == len(wantNext)-1 {
					e.credit(t, u, 990) // in time for the last retry
				}
				e.clock.Set(next)
				if err := e.subs.Retry(ctx, p.ID, i+1); err != nil {
					t.Fatal(err)
				}
			}
			got := e.get(t, sub.ID)
			if got.Status != subscriptions.StatusActive || !got.CurrentPeriodStart.Equal(due) || !got.CurrentPeriodEnd.Equal(end) {
				t.Fatalf("after the last retry paid: %s → %s (%s)", got.CurrentPeriodStart, got.CurrentPeriodEnd, got.Status)
			}
			// The week paid still has a day to run: nothing is due now.
			if n, err := e.subs.RenewDue(ctx, e.clock.Now()); err != nil || n != 0 {
				t.Fatalf("RenewDue right after the late payment: %d, %v", n, err)
			}
			e.clock.Set(end)
			if n, err := e.subs.RenewDue(ctx, e.clock.Now()); err != nil || n != 1 {
				t.Fatalf("RenewDue at the end of the week paid: %d, %v", n, err)
			}
			e.renew(t, sub.ID) // the balance is empty again: a new week of retries
		})
	}
}
