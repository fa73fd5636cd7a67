package web_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/subscriptions"
)

// A card payment of a subscription that the customer disputes with their
// bank stops the renewals: the subscription ends at the end of the period
// paid, the customer cannot keep it while the dispute is open or after it
// is lost, the admins are alerted once, and no renewal is charged. Before,
// the subscription renewed and charged the same card again.
func TestDisputedSubscriptionPaymentStopsTheRenewals(t *testing.T) {
	h, _ := scaStore(t)
	ctx := context.Background()
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	adminEN, _ := h.User(t, account.RoleAdmin, "admin-en@shop.test")
	if err := h.App.Accounts.SetLanguage(ctx, adminEN.ID, "en"); err != nil {
		t.Fatal(err)
	}
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	sub := scaSubscription(t, h, u, c)
	deliver := func(kind stripe.EventType, obj map[string]any) {
		t.Helper()
		payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), kind, obj)
		if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
			t.Fatalf("%s: %d", kind, got)
		}
	}
	dispute := map[string]any{"id": "dp_sub", "object": "dispute", "amount": 990, "currency": "eur", "charge": "ch_first",
		"payment_intent": "pi_first", "reason": "fraudulent", "status": "needs_response"}
	deliver(stripe.EventTypeChargeDisputeCreated, dispute)

	got, _ := h.App.Subscriptions.Get(ctx, sub.ID)
	if !got.CancelAtPeriodEnd || got.Status != subscriptions.StatusActive || got.Renews() {
		t.Fatalf("after the dispute: %s cancel_at_period_end=%v renews=%v; want ending at the period's end", got.Status, got.CancelAtPeriodEnd, got.Renews())
	}
	alert := mailsOf(t, h, admin, "alert_subscription_disputed")
	if len(alert) != 1 {
		t.Fatalf("%d admin alerts, want 1", len(alert))
	}
	// The admin reads French, the end in the store's zone.
	if want := "9,90\u00a0€, motif de la banque\u00a0: Paiement frauduleux (paiement par carte "; !strings.Contains(alert[0].Text, want) ||
		!strings.Contains(alert[0].Text, "\u00a0; l’abonnement prend fin le "+h.App.Config.Location.LongTime(got.CurrentPeriodEnd, "fr")) {
		t.Errorf("the French alert lacks %q and the end:\n%s", want, alert[0].Text)
	}
	// Each alert links the dispute's case, where the admin follows it,
	// not the list of every case.
	cases, err := h.App.Disputes.List(ctx, 10)
	if err != nil || len(cases) != 1 {
		t.Fatalf("cases: %+v %v", cases, err)
	}
	alertEN := mailsOf(t, h, adminEN, "alert_subscription_disputed")
	if len(alertEN) != 1 {
		t.Fatalf("%d alerts to the English admin, want 1", len(alertEN))
	}
	// The subscription as the admin recognises it, in their language.
	if want := "Un paiement d’abonnement est contesté (abonnement Formule sca, " + u.Name + ")"; alert[0].Subject != want {
		t.Errorf("the French alert's subject is %q, want %q", alert[0].Subject, want)
	}
	if want := "A subscription payment is disputed (subscription to Plan sca, " + u.Name + ")"; alertEN[0].Subject != want {
		t.Errorf("the English alert's subject is %q, want %q", alertEN[0].Subject, want)
	}
	for _, m := range []string{alert[0].Text, alertEN[0].Text} {
		if want := h.App.Config.BaseURL + "/console/disputes/" + cases[0].ID + "\n"; !strings.Contains(m, want) {
			t.Errorf("the alert does not link the case %s:\n%s", want, m)
		}
	}
	if n := len(mailsOf(t, h, u, subscriptions.MailCancelConfirmed)); n != 0 {
		t.Fatalf("the customer got %d cancellation confirmations for a cancellation they did not ask", n)
	}
	if _, err := h.App.Subscriptions.Undo(ctx, u.ID, sub.ID); !errors.Is(err, subscriptions.ErrNotUndoable) {
		t.Fatalf("keeping the subscription while its payment is disputed: %v", err)
	}

	dispute["status"] = "under_review"
	deliver(stripe.EventTypeChargeDisputeUpdated, dispute)
	dispute["status"] = "lost"
	deliver(stripe.EventTypeChargeDisputeClosed, dispute)
	if n := len(mailsOf(t, h, admin, "alert_subscription_disputed")); n != 1 {
		t.Fatalf("%d admin alerts after more events, want 1", n)
	}
	if _, err := h.App.Subscriptions.Undo(ctx, u.ID, sub.ID); !errors.Is(err, subscriptions.ErrNotUndoable) {
		t.Fatalf("keeping the subscription after the dispute was lost: %v", err)
	}

	h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Subscriptions.RenewDue(ctx, h.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	periods, _ := h.App.Subscriptions.Periods(ctx, sub.ID)
	got, _ = h.App.Subscriptions.Get(ctx, sub.ID)
	if len(periods) != 1 || got.Status != subscriptions.StatusCanceled {
		t.Fatalf("at the period's end: %d periods, status %s; want no renewal and the subscription ended", len(periods), got.Status)
	}
}

// A dispute the store wins lifts the hold: the customer may keep the
// subscription again from its page.
func TestSubscriptionKeptAfterAWonDispute(t *testing.T) {
	h, _ := scaStore(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	sub := scaSubscription(t, h, u, c)
	dispute := map[string]any{"id": "dp_won", "object": "dispute", "amount": 990, "currency": "eur", "charge": "ch_first",
		"payment_intent": "pi_first", "reason": "fraudulent", "status": "needs_response"}
	for _, ev := range []struct {
		kind   stripe.EventType
		status string
	}{{stripe.EventTypeChargeDisputeCreated, "needs_response"}, {stripe.EventTypeChargeDisputeClosed, "won"}} {
		dispute["status"] = ev.status
		payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), ev.kind, dispute)
		if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
			t.Fatalf("%s: %d", ev.kind, got)
		}
	}
	kept, err := h.App.Subscriptions.Undo(ctx, u.ID, sub.ID)
	if err != nil || !kept.Renews() {
		t.Fatalf("keeping the subscription after a won dispute: %+v %v", kept, err)
	}
}
