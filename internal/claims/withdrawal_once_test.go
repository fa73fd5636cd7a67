package claims_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/money"
	"comptoir/internal/policy"
)

// TestOneWithdrawalPerLine: a consumer withdraws from an order line once.
// A second withdrawal, sent by a hand-made request (the pages no longer
// offer it), is refused with ErrAlreadyWithdrawn (claim_already_decided to
// the API), whatever the first was decided: refused (the service fully
// performed), nothing to refund, or a refund whose card refund failed (the
// agents are told to pay another way: a second withdrawal paid it again).
// Nothing is filed and no second acknowledgement is sent. Two withdrawals
// sent at once file one claim, and the database refuses a second row.
func TestOneWithdrawalPerLine(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	twice := func(t *testing.T, orderID string, wantRule string) {
		t.Helper()
		first, err := e.claims.Withdraw(ctx, u.ID, orderID, "")
		if err != nil || first.Decision.Rule != wantRule {
			t.Fatalf("first withdrawal: %+v %v", first.Decision, err)
		}
		before := e.balance(t, u)
		acks := len(e.mails(t, u, "claim_withdrawal"))
		_, err = e.claims.Withdraw(ctx, u.ID, orderID, "")
		if !errors.Is(err, claims.ErrAlreadyWithdrawn) || !errors.Is(err, claims.ErrAlreadyDecided) || claims.Code(err) != "claim_already_decided" {
			t.Fatalf("second withdrawal: %v", err)
		}
		if n := e.count(t, `SELECT COUNT(*) FROM claims WHERE order_id = $1 AND kind = 'withdrawal'`, orderID); n != 1 {
			t.Errorf("%d withdrawal claims", n)
		}
		if b := e.balance(t, u); b != before {
			t.Errorf("balance %d, was %d", b, before)
		}
		if n := len(e.mails(t, u, "claim_withdrawal")); n != acks {
			t.Errorf("%d acknowledgements, was %d", n, acks)
		}
	}

	t.Run("service fully performed", func(t *testing.T) {
		o := e.order(t, u, e.service(t), 1000, true, 1000)
		e.clock.Set(t0.Add(2 * day))
		twice(t, o.ID, "withdrawal.service_performed")
	})
	t.Run("nothing left to refund", func(t *testing.T) {
		o := e.order(t, u, e.service(t), 1000, true, 400)
		e.clock.Set(t0.Add(4 * day))
		if _, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)}); err != nil {
			t.Fatal(err)
		}
		twice(t, o.ID, "withdrawal.nothing_refundable")
	})
	t.Run("card refund failed", func(t *testing.T) {
		o := e.order(t, u, e.service(t), 1000, true, 400)
		e.paidByCard(t, o)
		e.clock.Set(t0.Add(2 * day))
		w, err := e.claims.Withdraw(ctx, u.ID, o.ID, "")
		if err != nil || *w.Decision.Refund != money.MustNew(600, "EUR") {
			t.Fatalf("withdrawal: %+v %v", w.Decision, err)
		}
		failed := fmt.Sprintf("rfd_%d", len(e.card.calls))
		if err := e.db.Tx(ctx, func(tx *sql.Tx) error { return e.claims.CardRefundSettledTx(ctx, tx, failed, false, money.Amount{}) }); err != nil {
			t.Fatal(err)
		}
		calls := len(e.card.calls)
		if _, err := e.claims.Withdraw(ctx, u.ID, o.ID, ""); !errors.Is(err, claims.ErrAlreadyWithdrawn) {
			t.Fatalf("second withdrawal after the failed card refund: %v", err)
		}
		if len(e.card.calls) != calls {
			t.Errorf("a second card refund: %v", e.card.calls[calls:])
		}
	})
	t.Run("at once", func(t *testing.T) {
		o := e.order(t, u, e.service(t), 1000, true, 1000)
		e.clock.Set(t0.Add(2 * day))
		const n = 8
		results := make(chan error, n)
		for range n {
			go func() {
				_, err := e.claims.Withdraw(ctx, u.ID, o.ID, "")
				results <- err
			}()
		}
		ok := 0
		for range n {
			switch err := <-results; {
			case err == nil:
				ok++
			case !errors.Is(err, claims.ErrAlreadyWithdrawn):
				t.Errorf("racing withdrawal: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d racing withdrawals filed", ok)
		}
		if c := e.count(t, `SELECT COUNT(*) FROM claims WHERE order_id = $1`, o.ID); c != 1 {
			t.Errorf("%d claims", c)
		}
		// The database holds the rule whatever the code does.
		if _, err := e.db.Write.Exec(`INSERT INTO claims (id, kind, customer_id, order_id, order_line_id, status, filed_at, filed_by, filed_via,
			policy_version, outcome, rule, statutory, cancel, reason_en, reason_fr, decided_at, created_at, updated_at)
			VALUES ('clm_again', 'withdrawal', $1, $2, $3, 'decided', $4, $1, 'customer', 'default@1', 'refused', 'withdrawal.service_performed', TRUE,
			'none', 'x', 'x', $4, $4, $4)`, u.ID, o.ID, o.Lines[0].ID, e.clock.Now()); err == nil {
			t.Error("the database accepted a second withdrawal from a line")
		}
	})
}
