package web_test

import (
	"context"
	"net/http"
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
