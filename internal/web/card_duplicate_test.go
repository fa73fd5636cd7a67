package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/mail"
	"comptoir/internal/subscriptions"
	"comptoir/internal/testwait"
)

// One renewal period charged twice: the bank asked for 3-D Secure on the
// off-session charge, the customer paid the period on the Checkout page the
// email links to, and the held charge went through all the same (they
// authenticated it from their bank before its cancellation reached
// Stripe). Stripe's payment_intent.succeeded for it must not be lost: the
// second charge is recorded, refunded in full at once (to Stripe, under its
// own key), written in the audit log and reported to the admins; the
// customer keeps one paid period, and events repeated under other ids
// refund nothing more. Before, it was only logged: money taken and never
// accounted for.
func TestRenewalChargedTwiceRefundsTheSecondCharge(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	sub := scaSubscription(t, h, u, c)

	authenticationRequired(rec)
	h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the payment-failed email", func() bool { return len(mailsOf(t, h, u, subscriptions.MailPaymentFailed)) == 1 })
	periods, _ := h.App.Subscriptions.Periods(ctx, sub.ID)
	period := periods[len(periods)-1]
	c = signInAgain(t, h, "ana@example.fr") // a month later: a fresh session
	followToCheckout(t, c, "/subscriptions/"+sub.ID+"/authenticate")
	pays, _ := h.App.Card.ForReference(ctx, h.App.DB.Read, cardpay.PurposeRenewal, period.ID)
	if len(pays) != 2 || pays[0].Status != cardpay.StatusCanceled || pays[1].Status != cardpay.StatusAwaitingCustomer {
		t.Fatalf("payments of the period: %+v", pays)
	}
	held, checkout := pays[0], pays[1]
	deliver := webhookDeliverer(t, h)
	deliver(stripe.EventTypeCheckoutSessionCompleted, paidSession(checkout, "pi_sca"))

	// The held intent succeeds after all; Stripe tells it twice, under two
	// event ids.
	heldPaid := map[string]any{"id": "pi_held", "object": "payment_intent", "status": "succeeded", "amount": 990, "currency": "eur",
		"customer": "cus_sca", "payment_method": "pm_sca", "metadata": map[string]any{"payment_id": held.ID, "purpose": "renewal", "reference_id": period.ID}}
	for range 2 {
		deliver(stripe.EventTypePaymentIntentSucceeded, heldPaid)
	}

	second, err := h.App.Card.Get(ctx, held.ID)
	if err != nil || second.Status != cardpay.StatusSucceeded || second.Refunded.Minor != 990 {
		t.Fatalf("the second charge: %+v (%v)", second, err)
	}
	refunds, _ := h.App.Card.Refunds(ctx, h.App.DB.Read, held.ID)
	if len(refunds) != 1 || refunds[0].Amount.Minor != 990 || refunds[0].Reason != "duplicate" {
		t.Fatalf("refunds of the second charge: %+v", refunds)
	}
	testwait.Until(t, "the refund at Stripe", func() bool {
		r, _ := h.App.Card.GetRefund(ctx, refunds[0].ID)
		return r.Status == cardpay.RefundSucceeded
	})
	sent := rec.Requests(http.MethodPost, "/v1/refunds")
	if len(sent) != 1 || sent[0].IdempotencyKey() != "refund-"+refunds[0].ID || sent[0].Form.Get("payment_intent") != "pi_held" ||
		sent[0].Form.Get("amount") != "990" {
		t.Fatalf("refund requests to Stripe: %+v", sent)
	}
	// Once more, late: nothing more.
	deliver(stripe.EventTypePaymentIntentSucceeded, heldPaid)
	if n := len(rec.Requests(http.MethodPost, "/v1/refunds")); n != 1 {
		t.Fatalf("%d refund requests after a late event, want 1", n)
	}

	// One paid period, by the Checkout payment; the refund of the second
	// charge is not the period's (no refund, no credit note on it).
	paid, _ := periodByID(t, h, sub.ID, period.ID)
	got, _ := h.App.Subscriptions.Get(ctx, sub.ID)
	if paid.Status != subscriptions.PeriodPaid || paid.PaymentReference != checkout.ID || got.Status != subscriptions.StatusActive ||
		!got.CurrentPeriodEnd.Equal(period.End) {
		t.Fatalf("after both charges: period %+v, subscription %s until %v", paid, got.Status, got.CurrentPeriodEnd)
	}
	if ms := mailsOf(t, h, u, subscriptions.MailRenewed); len(ms) != 1 {
		t.Fatalf("%d renewal confirmations, want 1", len(ms))
	}
	rows, _ := audit.ForSubject(ctx, h.App.DB.Read, "card_payment", held.ID)
	var logged bool
	for _, r := range rows {
		logged = logged || r.Action == "payment.duplicate"
	}
	if !logged {
		t.Fatalf("no payment.duplicate in the audit log of %s: %+v", held.ID, rows)
	}
	alerts, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "alert_card_payment_duplicate"})
	if len(alerts) != 1 || alerts[0].To != admin.Email ||
		!strings.Contains(alerts[0].Text, checkout.ID) || !strings.Contains(alerts[0].Text, refunds[0].ID) {
		t.Fatalf("duplicate alerts: %+v", alerts)
	}
	// What was paid twice, as the admin recognises it: a renewal, its
	// amount and its customer; not the payment's own id.
	if want := "Un achat a été payé deux fois par carte (renouvellement de 9,90\u00a0€, " + u.Name + ")"; alerts[0].Subject != want {
		t.Errorf("the duplicate alert's subject is %q, want %q", alerts[0].Subject, want)
	}
	// The admin reads French: the amount and the words in it.
	if want := ", déjà payé par " + checkout.ID + "\u00a0: remboursement " + refunds[0].ID + " demandé"; !strings.Contains(alerts[0].Text, want) ||
		!strings.Contains(alerts[0].Text, "\u00a0€, renouvellement ") {
		t.Errorf("the French alert lacks %q or the amount:\n%s", want, alerts[0].Text)
	}
}
