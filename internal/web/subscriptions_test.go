package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/money"
)

func newPlan(t *testing.T, h *apptest.Harness, slug string, price int64, trialDays int) catalog.Product {
	t.Helper()
	p, err := h.App.Catalog.Create(context.Background(), adminActor, catalog.ProductInput{
		Slug: slug, Kind: catalog.KindSubscription, NameFR: "Formule " + slug, NameEN: "Plan " + slug,
		DescriptionFR: "Chaque mois.", DescriptionEN: "Every month.", UnitPrice: money.MustNew(price, "EUR"),
		PlanInterval: catalog.IntervalMonth, TrialDays: trialDays,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// subscribeWithBalance subscribes the bearer of auth to the plan through
// the API, paid from the balance with both consent boxes ticked, and
// returns the subscription's id.
func subscribeWithBalance(t *testing.T, c *apptest.Client, auth http.Header, planID string) string {
	t.Helper()
	r := postJSON(c, "/api/v1/subscriptions", `{"plan_id":"`+planID+`","payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`, auth)
	sub := decodeAs[struct{ ID string }](t, r)
	if r.Status != http.StatusCreated || sub.ID == "" {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	return sub.ID
}

func TestSubscriptionPagesStartAndCancel(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	mustContain(t, c.Get("/shop/pro"), `id="subscribe-submit"`, "€9.90", `id="subscribe-legal"`, `href="/legal/terms"`)
	form := url.Values{"plan_id": {plan.ID}, "payment": {"balance"}, "accept_policy": {"default@1"}}
	r := c.PostForm("/subscriptions", form)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="consent-error"`) {
		t.Fatalf("subscribe without consent: %d", r.Status)
	}
	form.Set("immediate_performance", "yes")
	form.Set("withdrawal_waiver", "yes")
	r = c.PostForm("/subscriptions", form)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/subscriptions/sub_") {
		t.Fatalf("subscribe: %d %q %s", r.Status, r.Location, r.Body)
	}
	subPath := r.Location
	if balanceOf(t, h, u) != 4010 {
		t.Fatalf("balance after the first period: %d", balanceOf(t, h, u))
	}
	page := c.Get(subPath)
	mustContain(t, page, "Active", `id="mode-period-end"`, `id="mode-now"`)
	mustContain(t, c.Get("/subscriptions"), subPath)

	// Keep until the end of the period: scheduled, undoable, then undone.
	if r := c.PostForm(subPath+"/cancel", url.Values{"mode": {"period_end"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("cancel at period end: %d", r.Status)
	}
	mustContain(t, c.Get(subPath), `id="scheduled"`, `id="undo"`, `id="subscription-end"`)
	c.PostForm(subPath+"/undo", nil)
	if strings.Contains(c.Get(subPath).Body, `id="scheduled"`) {
		t.Fatal("the cancellation was not undone")
	}
	// Stop now.
	c.PostForm(subPath+"/cancel", url.Values{"mode": {"now"}})
	mustContain(t, c.Get(subPath), "Ended")
	if strings.Contains(c.Get(subPath).Body, `id="cancel-submit"`) {
		t.Fatal("an ended subscription still offers to cancel")
	}
	// Another customer sees nothing.
	_, other := h.User(t, account.RoleCustomer, "ben@example.fr")
	if r := other.Get(subPath); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's subscription: %d", r.Status)
	}
	if r := other.PostForm(subPath+"/cancel", url.Values{"mode": {"now"}}); r.Status != http.StatusNotFound {
		t.Fatalf("cancelling another customer's subscription: %d", r.Status)
	}
}

func TestSubscriptionsAPI(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 7)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	body := `{"plan_id":"` + plan.ID + `","payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`
	r := postJSON(c, "/api/v1/subscriptions", body, auth)
	if r.Status != http.StatusCreated || !strings.Contains(r.Body, `"status":"trialing"`) {
		t.Fatalf("start with a trial: %d %s", r.Status, r.Body)
	}
	var sub struct {
		ID               string
		CurrentPeriodEnd time.Time `json:"current_period_end"`
	}
	json.Unmarshal([]byte(r.Body), &sub)
	if !sub.CurrentPeriodEnd.Equal(h.Clock.Now().Add(7 * 24 * time.Hour)) {
		t.Fatalf("trial ends %v", sub.CurrentPeriodEnd)
	}
	if r := postJSON(c, "/api/v1/subscriptions", body, auth); r.Status != http.StatusConflict {
		t.Fatalf("a second subscription to the same plan: %d %s", r.Status, r.Body)
	}
	// With an Idempotency-Key a retry gets the first answer, not a 409.
	plan2 := newPlan(t, h, "team", 1990, 0)
	credit(t, h, u, 5000)
	keyed := auth.Clone()
	keyed.Set("Idempotency-Key", "sub-1")
	body2 := strings.Replace(body, plan.ID, plan2.ID, 1)
	first := postJSON(c, "/api/v1/subscriptions", body2, keyed)
	again := postJSON(c, "/api/v1/subscriptions", body2, keyed)
	if first.Status != http.StatusCreated || again.Status != http.StatusCreated || first.Body != again.Body || balanceOf(t, h, u) != 5000-1990 {
		t.Fatalf("idempotent start: %d %s / %d %s, balance %d", first.Status, first.Body, again.Status, again.Body, balanceOf(t, h, u))
	}
	if again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("replayed start's headers: %v", again.Header)
	}
	r = postJSON(c, "/api/v1/subscriptions/"+sub.ID+"/cancel", `{"mode":"period_end","refund":false}`, auth)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"cancel_at_period_end":true`) || !strings.Contains(r.Body, `"effective_at"`) {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	if r := postJSON(c, "/api/v1/subscriptions/"+sub.ID+"/cancel", `{"mode":"sometime"}`, auth); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a bad mode: %d %s", r.Status, r.Body)
	}
	other, _ := h.User(t, account.RoleCustomer, "ben@example.fr")
	if r := c.Send(http.MethodGet, "/api/v1/subscriptions/"+sub.ID, "", nil, h.Bearer(t, other.ID)); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's subscription: %d", r.Status)
	}
}

func TestCancellingInsideSevenDaysRefundsTheLastPayment(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	r := postJSON(c, "/api/v1/subscriptions", `{"plan_id":"`+plan.ID+`","payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`, auth)
	var sub struct{ ID string }
	json.Unmarshal([]byte(r.Body), &sub)
	h.Clock.Advance(3 * 24 * time.Hour)
	r = postJSON(c, "/api/v1/subscriptions/"+sub.ID+"/cancel", `{"mode":"period_end"}`, auth)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"outcome":"refund"`) || !strings.Contains(r.Body, `"cancel":"now"`) ||
		!strings.Contains(r.Body, `"status":"canceled"`) {
		t.Fatalf("cancel inside 7 days: %d %s", r.Status, r.Body)
	}
	if balanceOf(t, h, u) != 5000 {
		t.Fatalf("balance after the refund: %d", balanceOf(t, h, u))
	}
}

// Cancelling a subscription leads to the claim that records it; that page
// named the order of an order's claim but nothing of a subscription's, so
// the customer had no way from it back to the subscription it was about.
// It links to it now (staff, who have no subscription page, see its id).
func TestSubscriptionClaimLinksBackToItsSubscription(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
	r := c.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"mode": {"period_end"}, "cancel_key": {formKey(t, c.Get("/subscriptions/"+subID), "cancel_key")}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/claims/") {
		t.Fatalf("cancel: %d %q", r.Status, r.Location)
	}
	mustContain(t, c.Get(r.Location), `<a href="/subscriptions/`+subID+`" id="claim-subscription">`)
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	page := agent.Get("/console" + r.Location)
	mustContain(t, page, subID)
	if strings.Contains(page.Body, `href="/subscriptions/`+subID+`"`) {
		t.Error("the console's claim page links to the customer's subscription page")
	}
}

// My subscriptions tells an ended subscription from one that is to end:
// it read "ends 29/11/2026" ("prend fin le"), in the future tense, for a
// subscription stopped days before.
func TestMySubscriptionsSayAnEndedOneEnded(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	subPath := "/subscriptions/" + subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
	if r := c.PostForm(subPath+"/cancel", url.Values{"mode": {"period_end"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("cancel at period end: %d", r.Status)
	}
	want := map[string][2]string{"fr": {"prend fin le ", "a pris fin le "}, "en": {"ends ", "ended "}}
	list := func(lang string) string {
		t.Helper()
		c.PostForm("/lang", url.Values{"lang": {lang}})
		return c.Get("/subscriptions").Body
	}
	for lang, w := range want {
		if page := list(lang); !strings.Contains(page, w[0]) || strings.Contains(page, w[1]) {
			t.Errorf("%s, a subscription to end at its period's end does not read %q", lang, w[0])
		}
	}
	h.Clock.Advance(time.Hour)
	if r := c.PostForm(subPath+"/cancel", url.Values{"mode": {"now"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("stop now: %d", r.Status)
	}
	for lang, w := range want {
		if page := list(lang); !strings.Contains(page, w[1]) || strings.Contains(page, w[0]) {
			t.Errorf("%s, an ended subscription does not read %q:\n%s", lang, w[1], page)
		}
	}
}
