package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/subscriptions"
	"comptoir/internal/testwait"
)

// A card subscription that began with a trial has no card saved (the trial
// asks for none). At the trial's end the real card service finds no card:
// the period fails and is retried on schedule, the subscription is past
// due (not silently stopped), and the customer gets the payment-failed
// email linking the page where they pay with a card; that page opens one
// Checkout page for the period. The path was covered only with a fake card
// charger.
func TestCardTrialWithoutASavedCardAsksForACardAtTheTrialsEnd(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	plan := newPlan(t, h, "trial", 990, 14)
	r := c.PostForm("/subscriptions", url.Values{"plan_id": {plan.ID}, "payment": {"card"}, "accept_policy": {"default@1"},
		"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("card subscription with a trial: %d %q", r.Status, r.Location)
	}
	subs, _, err := h.App.Subscriptions.List(ctx, subscriptions.ListFilter{CustomerID: u.ID})
	if err != nil || len(subs) != 1 || subs[0].Status != subscriptions.StatusTrialing {
		t.Fatalf("subscriptions %+v %v", subs, err)
	}
	sub := subs[0]
	if n := len(rec.Requests(http.MethodPost, "/v1/checkout/sessions")); n != 0 {
		t.Fatalf("a trial opened %d payment pages", n)
	}

	h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatalf("renewal at the trial's end: %v", err)
	}
	periods, _ := h.App.Subscriptions.Periods(ctx, sub.ID)
	got, _ := h.App.Subscriptions.Get(ctx, sub.ID)
	if len(periods) != 1 || periods[0].Status != subscriptions.PeriodFailed || periods[0].NextAttemptAt.IsZero() ||
		got.Status != subscriptions.StatusPastDue {
		t.Fatalf("after the trial: subscription %s, periods %+v", got.Status, periods)
	}
	if n := len(rec.Requests(http.MethodPost, "/v1/payment_intents")); n != 0 {
		t.Fatalf("%d off-session charges without a saved card", n)
	}
	testwait.Until(t, "the payment-failed email", func() bool { return len(mailsOf(t, h, u, subscriptions.MailPaymentFailed)) == 1 })
	link := h.URL + "/subscriptions/" + sub.ID + "/authenticate"
	m := mailsOf(t, h, u, subscriptions.MailPaymentFailed)[0]
	if !strings.Contains(m.Text, link) || !strings.Contains(m.Text, "no card is saved") {
		t.Fatalf("the email does not ask for a card at %s:\n%s", link, m.Text)
	}
	path := "/subscriptions/" + sub.ID + "/authenticate"
	mustContain(t, c.Get(path), `id="authenticate-submit"`, "€9.90")
	followToCheckout(t, c, path)
	sessions := rec.Requests(http.MethodPost, "/v1/checkout/sessions")
	if len(sessions) != 1 || sessions[0].Form.Get("metadata[reference_id]") != periods[0].ID {
		t.Fatalf("%d checkout sessions, want 1 for period %s", len(sessions), periods[0].ID)
	}
}
