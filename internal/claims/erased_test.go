package claims_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/money"
	"comptoir/internal/policy"
)

// erase erases the customer's account as privacy.Erase does first.
func (e *env) erase(t *testing.T, u account.User) error {
	t.Helper()
	return e.db.Tx(context.Background(), func(tx *sql.Tx) error {
		if already, err := account.BeginErasureTx(context.Background(), tx, u.ID); err != nil || already {
			return err
		}
		_, err := account.EraseTx(context.Background(), tx, u.ID, e.clock.Now(), nil)
		return err
	})
}

// An agent's refund, or store credit, to the balance of a customer whose
// account was erased meanwhile is refused (customer_erased) and changes
// nothing: nobody can sign in to use that balance, and the money was kept
// there unseen. Before, the decision credited it.
func TestNothingGoesBackToTheBalanceOfAnErasedCustomer(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 500)
	e.clock.Set(t0.Add(day))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.erase(t, u); err != nil {
		t.Fatal(err)
	}
	balance := e.balance(t, u)
	for _, d := range []claims.AgentDecision{
		{ClaimID: c.ID, Outcome: policy.OutcomeRefund, Refund: ptr(money.MustNew(300, "EUR")), Actor: e.agentActor()},
		{ClaimID: c.ID, Outcome: policy.OutcomeCredit, Refund: ptr(money.MustNew(300, "EUR")), CustomerAcceptedCredit: true, Actor: e.agentActor()},
	} {
		_, err := e.claims.Decide(ctx, d)
		if !errors.Is(err, claims.ErrCustomerErased) || claims.Code(err) != "customer_erased" {
			t.Fatalf("%s to an erased customer's balance: %v (%s)", d.Outcome, err, claims.Code(err))
		}
	}
	read, _ := e.orders.Get(ctx, o.ID)
	now, _ := e.claims.Get(ctx, c.ID)
	if got := e.balance(t, u); got != balance || read.Lines[0].Refunded.Minor != 0 || !now.Open() ||
		e.count(t, `SELECT COUNT(*) FROM claim_refunds WHERE claim_id = $1`, c.ID) != 0 {
		t.Fatalf("balance %d (was %d), line refunded %v, claim open %v: want nothing changed", got, balance, read.Lines[0].Refunded, now.Open())
	}
	// A decision that moves no money is still taken.
	if _, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefused,
		ReasonCode: policy.AgentReasons[0], Actor: e.agentActor()}); err != nil {
		t.Fatal(err)
	}
}
