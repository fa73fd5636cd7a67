package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

var (
	subBalanceNote = regexp.MustCompile(`(?s)<p class="([^"]*)" id="subscription-balance">(.*?)</p>`)
	subTrialEnd    = regexp.MustCompile(`id="subscription-trial-end">([^<]*)<`)
)

// TestSubscriptionPageSaysTheBalanceIsShort: with card payment off, the
// plan's page says the balance must cover the first payment at the
// trial's end (and whether it is short today), but the subscription's own
// page, where the customer comes back during the trial, said nothing: the
// first charge could find the balance short unannounced. It now says the
// same (subscription.balance_trial, balance_trial_short, balance_renewal,
// the link to get credit), and, past the trial, says so of the next
// renewal when the balance is short for it. A balance that covers a
// renewal, a subscription that does not renew, card payment on: nothing.
func TestSubscriptionPageSaysTheBalanceIsShort(t *testing.T) {
	for _, tc := range []struct{ lang, trial, today, renewal, link string }{
		{"fr", "Votre solde devra couvrir le premier paiement de 9,90\u00a0€ le ", "Aujourd’hui, il manque 4,90\u00a0€ à votre solde (5,00\u00a0€).",
			"réessayons jusqu’à 3\u00a0fois dans les 7\u00a0jours qui suivent", "Nous écrire pour créditer mon solde"},
		{"en", "Your balance must cover the first payment of €9.90 on ", "Today your balance (€5.00) is short by €4.90.",
			"try again up to 3 times over the next 7 days", "Write to us to add credit"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			h := apptest.Start(t)
			trial := newPlan(t, h, "essai", 990, 14)
			pro := newPlan(t, h, "pro", 990, 0)
			form := func(planID string) url.Values {
				return url.Values{"plan_id": {planID}, "payment": {"balance"}, "accept_policy": {"default@1"},
					"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}}
			}

			// In its trial, short today: what the first payment needs and when.
			v, vc := h.User(t, account.RoleCustomer, "vera@example.fr")
			credit(t, h, v, 500)
			vc.PostForm("/lang", url.Values{"lang": {tc.lang}})
			r := vc.PostForm("/subscriptions", form(trial.ID))
			if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/subscriptions/sub_") {
				t.Fatalf("subscribe to the trial: %d %q", r.Status, r.Location)
			}
			trialPage := r.Location
			r = vc.Get(trialPage)
			n, end := subBalanceNote.FindStringSubmatch(r.Body), subTrialEnd.FindStringSubmatch(r.Body)
			if n == nil || end == nil || n[1] != "flash warning" || !strings.Contains(n[2], tc.trial+end[1]+".") ||
				!strings.Contains(n[2], tc.today) || !strings.Contains(n[2], tc.renewal) ||
				!strings.Contains(n[2], `<a href="/contact?topic=billing" id="subscription-get-credit">`+tc.link+`</a>`) {
				t.Fatalf("the trial's page does not say the balance is short for the first payment:\n%s", r.Body)
			}
			// Covered: what it must cover, no shortfall.
			credit(t, h, v, 500)
			r = vc.Get(trialPage)
			if n := subBalanceNote.FindStringSubmatch(r.Body); n == nil || n[1] != "note" || !strings.Contains(n[2], tc.trial) ||
				strings.Contains(n[2], tc.today) || strings.Contains(n[2], "subscription-get-credit") {
				t.Fatalf("with enough balance, the trial's note is %q", n)
			}

			// Past any trial: the next renewal, when the balance is short.
			a, ac := h.User(t, account.RoleCustomer, "ana@example.fr")
			credit(t, h, a, 990+500)
			ac.PostForm("/lang", url.Values{"lang": {tc.lang}})
			r = ac.PostForm("/subscriptions", form(pro.ID))
			if r.Status != http.StatusSeeOther || balanceOf(t, h, a) != 500 {
				t.Fatalf("subscribe: %d, balance %d", r.Status, balanceOf(t, h, a))
			}
			proPage := r.Location
			r = ac.Get(proPage)
			n = subBalanceNote.FindStringSubmatch(r.Body)
			if n == nil || n[1] != "flash warning" || strings.Contains(n[2], tc.trial) || !strings.Contains(n[2], tc.today) ||
				!strings.Contains(n[2], tc.renewal) || !strings.Contains(n[2], `id="subscription-get-credit"`) {
				t.Fatalf("the page does not say the balance is short for the next renewal:\n%s", r.Body)
			}
			credit(t, h, a, 500)
			if r := ac.Get(proPage); strings.Contains(r.Body, `id="subscription-balance"`) {
				t.Fatal("the shortfall is said of a balance that covers the next renewal")
			}
		})
	}

	// Card payment on: the page is as before.
	h := startWithStripe(t)
	trial := newPlan(t, h, "essai", 990, 14)
	v, vc := h.User(t, account.RoleCustomer, "vera@example.fr")
	credit(t, h, v, 500)
	r := vc.PostForm("/subscriptions", url.Values{"plan_id": {trial.ID}, "payment": {"balance"}, "accept_policy": {"default@1"},
		"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/subscriptions/sub_") {
		t.Fatalf("subscribe to the trial, card on: %d %q", r.Status, r.Location)
	}
	if r := vc.Get(r.Location); strings.Contains(r.Body, `id="subscription-balance"`) {
		t.Fatal("with card payment on, the balance's shortfall is said")
	}
}
