package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/claims"
	"comptoir/internal/policy"
	"comptoir/internal/subscriptions"
)

// A subscription cancellation with its refund asked, filed within the
// window while the bank holds a dispute of the payment it would refund: a
// refund on top of the chargeback would pay the customer twice, and the
// card refund is refused (payment_disputed). The claim is recorded all the
// same, as of when the customer sent it, as an order's claim is: the
// subscription ends now as decided, the refund waits, worded for the
// customer, and is decided once the bank has: refunded after a dispute the
// store won, nothing more after one it lost (the bank gave the money
// back). Before, the whole filing was refused: the customer's written
// request, its window and the cancellation they asked for were lost.
func TestSubscriptionClaimWhileItsPaymentIsDisputedHoldsTheRefund(t *testing.T) {
	for _, closing := range []string{"won", "lost"} {
		t.Run(closing, func(t *testing.T) {
			h, _ := scaStore(t)
			ctx := context.Background()
			u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
			sub := scaSubscription(t, h, u, c)
			dispute := map[string]any{"id": "dp_subclaim", "object": "dispute", "amount": 990, "currency": "eur", "charge": "ch_first",
				"payment_intent": "pi_first", "reason": "fraudulent", "status": "needs_response"}
			deliver := func(kind stripe.EventType) {
				t.Helper()
				payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), kind, dispute)
				if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
					t.Fatalf("%s: %d", kind, got)
				}
			}
			deliver(stripe.EventTypeChargeDisputeCreated)
			h.Clock.Advance(24 * time.Hour)

			cl, err := h.App.Claims.File(ctx, claims.FileInput{Kind: policy.SubscriptionCancel, CustomerID: u.ID, SubscriptionID: sub.ID,
				Choice: policy.CancelPeriodEnd, Actor: u.Actor()})
			if err != nil {
				t.Fatalf("claim on a disputed subscription payment: %v (%s)", err, claims.Code(err))
			}
			if !cl.Open() || cl.Decision.Rule != claims.RuleRefundHeld || cl.Decision.Refund != nil ||
				!strings.Contains(cl.Decision.Reason.EN, "dispute") || !strings.Contains(cl.Decision.Reason.FR, "contestation") {
				t.Fatalf("claim: open %v, %+v; want held by the dispute", cl.Open(), cl.Decision)
			}
			got, _ := h.App.Subscriptions.Get(ctx, sub.ID)
			if got.Status != subscriptions.StatusCanceled {
				t.Fatalf("subscription %s, want ended now as the decision says", got.Status)
			}
			refunds := func() int {
				t.Helper()
				var n int
				if err := h.App.DB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM card_refunds`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			if n := refunds(); n != 0 {
				t.Fatalf("%d card refunds while the dispute is open", n)
			}
			// Decided again while the dispute is open: still held.
			if again, err := h.App.Claims.Redecide(ctx, cl.ID); err != nil || again.Decision.Rule != claims.RuleRefundHeld || refunds() != 0 {
				t.Fatalf("re-decided during the dispute: %+v %v (%d refunds)", again.Decision, err, refunds())
			}

			dispute["status"] = closing
			deliver(stripe.EventTypeChargeDisputeClosed)
			h.Clock.Advance(7 * time.Hour)
			done, err := h.App.Claims.Redecide(ctx, cl.ID)
			if err != nil || done.Open() {
				t.Fatalf("after the dispute was %s: open %v %+v %v", closing, done.Open(), done.Decision, err)
			}
			want := 0
			if closing == "won" {
				want = 1
				if done.Decision.Outcome != policy.OutcomeRefund || done.Decision.Refund == nil || done.Decision.Refund.Minor != 990 {
					t.Fatalf("after a won dispute: %+v, want the refund", done.Decision)
				}
			} else if done.Decision.Refund != nil {
				t.Fatalf("after a lost dispute: %+v, want no refund on top of the chargeback", done.Decision)
			}
			if n := refunds(); n != want {
				t.Fatalf("%d card refunds after a %s dispute, want %d", n, closing, want)
			}
		})
	}
}
