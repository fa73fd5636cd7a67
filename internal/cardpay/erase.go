package cardpay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v82"

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

// DeleteStripeCustomersTx schedules, in the erasure's transaction, the
// deletion at Stripe of the Customer objects made for customerID's
// payments (a subscription's saved card): Stripe keeps there the name,
// email and cards the customer gave on its page, and the store is the
// controller of that data. Nothing is deleted if the erasure rolls back.
// The payments' records keep the Customer's id, which names nothing once
// deleted. Deleting a Customer leaves its payments, refunds and disputes
// at Stripe untouched.
func DeleteStripeCustomersTx(ctx context.Context, tx *sql.Tx, ins jobs.Inserter, customerID string) error {
	ids, err := db.Strings(ctx, tx, `SELECT DISTINCT stripe_customer_id FROM card_payments
		WHERE customer_id = $1 AND stripe_customer_id <> '' ORDER BY stripe_customer_id`, customerID)
	if err != nil {
		return fmt.Errorf("cardpay: stripe customers of %s: %w", customerID, err)
	}
	for _, id := range ids {
		if _, err := ins.InsertTx(ctx, tx, DeleteCustomerArgs{StripeCustomerID: id}, nil); err != nil {
			return fmt.Errorf("cardpay: schedule deletion of %s: %w", id, err)
		}
	}
	return nil
}

// DeleteCustomerArgs is the job that deletes a Customer object at Stripe.
type DeleteCustomerArgs struct {
	StripeCustomerID string `json:"stripe_customer_id"`
}

// Kind names the job for River; renaming it would orphan queued jobs.
func (DeleteCustomerArgs) Kind() string { return "cardpay.delete_customer" }

// InsertOpts retries as the other Stripe jobs do.
func (DeleteCustomerArgs) InsertOpts() river.InsertOpts { return stripeJobOpts() }

type deleteCustomerWorker struct {
	river.WorkerDefaults[DeleteCustomerArgs]
	s *Service
}

// Work deletes the Customer. One Stripe no longer has (deleted already, by
// an earlier attempt whose answer was lost, or from Stripe's dashboard) is
// done; another refusal is final and logged for the operator, who can
// delete it from the dashboard; anything else is retried.
func (w *deleteCustomerWorker) Work(ctx context.Context, job *river.Job[DeleteCustomerArgs]) error {
	s := w.s
	if !s.Enabled() {
		return ErrDisabled
	}
	_, err := s.stripe.V1Customers.Delete(ctx, job.Args.StripeCustomerID, &stripe.CustomerDeleteParams{})
	var se *stripe.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound:
		return nil
	case permanent(err):
		s.log.Warn("cardpay: an erased customer's Stripe Customer was not deleted; delete it from Stripe's dashboard",
			"stripe_customer", job.Args.StripeCustomerID, "error", describe(err))
		return river.JobCancel(err)
	}
	return fmt.Errorf("delete stripe customer %s: %w", job.Args.StripeCustomerID, err)
}
