package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/testwait"
	"comptoir/internal/web"
)

// raceKey sends second under header's Idempotency-Key and holds it on the
// server right after its lookup found the key unused; sends first (same
// key, another body) to its answer; then lets second go on, which now runs
// its effect beside what first did. It returns both answers.
func raceKey(t *testing.T, h *apptest.Harness, c *apptest.Client, path string, header http.Header, first, second string) (a, b apptest.Response) {
	t.Helper()
	looked, release := make(chan struct{}), make(chan struct{})
	web.SetAfterKeyLookup(h.App.Web, func(r *http.Request) {
		if r.Header.Get("X-Test-Held") != "" {
			close(looked)
			<-release
		}
	})
	defer web.SetAfterKeyLookup(h.App.Web, nil)
	held := header.Clone()
	held.Set("X-Test-Held", "1")
	answered := make(chan apptest.Response, 1)
	go func() { answered <- postJSON(c, path, second, held) }()
	select {
	case <-looked:
	case <-time.After(testwait.Default):
		t.Fatalf("%s: the second request never looked its key up", path)
	}
	a = postJSON(c, path, first, header)
	close(release)
	select {
	case b = <-answered:
	case <-time.After(testwait.Default):
		t.Fatalf("%s: the second request never answered", path)
	}
	return a, b
}

// A keyed API request sent with another body beside its key's first use
// (both looked the key up while it was unused) and failing on what that
// use did (the balance it spent, the claim it opened, the subscription it
// started or cancelled) answered its own failure (422 insufficient_balance,
// 409 claim_already_open, already_subscribed…), where the same request a
// moment later is refused as reusing the key. Each keyed route now answers
// so, as the checkout does
// (TestCheckoutFailedBesideItsKeysFirstUseAnswersAsAfterIt).
func TestKeyedRequestFailedBesideItsKeysFirstUseAnswersAsAfterIt(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	reused := func(t *testing.T, a, b apptest.Response, wantFirst int) {
		t.Helper()
		if a.Status != wantFirst {
			t.Fatalf("first use of the key: %d %s", a.Status, a.Body)
		}
		if e := decodeAs[apiErr](t, b); b.Status != http.StatusUnprocessableEntity || e.Error.Code != "idempotency_key_reused" {
			t.Errorf("another body beside the key's first use: %d %s; want 422 idempotency_key_reused", b.Status, b.Body)
		}
	}

	t.Run("balance debit", func(t *testing.T) {
		u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
		admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
		credit(t, h, u, 1000)
		keyed := h.Bearer(t, admin.ID)
		keyed.Set("Idempotency-Key", "debit-race")
		debit := func(minor string) string {
			return `{"customer_id":"` + u.ID + `","amount":{"amount":-` + minor + `,"currency":"EUR"},"reason":"Correction"}`
		}
		a, b := raceKey(t, h, c, "/api/v1/balance/credits", keyed, debit("800"), debit("500"))
		reused(t, a, b, http.StatusCreated)
		if got := balanceOf(t, h, u); got != 200 {
			t.Errorf("balance %d, want 200 (one debit)", got)
		}
	})

	t.Run("claim filing", func(t *testing.T) {
		u, _ := h.User(t, account.RoleCustomer, "ben@example.fr")
		o := buyAndDeliver(t, h, u, 40)
		keyed := h.Bearer(t, u.ID)
		keyed.Set("Idempotency-Key", "claim-race")
		body := `{"kind":"non_delivery","order_id":"` + o.ID + `","message":"Only 40 of 100"}`
		a, b := raceKey(t, h, c, "/api/v1/claims", keyed, body, strings.Replace(body, "Only", "Just", 1))
		reused(t, a, b, http.StatusCreated)
	})

	t.Run("subscription start and cancel", func(t *testing.T) {
		plan := newPlan(t, h, "pro", 990, 0)
		u, _ := h.User(t, account.RoleCustomer, "cleo@example.fr")
		credit(t, h, u, 5000)
		keyed := h.Bearer(t, u.ID)
		keyed.Set("Idempotency-Key", "subscribe-race")
		body := `{"plan_id":"` + plan.ID + `","payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`
		// The same request, its fields in another order: another body.
		reordered := `{"payment":"balance","plan_id":"` + plan.ID + `","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`
		a, b := raceKey(t, h, c, "/api/v1/subscriptions", keyed, body, reordered)
		reused(t, a, b, http.StatusCreated)
		sub := decodeAs[struct{ ID string }](t, a)

		keyed.Set("Idempotency-Key", "cancel-race")
		a, b = raceKey(t, h, c, "/api/v1/subscriptions/"+sub.ID+"/cancel", keyed, `{"mode":"now","refund":true}`, `{"mode":"period_end","refund":false}`)
		reused(t, a, b, http.StatusOK)
	})
}
