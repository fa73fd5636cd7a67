package proof

import (
	"context"
	"database/sql"
	"errors"

	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
)

// DisputeHandler wraps the card handler of orders: a payment disputed with
// the bank also takes its order out of the purchase notices, in the
// transaction that records the dispute.
type DisputeHandler struct {
	cardpay.Handler
	P *Service
}

// PaymentDisputed passes the dispute on, then withdraws the order's notice.
func (h DisputeHandler) PaymentDisputed(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error {
	if d, ok := h.Handler.(cardpay.DisputeHandler); ok {
		if err := d.PaymentDisputed(ctx, tx, p); err != nil {
			return err
		}
	}
	err := h.P.WithdrawTx(ctx, tx, p.ReferenceID, ReasonDisputed, audit.System)
	if errors.Is(err, ErrNotFound) {
		return nil // nothing to take down; Stripe must not retry for ever
	}
	return err
}

// PaymentDisputeEventTx passes every event of a dispute on to the wrapped
// handler when it follows them (the order's chargeback when lost).
func (h DisputeHandler) PaymentDisputeEventTx(ctx context.Context, tx *sql.Tx, p cardpay.Payment, d cardpay.Dispute) error {
	if f, ok := h.Handler.(cardpay.DisputeFollower); ok {
		return f.PaymentDisputeEventTx(ctx, tx, p, d)
	}
	return nil
}
