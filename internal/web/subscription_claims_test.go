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

// subscriptionClaimInReview files, as an agent, a subscription_cancel claim
// from a message the customer wrote before the last renewal was charged:
// the engine cannot decide the money on such facts (filed_at before the
// last payment) and leaves the claim in review for an agent, billing
// stopped at the period's end. It returns the claim's id, the
// subscription and the agent.
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
	r = postJSON(c, "/api/v1/claims", `{"kind":"subscription_cancel","subscription_id":"`+sub.ID+`","choice":"period_end","source_message_id":"`+
		thread[0].ID+`"}`, h.Bearer(t, agentUser.ID))
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
// in review: the last payment goes back to where it came from (the
// balance) in full, the subscription stops now, and neither a retry with
// the same key nor a second decision refunds again. Agents could not
// decide such claims at all (not_decidable), so they stayed open forever.
func TestAgentRefundsASubscriptionClaimInReview(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	claimID, sub, agentUser := subscriptionClaimInReview(t, h, u)
	c := h.NewClient(t)
	auth := h.Bearer(t, agentUser.ID)

	// Only the last payment in full, and only refund or refused.
	for body, field := range map[string]string{
		`{"outcome":"refund","refund":{"amount":500,"currency":"EUR"}}`: "refund.amount",
		`{"outcome":"redeliver"}`: "outcome",
		`{"outcome":"refused","refund":{"amount":990,"currency":"EUR"}}`: "refund",
	} {
		r := postJSON(c, "/api/v1/claims/"+claimID+"/decision", body, auth)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"`+field+`":`) {
			t.Errorf("%s: %d %s; want 422 naming %s", body, r.Status, r.Body, field)
		}
	}
	if got := balanceOf(t, h, u); got != 5000-2*990 {
		t.Fatalf("balance after refused decisions: %d", got)
	}

	keyed := auth.Clone()
	keyed.Set("Idempotency-Key", "decide-1")
	first := postJSON(c, "/api/v1/claims/"+claimID+"/decision", `{"outcome":"refund","reason_code":"","note":"written before the renewal"}`, keyed)
	got := decodeAs[struct {
		Status   string
		Decision struct {
			Outcome, Cancel string
			Refund          struct{ Amount int64 }
		}
	}](t, first)
	if first.Status != http.StatusOK || got.Status == claims.StatusOpen || got.Decision.Outcome != "refund" || got.Decision.Cancel != "now" ||
		got.Decision.Refund.Amount != 990 {
		t.Fatalf("decision: %d %s", first.Status, first.Body)
	}
	again := postJSON(c, "/api/v1/claims/"+claimID+"/decision", `{"outcome":"refund","reason_code":"","note":"written before the renewal"}`, keyed)
	if again.Status != http.StatusOK || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: %d %s, want the first answer", again.Status, again.Body)
	}
	second := postJSON(c, "/api/v1/claims/"+claimID+"/decision", `{"outcome":"refund"}`, auth)
	if second.Status == http.StatusOK || !strings.Contains(second.Body, `"code":"over_refund"`) {
		t.Errorf("a second refund: %d %s; want over_refund", second.Status, second.Body)
	}
	if got := balanceOf(t, h, u); got != 5000-990 {
		t.Fatalf("balance %d, want %d (the last payment refunded once)", got, 5000-990)
	}
	now, err := h.App.Subscriptions.Get(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if now.Status != subscriptions.StatusCanceled {
		t.Fatalf("subscription %s after the refund, want canceled", now.Status)
	}
	refunds, _ := h.App.Claims.Refunds(ctx, claimID)
	if len(refunds) != 1 || refunds[0].Amount.Minor != 990 || refunds[0].Destination != claims.DestBalance || refunds[0].Status != claims.RefundSucceeded {
		t.Fatalf("claim refunds %+v", refunds)
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
	if got := balanceOf(t, h, u); got != 5000-2*990 {
		t.Fatalf("balance %d: a refusal moved money", got)
	}
	now, _ := h.App.Subscriptions.Get(ctx, sub.ID)
	if !now.CancelAtPeriodEnd || now.Status == subscriptions.StatusCanceled {
		t.Fatalf("subscription %s cancel_at_period_end=%v, want ending at the period's end", now.Status, now.CancelAtPeriodEnd)
	}
}

// The last payment of a card subscription goes back to the card when an
// agent refunds its claim: a card refund at Stripe for the period's
// payment, pending until Stripe confirms, and the subscription ends now.
func TestAgentRefundOfACardSubscriptionGoesBackToTheCard(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	// The customer's message comes before the payment it is about, so the
	// engine leaves the claim filed from it to an agent.
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
	if r.Status != http.StatusCreated || filed.Decision.Outcome != "review" {
		t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
	r = postJSON(api, "/api/v1/claims/"+filed.ID+"/decision", `{"outcome":"refund","refund":{"amount":990,"currency":"EUR"}}`, auth)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"cancel":"now"`) {
		t.Fatalf("decision: %d %s", r.Status, r.Body)
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
