package cardpay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"comptoir/internal/db"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v82"
)

// StartAuthenticationTx lets the customer pay, on Stripe's hosted Checkout
// page, a reference whose off-session charge the bank refused without their
// authentication (3-D Secure): the renewal of a subscription, typically.
// Our pages load no Stripe.js, so the held PaymentIntent cannot be confirmed
// on them; instead, in tx:
//
//   - a requires_action payment holding the reference (same customer and
//     amount) is released: canceled here, and its PaymentIntent canceled at
//     Stripe by a job (CancelPaymentArgs), so it can never be confirmed
//     later and charge the reference a second time;
//   - a Checkout payment is started for exactly that amount
//     (StartCheckoutTx), which the partial unique index lets in only once
//     the held payment no longer holds the reference.
//
// Calling it again while that Checkout payment waits for the customer
// returns the same payment, hence the same page: a second visit never
// opens a second payable session. ErrAlreadyPaid when the reference is
// paid; ErrPaymentInProgress when another payment holds it (an off-session
// charge under way, another customer or amount).
func (s *Service) StartAuthenticationTx(ctx context.Context, tx *sql.Tx, in StartInput) (Payment, error) {
	if !s.Enabled() {
		return Payment{}, ErrDisabled
	}
	if err := in.validate(); err != nil {
		return Payment{}, err
	}
	held, err := scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM card_payments
		WHERE purpose = $1 AND reference_id = $2 AND status = 'requires_action'`, string(in.Purpose), in.ReferenceID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return Payment{}, fmt.Errorf("read held payment: %w", err)
	case held.CustomerID != in.CustomerID || held.Amount != in.Amount:
		return Payment{}, fmt.Errorf("%w: %s %s is held by %s for another customer or amount", ErrPaymentInProgress, in.Purpose, in.ReferenceID, held.ID)
	default:
		// Not released by this call (false) means a concurrent one did,
		// and committed its Checkout payment first: StartCheckoutTx then
		// finds and returns that payment, the same page for both.
		if _, err := s.releaseTx(ctx, tx, held, "replaced by a Checkout payment the customer authenticates"); err != nil {
			return Payment{}, err
		}
	}
	return s.StartCheckoutTx(ctx, tx, in)
}

// ReleaseTx gives up, in tx, the payment of a reference that no longer
// should be paid: the subscription it would renew has ended or was
// canceled. A requires_action charge or a Checkout page not paid yet is
// canceled here and at Stripe (by a job: the PaymentIntent canceled, the
// Checkout Session expired), so the customer can no longer pay it. An
// off-session charge still waiting for its job is canceled too, so the job
// never calls Stripe: a customer who cancels is not charged by a renewal
// queued a moment before. A job already calling Stripe cannot be stopped;
// if that charge succeeds, succeed records it all the same (money that
// arrived is never left unrecorded). A reference without such a payment is
// left alone; it reports whether one was released.
func (s *Service) ReleaseTx(ctx context.Context, tx *sql.Tx, purpose Purpose, referenceID, why string) (bool, error) {
	if !s.Enabled() {
		return false, nil
	}
	p, err := scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM card_payments
		WHERE purpose = $1 AND reference_id = $2 AND status IN `+inList(StatusRequiresAction, StatusAwaitingCustomer, StatusCreating),
		string(purpose), referenceID))
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read payment to release: %w", err)
	}
	return s.releaseTx(ctx, tx, p, why)
}

// ReleaseWaitingTx releases (as ReleaseTx) every payment of customerID for
// purpose that still waits for them, and returns how many it released: an
// erasure's top-ups, which nobody is left to pay and which would credit a
// balance nobody can use. The domains whose payments carry state of their
// own release theirs themselves (orders.Service.AbandonUnpaidTx).
func (s *Service) ReleaseWaitingTx(ctx context.Context, tx *sql.Tx, customerID string, purpose Purpose, why string) (int, error) {
	if !s.Enabled() {
		return 0, nil
	}
	refs, err := db.Strings(ctx, tx, `SELECT reference_id FROM card_payments
		WHERE customer_id = $1 AND purpose = $2 AND status IN `+inList(StatusRequiresAction, StatusAwaitingCustomer, StatusCreating)+`
		ORDER BY id`, customerID, string(purpose))
	if err != nil {
		return 0, fmt.Errorf("read payments to release: %w", err)
	}
	n := 0
	for _, ref := range refs {
		released, err := s.ReleaseTx(ctx, tx, purpose, ref, why)
		if err != nil {
			return n, err
		}
		if released {
			n++
		}
	}
	return n, nil
}

// releaseTx cancels a payment that waits for the customer, without telling
// the Handler (the domain decided it), and schedules the Stripe side. The
// update is conditional on the status read: false when a concurrent change
// (a webhook, another release) moved the payment first.
func (s *Service) releaseTx(ctx context.Context, tx *sql.Tx, p Payment, why string) (bool, error) {
	ok, err := s.transition(ctx, tx, p.ID, StatusCanceled, why, p.Status)
	if err != nil || !ok {
		return false, err
	}
	if _, err := s.afterTransition(ctx, tx, p, "payment.released"); err != nil {
		return false, err
	}
	// Read again: the Checkout job may have recorded the session meanwhile.
	after, err := getPayment(ctx, tx, p.ID)
	if err != nil {
		return false, err
	}
	if after.PaymentIntentID == "" && after.CheckoutSessionID == "" {
		return true, nil // nothing exists at Stripe (a Checkout job will see it canceled)
	}
	if _, err := s.ins.InsertTx(ctx, tx, CancelPaymentArgs{PaymentID: p.ID}, nil); err != nil {
		return false, fmt.Errorf("schedule release of %s: %w", p.ID, err)
	}
	return true, nil
}

// CancelPaymentArgs is the job that cancels at Stripe a payment we
// released: its Checkout Session is expired, or its PaymentIntent canceled.
type CancelPaymentArgs struct {
	PaymentID string `json:"payment_id"`
}

// Kind names the job for River; renaming it would orphan queued jobs.
func (CancelPaymentArgs) Kind() string { return "cardpay.cancel_payment" }

// InsertOpts limits retries to the life of an idempotency key.
func (CancelPaymentArgs) InsertOpts() river.InsertOpts { return stripeJobOpts() }

type cancelWorker struct {
	river.WorkerDefaults[CancelPaymentArgs]
	s *Service
}

// Work calls Stripe outside any transaction under the key
// "cancel-<payment id>" (a new one after a server error, idempotencyKey:
// closing twice is harmless, and a page left open can still be paid).
// Stripe refusing (the intent already canceled, the
// session already expired or complete) is final and logged: a payment that
// went through anyway reaches succeed, which records it: the reference
// if nothing else holds it, else a duplicate refunded at once.
func (w *cancelWorker) Work(ctx context.Context, job *river.Job[CancelPaymentArgs]) error {
	s := w.s
	p, err := s.jobPayment(ctx, job.Args.PaymentID)
	if err != nil {
		return err
	}
	if p.Status != StatusCanceled {
		return nil
	}
	var callErr error
	switch {
	case p.CheckoutSessionID != "":
		params := &stripe.CheckoutSessionExpireParams{}
		params.SetIdempotencyKey(idempotencyKey("cancel-"+p.ID, p.keyRound))
		_, callErr = s.stripe.V1CheckoutSessions.Expire(ctx, p.CheckoutSessionID, params)
	case p.PaymentIntentID != "":
		params := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String(string(stripe.PaymentIntentCancellationReasonAbandoned))}
		params.SetIdempotencyKey(idempotencyKey("cancel-"+p.ID, p.keyRound))
		_, callErr = s.stripe.V1PaymentIntents.Cancel(ctx, p.PaymentIntentID, params)
	default:
		return nil
	}
	if callErr == nil {
		return nil
	}
	if permanent(callErr) {
		s.log.Warn("cardpay: released payment not canceled at Stripe", "payment", p.ID, "error", describe(callErr))
		return river.JobCancel(callErr)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.db.Tx(rctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(rctx, `UPDATE card_payments SET last_error = $2, key_round = key_round + $3
			WHERE id = $1 AND status = 'canceled'`,
			p.ID, truncate("cancel at stripe: "+describe(callErr)), roundStep(callErr))
		return err
	}); err != nil {
		s.log.Warn("cardpay: record cancel failure", "payment", p.ID, "error", err)
	}
	return fmt.Errorf("cancel %s at stripe: %w", p.ID, callErr)
}
