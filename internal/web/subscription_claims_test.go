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
	"comptoir/internal/desk"
	"comptoir/internal/subscriptions"
	"comptoir/internal/testwait"
)

// subscriptionClaimInReview files, as an agent, two subscription_cancel
// claims from a message the customer wrote before the last renewal was
// charged: the first refunds that renewal and stops the subscription; the
// second finds nothing left to refund, and the engine cannot decide the
// money on its facts (filed_at before the last payment), so it stays in
// review for an agent — as do claims filed so before the renewal rule
// existed. It returns the second claim's id, the subscription and the
// agent.
func subscriptionClaimInReview(t *testing.T, h *apptest.Harness, u account.User) (string, subscriptions.Subscription, account.User) {
	t.Helper()
	ctx := context.Background()
	plan := newPlan(t, h, "pro", 990, 0)
	credit(t, h, u, 5000)
	c := h.NewClient(t)
	r := postJSON(c, "/api/v1/subscriptions", `{"plan_id":"`+plan.ID+`","payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`, h.Bearer(t, u.ID))
	created := decodeAs[struct{ ID string }](t, r)
	sub, err := h.App.Subscriptions.Get(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	h.Clock.Set(sub.CurrentPeriodEnd.Add(-2 * 24 * time.Hour))
	tk, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: u.ID, Name: "Ana", Email: u.Email,
		Topic: desk.TopicSubscriptionCancel, Message: "Please cancel my subscription before it renews."})
	if err != nil {
		t.Fatal(err)
	}
	thread, _ := h.App.Desk.Thread(ctx, tk.ID, false)
	h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	if got := balanceOf(t, h, u); got != 5000-2*990 {
		t.Fatalf("balance after the renewal: %d", got)
	}
	h.Clock.Advance(24 * time.Hour)
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	file := func() apptest.Response {
		return postJSON(c, "/api/v1/claims", `{"kind":"subscription_cancel","subscription_id":"`+sub.ID+`","choice":"period_end","source_message_id":"`+
			thread[0].ID+`"}`, h.Bearer(t, agentUser.ID))
	}
	// The first filing refunds the renewal charged after the request
	// (claims.RuleRenewedAfterRequest); a second one finds nothing left
	// to refund, and the engine cannot decide on its facts.
	if r = file(); r.Status != http.StatusCreated || !strings.Contains(r.Body, claims.RuleRenewedAfterRequest) {
		t.Fatalf("first claim from the message: %d %s", r.Status, r.Body)
	}
	r = file()
	filed := decodeAs[struct {
		ID       string
		Status   string
		Decision struct{ Outcome, Rule, Cancel string }
	}](t, r)
	if r.Status != http.StatusCreated || filed.Status != claims.StatusOpen || filed.Decision.Outcome != "review" || filed.Decision.Cancel != "period_end" {
		t.Fatalf("claim from the message before the renewal: %d %s", r.Status, r.Body)
	}
	return filed.ID, sub, agentUser
}

// An agent decides, through the API, a subscription claim the engine left
// in review (here a second filing about a renewal already refunded): only
// refund or refused, a refund only of what is left of the last payment —
// nothing, so it is over_refund and no money moves — and a refusal closes
// the claim and stops its clock; a retry with the same key gets the first
// answer. Agents could not decide such claims at all (not_decidable), so
// they stayed open for ever.
func TestAgentDecidesASubscriptionClaimInReview(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	claimID, sub, agentUser := subscriptionClaimInReview(t, h, u)
	c := h.NewClient(t)
	auth := h.Bearer(t, agentUser.ID)
	for body, field := range map[string]string{
		`{"outcome":"redeliver"}`: "outcome",
		`{"outcome":"refused","refund":{"amount":990,"currency":"EUR"}}`: "refund",
		`{"outcome":"refund","refund":{"amount":-5,"currency":"EUR"}}`:   "refund.amount",
	} {
		r := postJSON(c, "/api/v1/claims/"+claimID+"/decision", body, auth)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"`+field+`":`) {
			t.Errorf("%s: %d %s; want 422 naming %s", body, r.Status, r.Body, field)
		}
	}
	if r := postJSON(c, "/api/v1/claims/"+claimID+"/decision", `{"outcome":"refund"}`, auth); r.Status == http.StatusOK ||
		!strings.Contains(r.Body, `"code":"over_refund"`) {
		t.Errorf("a refund of a payment already refunded: %d %s; want over_refund", r.Status, r.Body)
	}
	if got := balanceOf(t, h, u); got != 5000-990 {
		t.Fatalf("balance %d, want %d (the renewal refunded once)", got, 5000-990)
	}

	keyed := auth.Clone()
	keyed.Set("Idempotency-Key", "decide-1")
	first := postJSON(c, "/api/v1/claims/"+claimID+"/decision", `{"outcome":"refused","note":"already refunded"}`, keyed)
	got := decodeAs[struct {
		Status   string
		Decision struct{ Outcome string }
	}](t, first)
	if first.Status != http.StatusOK || got.Status == claims.StatusOpen || got.Decision.Outcome != "refused" {
		t.Fatalf("decision: %d %s", first.Status, first.Body)
	}
	again := postJSON(c, "/api/v1/claims/"+claimID+"/decision", `{"outcome":"refused","note":"already refunded"}`, keyed)
	if again.Status != http.StatusOK || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: %d %s, want the first answer", again.Status, again.Body)
	}
	if got := balanceOf(t, h, u); got != 5000-990 {
		t.Fatalf("balance %d after the refusal", got)
	}
	if now, err := h.App.Subscriptions.Get(ctx, sub.ID); err != nil || now.Status != subscriptions.StatusCanceled {
		t.Fatalf("subscription %s %v, want canceled", now.Status, err)
	}
	cl, _ := h.App.Claims.Get(ctx, claimID)
	if cl.Waiting() {
		t.Fatal("the claim's answer clock still runs after the agent's decision")
	}
}

// From the console, an agent refuses the refund of a subscription claim in
// review: no money moves, the subscription ends at the end of the paid
// period as the customer chose, and the claim is closed.
func TestAgentRefusesASubscriptionClaimFromTheConsole(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	claimID, sub, _ := subscriptionClaimInReview(t, h, u)
	_, agent := h.User(t, account.RoleAgent, "agent2@shop.test")
	page := agent.Get("/console/claims/" + claimID)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `id="decide"`) || strings.Contains(page.Body, `value="redeliver"`) {
		t.Fatalf("console claim page: %d, want the subscription decision form", page.Status)
	}
	r := agent.PostForm("/console/claims/"+claimID+"/decision", url.Values{"outcome": {"refused"}, "note": {"renewal was due"}})
	if r.Status != http.StatusOK && r.Status != http.StatusSeeOther {
		t.Fatalf("decide: %d %s", r.Status, r.Body)
	}
	cl, err := h.App.Claims.Get(ctx, claimID)
	if err != nil {
		t.Fatal(err)
	}
	if cl.Open() || cl.Decision.Outcome != "refused" || cl.Decision.Cancel != "period_end" || cl.Decision.Refund != nil {
		t.Fatalf("claim after the refusal: %s %+v", cl.Status, cl.Decision)
	}
	if got := balanceOf(t, h, u); got != 5000-990 {
		t.Fatalf("balance %d: a refusal moved money", got)
	}
	if now, _ := h.App.Subscriptions.Get(ctx, sub.ID); now.Status != subscriptions.StatusCanceled {
		t.Fatalf("subscription %s, want still canceled", now.Status)
	}
}

// The last payment of a card subscription goes back to the card when its
// claim refunds it (here: charged after the customer's written request to
// stop): a card refund at Stripe for the period's payment, pending until
// Stripe confirms, and the subscription ends now.
func TestSubscriptionClaimRefundOfACardPaymentGoesBackToTheCard(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	// The customer's message comes before the payment it is about.
	tk, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: u.ID, Name: "Ana", Email: u.Email,
		Topic: desk.TopicSubscriptionCancel, Message: "Do not charge me for this subscription."})
	if err != nil {
		t.Fatal(err)
	}
	thread, _ := h.App.Desk.Thread(ctx, tk.ID, false)
	h.Clock.Advance(time.Hour)
	sub := scaSubscription(t, h, u, c)
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	auth := h.Bearer(t, agentUser.ID)
	api := h.NewClient(t)
	r := postJSON(api, "/api/v1/claims", `{"kind":"subscription_cancel","subscription_id":"`+sub.ID+`","choice":"period_end","source_message_id":"`+
		thread[0].ID+`"}`, auth)
	filed := decodeAs[struct {
		ID       string
		Decision struct{ Outcome string }
	}](t, r)
	if r.Status != http.StatusCreated || filed.Decision.Outcome != "refund" || !strings.Contains(r.Body, `"cancel":"now"`) {
		t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
	refunds, _ := h.App.Claims.Refunds(ctx, filed.ID)
	if len(refunds) != 1 || refunds[0].Destination != claims.DestCard || refunds[0].Amount.Minor != 990 || refunds[0].CardRefundID == "" {
		t.Fatalf("claim refunds %+v", refunds)
	}
	testwait.Until(t, "the refund at Stripe", func() bool { return len(rec.Requests(http.MethodPost, "/v1/refunds")) == 1 })
	if got := rec.Requests(http.MethodPost, "/v1/refunds")[0].Form.Get("amount"); got != "990" {
		t.Fatalf("refund at Stripe of %s, want 990", got)
	}
	got, _ := h.App.Subscriptions.Get(ctx, sub.ID)
	if got.Status != subscriptions.StatusCanceled {
		t.Fatalf("subscription %s, want canceled", got.Status)
	}
}
