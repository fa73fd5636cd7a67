package subscriptions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"comptoir/internal/cardpay"
	"comptoir/internal/money"
)

// SavedCards charges renewals to the customer's saved card through card
// payments. A customer without a saved card, or a store without card
// payments, makes a failed attempt (ErrCardDeclined), retried on schedule
// like a declined card; any other error rolls the renewal back so its job
// runs again.
type SavedCards struct{ Card *cardpay.Service }

// ChargeSavedCardTx implements CardCharger.
func (c SavedCards) ChargeSavedCardTx(ctx context.Context, tx *sql.Tx, in CardCharge) (string, error) {
	p, err := c.Card.ChargeSavedCardTx(ctx, tx, cardpay.ChargeInput{
		Purpose: cardpay.PurposeRenewal, ReferenceID: in.PeriodID, CustomerID: in.CustomerID,
		Amount: in.Amount, Description: in.Description,
	})
	switch {
	case errors.Is(err, cardpay.ErrNoSavedCard):
		return "", fmt.Errorf("%w: %w: %v", ErrCardDeclined, ErrNoCard, err)
	case errors.Is(err, cardpay.ErrDisabled), errors.As(err, new(*cardpay.BelowMinimumError)):
		// A renewal Stripe would refuse (a subscription started before
		// Start checked the minimum) is a failed attempt, not a job that
		// fails for ever; nothing is asked of Stripe.
		return "", fmt.Errorf("%w: %v", ErrCardDeclined, err)
	case errors.Is(err, cardpay.ErrPaymentInProgress):
		// The period is held by a charge waiting for the customer's
		// authentication, or by the Checkout page they opened to give it.
		return "", fmt.Errorf("%w: %v", ErrAuthenticationPending, err)
	case err != nil:
		return "", err
	}
	return p.ID, nil
}

// RefundPeriodTx implements CardRefunder.
func (c SavedCards) RefundPeriodTx(ctx context.Context, tx *sql.Tx, paymentID string, amount money.Amount, reason string) (string, error) {
	r, err := c.Card.RefundTx(ctx, tx, paymentID, amount, reason)
	switch {
	case errors.Is(err, cardpay.ErrPaymentDisputed), errors.Is(err, cardpay.ErrRefundExceedsPayment),
		errors.Is(err, cardpay.ErrNotRefundable), errors.Is(err, cardpay.ErrDisabled):
		return "", fmt.Errorf("%w: %w", ErrRefundRefused, err)
	case err != nil:
		return "", err
	}
	return r.ID, nil
}

// ReleasePeriodTx implements CardReleaser.
func (c SavedCards) ReleasePeriodTx(ctx context.Context, tx *sql.Tx, periodID string) (bool, error) {
	return c.Card.ReleaseTx(ctx, tx, cardpay.PurposeRenewal, periodID, "subscription ended")
}

// CardHandler settles renewal periods when Stripe reports on their
// payments. It implements cardpay.Handler for the "renewal" purpose (and
// the first period of a card subscription, whose reference is also the
// period).
type CardHandler struct {
	S *Service
	// Claims hears the outcome of card refunds (the claim that decided
	// them records it and alerts agents of a failure); nil: nobody.
	Claims RefundReporter
	// Alerts tells the admins of a disputed payment that stopped the
	// renewals (PaymentDisputeEventTx); nil: nobody.
	Alerts Alerter
}

// RefundReporter is told the outcome of a card refund: claims'
// CardRefundSettledTx. chargedBack is how much of a failed refund a lost
// dispute had already returned to the customer.
type RefundReporter interface {
	CardRefundSettledTx(ctx context.Context, tx *sql.Tx, cardRefundID string, succeeded bool, chargedBack money.Amount) error
}

// PaymentSucceeded marks the period paid.
func (h CardHandler) PaymentSucceeded(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error {
	return h.S.PeriodPaidTx(ctx, tx, p.ReferenceID, p.ID)
}

// PaymentFailed records the failed attempt; the retry schedule goes on.
func (h CardHandler) PaymentFailed(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error {
	if p.NeedsAuthentication() {
		return h.S.PeriodAuthenticationRequiredTx(ctx, tx, p.ReferenceID, p.LastError)
	}
	return h.S.PeriodPaymentFailedTx(ctx, tx, p.ReferenceID, p.LastError)
}

// RefundSettled settles the refund of a period's card payment (a
// subscription claim's): a refund that succeeded gets its credit note now,
// in the transaction that records the success; one that failed gives the
// period back its paid status, so its payment is refundable again (the
// money never left), unless a lost dispute of the payment had returned
// that money already: then the period stays refunded. Then the claim hears
// of it. cardpay reports each outcome once; the credit note is also keyed
// on the refund.
func (h CardHandler) RefundSettled(ctx context.Context, tx *sql.Tx, r cardpay.Refund, p cardpay.Payment) error {
	succeeded := r.Status == cardpay.RefundSucceeded
	chargedBack := money.Amount{Currency: r.Amount.Currency}
	var err error
	if succeeded {
		err = h.S.periodRefundSucceededTx(ctx, tx, p.ReferenceID, r.ID, r.Amount)
	} else if chargedBack, err = h.S.takeOverForChargebacksTx(ctx, tx, p.ReferenceID, r.ID, r.Amount); err == nil && chargedBack != r.Amount {
		err = h.S.periodRefundFailedTx(ctx, tx, p.ReferenceID, r.ID, r.Amount)
	}
	if err != nil {
		return err
	}
	if !succeeded && chargedBack != r.Amount {
		if err := h.paidAfterEndRefundFailedTx(ctx, tx, r, p, chargedBack); err != nil {
			return err
		}
	}
	if h.Claims == nil {
		return nil
	}
	return h.Claims.CardRefundSettledTx(ctx, tx, r.ID, succeeded, chargedBack)
}

// paidAfterEndRefundFailedTx alerts the agents when the card refund that
// failed is the one refundPaidAfterEndTx asked (its period names it): the
// period is paid again, and the customer, told that no further payment
// would be taken, has not been paid back. A claim's refund is the claim's
// to report (CardRefundSettledTx). chargedBack is the part a lost dispute
// returned already.
func (h CardHandler) paidAfterEndRefundFailedTx(ctx context.Context, tx *sql.Tx, r cardpay.Refund, p cardpay.Payment, chargedBack money.Amount) error {
	var subID string
	err := tx.QueryRowContext(ctx, `SELECT subscription_id FROM subscription_periods WHERE id = $1 AND after_end_refund_id = $2`,
		p.ReferenceID, r.ID).Scan(&subID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return wrapDB("period of a failed refund", err)
	}
	sub, err := getSubscription(ctx, tx, subID)
	if err != nil {
		return err
	}
	detail := paidAfterEndDetail(r.Amount, p.ID, p.ReferenceID, sub.CustomerID, r.ID, r.LastError, chargedBack)
	h.S.opts.Logger.Error("subscriptions: the refund of a payment made after the end failed; an agent must give the money back another way",
		"subscription", sub.ID, "period", p.ReferenceID, "payment", p.ID, "card_refund", r.ID)
	return h.S.alertPaidAfterEndTx(ctx, tx, sub.ID, detail, "")
}
