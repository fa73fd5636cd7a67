package main

import (
	"context"
	"fmt"
	"strings"

	"comptoir/internal/billing"
	"comptoir/internal/clock"
	"comptoir/internal/db"
)

// verifyOrders checks, once the server has stopped, that every order it
// acknowledged is in the database (an acknowledged order is committed: the
// group commit answers only after the commit that holds it), and that the
// balance ledger still reconciles.
func verifyOrders(scenario string) func(ctx context.Context, e *env, dbURL string) (string, error) {
	return func(ctx context.Context, e *env, dbURL string) (string, error) {
		e.mu.Lock()
		ids := append([]string(nil), e.acked[scenario]...)
		e.mu.Unlock()
		d, err := db.Open(ctx, dbURL)
		if err != nil {
			return "", err
		}
		defer d.Close()
		found, err := countPresent(ctx, d, "orders", "id", ids)
		if err != nil {
			return "", err
		}
		if found != len(ids) {
			return "", fmt.Errorf("%d orders acknowledged, only %d in the database", len(ids), found)
		}
		mism, err := billing.New(d, clock.System()).Reconcile(ctx)
		if err != nil {
			return "", err
		}
		if len(mism) > 0 {
			return "", fmt.Errorf("ledger does not reconcile: %d accounts differ from their entries (first %+v)", len(mism), mism[0])
		}
		return fmt.Sprintf("all %d acknowledged orders found after the server stopped; ledger reconciles", len(ids)), nil
	}
}

// countPresent counts how many of values stand in table's column (a
// trusted identifier), a few hundred at a time.
func countPresent(ctx context.Context, d *db.DB, table, column string, values []string) (int, error) {
	found := 0
	const batch = 500
	for lo := 0; lo < len(values); lo += batch {
		hi := min(lo+batch, len(values))
		args := make([]any, 0, hi-lo)
		marks := make([]string, 0, hi-lo)
		for i, v := range values[lo:hi] {
			args = append(args, v)
			marks = append(marks, fmt.Sprintf("$%d", i+1))
		}
		var n int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE `+column+` IN (`+strings.Join(marks, ", ")+`)`, args...).Scan(&n); err != nil {
			return 0, err
		}
		found += n
	}
	return found, nil
}
