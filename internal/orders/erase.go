package orders

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"comptoir/internal/db"
)

// EraseCustomerTx replaces the IP address and user agent of a customer's
// consent records and download log by "erased" (the only change the schema
// allows on those append-only rows). What was consented to, in which words,
// under which versions and when stays: that is the evidence the law asks the
// seller to keep; the address and browser only identify the person, and the
// order, invoice and audit log already tie the consent to the account.
// It returns the addresses it erased, so that other traces keyed by them
// (rate-limit windows) can go too.
func EraseCustomerTx(ctx context.Context, tx *sql.Tx, customerID string) ([]string, error) {
	ips, err := db.Strings(ctx, tx, `SELECT ip FROM order_consents WHERE order_id IN (SELECT id FROM orders WHERE customer_id = $1)
		UNION SELECT ip FROM download_events WHERE customer_id = $1`, customerID)
	if err != nil {
		return nil, fmt.Errorf("orders: erase: %w", err)
	}
	if err := db.ExecEach(ctx, tx, []string{
		`UPDATE order_consents SET ip = 'erased', user_agent = 'erased'
			WHERE order_id IN (SELECT id FROM orders WHERE customer_id = $1) AND NOT (ip = 'erased' AND user_agent = 'erased')`,
		`UPDATE download_events SET ip = 'erased', user_agent = 'erased'
			WHERE customer_id = $1 AND NOT (ip = 'erased' AND user_agent = 'erased')`,
	}, customerID); err != nil {
		return nil, fmt.Errorf("orders: erase: %w", err)
	}
	return ips, nil
}

// ForgetDownloadAddressesTx erases the address and user agent of downloads
// older than before (the activity retention); the download itself, evidence
// of supply, stays.
func ForgetDownloadAddressesTx(ctx context.Context, tx *sql.Tx, before time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, `UPDATE download_events SET ip = 'erased', user_agent = 'erased'
		WHERE at < $1 AND NOT (ip = 'erased' AND user_agent = 'erased')`, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("orders: forget download addresses: %w", err)
	}
	return res.RowsAffected()
}
