package claims_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/db"
	"comptoir/internal/money"
	"comptoir/internal/policy"
	"comptoir/internal/testwait"
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

// An agent refunds to the balance while the customer's account is being
// erased (the erasure's transaction under way): the refund waits for the
// erasure, then is refused. Never both committed with the money credited
// to an account the erasure had already taken: on PostgreSQL the refund
// holds the account's row first, as the erasure does; on SQLite it queues
// behind the erasure's transaction.
func TestRefundDuringAnErasureWaitsAndIsRefused(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 500)
	e.clock.Set(t0.Add(day))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	balance := e.balance(t, u)
	err = e.duringErasure(t, u, "the refund", func() error {
		_, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefund,
			Refund: ptr(money.MustNew(300, "EUR")), Actor: e.agentActor()})
		return err
	})
	if !errors.Is(err, claims.ErrCustomerErased) {
		t.Fatalf("refund during the erasure: %v, want customer_erased", err)
	}
	if got := e.balance(t, u); got != balance {
		t.Fatalf("balance %d, was %d: credited to the erased account", got, balance)
	}
}

// A claim filed in the very instant its customer's account is erased: the
// filing read the order and its facts, then the erasure committed (it found
// no claim open), then the filing's transaction ran. It is refused
// (account_erased) and nothing is filed. Before, only a decision crediting
// the balance was refused: a claim left to an agent (dissatisfied) landed
// open on the erased account, which the erasure had just found without one.
func TestClaimFiledAsTheAccountIsErasedIsRefused(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 500)
	e.clock.Set(t0.Add(day))
	claims.SetAfterGather(e.claims, func() {
		claims.SetAfterGather(e.claims, nil)
		if err := e.erase(t, u); err != nil {
			t.Error(err)
		}
	})
	_, err := e.claims.File(ctx, claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if !errors.Is(err, claims.ErrAccountErased) || claims.Code(err) != "account_erased" {
		t.Fatalf("claim filed as the account was erased: %v (%s), want account_erased", err, claims.Code(err))
	}
	if n := e.count(t, `SELECT COUNT(*) FROM claims WHERE customer_id = $1`, u.ID); n != 0 {
		t.Fatalf("%d claims on the erased account", n)
	}
	// And once erased, whoever files (an agent from a message) is refused.
	_, err = e.claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, OrderID: o.ID, Actor: e.agentActor()})
	if !errors.Is(err, claims.ErrAccountErased) {
		t.Fatalf("agent's claim on an erased account: %v, want account_erased", err)
	}
}

// A claim filed while the erasure's transaction is under way waits for it
// (on PostgreSQL on the account's row, on SQLite behind the single writer),
// then reads the account erased and is refused: never both committed.
func TestClaimFiledDuringAnErasureWaitsAndIsRefused(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 500)
	e.clock.Set(t0.Add(day))
	err := e.duringErasure(t, u, "the filing", func() error {
		_, err := e.claims.File(ctx, claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
		return err
	})
	if !errors.Is(err, claims.ErrAccountErased) {
		t.Fatalf("claim filed during the erasure: %v, want account_erased", err)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM claims WHERE customer_id = $1`, u.ID); n != 0 {
		t.Fatalf("%d claims on the erased account", n)
	}
}

// duringErasure runs op while u's erasure is under way (its transaction
// has erased the account and not committed yet), lets the erasure commit
// once op waits for it (on PostgreSQL on a lock, on SQLite behind the
// single writer) or is already done, and returns op's error.
func (e *env) duringErasure(t *testing.T, u account.User, what string, op func() error) error {
	t.Helper()
	ctx := context.Background()
	held, release := make(chan struct{}), make(chan struct{})
	hold := sync.OnceFunc(func() { close(held) })
	erased := make(chan error, 1)
	go func() {
		erased <- e.db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := account.BeginErasureTx(ctx, tx, u.ID); err != nil {
				return err
			}
			if _, err := account.EraseTx(ctx, tx, u.ID, e.clock.Now(), nil); err != nil {
				return err
			}
			hold()
			<-release
			return nil
		})
	}()
	<-held
	done := make(chan error, 1)
	go func() { done <- op() }()
	if e.db.Engine == db.Postgres {
		testwait.Until(t, what+" waits or is done", func() bool {
			if len(done) > 0 {
				return true
			}
			var waiting int
			err := e.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
			return err == nil && waiting > 0
		})
	}
	close(release)
	if err := <-erased; err != nil {
		t.Fatal(err)
	}
	return <-done
}

// An agent's redelivery on an erased customer's closed claim is refused
// (customer_erased_reopen) and changes nothing: it would reopen the claim
// (waiting for the line sent back to processing) on an account nobody can
// sign in to, no email reaching them, and its re-decision could not refund
// to that balance, so it would stay open with nobody to follow it. Before,
// the claim reopened and the line went back to processing. A refusal, which
// closes it, is still taken.
func TestErasedCustomersClaimIsNotReopenedByARedelivery(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 0)
	e.clock.Set(t0.Add(24 * time.Hour))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil || c.Decision.Outcome != policy.OutcomeWaitingDelivery {
		t.Fatalf("claim %+v %v", c, err)
	}
	c, err = e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefused,
		ReasonCode: policy.AgentReasons[0], Actor: e.agentActor()})
	if err != nil || c.Open() {
		t.Fatalf("refusal: %+v %v", c, err)
	}
	if err := e.erase(t, u); err != nil {
		t.Fatal(err)
	}
	before, _ := e.orders.Get(ctx, o.ID)
	jobs := len(redecideJobsAt(t, e))
	e.clock.Set(t0.Add(48 * time.Hour))
	_, err = e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRedeliver, Actor: e.agentActor()})
	if !errors.Is(err, claims.ErrErasedReopen) || claims.Code(err) != "customer_erased_reopen" {
		t.Fatalf("redelivery on an erased customer's claim: %v (%s)", err, claims.Code(err))
	}
	now, _ := e.claims.Get(ctx, c.ID)
	after, _ := e.orders.Get(ctx, o.ID)
	if now.Open() || now.Revision != c.Revision || !after.Lines[0].ProcessingUntil.Equal(before.Lines[0].ProcessingUntil) ||
		after.Status != before.Status || len(redecideJobsAt(t, e)) != jobs {
		t.Fatalf("claim %s rev %d (was %d), order %s due %v (was %s, %v), %d jobs (was %d): want nothing changed",
			now.Status, now.Revision, c.Revision, after.Status, after.Lines[0].ProcessingUntil,
			before.Status, before.Lines[0].ProcessingUntil, len(redecideJobsAt(t, e)), jobs)
	}
	if _, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefused,
		ReasonCode: policy.AgentReasons[0], Note: "again", Actor: e.agentActor()}); err != nil {
		t.Fatal(err)
	}
}
