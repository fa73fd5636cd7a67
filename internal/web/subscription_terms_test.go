package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/legal"
	"comptoir/internal/subscriptions"
)

// The subscribe form sends the terms of sale version shown; a stale one is
// refused in the visitor's language with nothing charged, the current one
// is recorded with the subscription's consent. The API, which sends no
// terms version, still subscribes and records the version in force.
func TestSubscribeRecordsTheTermsInForce(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	if _, err := h.App.Legal.SaveDraft(ctx, adminActor, legal.Terms, "# CGV\nv2", "# Terms\nv2"); err != nil {
		t.Fatal(err)
	}
	if err := h.App.Legal.Publish(ctx, adminActor, legal.Terms, 2); err != nil {
		t.Fatal(err)
	}
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	for _, lang := range []struct{ code, want string }{{"en", "terms of sale have changed"}, {"fr", "conditions générales de vente ont changé"}} {
		c.PostForm("/lang", url.Values{"lang": {lang.code}})
		page := c.Get("/shop/pro")
		if m := acceptTerms.FindStringSubmatch(page.Body); m == nil || m[1] != "terms@2" {
			t.Fatalf("accept_terms on the product page: %v", m)
		}
		mustContain(t, page, `id="subscribe-terms"`, `<a href="/legal/terms?version=terms%402" class="docref">`, `<a href="/policy?version=default%401" class="docref">`)
		mustShowNoVersionID(t, lang.code+" product page", page)
		form := url.Values{"plan_id": {plan.ID}, "payment": {"balance"}, "accept_policy": {"default@1"}, "accept_terms": {"terms@1"},
			"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}}
		r := c.PostForm("/subscriptions", form)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="subscribe-error"`) || !strings.Contains(r.Body, lang.want) {
			t.Fatalf("stale terms (%s): %d", lang.code, r.Status)
		}
		if balanceOf(t, h, u) != 5000 {
			t.Fatalf("stale terms charged: %d", balanceOf(t, h, u))
		}
	}
	if subs, _, _ := h.App.Subscriptions.List(ctx, subscriptions.ListFilter{CustomerID: u.ID}); len(subs) != 0 {
		t.Fatalf("stale terms started %d subscriptions", len(subs))
	}
	form := url.Values{"plan_id": {plan.ID}, "payment": {"balance"}, "accept_policy": {"default@1"}, "accept_terms": {"terms@2"},
		"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}}
	r := c.PostForm("/subscriptions", form)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/subscriptions/sub_") {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	sub, err := h.App.Subscriptions.Get(ctx, strings.TrimPrefix(r.Location, "/subscriptions/"))
	if err != nil || sub.Consent.TermsVersion != "terms@2" || sub.PolicyVersion != "default@1" {
		t.Fatalf("subscription consent: %+v, %v", sub.Consent, err)
	}
	for _, lang := range []string{"fr", "en"} {
		c.PostForm("/lang", url.Values{"lang": {lang}})
		page := c.Get(r.Location)
		mustShowNoVersionID(t, lang+" subscription page", page)
		mustContain(t, page, `id="subscription-policy"><a href="/policy?version=default%401" class="docref">`)
	}

	// The API keeps its shape: no terms version sent, the one in force is
	// recorded.
	plan2 := newPlan(t, h, "team", 990, 0)
	r = postJSON(h.NewClient(t), "/api/v1/subscriptions", `{"plan_id":"`+plan2.ID+`","payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`,
		h.Bearer(t, u.ID))
	if r.Status != http.StatusCreated || strings.Contains(r.Body, "terms_version") {
		t.Fatalf("API subscribe: %d %s", r.Status, r.Body)
	}
	subs, _, _ := h.App.Subscriptions.List(ctx, subscriptions.ListFilter{CustomerID: u.ID})
	for _, s := range subs {
		if s.Consent.TermsVersion != "terms@2" {
			t.Fatalf("subscription %s records terms %q", s.ID, s.Consent.TermsVersion)
		}
	}
	if len(subs) != 2 {
		t.Fatalf("%d subscriptions", len(subs))
	}
}
