package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"comptoir/internal/clock"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/idempotency"
	"comptoir/internal/orders"
)

// A keyed checkout that fails on what another request under its key
// consumed meanwhile (the balance it spent: both had looked the key up
// while it was free) answers as it would once that request had committed:
// its answer for the same body, idempotency_key_reused for another. Before,
// another body got its own failure (insufficient_balance), though the
// same request sent a moment later, or failing later in its transaction
// (ErrTaken), is refused as reusing the key.
func TestCheckoutFailedBesideItsKeysFirstUseAnswersAsAfterIt(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	store := idempotency.New(d, clock.NewManual(time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)))
	s := &Server{Deps: Deps{Idempotency: store}}
	const route, caller = "POST /api/v1/orders", "usr_1"
	first := []byte(`{"lines":[{"product_id":"prd_1","quantity":1}]}`)
	for _, tc := range []struct {
		key  string
		body []byte
		want func(placed) bool
	}{
		{"same", first, func(p placed) bool { return p.err == nil && p.replay && p.orderID == "ord_first" }},
		{"other", []byte(`{"lines":[{"product_id":"prd_1","quantity":2}]}`), func(p placed) bool { return errors.Is(p.err, errKeyReused) }},
	} {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/orders", nil)
		got := s.idempotent(r, caller, route, tc.key, tc.body, func(orders.AfterPlace) (orders.Order, error) {
			// The first request under the key commits now, after this
			// one's lookup, and spends the balance this one then lacks.
			if err := d.Tx(ctx, func(tx *sql.Tx) error {
				_, err := store.SaveTx(ctx, tx, idempotency.Scope(caller, route), tc.key, idempotency.RequestHash(http.MethodPost, route, first),
					http.StatusCreated, []byte(`{"id":"ord_first"}`))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return orders.Order{}, orders.ErrInsufficientBalance
		})
		if !tc.want(got) {
			t.Errorf("%s body: %+v (err %v)", tc.key, got, got.err)
		}
	}
}
