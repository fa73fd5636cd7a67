package claims_test

import (
	"context"
	"errors"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

// TestRefundedUndeliveredPartIsNoLongerOwed: after a withdrawal, or a
// non_delivery refund of the undelivered part, the line showed "late"
// (orders.LineOverdue, the API's overdue) for ever, and agents could still
// record deliveries on it, delivering for free what was paid back. The line
// is settled: never late, no delivery recorded on it (ErrLineSettled, the
// API's not_deliverable), a repeated report of what was delivered still
// answered. A withdrawal refused (a business customer) settles nothing. A
// delivery recorded while a withdrawal was being decided makes it decided
// again on what was delivered.
func TestRefundedUndeliveredPartIsNoLongerOwed(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	late := t0.Add(4 * day) // the 72 h processing time has passed
	deliver := func(o orders.Order, n int) error {
		_, err := e.orders.RecordDelivery(ctx, orders.DeliveryInput{OrderID: o.ID, LineID: o.Lines[0].ID, Delivered: n, Source: orders.SourceAgent, Actor: admin})
		return err
	}
	settled := func(t *testing.T, o orders.Order, wantRule string, c claims.Claim, err error) {
		t.Helper()
		if err != nil || c.Decision.Rule != wantRule {
			t.Fatalf("claim: %+v %v", c.Decision, err)
		}
		o, err = e.orders.Get(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if o.Lines[0].SettledAt.IsZero() || o.LineOverdue(o.Lines[0], late) || o.Overdue(late.Add(30*day)) {
			t.Errorf("after %s: settled at %v, overdue %v", wantRule, o.Lines[0].SettledAt, o.Overdue(late))
		}
		err = deliver(o, 500)
		if !errors.Is(err, orders.ErrLineSettled) || !errors.Is(err, orders.ErrNotDeliverable) || orders.Code(err) != "not_deliverable" {
			t.Errorf("a delivery on the settled line: %v", err)
		}
		if err := deliver(o, 400); err != nil {
			t.Errorf("the delivery repeated: %v", err)
		}
		if o, _ = e.orders.Get(ctx, o.ID); o.Lines[0].Delivered != 400 {
			t.Errorf("delivered %d", o.Lines[0].Delivered)
		}
	}

	t.Run("withdrawal", func(t *testing.T) {
		o := e.order(t, u, e.service(t), 1000, true, 400)
		if !o.LineOverdue(o.Lines[0], late) {
			t.Fatal("not late before the withdrawal")
		}
		e.clock.Set(late)
		c, err := e.claims.Withdraw(ctx, u.ID, o.ID, "")
		settled(t, o, "withdrawal.statutory_undelivered", c, err)
	})
	t.Run("non-delivery refund", func(t *testing.T) {
		o := e.order(t, u, e.service(t), 1000, true, 400)
		e.clock.Set(late)
		c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
		settled(t, o, "non_delivery.partial", c, err)
	})
	t.Run("withdrawal refused", func(t *testing.T) {
		biz := e.customer(t, "FR", account.CustomerBusiness, "en")
		o := e.order(t, biz, e.service(t), 1000, true, 400)
		e.clock.Set(late)
		if c, err := e.claims.Withdraw(ctx, biz.ID, o.ID, ""); err != nil || c.Decision.Rule != "withdrawal.business" {
			t.Fatalf("business withdrawal: %+v %v", c.Decision, err)
		}
		o, _ = e.orders.Get(ctx, o.ID)
		if !o.Lines[0].SettledAt.IsZero() || !o.LineOverdue(o.Lines[0], late) {
			t.Errorf("a refused withdrawal settled the line: %v", o.Lines[0].SettledAt)
		}
		if err := deliver(o, 500); err != nil {
			t.Errorf("delivery after a refused withdrawal: %v", err)
		}
	})
	t.Run("delivered meanwhile", func(t *testing.T) {
		o := e.order(t, u, e.service(t), 1000, true, 400)
		e.clock.Set(late)
		once := false
		claims.SetAfterGather(e.claims, func() {
			if !once {
				once = true
				if err := deliver(o, 600); err != nil {
					t.Errorf("delivery while deciding: %v", err)
				}
			}
		})
		defer claims.SetAfterGather(e.claims, nil)
		c, err := e.claims.Withdraw(ctx, u.ID, o.ID, "")
		if err != nil || *c.Decision.Refund != money.MustNew(400, "EUR") {
			t.Fatalf("withdrawal decided on 400 delivered, then 600: %+v %v", c.Decision, err)
		}
	})
}
