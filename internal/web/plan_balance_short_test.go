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
	planShortNote = regexp.MustCompile(`(?s)<p class="flash warning" role="status" id="subscribe-short">(.*?)</p>`)
	planTrialNote = regexp.MustCompile(`(?s)<p class="([^"]*)" id="subscribe-trial-balance">(.*?)</p>`)
	scheduleDate  = regexp.MustCompile(`id="subscribe-schedule">[^<]*? (?:on|le) ([^<]*?), (?:then|puis)`)
)

// TestPlanPageSaysTheBalanceIsShortBeforeSubscribing: with card payment
// off, a plan's page offered "Subscribe" to a customer whose balance
// could not pay the first period, to be refused once sent. As the cart
// does, it says before what the balance lacks and how to get credit, and
// offers no button. With a free trial the first payment comes at the
// trial's end: the page does not refuse, but says the balance must cover
// it on that day, that it is short by so much today, and what happens
// when a payment finds the balance short (retried on schedule, then the
// subscription canceled: subscriptions.RetrySchedule). Card payment on,
// the page is as before.
func TestPlanPageSaysTheBalanceIsShortBeforeSubscribing(t *testing.T) {
	for _, tc := range []struct{ lang, short, link, trial, today, renewal string }{
		{"fr", "il manque 4,90", "Nous écrire pour créditer mon solde", "Votre solde devra couvrir le premier paiement de 9,90\u00a0€ le ",
			"Aujourd’hui, il manque 4,90\u00a0€ à votre solde (5,00\u00a0€).", "réessayons jusqu’à 3\u00a0fois dans les 7\u00a0jours qui suivent\u00a0; si aucune tentative n’aboutit, l’abonnement est résilié."},
		{"en", "it is short by €4.90", "Write to us to add credit", "Your balance must cover the first payment of €9.90 on ",
			"Today your balance (€5.00) is short by €4.90.", "try again up to 3 times over the next 7 days; if none succeeds, the subscription is canceled."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			h := apptest.Start(t)
			newPlan(t, h, "pro", 990, 0)
			trial := newPlan(t, h, "essai", 990, 14)

			// Due now, the balance short: what it lacks, a way to get
			// credit, no button.
			u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
			credit(t, h, u, 500)
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			r := c.Get("/shop/pro")
			m := planShortNote.FindStringSubmatch(r.Body)
			if m == nil || !strings.Contains(m[1], tc.short) || !strings.Contains(m[1], `<a href="/contact?topic=billing" id="subscribe-get-credit">`+tc.link+`</a>`) {
				t.Fatalf("the shortfall is not said before subscribing:\n%s", r.Body)
			}
			if strings.Contains(r.Body, `id="subscribe-submit"`) {
				t.Fatal("a Subscribe button that can only be refused is offered")
			}
			credit(t, h, u, 500)
			r = c.Get("/shop/pro")
			mustContain(t, r, `id="subscribe-submit"`)
			if strings.Contains(r.Body, `id="subscribe-short"`) || strings.Contains(r.Body, `id="subscribe-trial-balance"`) {
				t.Fatal("the shortfall is said of a balance that covers the first payment")
			}

			// With a trial: the button, and what the balance must cover
			// on the trial's last day.
			v, vc := h.User(t, account.RoleCustomer, "vera@example.fr")
			credit(t, h, v, 500)
			vc.PostForm("/lang", url.Values{"lang": {tc.lang}})
			r = vc.Get("/shop/essai")
			mustContain(t, r, `id="subscribe-submit"`)
			n, d := planTrialNote.FindStringSubmatch(r.Body), scheduleDate.FindStringSubmatch(r.Body)
			if n == nil || d == nil || !strings.Contains(n[2], tc.trial+d[1]+".") || !strings.Contains(n[2], tc.today) ||
				!strings.Contains(n[2], tc.renewal) || !strings.Contains(n[2], `id="subscribe-get-credit"`) || n[1] != "flash warning" {
				t.Fatalf("the trial's page does not say what the balance must cover and when:\n%s", r.Body)
			}
			if strings.Contains(r.Body, `id="subscribe-short"`) {
				t.Fatal("a trial is refused for a balance short today")
			}
			credit(t, h, v, 500)
			r = vc.Get("/shop/essai")
			if n := planTrialNote.FindStringSubmatch(r.Body); n == nil || n[1] != "note" || strings.Contains(n[2], tc.today) || strings.Contains(n[2], "subscribe-get-credit") {
				t.Fatalf("with enough balance, the trial's note is %q", n)
			}
			form := url.Values{"plan_id": {trial.ID}, "payment": {"balance"}, "accept_policy": {"default@1"},
				"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}}
			if r := vc.PostForm("/subscriptions", form); r.Status != http.StatusSeeOther || balanceOf(t, h, v) != 1000 {
				t.Fatalf("subscribing to the trial: %d, balance %d\n%s", r.Status, balanceOf(t, h, v), r.Body)
			}
		})
	}
	// Card payment on: the card pays what the balance does not.
	h := startWithStripe(t)
	newPlan(t, h, "pro", 990, 0)
	newPlan(t, h, "essai", 990, 14)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 500)
	for _, page := range []string{"/shop/pro", "/shop/essai"} {
		r := c.Get(page)
		mustContain(t, r, `id="subscribe-submit"`)
		if strings.Contains(r.Body, `id="subscribe-short"`) || strings.Contains(r.Body, `id="subscribe-trial-balance"`) {
			t.Fatalf("%s: with card payment on, the balance's shortfall is said", page)
		}
	}
}
