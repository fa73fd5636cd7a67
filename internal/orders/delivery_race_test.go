package orders_test

import (
	"context"
	"sync"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/orders"
)

// Two lines of one order delivered in full at the same moment (two agents,
// or the fulfilment webhook and an agent) complete the order. Each delivery
// derived the order's status from the lines as its transaction first read
// them: on PostgreSQL each saw the other line undelivered and wrote
// "partial", so the order stayed partly delivered with every line
// delivered.
func TestConcurrentDeliveriesOfTwoLinesCompleteTheOrder(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 1_000_000)
	a, b := e.service(t, 10), e.service(t, 10)
	agent := audit.Actor{ID: "usr_agent", Role: account.RoleAgent}
	for round := 0; round < 15; round++ {
		in := place(u, a.ID, 10, true)
		in.Lines = append(in.Lines, orders.LineInput{ProductID: b.ID, Quantity: 10})
		o, err := e.orders.Place(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for _, l := range o.Lines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := e.orders.RecordDelivery(ctx, orders.DeliveryInput{OrderID: o.ID, LineID: l.ID, Delivered: l.Quantity,
					Source: orders.SourceAgent, Actor: agent}); err != nil {
					t.Errorf("delivery of %s: %v", l.ID, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		got, err := e.orders.Get(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != orders.StatusCompleted {
			t.Fatalf("round %d: both lines delivered (%d/%d, %d/%d), order %s", round,
				got.Lines[0].Delivered, got.Lines[0].Quantity, got.Lines[1].Delivered, got.Lines[1].Quantity, got.Status)
		}
	}
}
