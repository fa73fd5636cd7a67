package orders_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/alerts"
	"comptoir/internal/cardpay"
	"comptoir/internal/id"
	"comptoir/internal/locale"
	"comptoir/internal/money"
	"comptoir/internal/orders"
)

// fakeCard starts card payments without Stripe: the order's checkout
// only needs a payment id back.
type fakeCard struct{}

func (fakeCard) Enabled() bool { return true }

func (fakeCard) StartCheckoutTx(_ context.Context, _ *sql.Tx, in cardpay.StartInput) (cardpay.Payment, error) {
	return cardpay.Payment{ID: id.New("pay"), Purpose: in.Purpose, ReferenceID: in.ReferenceID, CustomerID: in.CustomerID,
		Amount: in.Amount, Status: cardpay.StatusCreating}, nil
}

// ReleaseTx releases nothing: fakeCard keeps no payments.
func (fakeCard) ReleaseTx(context.Context, *sql.Tx, cardpay.Purpose, string, string) (bool, error) {
	return false, nil
}

// RefundTx refuses: fakeCard keeps no payments.
func (fakeCard) RefundTx(_ context.Context, _ *sql.Tx, paymentID string, _ money.Amount, _ string) (cardpay.Refund, error) {
	return cardpay.Refund{}, fmt.Errorf("%w: fakeCard has no payment %s", cardpay.ErrNotRefundable, paymentID)
}

// refundingCard is fakeCard that records the refunds asked of it.
type refundingCard struct {
	fakeCard
	mu      sync.Mutex
	refunds []cardpay.Refund
}

func (c *refundingCard) RefundTx(_ context.Context, _ *sql.Tx, paymentID string, amount money.Amount, reason string) (cardpay.Refund, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := cardpay.Refund{ID: id.New("rfd"), PaymentID: paymentID, Amount: amount, Status: cardpay.RefundPending, Reason: reason}
	c.refunds = append(c.refunds, r)
	return r, nil
}

// alertLog counts the staff alerts by kind, and keeps each one's detail
// as an agent reading French has it.
type alertLog struct {
	mu       sync.Mutex
	kinds    map[string]int
	details  []string
	subjects []string
}

func (a *alertLog) NotifyTx(_ context.Context, _ *sql.Tx, _, kind string, d alerts.Data) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.kinds[kind]++
	if d.DetailIn != nil {
		d.Detail = d.DetailIn(alerts.Words{Lang: "fr", Messages: locale.MustLoad()})
	}
	if d.SubjectIn != nil {
		d.Subject = d.SubjectIn(alerts.Words{Lang: "fr", Messages: locale.MustLoad()})
	}
	a.details = append(a.details, d.Detail)
	a.subjects = append(a.subjects, d.Subject)
	return nil
}

func (a *alertLog) count(kind string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.kinds[kind]
}

// setupCard is setup with card payments (fakeCard) and staff alerts.
func setupCard(t *testing.T) (*env, *alertLog) {
	t.Helper()
	e := setup(t)
	log := &alertLog{kinds: map[string]int{}}
	e.orders = orders.New(e.db, e.clock, e.catalog, e.ledger, e.accounts, e.outbox,
		orders.Options{BaseURL: "http://shop.test", StoreName: "Shop", Card: fakeCard{}, Alerts: log})
	return e, log
}

func byCard(u account.User, productID string) orders.PlaceInput {
	in := place(u, productID, 1, true)
	in.Payment = orders.PayCard
	return in
}

// pay and fail report the card payment's outcome, as cardpay does, in a
// transaction of their own.
func (e *env) pay(t *testing.T, o orders.Order) {
	t.Helper()
	if err := e.db.Tx(context.Background(), func(tx *sql.Tx) error {
		return e.orders.CardHandler().PaymentSucceeded(context.Background(), tx, cardpay.Payment{ID: o.PaymentID, Purpose: cardpay.PurposeOrder,
			ReferenceID: o.ID, CustomerID: o.CustomerID, Amount: o.Total, Status: cardpay.StatusSucceeded})
	}); err != nil {
		t.Fatalf("payment of %s: %v", o.ID, err)
	}
}

func (e *env) fail(t *testing.T, o orders.Order, status cardpay.Status) {
	t.Helper()
	if err := e.db.Tx(context.Background(), func(tx *sql.Tx) error {
		return e.orders.CardHandler().PaymentFailed(context.Background(), tx, cardpay.Payment{ID: o.PaymentID, Purpose: cardpay.PurposeOrder,
			ReferenceID: o.ID, CustomerID: o.CustomerID, Amount: o.Total, Status: status})
	}); err != nil {
		t.Fatalf("failed payment of %s: %v", o.ID, err)
	}
}

func (e *env) keysLeft(t *testing.T, productID string) int {
	t.Helper()
	n, err := e.catalog.AvailableKeys(context.Background(), productID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A card checkout reserves the licence key its line will get (issue #3).
// It only checked that the pool was not empty: two card orders for the
// last key were both accepted, and the second buyer paid for a key that
// the first one's payment had taken. Now the second card order, and a
// balance order, are refused out_of_stock while the key is reserved, and
// the payment delivers the reserved key.
func TestCardCheckoutReservesTheLastKey(t *testing.T) {
	e, alerted := setupCard(t)
	ctx := context.Background()
	p := e.licenceProduct(t, "K-LAST")
	ana := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 0)
	first, err := e.orders.Place(ctx, byCard(ana, p.ID), nil)
	if err != nil {
		t.Fatalf("first card order: %v", err)
	}
	if n := e.keysLeft(t, p.ID); n != 0 {
		t.Fatalf("%d keys available while the last one is reserved", n)
	}
	if n := alerted.count("licence_pool_empty"); n != 1 {
		t.Fatalf("%d pool-empty alerts when the last key was reserved", n)
	}
	ben := e.customer(t, "ben@example.fr", "FR", account.CustomerConsumer, 1000)
	ordersBefore := e.count(t, "orders")
	if _, err := e.orders.Place(ctx, byCard(ben, p.ID), nil); !errors.Is(err, orders.ErrOutOfStock) {
		t.Fatalf("second card order for the reserved last key: %v", err)
	}
	if _, err := e.orders.Place(ctx, place(ben, p.ID, 1, true), nil); !errors.Is(err, orders.ErrOutOfStock) {
		t.Fatalf("balance order for the reserved last key: %v", err)
	}
	if got := e.count(t, "orders"); got != ordersBefore {
		t.Fatalf("refused checkouts left %d orders", got-ordersBefore)
	}
	if b := e.balance(t, ben); b != 1000 {
		t.Fatalf("refused balance checkout took %d", 1000-b)
	}
	// A reserved key cannot be withdrawn from the pool either.
	if _, err := e.db.Write.ExecContext(ctx, `DELETE FROM licence_keys WHERE key_value = 'K-LAST'`); err == nil {
		t.Fatal("a reserved key was withdrawn")
	}

	e.pay(t, first)
	paid, err := e.orders.Get(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if l := paid.Lines[0]; l.LicenceKey != "K-LAST" || l.Delivered != 1 || paid.Status != orders.StatusCompleted {
		t.Fatalf("after payment: %s, line %+v", paid.Status, l)
	}
	var reserved int
	if err := e.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM licence_keys WHERE reserved_order_line_id IS NOT NULL`).Scan(&reserved); err != nil || reserved != 0 {
		t.Fatalf("%d keys still reserved after the sale (%v)", reserved, err)
	}
	if e.keysLeft(t, p.ID) != 0 || alerted.count("licence_pool_empty") != 1 || alerted.count("licence_key_missing") != 0 {
		t.Fatalf("after payment: %d keys left, alerts %v", e.keysLeft(t, p.ID), alerted.kinds)
	}
	// A replayed success changes nothing.
	e.pay(t, first)
	if again, _ := e.orders.Get(ctx, first.ID); again.Lines[0].LicenceKey != "K-LAST" || again.Lines[0].Delivered != 1 {
		t.Fatalf("replayed payment: %+v", again.Lines[0])
	}
}

// A card order that ends unpaid gives its reserved key back, in the
// transaction that cancels it, and the next buyer gets that key, by card
// or from the balance.
func TestUnpaidCardOrderReleasesItsKey(t *testing.T) {
	for _, status := range []cardpay.Status{cardpay.StatusCanceled, cardpay.StatusFailed} {
		t.Run(string(status), func(t *testing.T) {
			e, _ := setupCard(t)
			ctx := context.Background()
			p := e.licenceProduct(t, "K-ONE")
			ana := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 0)
			unpaid, err := e.orders.Place(ctx, byCard(ana, p.ID), nil)
			if err != nil {
				t.Fatal(err)
			}
			if n := e.keysLeft(t, p.ID); n != 0 {
				t.Fatalf("%d keys available while the only one is reserved", n)
			}
			e.fail(t, unpaid, status)
			if o, _ := e.orders.Get(ctx, unpaid.ID); o.Status != orders.StatusCanceled {
				t.Fatalf("unpaid order: %s", o.Status)
			}
			if n := e.keysLeft(t, p.ID); n != 1 {
				t.Fatalf("%d keys available once the order ended unpaid, want 1", n)
			}
			// A late success for the canceled order delivers nothing.
			e.pay(t, unpaid)
			ben := e.customer(t, "ben@example.fr", "FR", account.CustomerConsumer, 0)
			next, err := e.orders.Place(ctx, byCard(ben, p.ID), nil)
			if err != nil {
				t.Fatalf("card order for the released key: %v", err)
			}
			e.pay(t, next)
			if o, _ := e.orders.Get(ctx, next.ID); o.Lines[0].LicenceKey != "K-ONE" {
				t.Fatalf("next buyer's line: %+v", o.Lines[0])
			}
			if o, _ := e.orders.Get(ctx, unpaid.ID); o.Status != orders.StatusCanceled || o.Lines[0].LicenceKey != "" {
				t.Fatalf("canceled order after the key was sold: %s %+v", o.Status, o.Lines[0])
			}
		})
	}
	e, _ := setupCard(t)
	ctx := context.Background()
	p := e.licenceProduct(t, "K-BAL")
	ana := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 0)
	unpaid, err := e.orders.Place(ctx, byCard(ana, p.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.fail(t, unpaid, cardpay.StatusCanceled)
	ben := e.customer(t, "ben@example.fr", "FR", account.CustomerConsumer, 1000)
	o, err := e.orders.Place(ctx, place(ben, p.ID, 1, true), nil)
	if err != nil || o.Lines[0].LicenceKey != "K-BAL" {
		t.Fatalf("balance order for the released key: %v %+v", err, o.Lines)
	}
}

// Concurrent card checkouts for the last key: exactly one reserves it, the
// others are refused out_of_stock and leave nothing behind. Each checkout
// reserves by an update conditional on the key's still being free.
func TestConcurrentCardCheckoutsForTheLastKey(t *testing.T) {
	e, _ := setupCard(t)
	ctx := context.Background()
	p := e.licenceProduct(t, "K-LAST")
	const buyers = 6
	users := make([]account.User, buyers)
	for i := range users {
		users[i] = e.customer(t, fmt.Sprintf("buyer%d@example.fr", i), "FR", account.CustomerConsumer, 0)
	}
	placed := make([]orders.Order, buyers)
	errs := make([]error, buyers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range buyers {
		wg.Go(func() {
			<-start
			placed[i], errs[i] = e.orders.Place(ctx, byCard(users[i], p.ID), nil)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Fatalf("buyers %d and %d both got a card order for the last key", winner, i)
		case !errors.Is(err, orders.ErrOutOfStock):
			t.Fatalf("buyer %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no buyer got the last key")
	}
	if n := e.count(t, "orders"); n != 1 {
		t.Fatalf("%d orders written, want 1", n)
	}
	var reserved int
	if err := e.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM licence_keys WHERE reserved_order_line_id = $1`,
		placed[winner].Lines[0].ID).Scan(&reserved); err != nil || reserved != 1 {
		t.Fatalf("the winner's line holds %d reservations (%v)", reserved, err)
	}
	e.pay(t, placed[winner])
	if o, _ := e.orders.Get(ctx, placed[winner].ID); o.Lines[0].LicenceKey != "K-LAST" {
		t.Fatalf("winner's line: %+v", o.Lines[0])
	}
}

// Checkouts of the same two licence products, their carts in opposite
// orders, by card and from the balance, all succeed while keys are left.
// Taking the keys in the cart's order, two of them on PostgreSQL could each
// hold the key the other waited for: a deadlock, one checkout failing with
// a server error.
func TestCheckoutsInOppositeOrdersDoNotDeadlock(t *testing.T) {
	e, _ := setupCard(t)
	ctx := context.Background()
	const buyers = 12
	var keysA, keysB []string
	for i := range buyers {
		keysA, keysB = append(keysA, fmt.Sprintf("A-%02d", i)), append(keysB, fmt.Sprintf("B-%02d", i))
	}
	a, b := e.licenceProduct(t, keysA...), e.licenceProduct(t, keysB...)
	users := make([]account.User, buyers)
	for i := range users {
		users[i] = e.customer(t, fmt.Sprintf("buyer%d@example.fr", i), "FR", account.CustomerConsumer, 10000)
	}
	errs := make([]error, buyers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range buyers {
		wg.Go(func() {
			in := byCard(users[i], a.ID)
			if i%4 >= 2 {
				in.Payment = orders.PayBalance
			}
			in.Lines = []orders.LineInput{{ProductID: a.ID, Quantity: 1}, {ProductID: b.ID, Quantity: 1}}
			if i%2 == 1 {
				in.Lines[0], in.Lines[1] = in.Lines[1], in.Lines[0]
			}
			<-start
			_, errs[i] = e.orders.Place(ctx, in, nil)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("buyer %d: %v", i, err)
		}
	}
	if left := e.keysLeft(t, a.ID) + e.keysLeft(t, b.ID); left != 0 {
		t.Fatalf("%d keys left, want 0", left)
	}
	// db.Tx runs a deadlock's loser again: the checkouts would succeed
	// anyway; the keys' order is right only if none was needed.
	if n := e.db.ConflictsRetried(); n != 0 {
		t.Fatalf("%d checkout runs lost a deadlock and were run again", n)
	}
}

// An erased customer's card order still waiting for its payment is
// canceled with the erasure, and the key it reserved goes back to the
// pool: nobody is left to pay it, and its Checkout job is forgotten with
// the erasure. Before, the order stayed pending and the key reserved for
// ever. A paid order is left as it is.
func TestAbandonedCardOrderReleasesItsKey(t *testing.T) {
	e, _ := setupCard(t)
	ctx := context.Background()
	p := e.licenceProduct(t, "K-ABANDONED", "K-PAID")
	ana := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 0)
	paid, err := e.orders.Place(ctx, byCard(ana, p.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.pay(t, paid)
	waiting, err := e.orders.Place(ctx, byCard(ana, p.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.keysLeft(t, p.ID); n != 0 {
		t.Fatalf("%d keys left with one sold and one reserved", n)
	}
	var n int
	if err := e.db.Tx(ctx, func(tx *sql.Tx) (err error) {
		n, err = e.orders.AbandonUnpaidTx(ctx, tx, ana.ID)
		return err
	}); err != nil || n != 1 {
		t.Fatalf("abandoned %d orders, %v; want 1", n, err)
	}
	if got, _ := e.orders.Get(ctx, waiting.ID); got.Status != orders.StatusCanceled {
		t.Fatalf("the unpaid order is %s", got.Status)
	}
	if got, _ := e.orders.Get(ctx, paid.ID); got.Status == orders.StatusCanceled || got.Lines[0].LicenceKey != "K-ABANDONED" {
		t.Fatalf("the paid order: %s, key %q", got.Status, got.Lines[0].LicenceKey)
	}
	if n := e.keysLeft(t, p.ID); n != 1 {
		t.Fatalf("%d keys left after the abandon, want the reserved one back", n)
	}
}

// The Checkout page of an order abandoned on an erasure is released, but
// the customer may pay it before its expiry reaches Stripe: card payments
// then report the money (cardpay's succeedReleased). The order stays
// canceled, delivers nothing, and the payment is refunded in full; before,
// the handler took it for a replay and the customer was charged for
// nothing.
func TestPaymentForACanceledOrderIsRefunded(t *testing.T) {
	e := setup(t)
	card := &refundingCard{}
	e.orders = orders.New(e.db, e.clock, e.catalog, e.ledger, e.accounts, e.outbox,
		orders.Options{BaseURL: "http://shop.test", StoreName: "Shop", Card: card})
	ctx := context.Background()
	p := e.licenceProduct(t, "K-LATE")
	ana := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 0)
	o, err := e.orders.Place(ctx, byCard(ana, p.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := e.orders.AbandonUnpaidTx(ctx, tx, ana.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.pay(t, o)
	got, err := e.orders.Get(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != orders.StatusCanceled || got.Lines[0].LicenceKey != "" {
		t.Fatalf("order paid after its cancel: %s, key %q", got.Status, got.Lines[0].LicenceKey)
	}
	if len(card.refunds) != 1 || card.refunds[0].PaymentID != o.PaymentID || card.refunds[0].Amount != o.Total {
		t.Fatalf("refunds = %+v, want one of %v for payment %s", card.refunds, o.Total, o.PaymentID)
	}
	if n := e.keysLeft(t, p.ID); n != 1 {
		t.Fatalf("%d keys left, want the released one", n)
	}
}

// A payment made for an order already canceled (refunded at once, see
// TestPaymentForACanceledOrderIsRefunded) may still be disputed and lost:
// the order paid nothing for its lines, so the chargeback counts nothing
// on them. Before, counting it there was refused and the webhook that
// closed the dispute failed for as long as Stripe redelivered it.
func TestLostDisputeOfACanceledOrderCountsNothing(t *testing.T) {
	e := setup(t)
	e.orders = orders.New(e.db, e.clock, e.catalog, e.ledger, e.accounts, e.outbox,
		orders.Options{BaseURL: "http://shop.test", StoreName: "Shop", Card: &refundingCard{}})
	ctx := context.Background()
	p := e.licenceProduct(t, "K-DISPUTED")
	ana := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 0)
	o, err := e.orders.Place(ctx, byCard(ana, p.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := e.orders.AbandonUnpaidTx(ctx, tx, ana.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.pay(t, o)
	pay := cardpay.Payment{ID: o.PaymentID, Purpose: cardpay.PurposeOrder, ReferenceID: o.ID, CustomerID: o.CustomerID,
		Amount: o.Total, Status: cardpay.StatusSucceeded}
	lost := cardpay.Dispute{StripeID: "dp_canceled", Event: "closed", Amount: o.Total, StripeStatus: "lost", Decided: true}
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		return e.orders.CardHandler().PaymentDisputeEventTx(ctx, tx, pay, lost)
	}); err != nil {
		t.Fatalf("lost dispute of a canceled order: %v", err)
	}
	got, err := e.orders.Get(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != orders.StatusCanceled || got.Refunded.Minor != 0 || got.Lines[0].Refunded.Minor != 0 {
		t.Fatalf("canceled order after a lost dispute: %s, refunded %v, line %v", got.Status, got.Refunded, got.Lines[0].Refunded)
	}
}

// A payment for a canceled order that is not given back to the card, now
// (refused: here card payments keep no payment) or later (the bank refused
// the refund), alerts the agents: a canceled order has no claim to report
// it, and nobody else would pay the customer back. A failed refund of a
// paid order is its claim's to report.
func TestUnrefundedPaymentForACanceledOrderAlertsTheAgents(t *testing.T) {
	e, log := setupCard(t)
	ctx := context.Background()
	p := e.licenceProduct(t, "K-1", "K-2")
	ana := e.customer(t, "ana@example.fr", "FR", account.CustomerConsumer, 0)
	canceled, err := e.orders.Place(ctx, byCard(ana, p.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	paid, err := e.orders.Place(ctx, byCard(ana, p.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.pay(t, paid)
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := e.orders.AbandonUnpaidTx(ctx, tx, ana.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.pay(t, canceled)
	if n := log.count("order_refund_failed"); n != 1 {
		t.Fatalf("%d alerts after a refund refused, want 1", n)
	}
	failed := func(o orders.Order) {
		t.Helper()
		pay := cardpay.Payment{ID: o.PaymentID, Purpose: cardpay.PurposeOrder, ReferenceID: o.ID, CustomerID: o.CustomerID,
			Amount: o.Total, Status: cardpay.StatusSucceeded}
		r := cardpay.Refund{ID: id.New("rfd"), PaymentID: o.PaymentID, Amount: o.Total, Status: cardpay.RefundFailed, LastError: "stripe refund failed: expired_or_canceled_card"}
		if err := e.db.Tx(ctx, func(tx *sql.Tx) error { return e.orders.CardHandler().RefundSettled(ctx, tx, r, pay) }); err != nil {
			t.Fatal(err)
		}
	}
	failed(canceled)
	if n := log.count("order_refund_failed"); n != 2 {
		t.Fatalf("%d alerts after the refund failed at the bank, want 2", n)
	}
	if got, want := log.details[len(log.details)-1], "paiement par carte "+canceled.PaymentID+"\u00a0: le remboursement par carte "; !strings.HasPrefix(got, want) {
		t.Errorf("the French alert says %q, want it to start with %q", got, want)
	}
	// The order as an agent finds it: its reference and its customer.
	if got, want := log.subjects[len(log.subjects)-1], "commande "+canceled.ID+", "+ana.Name; got != want {
		t.Errorf("the alert is about %q, want %q", got, want)
	}
	failed(paid)
	if n := log.count("order_refund_failed"); n != 2 {
		t.Fatalf("%d alerts after a paid order's refund failed, want still 2", n)
	}
}
