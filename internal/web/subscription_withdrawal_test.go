package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/invoices"
	"comptoir/internal/mail"
	"comptoir/internal/policy"
	"comptoir/internal/subscriptions"
)

// A subscription is a contract for a service: a consumer may withdraw from
// it within 14 days of taking it out (Directive 2011/83/EU), whatever the
// store's 7 days for a refund. Cancelled on day 10 with a refund asked:
//   - having asked, when subscribing, for it to start at once, the consumer
//     pays for the days provided and gets the rest of the payment back;
//   - without that request (a Swiss consumer, whom the boxes are not asked
//     of, under a policy sold under EU law), they owe nothing and get it
//     all back.
//
// The subscription stops at once, the money goes back to the balance it
// came from, a credit note says so, and the decision is the one policy eval
// gives on the same facts. Before, both were refused: "this policy allows 7
// days".
func TestConsumerWithdrawsFromASubscriptionWithinFourteenDays(t *testing.T) {
	for _, tc := range []struct {
		name, country string
		consent       string
		rule          string
		immediate     bool
		// mailSays is what the confirmation email says of the request.
		mailSays string
	}{
		{"asked to start at once", "FR", `,"consent":{"immediate_performance":true,"withdrawal_waiver":true}`, "subscription_cancel.statutory_unprovided", true,
			"[x] Je demande que mon abonnement commence dès maintenant"},
		{"no such request", "CH", ``, "subscription_cancel.statutory_no_request", false, "Vous avez accepté notre politique"},
		// API.md's body has no consent: a French consumer's start without
		// it was refused (422 consent_required). It starts without the
		// request, and the consumer owes nothing on withdrawing.
		{"started through the API without the boxes", "FR", ``, "subscription_cancel.statutory_no_request", false,
			"Vous n’avez pas demandé que l’abonnement commence avant la fin du délai de rétractation de 14 jours\u00a0: si vous vous rétractez dans les 14 jours, vous ne devez rien"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := apptest.Start(t)
			ctx := context.Background()
			plan := newPlan(t, h, "pro", 3000, 0)
			u, err := h.App.Accounts.CreateUser(ctx, account.CreateUserInput{Email: "ana@example.fr", Role: account.RoleCustomer,
				Password: apptest.Password, Language: "fr", Name: "Ana", Country: tc.country, City: "Lyon"})
			if err != nil {
				t.Fatal(err)
			}
			credit(t, h, u, 5000)
			auth := h.Bearer(t, u.ID)
			c := h.NewClient(t)
			r := postJSON(c, "/api/v1/subscriptions", `{"plan_id":"`+plan.ID+`","payment":"balance"`+tc.consent+`}`, auth)
			created := decodeAs[struct{ ID string }](t, r)
			if r.Status != http.StatusCreated {
				t.Fatalf("subscribe: %d %s", r.Status, r.Body)
			}
			sub, err := h.App.Subscriptions.Get(ctx, created.ID)
			if err != nil || sub.Consent.ImmediatePerformance != tc.immediate {
				t.Fatalf("subscription %+v, %v", sub.Consent, err)
			}
			started, err := h.App.Outbox.List(ctx, mail.Filter{UserID: u.ID, Kind: "subscription_started"})
			if err != nil || len(started) != 1 || !strings.Contains(started[0].Text, tc.mailSays) {
				t.Fatalf("confirmation (%v) does not say %q: %+v", err, tc.mailSays, started)
			}
			if !tc.immediate && strings.Contains(started[0].Text, "[ ]") {
				t.Fatalf("the confirmation shows boxes that were not put to the customer:\n%s", started[0].Text)
			}
			h.Clock.Set(sub.CreatedAt.Add(10 * 24 * time.Hour))
			r = postJSON(c, "/api/v1/subscriptions/"+sub.ID+"/cancel", `{"mode":"period_end","refund":true}`, auth)
			var got struct {
				Decision policy.Decision `json:"decision"`
			}
			if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &got) != nil {
				t.Fatalf("cancel: %d %s", r.Status, r.Body)
			}
			d := got.Decision
			period := sub.CurrentPeriodEnd.Sub(sub.CurrentPeriodStart)
			want := int64(3000)
			if tc.immediate {
				// The days to come, of the period paid: 3000 × left / whole.
				left := sub.CurrentPeriodEnd.Sub(h.Clock.Now())
				want = (3000*int64(left/time.Second) + int64(period/time.Second)/2) / int64(period/time.Second)
			}
			if d.Outcome != policy.OutcomeRefund || d.Rule != tc.rule || !d.Statutory || d.Cancel != policy.CancelNow ||
				d.Refund == nil || d.Refund.Minor != want {
				t.Fatalf("decision %+v, want a statutory refund of %d", d, want)
			}
			facts := policy.Facts{Kind: policy.SubscriptionCancel, FiledAt: h.Clock.Now(), Choice: policy.CancelPeriodEnd,
				Customer: policy.Customer{Type: policy.Consumer, Country: tc.country},
				Subscription: &policy.Subscription{LastPaymentAt: sub.CurrentPeriodStart, LastPayment: &sub.Amount,
					PeriodEnd: sub.CurrentPeriodEnd, StartedAt: sub.CreatedAt,
					Consent: &policy.Consent{ImmediatePerformance: tc.immediate, WithdrawalWaiver: tc.immediate, At: sub.CreatedAt}}}
			if eval := policy.Evaluate(policy.Default(), facts, h.Clock.Now()); eval.Rule != d.Rule || *eval.Refund != *d.Refund {
				t.Fatalf("policy eval on the same facts: %+v; the server: %+v", eval, d)
			}
			if b := balanceOf(t, h, u); b != 5000-3000+want {
				t.Fatalf("balance %d, want %d", b, 5000-3000+want)
			}
			after, err := h.App.Subscriptions.Get(ctx, sub.ID)
			if err != nil || after.Status != subscriptions.StatusCanceled {
				t.Fatalf("subscription after the withdrawal: %s, %v", after.Status, err)
			}
			docs, err := h.App.Invoices.ListForCustomer(ctx, u.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			var credited int64
			for _, doc := range docs {
				if doc.Kind == invoices.KindCreditNote {
					credited += doc.Total.Minor
				}
			}
			if credited != want && credited != -want {
				t.Fatalf("credit notes total %d, want %d", credited, want)
			}
		})
	}
}

// A client that puts the boxes to a consumer and sends what they ticked
// is held to it: a start with a box left unticked is refused, as on the
// pages; only a body without consent (API.md's) starts without the request.
func TestSubscriptionAPIRefusesUntickedBoxes(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 3000, 0)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	for _, consent := range []string{`{"immediate_performance":false,"withdrawal_waiver":false}`, `{"immediate_performance":true}`} {
		r := postJSON(c, "/api/v1/subscriptions", `{"plan_id":"`+plan.ID+`","payment":"balance","consent":`+consent+`}`, auth)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"consent_required"`) {
			t.Fatalf("consent %s: %d %s", consent, r.Status, r.Body)
		}
	}
	if b := balanceOf(t, h, u); b != 5000 {
		t.Fatalf("balance after refused starts: %d", b)
	}
}
