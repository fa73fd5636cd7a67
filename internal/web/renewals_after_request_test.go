package web_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/claims"
	"comptoir/internal/desk"
	"comptoir/internal/invoices"
	"comptoir/internal/subscriptions"
	"comptoir/internal/testwait"
)

// A customer asks in writing to stop a subscription paid from the balance,
// and two renewals are charged before an agent files the request as a
// claim (the message sat in the queue past a renewal date). POLICY.md: no
// renewal is charged after the request. Both renewals come back to the
// balance, each period is refunded with its own credit note, and the
// ledger matches the balances. Before, only the last renewal was refunded:
// the first one charged after the request was kept, and nothing let an
// agent give it back.
func TestEveryRenewalChargedAfterAWrittenRequestIsRefunded(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
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
	for range 2 {
		if sub, err = h.App.Subscriptions.Get(ctx, sub.ID); err != nil {
			t.Fatal(err)
		}
		h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
		if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
			t.Fatal(err)
		}
	}
	if got := balanceOf(t, h, u); got != 5000-3*990 {
		t.Fatalf("balance after two renewals: %d", got)
	}
	h.Clock.Advance(24 * time.Hour)
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	file := func() apptest.Response {
		return postJSON(c, "/api/v1/claims", `{"kind":"subscription_cancel","subscription_id":"`+sub.ID+`","choice":"period_end","source_message_id":"`+
			thread[0].ID+`"}`, h.Bearer(t, agentUser.ID))
	}
	// Filed twice at once (two agents, a retried request without a key):
	// one filing refunds both renewals, the other finds nothing left.
	var both [2]apptest.Response
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range both {
		wg.Go(func() {
			<-start
			both[i] = file()
		})
	}
	close(start)
	wg.Wait()
	if !strings.Contains(both[0].Body, claims.RuleRenewedAfterRequest) {
		both[0], both[1] = both[1], both[0]
	}
	r = both[0]
	filed := decodeAs[struct {
		ID       string
		Decision struct {
			Outcome, Rule, Cancel string
			Refund                struct{ Amount int64 }
		}
	}](t, r)
	if r.Status != http.StatusCreated || filed.Decision.Rule != claims.RuleRenewedAfterRequest || filed.Decision.Refund.Amount != 2*990 ||
		filed.Decision.Cancel != "now" {
		t.Fatalf("claim from the message: %d %s; want both renewals (1980) refunded", r.Status, r.Body)
	}
	if both[1].Status != http.StatusCreated || strings.Contains(both[1].Body, claims.RuleRenewedAfterRequest) {
		t.Fatalf("the filing beside it: %d %s; want nothing more refunded", both[1].Status, both[1].Body)
	}
	if got := balanceOf(t, h, u); got != 5000-990 {
		t.Fatalf("balance %d, want %d: both renewals charged after the request given back", got, 5000-990)
	}
	periods, err := h.App.Subscriptions.Periods(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	refunded := 0
	for _, p := range periods {
		if p.Status == subscriptions.PeriodRefunded {
			refunded++
		}
	}
	if len(periods) != 3 || refunded != 2 {
		t.Fatalf("%d periods, %d refunded; want 3 and 2", len(periods), refunded)
	}
	var cl claims.Claim
	if cl, err = h.App.Claims.Get(ctx, filed.ID); err != nil {
		t.Fatal(err)
	}
	refunds, err := h.App.Claims.Refunds(ctx, cl.ID)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, rf := range refunds {
		sum += rf.Amount.Minor
	}
	if sum != 2*990 {
		t.Fatalf("the claim's refunds add up to %d, want 1980", sum)
	}
	docs, err := h.App.Invoices.ForOrder(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	credited := map[string]bool{} // the invoices credited in full
	for _, d := range docs {
		if d.Kind == invoices.KindCreditNote && d.Total.Minor == 990 {
			credited[d.RefersTo] = true
		}
	}
	if len(credited) != 2 {
		t.Fatalf("%d renewal invoices credited with 9,90 €, want one per refunded renewal (%d documents)", len(credited), len(docs))
	}
	if m, err := h.App.Ledger.Reconcile(ctx); err != nil || len(m) != 0 {
		t.Fatalf("ledger: %v %v", m, err)
	}
	// Filed again (the filing beside the first is open, in review):
	// nothing more is given back.
	if r := file(); r.Status != http.StatusConflict || !strings.Contains(r.Body, `"code":"claim_already_open"`) {
		t.Fatalf("third filing: %d %s", r.Status, r.Body)
	}
	if got := balanceOf(t, h, u); got != 5000-990 {
		t.Fatalf("balance %d after more filings", got)
	}
}

// The same by card: each renewal charged after the written request is
// refunded to the card it was paid with, one card refund per payment, and
// each gets its credit note once Stripe confirms it. Before, only the last
// renewal was refunded.
func TestEveryCardRenewalChargedAfterAWrittenRequestIsRefunded(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	sub := scaSubscription(t, h, u, c)
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/payment_intents"), func(m map[string]any) { m["status"] = "succeeded" })
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/refunds"), func(m map[string]any) { m["status"] = "succeeded" })
	h.Clock.Set(sub.CurrentPeriodEnd.Add(-2 * 24 * time.Hour))
	tk, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: u.ID, Name: "Ana", Email: u.Email,
		Topic: desk.TopicSubscriptionCancel, Message: "Please cancel my subscription before it renews."})
	if err != nil {
		t.Fatal(err)
	}
	thread, _ := h.App.Desk.Thread(ctx, tk.ID, false)
	for i := range 2 {
		if sub, err = h.App.Subscriptions.Get(ctx, sub.ID); err != nil {
			t.Fatal(err)
		}
		h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
		if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
			t.Fatal(err)
		}
		testwait.Until(t, "the renewal to be paid", func() bool {
			ps, _ := h.App.Subscriptions.Periods(ctx, sub.ID)
			return len(ps) == i+2 && ps[i+1].Status == subscriptions.PeriodPaid
		})
	}
	h.Clock.Advance(24 * time.Hour)
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	r := postJSON(c, "/api/v1/claims", `{"kind":"subscription_cancel","subscription_id":"`+sub.ID+`","choice":"period_end","source_message_id":"`+
		thread[0].ID+`"}`, h.Bearer(t, agentUser.ID))
	filed := decodeAs[struct {
		ID       string
		Decision struct {
			Rule   string
			Refund struct{ Amount int64 }
		}
	}](t, r)
	if r.Status != http.StatusCreated || filed.Decision.Rule != claims.RuleRenewedAfterRequest || filed.Decision.Refund.Amount != 2*990 {
		t.Fatalf("claim from the message: %d %s; want both renewals (1980) refunded", r.Status, r.Body)
	}
	testwait.Until(t, "both card refunds to succeed", func() bool {
		rs, _ := h.App.Claims.Refunds(ctx, filed.ID)
		ok := len(rs) == 2
		for _, rf := range rs {
			ok = ok && rf.Destination == claims.DestCard && rf.Status == claims.RefundSucceeded && rf.Amount.Minor == 990
		}
		return ok
	})
	periods, _ := h.App.Subscriptions.Periods(ctx, sub.ID)
	if len(periods) != 3 || periods[0].Status != subscriptions.PeriodPaid || periods[1].Status != subscriptions.PeriodRefunded ||
		periods[2].Status != subscriptions.PeriodRefunded {
		t.Fatalf("periods after the claim: %+v", periods)
	}
	asked := map[string]bool{}
	for _, q := range rec.Requests(http.MethodPost, "/v1/refunds") {
		if q.Form.Get("amount") != "990" {
			t.Fatalf("a refund asked of Stripe for %s", q.Form.Get("amount"))
		}
		asked[q.Form.Get("payment_intent")] = true
	}
	if len(asked) != 2 {
		t.Fatalf("refunds asked of Stripe on %d payments, want the two renewals'", len(asked))
	}
	testwait.Until(t, "a credit note per refunded renewal", func() bool {
		credited := map[string]bool{}
		for _, d := range creditNotes(t, h, sub.ID) {
			if d.Total.Minor == 990 {
				credited[d.RefersTo] = true
			}
		}
		return len(credited) == 2
	})
}
