package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/localtime"
	"comptoir/internal/subscriptions"
)

var subOverdueNote = regexp.MustCompile(`(?s)<p class="flash warning" id="subscription-overdue">(.*?)</p>`)

// TestPastDueSubscriptionSaysWhatFailedAndWhen: a renewal the balance did
// not cover made the subscription past due, and the email said why, when
// the payment is tried again and to add funds before; the subscription's
// page said none of it (no next payment, no link), and the list gave as
// "Next payment" the end of the last period paid, a date gone by. The page
// now says which payment failed and why (the email's words), when it is
// tried again, with the way to add funds (the balance page with card
// payment on, the contact page without); the list gives the next attempt,
// and so does the customer's context beside a ticket in the console.
func TestPastDueSubscriptionSaysWhatFailedAndWhen(t *testing.T) {
	for _, tc := range []struct {
		lang, failed, reason, retry, next string
		card                              bool
		link                              string
	}{
		{"en", "The payment of €9.90 for the period from ", "failed: your balance was too low.", "We will try again on ", "next attempt on ",
			false, `<a href="/contact?topic=billing" id="subscription-get-credit">Write to us to add credit</a>`},
		{"fr", "Le paiement de 9,90\u00a0€ pour la période du ", "a échoué\u00a0: votre solde ne suffisait pas.", "Nous réessaierons le ", "nouvelle tentative le ",
			true, `<a href="/balance" id="subscription-add-funds">Recharger mon solde</a>`},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			var h *apptest.Harness
			if tc.card {
				h = startWithStripe(t)
			} else {
				h = apptest.Start(t)
			}
			ctx := context.Background()
			plan := newPlan(t, h, "pro", 990, 0)
			u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
			credit(t, h, u, 990) // the first period, not the second
			subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
			sub, _ := h.App.Subscriptions.Get(ctx, subID)
			paidEnd := sub.CurrentPeriodEnd
			h.Clock.Set(paidEnd)
			if err := h.App.Subscriptions.Renew(ctx, subID, paidEnd); err != nil {
				t.Fatal(err)
			}
			if sub, _ = h.App.Subscriptions.Get(ctx, subID); sub.Status != subscriptions.StatusPastDue {
				t.Fatalf("after a renewal the balance does not cover: %s", sub.Status)
			}
			ps, err := h.App.Subscriptions.Periods(ctx, subID)
			if err != nil {
				t.Fatal(err)
			}
			failed := ps[len(ps)-1]
			if failed.Status != subscriptions.PeriodFailed || failed.NextAttemptAt.IsZero() {
				t.Fatalf("the renewal's period: %+v", failed)
			}
			c = signInAgain(t, h, "ana@example.fr")
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			page := c.Get("/subscriptions/" + subID)
			n := subOverdueNote.FindStringSubmatch(page.Body)
			z := localtime.UTC
			if page.Status != http.StatusOK || n == nil ||
				!strings.Contains(n[1], tc.failed+z.Time(failed.Start, tc.lang)) || !strings.Contains(n[1], z.Time(failed.End, tc.lang)) ||
				!strings.Contains(n[1], tc.reason) || !strings.Contains(n[1], tc.retry+z.Time(failed.NextAttemptAt, tc.lang)) ||
				!strings.Contains(n[1], tc.link) {
				t.Fatalf("the past-due subscription's page does not say what failed, when it is tried again, what to do (%d):\n%s", page.Status, page.Body)
			}
			list := c.Get("/subscriptions")
			mustContain(t, list, tc.next+z.Time(failed.NextAttemptAt, tc.lang))
			if strings.Contains(list.Body, z.Time(paidEnd, tc.lang)) {
				t.Fatalf("the list gives a past date as the next payment:\n%s", list.Body)
			}

			// The agent answering the customer sees the next attempt beside
			// "Payment overdue" (in the agent's language).
			c.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"billing"}, "message": {"My payment failed."}})
			_, ac := h.User(t, account.RoleAgent, "agent@shop.test")
			ac.PostForm("/lang", url.Values{"lang": {tc.lang}})
			mustContain(t, ac.Get("/console/tickets/"+ticketOf(t, h, "ana@example.fr").ID),
				`<span class="context-retry">`+tc.next+z.Time(failed.NextAttemptAt, tc.lang)+`</span>`)

			// Paid again (the balance topped up, the retry run): no more warning.
			credit(t, h, u, 990)
			h.Clock.Set(failed.NextAttemptAt)
			if err := h.App.Subscriptions.Retry(ctx, failed.ID, failed.Attempts); err != nil {
				t.Fatal(err)
			}
			if sub, _ = h.App.Subscriptions.Get(ctx, subID); sub.Status != subscriptions.StatusActive {
				t.Fatalf("paid again: %s", sub.Status)
			}
			c = signInAgain(t, h, "ana@example.fr")
			if r := c.Get("/subscriptions/" + subID); strings.Contains(r.Body, `id="subscription-overdue"`) {
				t.Fatal("a subscription paid again still says its payment failed")
			}
		})
	}
}

var cancelNote = regexp.MustCompile(`(?s)<section class="card" id="cancel">.*?<p class="note"[^>]*>([^<]*)</p>`)

// TestCancelNoteSaysWhatIsLeftToKeep: the cancel form said "Choose whether
// to keep the service until the end of the period already paid" in a free
// trial, where nothing was paid, and past due, where nothing is left to
// keep and the form offers no choice (stop now only). It now says the
// trial is what may be kept, and past due that the subscription stops at
// once; a paid period running keeps the sentence.
func TestCancelNoteSaysWhatIsLeftToKeep(t *testing.T) {
	for _, tc := range []struct{ lang, trial, pastDue, paid string }{
		{"en", "until the end of the free trial.", "Billing stops at once, and so does the subscription", "until the end of the period already paid."},
		{"fr", "jusqu’à la fin de l’essai gratuit.", "La facturation s’arrête immédiatement, et l’abonnement avec elle", "jusqu’à la fin de la période déjà payée."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			h := apptest.Start(t)
			ctx := context.Background()
			trial := newPlan(t, h, "essai", 990, 14)
			plan := newPlan(t, h, "pro", 990, 0)
			u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
			credit(t, h, u, 990)
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			auth := h.Bearer(t, u.ID)
			note := func(subID string) string {
				t.Helper()
				n := cancelNote.FindStringSubmatch(c.Get("/subscriptions/" + subID).Body)
				if n == nil {
					t.Fatalf("no cancel note on %s", subID)
				}
				return n[1]
			}
			trialID := subscribeWithBalance(t, c, auth, trial.ID)
			if n := note(trialID); !strings.Contains(n, tc.trial) || strings.Contains(n, tc.paid) {
				t.Errorf("in the trial, the cancel note says %q", n)
			}
			subID := subscribeWithBalance(t, c, auth, plan.ID)
			if n := note(subID); !strings.Contains(n, tc.paid) {
				t.Errorf("a paid period running, the cancel note says %q", n)
			}
			sub, _ := h.App.Subscriptions.Get(ctx, subID)
			h.Clock.Set(sub.CurrentPeriodEnd)
			if err := h.App.Subscriptions.Renew(ctx, subID, sub.CurrentPeriodEnd); err != nil {
				t.Fatal(err)
			}
			c = signInAgain(t, h, "ana@example.fr")
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			if n := note(subID); !strings.Contains(n, tc.pastDue) || strings.Contains(n, tc.paid) {
				t.Errorf("past due, the cancel note says %q", n)
			}
		})
	}
}

// TestSubscribeFormSaysSubscribingAcceptsTheTerms: the subscribe form said
// "By paying, you accept our terms of sale" (the cart's words) above
// "Nothing to pay today" for a plan with a free trial, and a "Subscribe"
// button: nothing is paid then, subscribing is what accepts them. It now
// says "By subscribing" ("En vous abonnant").
func TestSubscribeFormSaysSubscribingAcceptsTheTerms(t *testing.T) {
	h := apptest.Start(t)
	newPlan(t, h, "essai", 990, 14)
	_, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	for _, tc := range []struct{ lang, want, paying string }{
		{"en", "By subscribing, you accept our terms of sale:", "By paying"},
		{"fr", "En vous abonnant, vous acceptez nos conditions générales de vente\u00a0:", "En payant"},
	} {
		c.PostForm("/lang", url.Values{"lang": {tc.lang}})
		page := c.Get("/shop/essai")
		mustContain(t, page, `id="subscribe-terms">`+tc.want, `id="subscribe-schedule"`)
		if strings.Contains(page.Body, tc.paying) {
			t.Errorf("%s: the subscribe form says %q", tc.lang, tc.paying)
		}
	}
}
