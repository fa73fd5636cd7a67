package cardpay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/audit"
	"comptoir/internal/id"
	"comptoir/internal/money"
)

// maxReason is Stripe's limit on a metadata value, where the reason goes.
const maxReason = 500

// RefundTx gives back amount of a paid card payment, in tx. The amount is
// reserved on the payment by one conditional update, so refunds never add
// up to more than was paid, however many agents or claims refund at once
// (ErrRefundExceedsPayment); the call to Stripe is a job, and its outcome
// reaches Handler.RefundSettled. A refund that fails releases its amount.
func (s *Service) RefundTx(ctx context.Context, tx *sql.Tx, paymentID string, amount money.Amount, reason string) (Refund, error) {
	if !s.Enabled() {
		return Refund{}, ErrDisabled
	}
	if err := checkAmountIn(amount); err != nil {
		return Refund{}, err
	}
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > maxReason || !utf8.ValidString(reason) {
		return Refund{}, fmt.Errorf("%w: reason longer than %d characters", ErrInvalid, maxReason)
	}
	p, err := getPayment(ctx, tx, paymentID)
	if err != nil {
		return Refund{}, err
	}
	if amount.Currency != p.Amount.Currency {
		return Refund{}, fmt.Errorf("%w: refund in %s of a payment in %s", ErrInvalid, amount.Currency, p.Amount.Currency)
	}
	if p.Status != StatusSucceeded || p.PaymentIntentID == "" {
		return Refund{}, fmt.Errorf("%w: payment %s is %s", ErrNotRefundable, p.ID, p.Status)
	}
	now := s.clock.Now()
	if err := reserveRefundTx(ctx, tx, p, amount, now); err != nil {
		return Refund{}, err
	}
	r := Refund{ID: id.New("rfd"), PaymentID: p.ID, Amount: amount, Status: RefundPending, Reason: reason, CreatedAt: now, UpdatedAt: now}
	if _, err := tx.ExecContext(ctx, `INSERT INTO card_refunds (id, payment_id, amount, status, reason, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, r.ID, r.PaymentID, r.Amount.Minor, string(r.Status), r.Reason, now); err != nil {
		return Refund{}, fmt.Errorf("store refund: %w", err)
	}
	if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "card_refund", SubjectID: r.ID,
		Action: "refund.requested", After: refundState(r)}); err != nil {
		return Refund{}, err
	}
	if _, err := s.ins.InsertTx(ctx, tx, RefundArgs{RefundID: r.ID}, nil); err != nil {
		return Refund{}, fmt.Errorf("schedule refund: %w", err)
	}
	return r, nil
}

// reserveRefundTx reserves amount on payment p for a refund, in tx: the
// row lock and the condition, evaluated on the latest committed row, make
// concurrent refunds queue and the ones that no longer fit change nothing
// (ErrRefundExceedsPayment); a payment whose dispute holds its refunds
// changes nothing either (ErrPaymentDisputed). A zero amount reserves
// nothing but checks (and holds, until tx ends) that a refund could be
// made now: what RefundableTx asks.
func reserveRefundTx(ctx context.Context, tx *sql.Tx, p Payment, amount money.Amount, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE card_payments SET refunded = refunded + $2, updated_at = $3
		WHERE id = $1 AND status = 'succeeded' AND refunded + $2 <= amount AND NOT dispute_hold`, p.ID, amount.Minor, now)
	if err != nil {
		return fmt.Errorf("reserve refund on %s: %w", p.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		var refunded int64
		var held bool
		if err := tx.QueryRowContext(ctx, `SELECT refunded, dispute_hold FROM card_payments WHERE id = $1`, p.ID).Scan(&refunded, &held); err != nil {
			return err
		}
		if held {
			return fmt.Errorf("%w: %s", ErrPaymentDisputed, p.ID)
		}
		left := money.Amount{Minor: p.Amount.Minor - refunded, Currency: p.Amount.Currency}
		return fmt.Errorf("%w: %v asked, %v left to refund on %s", ErrRefundExceedsPayment, amount, left, p.ID)
	}
	return nil
}

func refundState(r Refund) map[string]any {
	return map[string]any{"status": r.Status, "payment_id": r.PaymentID, "amount": r.Amount}
}

// RefundArgs is the job that asks Stripe for a refund.
type RefundArgs struct {
	RefundID string `json:"refund_id"`
}

// Kind names the job for River; renaming it would orphan queued jobs.
func (RefundArgs) Kind() string { return "cardpay.refund" }

// InsertOpts limits retries to the life of an idempotency key.
func (RefundArgs) InsertOpts() river.InsertOpts { return stripeJobOpts() }

type refundWorker struct {
	river.WorkerDefaults[RefundArgs]
	s *Service
}

// stripeRefundReasons are the reasons Stripe's API accepts; ours is free
// text, passed as one of these when it is one and kept in metadata always.
var stripeRefundReasons = map[string]bool{"duplicate": true, "fraudulent": true, "requested_by_customer": true}

// Work creates the Stripe refund outside any transaction, under the key
// "refund-<refund id>": a retry after a crash gets the first refund back
// and never pays twice. A retry so late that Stripe may have forgotten the
// key, or one after a server error (which sends a new key, idempotencyKey),
// first looks for the refund among the payment's.
func (w *refundWorker) Work(ctx context.Context, job *river.Job[RefundArgs]) error {
	s := w.s
	if !s.Enabled() {
		return ErrDisabled
	}
	r, err := getRefund(ctx, s.db.Read, job.Args.RefundID)
	if errors.Is(err, ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if r.Status != RefundPending || r.StripeRefundID != "" {
		return nil // settled, or created at Stripe and waiting for its webhook
	}
	p, err := getPayment(ctx, s.db.Read, r.PaymentID)
	if err != nil {
		return err
	}
	params := &stripe.RefundCreateParams{
		PaymentIntent: stripe.String(p.PaymentIntentID),
		Amount:        stripe.Int64(r.Amount.Minor),
		Metadata:      map[string]string{"refund_id": r.ID, "payment_id": p.ID, "reason": r.Reason},
	}
	if stripeRefundReasons[r.Reason] {
		params.Reason = stripe.String(r.Reason)
	}
	params.SetIdempotencyKey(idempotencyKey("refund-"+r.ID, r.keyRound))
	var sr *stripe.Refund
	var callErr error
	if r.keyRound > 0 || s.keyMayBeGone(job.JobRow) {
		sr, callErr = s.earlierRefund(ctx, p.PaymentIntentID, r.ID)
	}
	if sr == nil && callErr == nil {
		sr, callErr = s.stripe.V1Refunds.Create(ctx, params)
	}

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if callErr == nil {
		return s.db.Tx(rctx, func(tx *sql.Tx) error { return s.applyRefund(rctx, tx, r.ID, sr) })
	}
	perm := permanent(callErr)
	final := perm || job.Attempt >= job.MaxAttempts
	msg := describe(callErr)
	s.log.Warn("cardpay: refund not created", "refund", r.ID, "payment", p.ID, "attempt", job.Attempt,
		"max_attempts", job.MaxAttempts, "final", final, "error", msg)
	err = s.db.Tx(rctx, func(tx *sql.Tx) error {
		if final {
			_, err := s.settleRefund(rctx, tx, r.ID, RefundFailed, "", msg)
			return err
		}
		_, err := tx.ExecContext(rctx, `UPDATE card_refunds SET last_error = $2, updated_at = $3, key_round = key_round + $4
			WHERE id = $1 AND status = 'pending'`,
			r.ID, msg, s.clock.Now(), roundStep(callErr))
		return err
	})
	if err != nil {
		callErr = errors.Join(callErr, fmt.Errorf("record failure: %w", err))
	}
	if perm {
		return river.JobCancel(callErr)
	}
	return fmt.Errorf("refund %s: %w", r.ID, callErr)
}

// earlierRefund finds the Stripe refund that an earlier attempt created for
// our refund refundID, by the refund_id all of ours carry in their metadata;
// nil when there is none.
func (s *Service) earlierRefund(ctx context.Context, paymentIntentID, refundID string) (*stripe.Refund, error) {
	return findOurs(s.stripe.V1Refunds.List(ctx, &stripe.RefundListParams{PaymentIntent: stripe.String(paymentIntentID)}),
		func(sr *stripe.Refund) bool { return sr.Metadata["refund_id"] == refundID })
}

// applyRefund records what a Stripe refund object says, from the job's
// answer or a refund webhook.
func (s *Service) applyRefund(ctx context.Context, tx *sql.Tx, refundID string, sr *stripe.Refund) error {
	var err error
	switch sr.Status {
	case stripe.RefundStatusSucceeded:
		_, err = s.settleRefund(ctx, tx, refundID, RefundSucceeded, sr.ID, "")
	case stripe.RefundStatusFailed, stripe.RefundStatusCanceled:
		msg := stripeRefundFailure + string(sr.Status)
		if sr.FailureReason != "" {
			msg += ": " + string(sr.FailureReason)
		}
		_, err = s.settleRefund(ctx, tx, refundID, RefundFailed, sr.ID, msg)
	default: // pending, requires_action: the webhook will tell
		_, err = tx.ExecContext(ctx, `UPDATE card_refunds SET stripe_refund_id = COALESCE(stripe_refund_id, $2), updated_at = $3
			WHERE id = $1`, refundID, nullable(sr.ID), s.clock.Now())
	}
	return err
}

// stripeRefundFailure begins the last error of a refund that Stripe itself
// reported failed or canceled (as opposed to our job giving up on a call).
const stripeRefundFailure = "stripe refund "

// settleRefund moves a refund to succeeded or failed once, keeps the
// payment's reservation equal to its pending and succeeded refunds, and
// tells the Handler in the same transaction. It reports whether it changed
// anything.
//
// Besides pending → succeeded and pending → failed, Stripe can report a
// succeeded refund failing later (the card was closed): the amount is
// released. A refund we gave up on that Stripe reports succeeded after all
// (our last attempt timed out after Stripe acted) is reserved again if it
// still fits; if not, a person must look, and it is logged as an error.
func (s *Service) settleRefund(ctx context.Context, tx *sql.Tx, refundID string, to RefundStatus, stripeRefundID, lastError string) (bool, error) {
	before, err := getRefund(ctx, tx, refundID)
	if err != nil {
		return false, err
	}
	switch {
	case to != RefundSucceeded && to != RefundFailed:
		return false, fmt.Errorf("settle refund %s to %s", refundID, to)
	case before.Status == to:
		return false, nil // already settled so
	}
	now := s.clock.Now()
	reReserve := to == RefundSucceeded && before.Status == RefundFailed
	if reReserve && strings.HasPrefix(before.LastError, stripeRefundFailure) {
		// Stripe said this refund failed: that is final at Stripe (a
		// refund never goes from failed to succeeded), so a "succeeded"
		// now is an older snapshot delivered late (events arrive in any
		// order; refund.created can follow refund.failed). Reserving it
		// again would record money given back that came back to us.
		s.log.Warn("cardpay: a late 'succeeded' for a refund Stripe reported failed; ignored",
			"refund", refundID, "payment", before.PaymentID, "stripe_refund", stripeRefundID)
		return false, nil
	}
	if reReserve {
		var amount, refunded int64
		var status Status
		if err := tx.QueryRowContext(ctx, `SELECT amount, refunded, status FROM card_payments WHERE id = $1`,
			before.PaymentID).Scan(&amount, &refunded, &status); err != nil {
			return false, err
		}
		if status != StatusSucceeded || refunded+before.Amount.Minor > amount {
			s.log.Error("cardpay: Stripe reports succeeded a refund recorded failed, and it no longer fits the payment; needs review",
				"refund", refundID, "payment", before.PaymentID, "stripe_refund", stripeRefundID)
			return false, nil
		}
	}
	// The reservation moves first, then the refund's status: the trigger
	// card_refunds_match_reservation checks after each change of a refund
	// that the payment's reservation equals its pending and succeeded
	// refunds. A condition that fails here means a concurrent change: the
	// error rolls everything back, and the retry sees the new state.
	switch {
	case to == RefundFailed && before.Status != RefundFailed:
		// Release: the money never left (or came back).
		if err := s.moveRefunded(ctx, tx, before.PaymentID, -before.Amount.Minor, now); err != nil {
			return false, fmt.Errorf("release refund %s: %w", refundID, err)
		}
	case reReserve:
		if err := s.moveRefunded(ctx, tx, before.PaymentID, before.Amount.Minor, now); err != nil {
			return false, fmt.Errorf("reserve refund %s again: %w", refundID, err)
		}
	}
	res, err := tx.ExecContext(ctx, `UPDATE card_refunds SET status = $2, stripe_refund_id = COALESCE(stripe_refund_id, $3),
		last_error = $4, updated_at = $5 WHERE id = $1 AND status = $6`,
		refundID, string(to), nullable(stripeRefundID), truncate(lastError), now, string(before.Status))
	if err != nil {
		return false, fmt.Errorf("refund %s to %s: %w", refundID, to, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, err
	} else if n != 1 {
		return false, fmt.Errorf("refund %s changed concurrently; retry", refundID)
	}
	r, err := getRefund(ctx, tx, refundID)
	if err != nil {
		return false, err
	}
	p, err := getPayment(ctx, tx, r.PaymentID)
	if err != nil {
		return false, err
	}
	if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "card_refund", SubjectID: r.ID,
		Action: "refund." + string(to), Before: refundState(before), After: refundState(r)}); err != nil {
		return false, err
	}
	if p.Duplicate {
		return true, s.duplicateRefundSettled(ctx, tx, r, p)
	}
	if err := s.handler.RefundSettled(ctx, tx, r, p); err != nil {
		return false, fmt.Errorf("handler of %s %s: refund %s: %w", p.Purpose, p.ReferenceID, to, err)
	}
	return true, nil
}

// moveRefunded adds delta to a payment's reservation, within 0..amount.
func (s *Service) moveRefunded(ctx context.Context, tx *sql.Tx, paymentID string, delta int64, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE card_payments SET refunded = refunded + $2, updated_at = $3
		WHERE id = $1 AND status = 'succeeded' AND refunded + $2 >= 0 AND refunded + $2 <= amount`, paymentID, delta, now)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("payment %s cannot move its refunded amount by %d", paymentID, delta)
	}
	return nil
}
