package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/localtime"
)

// An agent deciding a claim sees whose it is: the customer's name and
// address, balance, orders, subscriptions and other claims beside it, as on
// a ticket, and the message headed as the customer's. Before, the console's
// claim page named nobody and headed the customer's words "Your message",
// as if the agent had written them. The customer's own page is unchanged.
func TestConsoleClaimShowsWhoseItIs(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	o, claimID := fileWaitingClaim(t, h, u, c)
	_, agent := h.User(t, account.RoleAgent, "agent@example.fr")
	agent.PostForm("/lang", url.Values{"lang": {"en"}})

	page := agent.Get("/console/claims/" + claimID)
	mustContain(t, page, `id="customer-context"`, u.Name+` &lt;ana@example.fr&gt;`, `id="context-balance"`,
		`<a href="/console/orders/`+o.ID+`">`, `<h2>The customer’s message</h2>`)
	if strings.Contains(page.Body, "Your message") {
		t.Fatal("the console's claim page calls the customer's message the agent's")
	}
	agent.PostForm("/lang", url.Values{"lang": {"fr"}})
	mustContain(t, agent.Get("/console/claims/"+claimID), `<h2>Message du client</h2>`, `aria-label="Client"`)

	mine := c.Get("/claims/" + claimID)
	mustContain(t, mine, `<h2>Your message</h2>`)
	if strings.Contains(mine.Body, `id="customer-context"`) {
		t.Fatal("the customer's claim page shows the agents' customer panel")
	}
}

// The admin's home said the settings "will be managed here", and its link
// to everyone's invoices, like that page's heading, said "My invoices".
func TestAdminPagesSayWhatTheyAre(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@example.fr")
	_, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	for _, c := range []*apptest.Client{admin, customer} {
		c.PostForm("/lang", url.Values{"lang": {"en"}})
	}
	home := admin.Get("/admin")
	mustContain(t, home, `<a href="/invoices">All invoices and credit notes</a>`)
	if strings.Contains(home.Body, "will be managed") || strings.Contains(home.Body, "My invoices") {
		t.Fatalf("admin home:\n%s", home.Body)
	}
	mustContain(t, admin.Get("/invoices"), `<h1>All invoices and credit notes</h1>`)
	mustContain(t, customer.Get("/invoices"), `<h1>My invoices</h1>`)
	admin.PostForm("/lang", url.Values{"lang": {"fr"}})
	mustContain(t, admin.Get("/admin"), `<a href="/invoices">Toutes les factures et tous les avoirs</a>`, `Le fonctionnement de la boutique`)
}

// The product form showed every type's fields in one column: a service's
// form asked for a download link lifetime and a billing period, with no
// word on which fields apply. Each type's fields now stand in a fieldset
// named for it, in the admin's language, without script.
func TestProductFormGroupsFieldsByType(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@example.fr")
	admin.PostForm("/lang", url.Values{"lang": {"en"}})
	page := admin.Get("/admin/products/new").Body
	groups := map[string][]string{
		"service":      {"min_quantity", "max_quantity", "processing_hours"},
		"digital":      {"digital_delivery", "file_key", "download_hours", "file"},
		"subscription": {"plan_interval", "trial_days"},
	}
	legends := map[string]string{"service": "For a service delivered over time", "digital": "For a digital product", "subscription": "For a subscription"}
	for group := range groups {
		start := strings.Index(page, `<fieldset class="kind-fields" id="fields-`+group+`">`)
		if start < 0 {
			t.Fatalf("no fieldset for %s:\n%s", group, page)
		}
		set := page[start : start+strings.Index(page[start:], "</fieldset>")]
		if !strings.Contains(set, "<legend>"+legends[group]+"</legend>") {
			t.Errorf("%s fieldset's legend: %s", group, set)
		}
		for other, fields := range groups {
			for _, f := range fields {
				if in := strings.Contains(set, `id="`+f+`"`); in != (other == group) {
					t.Errorf("field %s in the %s fieldset: %v", f, group, in)
				}
			}
		}
	}
	admin.PostForm("/lang", url.Values{"lang": {"fr"}})
	mustContain(t, admin.Get("/admin/products/new"), "<legend>Pour un abonnement</legend>")
}

// The order lists (the customer's and the console's) named no product: a
// row said only the order's id and drew an unlabelled bar per line. Each
// line now shows its name and how much of it was delivered.
func TestOrderListsSayWhatWasBought(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	o := buyAndDeliver(t, h, u, 40)
	_, agent := h.User(t, account.RoleAgent, "agent@example.fr")
	agent.PostForm("/lang", url.Values{"lang": {"en"}})
	name := o.Lines[0].Name
	for path, client := range map[string]*apptest.Client{"/orders": c, "/console/orders": agent} {
		mustContain(t, client.Get(path), `<th>Products and progress</th>`, `<span lang="en">`+name+`</span>`, "40 of 100 delivered")
	}
}

// A refused checkout says everything the form shows wrong at once. The
// order service stops at its first problem, so a buyer who left the
// policy box and both consent boxes unticked, with a balance below the
// total, was told of the policy box, then of the consent, then of the
// balance, one submit after another.
func TestRefusedCheckoutSaysEveryProblemAtOnce(t *testing.T) {
	h := apptest.Start(t)
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 500)
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
	form := checkoutForm(t, c.Get("/cart"))
	for _, box := range []string{"accept_policy", "immediate_performance", "withdrawal_waiver"} {
		form.Del(box)
	}
	r := c.PostForm("/checkout", form)
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("checkout: %d, want 422", r.Status)
	}
	mustContain(t, r, `id="accept_policy-error"`, `id="consent-error"`, `id="payment-error"`)
	// With the boxes ticked, only the balance is left to say.
	r = c.PostForm("/checkout", checkoutForm(t, c.Get("/cart")))
	mustContain(t, r, `id="payment-error"`)
	if strings.Contains(r.Body, `id="consent-error"`) || strings.Contains(r.Body, `id="accept_policy-error"`) {
		t.Fatalf("boxes ticked, still said unticked:\n%s", r.Body)
	}
	if balanceOf(t, h, u) != 500 {
		t.Fatal("a refused checkout charged the balance")
	}
}

// The subscribe form said nothing of when the customer pays: a plan with a
// free trial charged nothing today and the price at the trial's end, one
// a customer had taken before charged at once (the trial comes once per
// plan), and the page said neither; nor did the subscription's page say
// when the next payment falls. Both now say it, in the customer's
// language.
func TestSubscribeFormSaysWhenThePaymentsFall(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "veille", 990, 7)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	// The harness's store is on UTC: the trial ends 7 days on, at the
	// same time of day.
	first := localtime.UTC.Time(h.Clock.Now().Add(7*24*time.Hour), "en")
	mustContain(t, c.Get("/shop/"+plan.Slug),
		`<p id="subscribe-schedule">Nothing to pay today. First payment of €9.90 on `+first+`, then €9.90 per month until you stop.</p>`)
	c.PostForm("/lang", url.Values{"lang": {"fr"}})
	mustContain(t, c.Get("/shop/"+plan.Slug), `Rien à payer aujourd’hui. Premier paiement de 9,90`)
	// The subscription's page says when the next payment falls, and how
	// (here the trial's end, from the balance); once its end is
	// scheduled, nothing more is to be paid, and it says no more.
	subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
	mustContain(t, c.Get("/subscriptions/"+subID), `<dt>Prochain paiement</dt><dd id="subscription-next">9,90`, `, depuis votre solde</dd>`)
	if r := c.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"mode": {"period_end"}, "cancel_key": {"cnk-1"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("cancel at the period's end: %d %s", r.Status, r.Body)
	}
	if r := c.Get("/subscriptions/" + subID); strings.Contains(r.Body, "subscription-next") {
		t.Fatalf("a subscription ending at its period's end still shows a next payment:\n%s", r.Body)
	}
	// Taken once, the trial is spent: the next subscription, once this one
	// has ended, pays at once.
	if r := c.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"mode": {"now"}, "cancel_key": {"cnk-2"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("cancel now: %d %s", r.Status, r.Body)
	}
	mustContain(t, c.Get("/shop/"+plan.Slug), `<p id="subscribe-schedule">9,90`, `à payer aujourd’hui, puis 9,90`)
	// Signed out, the page asks to sign in and says nothing of a schedule.
	if r := h.NewClient(t).Get("/shop/" + plan.Slug); strings.Contains(r.Body, "subscribe-schedule") {
		t.Fatal("a visitor was shown a payment schedule")
	}
}

// Cancelling a subscription still in its free trial offered, ticked, to
// "refund my last payment", when nothing had been paid. The box is shown
// only when there is a payment the policy could refund.
func TestCancelFormOffersNoRefundOfATrial(t *testing.T) {
	h := apptest.Start(t)
	trial, paid := newPlan(t, h, "essai", 990, 7), newPlan(t, h, "direct", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	page := c.Get("/subscriptions/" + subscribeWithBalance(t, c, h.Bearer(t, u.ID), trial.ID))
	mustContain(t, page, `id="cancel-submit"`)
	if strings.Contains(page.Body, `id="refund-requested"`) {
		t.Fatal("a trial's cancel form offers to refund a payment never made")
	}
	mustContain(t, c.Get("/subscriptions/"+subscribeWithBalance(t, c, h.Bearer(t, u.ID), paid.ID)), `id="refund-requested"`)
}
