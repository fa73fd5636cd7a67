package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
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

// The same from the console: the agent handling the ticket turns the
// customer's message into a subscription cancellation, filed at the
// message's time. The console could only file order claims from a message.
func TestConsoleTurnsARequestToStopIntoACancellationThatRefundsTheRenewal(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	plan := newPlan(t, h, "pro", 990, 0)
	u, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	r := postJSON(h.NewClient(t), "/api/v1/subscriptions", `{"plan_id":"`+plan.ID+`","payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`, h.Bearer(t, u.ID))
	sub, err := h.App.Subscriptions.Get(ctx, decodeAs[struct{ ID string }](t, r).ID)
	if err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(21 * 24 * time.Hour)
	customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"subscription_cancel"},
		"message": {"Please stop my subscription."}})
	written := h.Clock.Now()
	h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(10 * 24 * time.Hour)
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	id := regexp.MustCompile(`/console/tickets/(tkt_[0-9A-Z]+)`).FindStringSubmatch(agent.Get("/console/tickets").Body)[1]
	page := agent.Get("/console/tickets/" + id)
	msgID := regexp.MustCompile(`name="message_id" value="([^"]+)"`).FindStringSubmatch(page.Body)
	if msgID == nil || !strings.Contains(page.Body, `name="subscription_id"`) {
		t.Fatalf("no subscription cancellation form on the message:\n%s", page.Body)
	}
	r = agent.PostForm("/console/tickets/"+id+"/claim", url.Values{"message_id": {msgID[1]}, "kind": {"subscription_cancel"},
		"subscription_id": {sub.ID}, "choice": {"period_end"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/console/claims/clm_") {
		t.Fatalf("turn into a cancellation: %d %q", r.Status, r.Location)
	}
	c, err := h.App.Claims.Get(ctx, strings.TrimPrefix(r.Location, "/console/claims/"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.FiledAt.Equal(written) || c.Decision.Outcome != "refund" || c.Decision.Refund == nil || c.Decision.Refund.Minor != 990 || c.SourceMessageID != msgID[1] {
		t.Fatalf("claim %+v", c)
	}
	if b := balanceOf(t, h, u); b != 5000-990 {
		t.Fatalf("balance %d, want the renewal back (%d)", b, 5000-990)
	}
	// Someone else's subscription is not found, and nothing is filed.
	other, _ := h.User(t, account.RoleCustomer, "bob@example.fr")
	credit(t, h, other, 5000)
	r = postJSON(h.NewClient(t), "/api/v1/subscriptions", `{"plan_id":"`+plan.ID+`","payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`, h.Bearer(t, other.ID))
	otherSub := decodeAs[struct{ ID string }](t, r).ID
	r = agent.PostForm("/console/tickets/"+id+"/claim", url.Values{"message_id": {msgID[1]}, "kind": {"subscription_cancel"},
		"subscription_id": {otherSub}, "choice": {"now"}})
	if r.Status != http.StatusNotFound || !strings.Contains(r.Body, `id="subscription_id-error"`) {
		t.Fatalf("someone else's subscription: %d %q", r.Status, r.Location)
	}
	if s, _ := h.App.Subscriptions.Get(ctx, otherSub); s.Status == "canceled" || s.CancelAtPeriodEnd {
		t.Fatalf("someone else's subscription was cancelled: %+v", s)
	}
}

// The console's "turn into a cancellation" form offers the customer's
// running subscriptions by plan. It asked for a typed "sub_…" number that
// no console page showed (the customer panel names subscriptions by plan):
// the agent had to ask the customer for it.
func TestCancellationFromAMessageOffersTheSubscriptions(t *testing.T) {
	h := apptest.Start(t)
	plan, ended := newPlan(t, h, "pro", 990, 0), newPlan(t, h, "old", 500, 0)
	u, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	subID := subscribeWithBalance(t, customer, h.Bearer(t, u.ID), plan.ID)
	endedID := subscribeWithBalance(t, customer, h.Bearer(t, u.ID), ended.ID)
	if r := customer.PostForm("/subscriptions/"+endedID+"/cancel", url.Values{"mode": {"now"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("stop: %d", r.Status)
	}
	customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"subscription_cancel"},
		"message": {"Please stop my subscription."}})
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	tk := ticketOf(t, h, "ana@example.fr")
	for lang, name := range map[string]string{"fr": "Formule pro", "en": "Plan pro"} {
		agent.PostForm("/lang", url.Values{"lang": {lang}})
		page := agent.Get("/console/tickets/" + tk.ID)
		mustContain(t, page, `<select name="subscription_id"`, `<option value="`+subID+`">`+name+` · `)
		if strings.Contains(page.Body, `placeholder="sub_…"`) || strings.Contains(page.Body, `<option value="`+endedID+`"`) {
			t.Errorf("%s: the form asks for a typed number, or offers an ended subscription", lang)
		}
	}
	msgID := regexp.MustCompile(`name="message_id" value="([^"]+)"`).FindStringSubmatch(agent.Get("/console/tickets/" + tk.ID).Body)[1]
	r := agent.PostForm("/console/tickets/"+tk.ID+"/claim", url.Values{"message_id": {msgID}, "kind": {"subscription_cancel"},
		"subscription_id": {subID}, "choice": {"period_end"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/console/claims/clm_") {
		t.Fatalf("turn into a cancellation: %d %q", r.Status, r.Location)
	}
}

// A message the customer sent under a claim's topic ("Not as described")
// is turned into that kind of claim unless the agent picks another: the
// form's first kind, "Not delivered", was chosen whatever the topic, and
// one click filed the wrong claim.
func TestClaimFromAMessageStartsFromItsTopic(t *testing.T) {
	h := apptest.Start(t)
	u, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := twoProductOrder(t, h, u)
	customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"not_as_described"},
		"order_ref": {o.ID}, "message": {"The guide is not what was described."}})
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	page := agent.Get("/console/tickets/" + ticketOf(t, h, "ana@example.fr").ID)
	mustContain(t, page, `<option value="not_as_described" selected>`)
	// The kind only: the line and the cancellation's choice keep their
	// first option.
	if n := strings.Count(page.Body, " selected>"); n != 1 {
		t.Errorf("%d options selected", n)
	}
}
