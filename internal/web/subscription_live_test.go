package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// TestPlanPageLinksTheLiveSubscription: a customer whose subscription to a
// plan still ran (active, or cancelled for the end of its period) was
// offered the plan's whole form again, "€9.90 to pay today", and after
// ticking its boxes was refused with "You already subscribe to this plan"
// and nothing to follow: the form once more, no way to their subscription.
// One live subscription per plan and customer is the rule
// (subscriptions_one_live_per_plan); the page now says so in place of the
// form and links the subscription. Once it has ended, the form is back.
func TestPlanPageLinksTheLiveSubscription(t *testing.T) {
	for _, tc := range []struct{ lang, already, link string }{
		{"fr", "Vous êtes déjà abonné à cette formule.", "Voir mon abonnement"},
		{"en", "You already subscribe to this plan.", "See my subscription"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			h := apptest.Start(t)
			plan := newPlan(t, h, "pro", 990, 0)
			a, ac := h.User(t, account.RoleCustomer, "ana@example.fr")
			credit(t, h, a, 5000)
			ac.PostForm("/lang", url.Values{"lang": {tc.lang}})
			form := url.Values{"plan_id": {plan.ID}, "payment": {"balance"}, "accept_policy": {"default@1"},
				"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}}
			if r := ac.Get("/shop/" + plan.Slug); !strings.Contains(r.Body, `id="subscribe"`) || strings.Contains(r.Body, `id="subscribe-live"`) {
				t.Fatalf("before subscribing, the plan's page has no form:\n%s", r.Body)
			}
			r := ac.PostForm("/subscriptions", form)
			if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/subscriptions/sub_") {
				t.Fatalf("subscribe: %d %q", r.Status, r.Location)
			}
			subPage := r.Location
			live := `<p class="card" id="subscribe-live">` + tc.already + ` <a href="` + subPage + `" id="subscribe-live-link">` + tc.link + `</a></p>`
			noForm := func(what string, r apptest.Response) {
				t.Helper()
				mustContain(t, r, live)
				if strings.Contains(r.Body, `id="subscribe"`) || strings.Contains(r.Body, `id="subscribe-submit"`) {
					t.Fatalf("%s: the plan's page still offers the form:\n%s", what, r.Body)
				}
			}
			noForm("active", ac.Get("/shop/"+plan.Slug))

			// Sent anyway (an older tab): refused, with the way to it.
			form.Set("subscribe_key", "sbk_again")
			r = ac.PostForm("/subscriptions", form)
			if r.Status == http.StatusSeeOther {
				t.Fatalf("a second live subscription to one plan: %q", r.Location)
			}
			noForm("refused", r)

			// Cancelled for the end of the period: it still runs.
			if r := ac.PostForm(subPage+"/cancel", url.Values{"cancel_key": {"cck_end"}, "mode": {"period_end"}, "refund": {""}}); r.Status != http.StatusSeeOther {
				t.Fatalf("cancel at period end: %d", r.Status)
			}
			noForm("ending", ac.Get("/shop/"+plan.Slug))

			// Ended: the form again.
			if r := ac.PostForm(subPage+"/cancel", url.Values{"cancel_key": {"cck_now"}, "mode": {"now"}}); r.Status != http.StatusSeeOther {
				t.Fatalf("cancel now: %d", r.Status)
			}
			if r := ac.Get("/shop/" + plan.Slug); !strings.Contains(r.Body, `id="subscribe-submit"`) || strings.Contains(r.Body, `id="subscribe-live"`) {
				t.Fatalf("once ended, the plan's page does not offer the form:\n%s", r.Body)
			}
		})
	}
}

// TestPlanPageSaysTheTrialIsSpent: the plan's page lists "Free trial: 7
// days", and to a customer who had taken it with an earlier subscription
// said "€9.90 to pay today" with no word why: the trial comes once per
// plan. It now says so beside the schedule; a first subscriber, or a plan
// without a trial, reads no such thing.
func TestPlanPageSaysTheTrialIsSpent(t *testing.T) {
	for _, tc := range []struct{ lang, now, spent string }{
		{"fr", "à payer aujourd’hui", "L’essai gratuit n’est offert qu’une fois par formule\u00a0: vous en avez bénéficié lors d’un précédent abonnement."},
		{"en", "to pay today", "The free trial comes once per plan: you had it with an earlier subscription."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			h := apptest.Start(t)
			trial, direct := newPlan(t, h, "essai", 990, 7), newPlan(t, h, "direct", 990, 0)
			a, ac := h.User(t, account.RoleCustomer, "ana@example.fr")
			credit(t, h, a, 5000)
			ac.PostForm("/lang", url.Values{"lang": {tc.lang}})
			if r := ac.Get("/shop/" + trial.Slug); strings.Contains(r.Body, "subscribe-trial-spent") {
				t.Fatalf("a first subscriber is told the trial is spent:\n%s", r.Body)
			}
			subID := subscribeWithBalance(t, ac, h.Bearer(t, a.ID), trial.ID)
			if r := ac.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"mode": {"now"}, "cancel_key": {"cnk-1"}}); r.Status != http.StatusSeeOther {
				t.Fatalf("cancel now: %d", r.Status)
			}
			mustContain(t, ac.Get("/shop/"+trial.Slug), tc.now, `<span id="subscribe-trial-spent">`+tc.spent+`</span></p>`)

			// A plan without a trial has none to spend.
			subID = subscribeWithBalance(t, ac, h.Bearer(t, a.ID), direct.ID)
			if r := ac.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"mode": {"now"}, "cancel_key": {"cnk-2"}}); r.Status != http.StatusSeeOther {
				t.Fatalf("cancel now: %d", r.Status)
			}
			if r := ac.Get("/shop/" + direct.Slug); !strings.Contains(r.Body, tc.now) || strings.Contains(r.Body, "subscribe-trial-spent") {
				t.Fatalf("a plan without a trial says the trial is spent:\n%s", r.Body)
			}
		})
	}
}
