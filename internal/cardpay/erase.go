package cardpay

import (
	"context"
	"database/sql"
	"fmt"

	"comptoir/internal/db"
	"comptoir/internal/jobs"
)

// ForgetCustomerJobsTx deletes the Checkout jobs of customerID's payments,
// in any state but running (River's cleaner sweeps that one later): their
// arguments keep the email address the page was pre-filled with, and
// River keeps a finished job for a day, a given-up one for a week, so an
// erasure would have left the address there. The payments themselves stay
// (accounting); one whose page was still to be made stays "creating", as
// nobody is left to pay it.
func ForgetCustomerJobsTx(ctx context.Context, tx *sql.Tx, customerID string) error {
	ids, err := db.Strings(ctx, tx, `SELECT id FROM card_payments WHERE customer_id = $1`, customerID)
	if err != nil {
		return fmt.Errorf("cardpay: forget jobs: %w", err)
	}
	for _, id := range ids {
		if err := jobs.ForgetTx(ctx, tx, CreateCheckoutArgs{}.Kind(), id); err != nil {
			return err
		}
	}
	return nil
}
