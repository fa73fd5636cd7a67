package orders_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/money"
	"comptoir/internal/orders"
)

func TestRefundsNeverExceedWhatWasPaid(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 10000)
	p := e.service(t, 10)
	o, err := e.orders.Place(ctx, place(u, p.ID, 100, true), nil) // 1000 paid
	if err != nil {
		t.Fatal(err)
	}
	line := o.Lines[0].ID
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := e.db.Tx(ctx, func(tx *sql.Tx) error {
				return e.orders.RefundLineTx(ctx, tx, o.ID, line, money.MustNew(30, "EUR"), admin)
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, orders.ErrOverRefund):
				refused++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	got, _ := e.orders.Get(ctx, o.ID)
	if ok != 33 || refused != 17 || got.Refunded.Minor != 990 || got.Lines[0].Refunded.Minor != 990 {
		t.Fatalf("%d refunds, %d refused, order refunded %d, line refunded %d", ok, refused, got.Refunded.Minor, got.Lines[0].Refunded.Minor)
	}
	err = e.db.Tx(ctx, func(tx *sql.Tx) error {
		return e.orders.RefundLineTx(ctx, tx, o.ID, line, money.MustNew(10, "EUR"), admin)
	})
	if got, _ := e.orders.Get(ctx, o.ID); err != nil || got.Status != orders.StatusRefunded {
		t.Fatalf("fully refunded order: %v %s", err, got.Status)
	}
	if _, err := e.db.Write.Exec(`UPDATE order_lines SET refunded = amount + 1 WHERE id = $1`, line); err == nil {
		t.Fatal("the database accepted a line refunded above its amount")
	}
	err = e.db.Tx(ctx, func(tx *sql.Tx) error {
		return e.orders.RefundLineTx(ctx, tx, o.ID, "oln_nothing", money.MustNew(1, "EUR"), admin)
	})
	if !errors.Is(err, orders.ErrNotFound) {
		t.Fatalf("unknown line: %v", err)
	}
}

// A refund counted on a line that never reached the customer (a card
// refund that failed) is released: the amount is refundable again, never
// below zero, once per release however many run at once, and an order the
// refund had made "refunded" goes back to its delivery state.
func TestReleasedRefundIsRefundableAgain(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 10000)
	p := e.service(t, 10)
	o, err := e.orders.Place(ctx, place(u, p.ID, 100, true), nil) // 1000 paid
	if err != nil {
		t.Fatal(err)
	}
	line := o.Lines[0].ID
	statusBefore := o.Status
	tx := func(f func(*sql.Tx) error) error { return e.db.Tx(ctx, f) }
	if err := tx(func(tx *sql.Tx) error {
		return e.orders.RefundLineTx(ctx, tx, o.ID, line, money.MustNew(1000, "EUR"), admin)
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.orders.Get(ctx, o.ID); got.Status != orders.StatusRefunded {
		t.Fatalf("fully refunded order is %s", got.Status)
	}
	// Releasing more than is counted changes nothing.
	err = tx(func(tx *sql.Tx) error {
		return releaseErr(e.orders.ReleaseLineRefundTx(ctx, tx, o.ID, line, "rfd_test", money.MustNew(1001, "EUR"), admin))
	})
	if !errors.Is(err, orders.ErrOverRefund) {
		t.Fatalf("release above the refunded amount: %v", err)
	}
	if got, _ := e.orders.Get(ctx, o.ID); got.Refunded.Minor != 1000 || got.Lines[0].Refunded.Minor != 1000 || got.Status != orders.StatusRefunded {
		t.Fatalf("a refused release changed the order: %+v", got)
	}
	// 50 concurrent releases of 30 from 1000: 33 fit, the rest find the
	// condition false; nothing goes below zero.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := tx(func(tx *sql.Tx) error {
				return releaseErr(e.orders.ReleaseLineRefundTx(ctx, tx, o.ID, line, "rfd_test", money.MustNew(30, "EUR"), admin))
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, orders.ErrOverRefund):
				refused++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	got, _ := e.orders.Get(ctx, o.ID)
	if ok != 33 || refused != 17 || got.Refunded.Minor != 10 || got.Lines[0].Refunded.Minor != 10 {
		t.Fatalf("%d releases, %d refused, order refunded %d, line refunded %d", ok, refused, got.Refunded.Minor, got.Lines[0].Refunded.Minor)
	}
	if got.Status != statusBefore {
		t.Fatalf("after the release the order is %s, want %s as before the refund", got.Status, statusBefore)
	}
	if err := tx(func(tx *sql.Tx) error {
		return releaseErr(e.orders.ReleaseLineRefundTx(ctx, tx, o.ID, line, "rfd_test", money.MustNew(10, "EUR"), admin))
	}); err != nil {
		t.Fatal(err)
	}
	// The whole line can be refunded again.
	if err := tx(func(tx *sql.Tx) error {
		return e.orders.RefundLineTx(ctx, tx, o.ID, line, money.MustNew(1000, "EUR"), admin)
	}); err != nil {
		t.Fatalf("refund of the whole line after the release: %v", err)
	}
	if _, err := e.db.Write.Exec(`UPDATE order_lines SET refunded = -1 WHERE id = $1`, line); err == nil {
		t.Fatal("the database accepted a negative refunded amount")
	}
}

// releaseErr keeps the error of ReleaseLineRefundTx, for a store without
// lost disputes (nothing charged back).
func releaseErr(_ money.Amount, err error) error { return err }

// A lost dispute decided while a card refund was still pending could count
// only what the refund left on the line. When that refund then fails, the
// dispute takes over as much of it as the bank returned beyond what was
// counted, and only the rest is released; once the dispute is fully
// counted, a failure releases everything, as without a dispute. A second
// chargeback for the same dispute changes nothing.
func TestFailedRefundIsTakenOverByALostDispute(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 10000)
	p := e.service(t, 10)
	o, err := e.orders.Place(ctx, place(u, p.ID, 100, true), nil) // 1000 paid
	if err != nil {
		t.Fatal(err)
	}
	line := o.Lines[0].ID
	tx := func(f func(*sql.Tx) error) error { return e.db.Tx(ctx, f) }
	eur := func(minor int64) money.Amount { return money.MustNew(minor, "EUR") }
	refunded := func(when string, want int64) {
		t.Helper()
		got, _ := e.orders.Get(ctx, o.ID)
		if got.Refunded.Minor != want || got.Lines[0].Refunded.Minor != want {
			t.Fatalf("%s: order refunded %v, line %v; want %d", when, got.Refunded, got.Lines[0].Refunded, want)
		}
	}
	for _, r := range []int64{600, 100} {
		if err := tx(func(tx *sql.Tx) error { return e.orders.RefundLinePendingTx(ctx, tx, o.ID, line, eur(r), admin) }); err != nil {
			t.Fatal(err)
		}
	}
	// The bank returns 700; the line has 300 left to count.
	if err := tx(func(tx *sql.Tx) error { return e.orders.Chargeback(ctx, tx, o.ID, "dp_1", eur(700)) }); err != nil {
		t.Fatal(err)
	}
	refunded("after the chargeback", 1000)
	if err := tx(func(tx *sql.Tx) error { return e.orders.Chargeback(ctx, tx, o.ID, "dp_1", eur(700)) }); err == nil {
		t.Fatal("a second chargeback for the same dispute was accepted")
	}

	release := func(refundID string, amount, wantChargedBack int64) {
		t.Helper()
		var back money.Amount
		if err := tx(func(tx *sql.Tx) error {
			var err error
			back, err = e.orders.ReleaseLineRefundTx(ctx, tx, o.ID, line, refundID, eur(amount), admin)
			return err
		}); err != nil {
			t.Fatalf("release of %s: %v", refundID, err)
		}
		if back.Minor != wantChargedBack {
			t.Fatalf("release of %s (%d): charged back %v, want %d", refundID, amount, back, wantChargedBack)
		}
	}
	// The 600 refund fails: 400 of it is the dispute's, 200 goes back to
	// the line.
	release("rfd_600", 600, 400)
	refunded("after the 600 refund failed", 800)
	// The dispute is counted in full (300 + 400 = 700): the 100 refund's
	// failure is released whole.
	release("rfd_100", 100, 0)
	refunded("after the 100 refund failed", 700)
}

// A line settled with nothing delivered (a withdrawal before the service
// started) whose card refund then failed for good is released: the money
// never went back, so the order is not "refunded" (orders.refunded is
// below paid again), whatever its settled line says of the delivery.
func TestReleasedRefundOfASettledUndeliveredLineIsNotRefunded(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 10000)
	p := e.service(t, 10)
	o, err := e.orders.Place(ctx, place(u, p.ID, 100, true), nil) // 1000 paid
	if err != nil {
		t.Fatal(err)
	}
	line := o.Lines[0].ID
	tx := func(f func(*sql.Tx) error) error { return e.db.Tx(ctx, f) }
	// The withdrawal's transaction: the line settled, its card refund counted.
	if err := tx(func(tx *sql.Tx) error {
		if err := e.orders.SettleLineTx(ctx, tx, o.ID, line, 0, admin); err != nil {
			return err
		}
		return e.orders.RefundLinePendingTx(ctx, tx, o.ID, line, money.MustNew(1000, "EUR"), admin)
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.orders.Get(ctx, o.ID); got.Status != orders.StatusRefunded {
		t.Fatalf("withdrawn and refunded: %s, want refunded", got.Status)
	}
	// The card refund failed for good.
	if err := tx(func(tx *sql.Tx) error {
		return releaseErr(e.orders.ReleaseLineRefundTx(ctx, tx, o.ID, line, "rfd_test", money.MustNew(1000, "EUR"), admin))
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := e.orders.Get(ctx, o.ID)
	if got.Refunded.Minor != 0 || got.Status == orders.StatusRefunded {
		t.Fatalf("after the failed refund: refunded %v, status %s; want nothing refunded and not the status refunded", got.Refunded, got.Status)
	}
	if got.Status != orders.StatusProcessing {
		t.Fatalf("after the failed refund: status %s, want processing (as before the refund)", got.Status)
	}
}
