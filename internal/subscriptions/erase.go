package subscriptions

import (
	"context"
	"database/sql"
	"fmt"

	"comptoir/internal/db"
)

// EraseCustomerTx replaces the IP address and user agent recorded with a
// customer's subscription consents by "erased" (see orders.EraseCustomerTx:
// the terms and the consent's words, version and time stay). It returns the
// addresses erased.
func EraseCustomerTx(ctx context.Context, tx *sql.Tx, customerID string) ([]string, error) {
	ips, err := db.Strings(ctx, tx, `SELECT DISTINCT consent_ip FROM subscriptions WHERE customer_id = $1`, customerID)
	if err != nil {
		return nil, fmt.Errorf("subscriptions: erase: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET consent_ip = 'erased', consent_user_agent = 'erased'
		WHERE customer_id = $1 AND NOT (consent_ip = 'erased' AND consent_user_agent = 'erased')`, customerID); err != nil {
		return nil, fmt.Errorf("subscriptions: erase: %w", err)
	}
	return ips, nil
}

// LiveCount counts a customer's subscriptions that will renew: not
// canceled and not set to end. Erasure waits until there are none, so that
// nobody is charged for a plan whose account no longer exists.
func LiveCount(ctx context.Context, q db.Querier, customerID string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM subscriptions WHERE customer_id = $1
		AND status <> 'canceled' AND NOT cancel_at_period_end`, customerID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("subscriptions: count live: %w", err)
	}
	return n, nil
}
