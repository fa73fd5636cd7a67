package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/subscriptions"
	"comptoir/internal/testwait"
)

// The customer stops their card subscription ("now") while its renewal is
// being charged at the bank: the charge cannot be released, and succeeds.
// The cancellation email said no further payment would be taken, and the
// period never runs: the payment is refunded in full to the card, with a
// credit note for its invoice once Stripe confirms. It used to stay charged
// (recorded "for the refund policy", which nothing ever asked).
func TestRenewalChargedAsTheCustomerCancelsIsRefunded(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	sub := scaSubscription(t, h, u, c)
	canceled := make(chan error, 1)
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/payment_intents"), func(m map[string]any) {
		// The bank is being called when the customer cancels.
		_, err := h.App.Subscriptions.Cancel(ctx, subscriptions.CancelInput{CustomerID: u.ID, SubscriptionID: sub.ID,
			Mode: subscriptions.CancelNow, Actor: u.Actor()})
		canceled <- err
		m["status"] = "succeeded"
	})
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/refunds"), func(m map[string]any) { m["status"] = "succeeded" })
	h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	var late subscriptions.Period
	testwait.Until(t, "the late renewal to be refunded", func() bool {
		ps, _ := h.App.Subscriptions.Periods(ctx, sub.ID)
		if len(ps) == 2 && ps[1].Status == subscriptions.PeriodRefunded {
			late = ps[1]
			return true
		}
		return false
	})
	if err := <-canceled; err != nil {
		t.Fatalf("cancel during the charge: %v", err)
	}
	if got, _ := h.App.Subscriptions.Get(ctx, sub.ID); got.Status != subscriptions.StatusCanceled {
		t.Fatalf("subscription %s", got.Status)
	}
	pay, err := h.App.Card.Get(ctx, late.PaymentReference)
	if err != nil || pay.Status != cardpay.StatusSucceeded {
		t.Fatalf("the late payment: %+v %v", pay, err)
	}
	testwait.Until(t, "the credit note of the late renewal", func() bool {
		cn := creditNotes(t, h, sub.ID)
		return len(cn) == 1 && cn[0].Total.Minor == 990
	})
	refunds := rec.Requests(http.MethodPost, "/v1/refunds")
	if len(refunds) != 1 || refunds[0].Form.Get("amount") != "990" || refunds[0].Form.Get("payment_intent") != pay.PaymentIntentID {
		t.Fatalf("refunds asked of Stripe: %+v", refunds)
	}
}

// The refund of a renewal paid after the customer canceled fails at
// Stripe: the period is paid again, and the agents are alerted once, by
// email in the failing transaction, since nobody else would give the money
// back. It used to go back to paid silently.
func TestRenewalPaidAfterTheEndWhoseRefundFailsAlertsTheAgents(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	agent, _ := h.User(t, account.RoleAgent, "agent@example.fr")
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	sub := scaSubscription(t, h, u, c)
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/payment_intents"), func(m map[string]any) {
		if _, err := h.App.Subscriptions.Cancel(ctx, subscriptions.CancelInput{CustomerID: u.ID, SubscriptionID: sub.ID,
			Mode: subscriptions.CancelNow, Actor: u.Actor()}); err != nil {
			t.Errorf("cancel during the charge: %v", err)
		}
		m["status"] = "succeeded"
	})
	rec.Respond(cardpaytest.To(http.MethodPost, "/v1/refunds"), http.StatusBadRequest,
		cardpaytest.StripeError("invalid_request_error", "charge_already_refunded", "Charge has already been refunded.", nil))
	h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the agents to be alerted", func() bool {
		return len(mailsOf(t, h, agent, "alert_subscription_refund_failed")) == 1
	})
	ps, _ := h.App.Subscriptions.Periods(ctx, sub.ID)
	if len(ps) != 2 || ps[1].Status != subscriptions.PeriodPaid {
		t.Fatalf("periods after the refund failed: %+v", ps)
	}
	m := mailsOf(t, h, agent, "alert_subscription_refund_failed")[0]
	// The subscription as the agent recognises it: its plan and customer.
	if want := "Un paiement d’abonnement n’a pas été remboursé (abonnement Formule sca, " + u.Name + ")"; m.Subject != want {
		t.Errorf("the alert's subject is %q, want %q", m.Subject, want)
	}
	for _, want := range []string{ps[1].PaymentReference, "n’a pas été remboursé",
		// The agent reads French: the amount and the words of the detail.
		"9,90\u00a0€, paiement par carte " + ps[1].PaymentReference + " de la période " + ps[1].ID, "\u00a0: le remboursement par carte "} {
		if !strings.Contains(m.Subject+m.Text, want) {
			t.Fatalf("alert lacks %q:\n%s\n%s", want, m.Subject, m.Text)
		}
	}
	if cn := creditNotes(t, h, sub.ID); len(cn) != 0 {
		t.Fatalf("credit note of a refund that failed: %+v", cn)
	}
	if n := len(mailsOf(t, h, agent, "alert_card_refund_failed")); n != 0 {
		t.Fatalf("%d claim alerts for a refund no claim asked", n)
	}
}
