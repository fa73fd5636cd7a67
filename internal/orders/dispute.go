package orders

import (
	"context"
	"database/sql"

	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/invoices"
	"comptoir/internal/money"
)

// PaymentDisputeEventTx implements cardpay.DisputeFollower: when the store
// loses a dispute about an order's card payment, the bank has given the
// disputed amount back to the buyer, which for the order is a refund it did
// not decide (Chargeback).
func (h CardHandler) PaymentDisputeEventTx(ctx context.Context, tx *sql.Tx, p cardpay.Payment, d cardpay.Dispute) error {
	if !d.Lost() || !d.Decided {
		return nil
	}
	return h.s.Chargeback(ctx, tx, p.ReferenceID, d.StripeID, d.Amount)
}

// Chargeback records, in the transaction that closes a dispute as lost,
// that the bank took amount back from the store for the order: it is
// counted on the order's lines as refunded, in line order, each line up to
// what is left of it, through the refunds' own conditional updates (so a
// refund and the chargeback never add up to more than was paid, and a
// fully charged-back order is "refunded"), and each line's part gets its
// credit note against the order's invoice, as a refund's does (same path,
// numbered in the credit note series, emailed to the customer: it is the
// document that corrects the invoice they hold). A partial dispute credits
// only its amount; never more than what is left uncredited on the invoice.
//
// It must run once per dispute: the caller acts only on the event that
// closed the case (cardpay.Dispute.Decided, a conditional update in the
// disputes table), and the credit notes are keyed on the dispute and line
// (invoices.DisputeCreditID) and issued as new (invoices.CreditInput's
// NewRefund): the unique source of invoices refuses a second one, so a
// second run fails whole rather than counting the amount again.
func (s *Service) Chargeback(ctx context.Context, tx *sql.Tx, orderID, stripeDisputeID string, amount money.Amount) error {
	o, err := getOrder(ctx, tx, orderID)
	if err != nil {
		return err
	}
	left := amount.Minor
	if s.opts.Invoices != nil {
		credit, found, err := s.opts.Invoices.ChargebackTx(ctx, tx, invoices.SourceOrder, orderID, amount)
		if err != nil {
			return err
		}
		if found {
			left = credit.Minor
		}
	}
	var counted int64
	for _, l := range o.Lines {
		take := min(left, l.Amount.Minor-l.Refunded.Minor)
		if take <= 0 {
			continue
		}
		part := money.Amount{Minor: take, Currency: o.Total.Currency}
		if err := s.refundLine(ctx, tx, orderID, l.ID, part, audit.System, invoices.DisputeCreditID(stripeDisputeID, l.ID)); err != nil {
			return err
		}
		left -= take
		counted += take
	}
	return audit.Record(ctx, tx, audit.Entry{At: s.clock.Now(), Actor: audit.System, SubjectType: "order", SubjectID: orderID,
		Action: "order.chargeback", After: map[string]any{"dispute": stripeDisputeID, "disputed": amount,
			"counted": money.Amount{Minor: counted, Currency: o.Total.Currency}}})
}
