package claims_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

// OrderDecisionsTx lists the decisions on all of an order's claims in the
// order they were taken, across claims, each with its claim's kind; the
// decisions on another order's claims are left out.
func TestOrderDecisionsTx(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "en")
	p := e.service(t)
	other := e.order(t, u, p, 100, true, 0)
	o := e.order(t, u, p, 1000, true, 0)
	file := func(at time.Duration, kind policy.Kind, orderID string) claims.Claim {
		t.Helper()
		e.clock.Set(t0.Add(at))
		c, err := e.claims.File(ctx, claims.FileInput{Kind: kind, CustomerID: u.ID, OrderID: orderID, Actor: customerActor(u)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	late := file(24*time.Hour, policy.NonDelivery, o.ID) // waits for the processing time
	unhappy := file(25*time.Hour, policy.Dissatisfied, o.ID)
	file(26*time.Hour, policy.NonDelivery, other.ID)
	if _, err := e.orders.RecordDelivery(ctx, orders.DeliveryInput{OrderID: o.ID, LineID: o.Lines[0].ID, Delivered: 500, Source: orders.SourceAgent, Actor: admin}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(t0.Add(73 * time.Hour))
	if _, err := e.claims.Redecide(ctx, late.ID); err != nil {
		t.Fatal(err)
	}

	tx, err := e.db.Read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := claims.OrderDecisionsTx(ctx, tx, o.ID)
	tx.Rollback() // before the pool is used again below (COMPTOIR_TEST_PG_POOL=1)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		claim   claims.Claim
		seq     int64
		outcome policy.Outcome
		at      time.Time
	}{
		{late, 1, policy.OutcomeWaitingDelivery, t0.Add(24 * time.Hour)},
		{unhappy, 1, policy.OutcomeSolution, t0.Add(25 * time.Hour)},
		{late, 2, policy.OutcomeRefund, t0.Add(73 * time.Hour)},
	}
	if len(got) != len(want) {
		t.Fatalf("decisions on the order: %+v", got)
	}
	for i, w := range want {
		d := got[i]
		if d.ClaimID != w.claim.ID || d.ClaimKind != string(w.claim.Kind) || d.Seq != w.seq || d.Decision.Decision.Outcome != w.outcome ||
			!d.DecidedAt.Equal(w.at) || d.DecidedBy != "" || d.Decision.Decision.Reason.EN == "" || d.Decision.Decision.Reason.FR == "" {
			t.Errorf("decision %d = %+v, want claim %s (%s) seq %d %s at %v", i, d, w.claim.ID, w.claim.Kind, w.seq, w.outcome, w.at)
		}
	}
	if r := got[2].Decision.Decision.Refund; r == nil || r.Minor != 500 || r.Currency != "EUR" {
		t.Errorf("refund of the last decision: %+v", r)
	}
	// The same decisions as the claim's own list.
	own, err := e.claims.Decisions(ctx, late.ID)
	if err != nil || len(own) != 2 || own[1].ID != got[2].ID || own[0].ID != got[0].ID {
		t.Fatalf("Decisions(%s): %+v %v", late.ID, own, err)
	}
}
