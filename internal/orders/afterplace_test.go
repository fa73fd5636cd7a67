package orders_test

import (
	"context"
	"database/sql"
	"testing"

	"comptoir/internal/orders"
)

// An AfterPlace hook reads the checkout's own rows in its transaction as
// they are, on both engines, without calling db.FlushAppends: on
// PostgreSQL the order, its lines and its consent are appended to the
// pipeline sent with the commit, and a hook that forgot the flush read no
// order at all (its ctx now sends them before its first query).
func TestAfterPlaceHooksReadTheCheckoutsRows(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "ana@example.fr", "FR", "consumer", 100000)
	a, b := e.service(t, 100), e.service(t, 200)
	in := place(u, a.ID, 10, true)
	in.Lines = append(in.Lines, orders.LineInput{ProductID: b.ID, Quantity: 20})
	var seen struct{ orders, lines, consents int }
	_, err := e.orders.Place(ctx, in, func(ctx context.Context, tx *sql.Tx, o orders.Order) error {
		return tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM orders WHERE id = $1), (SELECT COUNT(*) FROM order_lines WHERE order_id = $1),
			(SELECT COUNT(*) FROM order_consents WHERE order_id = $1)`, o.ID).Scan(&seen.orders, &seen.lines, &seen.consents)
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen.orders != 1 || seen.lines != 2 || seen.consents != 1 {
		t.Errorf("the hook read %d orders, %d lines, %d consents; want 1, 2, 1", seen.orders, seen.lines, seen.consents)
	}
}
