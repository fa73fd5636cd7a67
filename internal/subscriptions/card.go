package subscriptions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"comptoir/internal/cardpay"
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
	case errors.Is(err, cardpay.ErrNoSavedCard), errors.Is(err, cardpay.ErrDisabled):
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

// ReleasePeriodTx implements CardReleaser.
func (c SavedCards) ReleasePeriodTx(ctx context.Context, tx *sql.Tx, periodID string) error {
	_, err := c.Card.ReleaseTx(ctx, tx, cardpay.PurposeRenewal, periodID, "subscription ended for non-payment")
	return err
}

// CardHandler settles renewal periods when Stripe reports on their
// payments. It implements cardpay.Handler for the "renewal" purpose (and
// the first period of a card subscription, whose reference is also the
// period).
type CardHandler struct{ S *Service }

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

// RefundSettled needs nothing here: refunds of periods are the claims'.
func (CardHandler) RefundSettled(context.Context, *sql.Tx, cardpay.Refund, cardpay.Payment) error {
	return nil
}
