package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/desk"
	"comptoir/internal/subscriptions"
)

// POLICY.md subscription_cancel: "Future billing always stops: no renewal is
// charged after the request." A customer who asked the desk in writing to
// stop, and whose subscription renewed before an agent got to the message:
// the agent files the claim from that message (API.md: the message sets
// filed_at), and the renewal charged after it is refunded in full, however
// long the agent took. It used to be decided facts.incomplete: billing
// stopped, the renewal stayed charged, and no agent could decide the claim.
func TestRenewalChargedAfterAWrittenRequestToStopIsRefunded(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	plan := newPlan(t, h, "pro", 990, 0)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	credit(t, h, u, 5000)
	c := h.NewClient(t)
	r := postJSON(c, "/api/v1/subscriptions", `{"plan_id":"`+plan.ID+`","payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`, h.Bearer(t, u.ID))
	created := decodeAs[struct{ ID string }](t, r)
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	sub, err := h.App.Subscriptions.Get(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Three weeks in, the customer writes to the desk to stop.
	h.Clock.Advance(21 * 24 * time.Hour)
	tk, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: u.ID, Name: "Ana", Email: "ana@example.fr",
		Topic: desk.TopicSubscriptionCancel, Message: "Please stop my subscription, I do not want it any more."})
	if err != nil {
		t.Fatal(err)
	}
	thread, _ := h.App.Desk.Thread(ctx, tk.ID, false)
	// Nobody answers before the period ends: the renewal is charged.
	h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	if got := balanceOf(t, h, u); got != 5000-990-990 {
		t.Fatalf("balance after the renewal %d", got)
	}
	// Ten days later (outside a 7-day refund window counted from the
	// renewal), an agent files the cancellation from the message.
	h.Clock.Advance(10 * 24 * time.Hour)
	r = postJSON(c, "/api/v1/claims", `{"kind":"subscription_cancel","subscription_id":"`+sub.ID+`","choice":"period_end","source_message_id":"`+thread[0].ID+`"}`,
		h.Bearer(t, agentUser.ID))
	got := decodeAs[struct {
		Status   string
		FiledAt  time.Time `json:"filed_at"`
		Decision struct {
			Outcome string
			Cancel  string
			Rule    string
			Refund  *struct{ Amount int64 }
		}
	}](t, r)
	if r.Status != http.StatusCreated || !got.FiledAt.Equal(thread[0].CreatedAt) || got.Decision.Outcome != "refund" || got.Decision.Refund == nil ||
		got.Decision.Refund.Amount != 990 || got.Decision.Cancel != "now" || got.Decision.Rule != "subscription_cancel.renewed_after_request" {
		t.Fatalf("claim from the message: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(r.Body, "before its renewal") && !strings.Contains(r.Body, "avant que son renouvellement") {
		t.Errorf("the reason does not say why: %s", r.Body)
	}
	if b := balanceOf(t, h, u); b != 5000-990 {
		t.Fatalf("balance %d, want the renewal back (%d)", b, 5000-990)
	}
	after, _ := h.App.Subscriptions.Get(ctx, sub.ID)
	if after.Status != subscriptions.StatusCanceled {
		t.Fatalf("subscription after the claim: %+v", after)
	}
	// A retry of the same filing refunds nothing more.
	r = postJSON(c, "/api/v1/claims", `{"kind":"subscription_cancel","subscription_id":"`+sub.ID+`","choice":"period_end","source_message_id":"`+thread[0].ID+`"}`,
		h.Bearer(t, agentUser.ID))
	if b := balanceOf(t, h, u); b != 5000-990 {
		t.Fatalf("balance after a second filing (%d %s): %d", r.Status, r.Body, b)
	}
}
