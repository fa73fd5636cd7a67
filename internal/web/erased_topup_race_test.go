package web_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/db"
	"comptoir/internal/privacy"
	"comptoir/internal/testwait"
)

// A card top-up paid while its customer's account is being erased, on
// PostgreSQL: the webhook waits for the erasure (which holds the account
// first), then finds the account erased and gives the money back to the
// card. Before, the webhook only read the account, not erased yet, and
// credited the balance; the erasure, which releases the waiting top-ups,
// found this one paid and went on: an erased account kept 20 EUR nobody
// could use. SQLite runs one writing transaction at a time, so there the
// webhook always comes after the erasure
// (TestTopUpPaidAfterTheErasureIsRefunded).
func TestTopUpPaidDuringTheErasureIsRefunded(t *testing.T) {
	h := startWithStripe(t)
	if h.App.DB.Engine != db.Postgres {
		t.Skip("SQLite's single writer puts the webhook after the erasure: TestTopUpPaidAfterTheErasureIsRefunded")
	}
	ctx := context.Background()
	u, _, pay := cardTopUp(t, h, "topup-during-erasure")

	// The erasure, stopped inside its transaction once it holds the
	// account and before it releases the waiting top-ups.
	inErasure, resume := make(chan struct{}), make(chan struct{})
	priv := privacy.New(h.App.DB, h.Clock, h.App.Blobs, h.App.Jobs, privacy.Options{
		AbandonUnpaid: func(ctx context.Context, tx *sql.Tx, customerID string) (int, error) {
			close(inErasure)
			<-resume
			n, err := h.App.Orders.AbandonUnpaidTx(ctx, tx, customerID)
			if err != nil {
				return n, err
			}
			m, err := h.App.Card.ReleaseWaitingTx(ctx, tx, customerID, cardpay.PurposeTopUp, "customer erased")
			return n + m, err
		}})
	erased := make(chan error, 1)
	go func() {
		_, err := priv.Erase(ctx, u.ID, u.Actor(), privacy.ReasonCustomerRequest)
		erased <- err
	}()
	select {
	case <-inErasure:
	case err := <-erased:
		t.Fatalf("erasure ended before releasing the top-ups: %v", err)
	case <-time.After(testwait.Default):
		t.Fatal("the erasure never reached the top-ups")
	}

	payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	paid := make(chan error, 1)
	go func() { paid <- h.App.Card.HandleWebhook(ctx, payload, sig) }()
	// The webhook either went through at once (crediting the balance) or
	// waits on the account the erasure holds.
	var paidErr error
	done := false
	testwait.Until(t, "the webhook to finish or wait on a lock", func() bool {
		select {
		case paidErr = <-paid:
			done = true
			return true
		default:
		}
		var waiting int
		if err := h.App.DB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Error(err)
			return true
		}
		return waiting > 0
	})
	close(resume)
	if err := <-erased; err != nil {
		t.Fatalf("erasure: %v", err)
	}
	if !done {
		paidErr = <-paid
	}
	if paidErr != nil {
		t.Fatalf("webhook: %v", paidErr)
	}

	if got, _ := h.App.Accounts.UserByID(ctx, u.ID); got.Email != account.ErasedEmail {
		t.Fatalf("not erased: %+v", got)
	}
	if b := balanceOf(t, h, u); b != 0 {
		t.Errorf("erased account's balance %d, want 0: the top-up paid during the erasure was credited to it", b)
	}
	got, _ := h.App.Card.Get(ctx, pay.ID)
	refunds, err := h.App.Card.Refunds(ctx, h.App.DB.Read, pay.ID)
	if got.Status != cardpay.StatusSucceeded || got.Refunded.Minor != 2000 || err != nil || len(refunds) != 1 {
		t.Fatalf("top-up paid during the erasure: %s, %v refunded, refunds %+v %v; want paid and refunded in full", got.Status, got.Refunded, refunds, err)
	}
	if m, err := h.App.Ledger.Reconcile(ctx); err != nil || len(m) != 0 {
		t.Fatalf("ledger: %v %v", m, err)
	}
}
