package web_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/db"
	"comptoir/internal/money"
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

	finish := erasureStoppedPastItsChecks(t, h, func(priv *privacy.Service) error {
		_, err := priv.Erase(ctx, u.ID, u.Actor(), privacy.ReasonCustomerRequest)
		return err
	})
	payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	paid, _ := besideTheErasure(t, h, func() error { return h.App.Card.HandleWebhook(ctx, payload, sig) })
	if err := finish(); err != nil {
		t.Fatalf("erasure: %v", err)
	}
	if err := paid(); err != nil {
		t.Fatalf("webhook: %v", err)
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

// A dispute of a card top-up opened in the instant its customer's account
// is erased (the erasure's transaction holds the account and has passed
// its checks: no dispute open, the balance the one given up): the webhook
// waits for the erasure, which gives up the 20.00 the ledger holds as it
// commits, then records the case on the erased account and takes the
// top-up back from that balance, after the erasure, as for a dispute
// opened a month later (TestWonDisputeOfAnErasedAccountsTopUpRestoresWhatWasGivenUp):
// the bank has taken the money whatever the store does. Before, on
// PostgreSQL, the dispute held nothing the erasure held: it committed
// inside the erasure, which then erased an account with a dispute open
// (the evidence it needs, its activity log, erased with it) having given
// up 20.00 the ledger no longer held. A dispute that commits first is seen
// by the erasure, which is refused (TestErasureWaitsForAnOpenDispute).
func TestDisputeOpenedDuringTheErasureComesAfterIt(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	u, _, pay := cardTopUp(t, h, "topup-disputed-during-erasure")
	webhookDeliverer(t, h)(stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	if b := balanceOf(t, h, u); b != 2000 {
		t.Fatalf("balance %d after the top-up, want 2000", b)
	}
	retried := h.App.DB.ConflictsRetried()

	finish := erasureStoppedPastItsChecks(t, h, func(priv *privacy.Service) error {
		_, err := priv.EraseGivingUp(ctx, u.ID, u.Actor(), privacy.ReasonCustomerRequest, money.MustNew(2000, "EUR"))
		return err
	})
	dispute := map[string]any{"id": "dp_during_erasure", "object": "dispute", "amount": 2000, "currency": "eur", "charge": "ch_during_erasure",
		"payment_intent": "pi_" + pay.ID, "reason": "fraudulent", "status": "needs_response"}
	payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeChargeDisputeCreated, dispute)
	disputed, doneFirst := besideTheErasure(t, h, func() error { return h.App.Card.HandleWebhook(ctx, payload, sig) })
	if doneFirst {
		t.Errorf("the dispute committed while the erasure, past its checks, held the account")
	}
	if err := finish(); err != nil {
		t.Fatalf("erasure: %v", err)
	}
	if err := disputed(); err != nil {
		t.Fatalf("dispute webhook: %v", err)
	}

	if got, _ := h.App.Accounts.UserByID(ctx, u.ID); got.Email != account.ErasedEmail {
		t.Fatalf("not erased: %+v", got)
	}
	cases, err := h.App.Disputes.ForReference(ctx, pay.ReferenceID)
	if err != nil || len(cases) != 1 || cases[0].CustomerID != u.ID || !cases[0].Open() {
		t.Fatalf("dispute cases of the top-up: %+v %v; want one, open, on the erased account", cases, err)
	}
	if b := balanceOf(t, h, u); b != 0 {
		t.Errorf("erased balance %d, want 0: the bank holds the disputed top-up", b)
	}
	if m, err := h.App.Ledger.Reconcile(ctx); err != nil || len(m) != 0 {
		t.Fatalf("ledger: %v %v", m, err)
	}
	// The audit log, in the order things were written: the erasure, and
	// the balance as it stood then, before the case and the take-back.
	rows, err := h.App.DB.Read.QueryContext(ctx, `SELECT subject_type, action, COALESCE(after_state, '') FROM audit_log
		WHERE (subject_type IN ('user', 'balance') AND subject_id = $1) OR (subject_type = 'dispute' AND subject_id = $2) ORDER BY id`,
		u.ID, cases[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var order []string
	givenUp := int64(-1)
	for rows.Next() {
		var subject, action, after string
		if err := rows.Scan(&subject, &action, &after); err != nil {
			t.Fatal(err)
		}
		switch {
		case action == "erased":
			order = append(order, "erased")
		case subject == "balance" && len(order) == 0:
			var st struct{ Balance int64 }
			if err := json.Unmarshal([]byte(after), &st); err != nil {
				t.Fatal(err)
			}
			givenUp = st.Balance
		case subject == "balance":
			order = append(order, "balance "+action)
		case subject == "dispute":
			order = append(order, action)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"erased", "dispute.opened", "balance balance_debit"}; !slices.Equal(order, want) || givenUp != 2000 {
		t.Errorf("audit log %q, the balance 20.00 was given up at %d; want %q at 2000: the case and the take-back after the erasure",
			order, givenUp, want)
	}
	if n := h.App.DB.ConflictsRetried() - retried; n != 0 {
		t.Errorf("%d transactions run again after a deadlock: the dispute and the erasure take the account in different orders", n)
	}
}

// erasureStoppedPastItsChecks runs erase (an erasure, through a privacy
// service like h's) and returns once its transaction holds the account and
// has passed its checks (no subscription, dispute or claim open; the
// balance the one given up), stopped where it releases what waits for a
// card payment. finish lets it go on and returns its error.
func erasureStoppedPastItsChecks(t *testing.T, h *apptest.Harness, erase func(*privacy.Service) error) (finish func() error) {
	t.Helper()
	inErasure, resume := make(chan struct{}), make(chan struct{})
	stopped := sync.OnceFunc(func() { close(inErasure) })
	priv := privacy.New(h.App.DB, h.Clock, h.App.Blobs, h.App.Jobs, privacy.Options{
		AbandonUnpaid: func(ctx context.Context, tx *sql.Tx, customerID string) (int, error) {
			stopped()
			<-resume
			n, err := h.App.Orders.AbandonUnpaidTx(ctx, tx, customerID)
			if err != nil {
				return n, err
			}
			m, err := h.App.Card.ReleaseWaitingTx(ctx, tx, customerID, cardpay.PurposeTopUp, "customer erased")
			return n + m, err
		}})
	erased := make(chan error, 1)
	go func() { erased <- erase(priv) }()
	select {
	case <-inErasure:
	case err := <-erased:
		t.Fatalf("erasure ended before releasing what waits for payment: %v", err)
	case <-time.After(testwait.Default):
		t.Fatal("the erasure never reached what waits for payment")
	}
	return func() error {
		close(resume)
		return <-erased
	}
}

// holdAccount begins the statement that takes an account's row
// (account.HoldUnerasedTx, the erasure's first write).
const holdAccount = `UPDATE users SET updated_at = updated_at WHERE id = `

// besideTheErasure runs op while an erasure is stopped in its transaction
// (erasureStoppedPastItsChecks) and returns once op is done or, on
// PostgreSQL, waits for the account's row the erasure holds (SQLite's
// single writer queues it behind the erasure). result waits for op's error; doneFirst says op finished
// before the erasure was let go.
func besideTheErasure(t *testing.T, h *apptest.Harness, op func() error) (result func() error, doneFirst bool) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- op() }()
	if h.App.DB.Engine == db.Postgres {
		testwait.Until(t, "the operation to finish or wait on a lock", func() bool {
			if len(done) > 0 {
				return true
			}
			var waiting int
			if err := h.App.DB.Read.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`, holdAccount+"%").Scan(&waiting); err != nil {
				t.Error(err)
				return true
			}
			return waiting > 0
		})
	}
	return func() error { return <-done }, len(done) > 0
}
