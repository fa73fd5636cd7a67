package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/claims"
	"comptoir/internal/localtime"
	"comptoir/internal/policy"
)

// A decided claim's page says what the customer can do next, as its email
// does ("if you think it is wrong, reply"). Before, a claim refused for
// insufficient evidence told the customer "You can send more at any
// time" above no form at all (evidence is taken on open claims only) and
// no link: the page was a dead end.
func TestDecidedClaimPageShowsTheWayOn(t *testing.T) {
	for _, lang := range []string{"en", "fr"} {
		t.Run(lang, func(t *testing.T) {
			h := apptest.Start(t)
			ctx := context.Background()
			u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
			c.PostForm("/lang", url.Values{"lang": {lang}})
			o := twoProductOrder(t, h, u)
			cl, err := h.App.Claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o.ID,
				LineID: o.Lines[1].ID, Message: "Not what was described.", Actor: u.Actor()})
			if err != nil {
				t.Fatal(err)
			}
			open := c.Get("/claims/" + cl.ID)
			if strings.Contains(open.Body, `id="claim-next"`) {
				t.Fatal("an open claim's page offers to contest a decision")
			}
			_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
			r := ag.PostForm("/console/claims/"+cl.ID+"/decision", url.Values{"decision_key": {formKey(t, ag.Get("/console/claims/"+cl.ID), "decision_key")},
				"outcome": {"refused"}, "reason_code": {"insufficient_evidence"}})
			if r.Status != http.StatusSeeOther {
				t.Fatalf("decide: %d %s", r.Status, r.Body)
			}
			page := c.Get("/claims/" + cl.ID)
			mustContain(t, page, `id="claim-more-evidence"`, `href="/orders/`+o.ID+`#report"`,
				`id="claim-contest"`, `href="/contact?order=`+o.ID+`&amp;claim=`+cl.ID+`"`, `href="/legal/mediator"`)
			want := map[string]string{"en": "Think this decision is wrong?", "fr": "Vous pensez que cette décision est erronée"}[lang]
			mustContain(t, page, want)
			// The reference the customer is asked to quote, which their
			// emails give ("Your claim clm_…: our decision"), is on the page.
			mustContain(t, page, `<span id="claim-ref">`, cl.ID+"</span>")
			// The way on leads somewhere: the order page's form, the
			// Contact form with the order filled in and the message
			// quoting the claim, as the customer is asked to. Before, the
			// link carried the order only, and the customer had to find
			// and copy the claim's reference themselves.
			mustContain(t, c.Get("/orders/"+o.ID), `id="report"`)
			quote := map[string]string{"en": "About my claim " + cl.ID + ":\n", "fr": "Au sujet de ma réclamation " + cl.ID + "\u00a0:\n"}[lang]
			mustContain(t, c.Get("/contact?order="+o.ID+"&claim="+cl.ID), `value="`+o.ID+`"`, `rows="6" required maxlength="20000">`+quote+`</textarea>`)
			if page := c.Get("/contact?claim=" + url.QueryEscape("Send money to ")); strings.Contains(page.Body, "Send money") {
				t.Error("the Contact form took a message from its link")
			}
		})
	}
}

// A decided claim without evidence shows no evidence section: it said "No
// evidence yet" on a claim that can take none any more (a subscription's
// cancellation, decided as it is filed).
func TestDecidedClaimWithoutEvidenceShowsNone(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	credit(t, h, u, 5000)
	subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
	r := c.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"cancel_key": {"cck_none"}, "mode": {"period_end"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/claims/") {
		t.Fatalf("cancel: %d %q", r.Status, r.Location)
	}
	page := c.Get(r.Location)
	mustContain(t, page, `id="claim-outcome"`)
	if strings.Contains(page.Body, `id="evidence"`) || strings.Contains(page.Body, "No evidence yet") {
		t.Fatal("a decided claim without evidence shows an empty evidence section")
	}
}

// An ended subscription's page leads to the plan again, and no longer
// calls its last period "current".
func TestEndedSubscriptionLeadsToItsPlan(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	credit(t, h, u, 5000)
	subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
	mustContain(t, c.Get("/subscriptions/"+subID), "Current period")
	if r := c.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"cancel_key": {"cck_end"}, "mode": {"now"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", r.Status)
	}
	page := c.Get("/subscriptions/" + subID)
	mustContain(t, page, `id="subscribe-again"`, `href="/shop/pro"`, "Last period")
	if strings.Contains(page.Body, "Current period") {
		t.Error("an ended subscription's page speaks of its current period")
	}
	mustContain(t, c.Get("/shop/pro"), "/subscriptions")
}

// A visitor without an account reading a plan is offered to create one
// and come back to the plan, as the cart offers. The plan's page offered
// to sign in only.
func TestPlanPageOffersSignUp(t *testing.T) {
	h := apptest.Start(t)
	newPlan(t, h, "pro", 990, 0)
	c := h.NewClient(t)
	mustContain(t, c.Get("/shop/pro"), `<a href="/signup?next=/shop/pro" id="subscribe-signup">`)
	mustContain(t, c.Get("/signup?next=/shop/pro"), `name="next" value="/shop/pro"`)
	form := signupForm("new@example.fr")
	form.Set("next", "/shop/pro")
	r := c.PostForm("/signup", form)
	if r.Status != http.StatusSeeOther || r.Location != "/shop/pro" {
		t.Fatalf("sign up from the plan: %d %q", r.Status, r.Location)
	}
}

// A subscription's cancellation the customer then undid says so on its
// claim's page: the decision there still read "your subscription is
// canceled: it ends on …" while the subscription renewed, and My claims
// led to it.
func TestUndoneCancellationSaysSoOnItsClaim(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
	r := c.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"cancel_key": {"cck_end"}, "mode": {"period_end"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/claims/") {
		t.Fatalf("cancel: %d %q", r.Status, r.Location)
	}
	claimPath := r.Location
	if strings.Contains(c.Get(claimPath).Body, `id="claim-cancel-undone"`) {
		t.Fatal("a cancellation still in force is said to be undone")
	}
	if r := c.PostForm("/subscriptions/"+subID+"/undo", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("undo: %d", r.Status)
	}
	want := map[string]string{"fr": "Vous avez ensuite annulé cette résiliation\u00a0: votre abonnement continue.",
		"en": "You later undid this cancellation: your subscription continues."}
	for lang, text := range want {
		c.PostForm("/lang", url.Values{"lang": {lang}})
		mustContain(t, c.Get(claimPath), `id="claim-cancel-undone"`, text, `href="/subscriptions/`+subID+`"`)
	}
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	mustContain(t, ag.Get("/console"+claimPath), `id="claim-cancel-undone"`)
	// Stopped after all: the first claim's cancellation holds again.
	if r := c.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"cancel_key": {"cck_now"}, "mode": {"now"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("stop now: %d", r.Status)
	}
	if strings.Contains(c.Get(claimPath).Body, `id="claim-cancel-undone"`) {
		t.Error("an ended subscription's cancellation is said to be undone")
	}
}

// A subscription stopped during its free trial no longer reads "Free
// trial until" the trial's planned end, nor a last period running past
// the day it ended: it showed both, beside "Service ends" on the day
// it stopped.
func TestSubscriptionStoppedEarlyShowsWhenItEnded(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 7)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	credit(t, h, u, 5000)
	subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
	mustContain(t, c.Get("/subscriptions/"+subID), `id="subscription-trial-end"`)
	h.Clock.Advance(24 * time.Hour)
	if r := c.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"cancel_key": {"cck_now"}, "mode": {"now"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("stop now: %d", r.Status)
	}
	sub, err := h.App.Subscriptions.Get(context.Background(), subID)
	if err != nil {
		t.Fatal(err)
	}
	page := c.Get("/subscriptions/" + subID)
	ended := localtime.UTC.Time(sub.EndedAt, "en")
	mustContain(t, page, `id="subscription-period">`+localtime.UTC.Time(sub.CurrentPeriodStart, "en")+" → "+ended+"</dd>", `id="subscription-end">`+ended)
	if strings.Contains(page.Body, `id="subscription-trial-end"`) {
		t.Error("a subscription stopped during its trial still shows the trial's planned end")
	}
}
