package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/db"
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
	// Never more than the order has paid and not had back: an order
	// canceled unpaid whose Checkout page was paid all the same (its
	// payment refunded at once, see refundPaidAfterCancelTx) paid nothing
	// for its lines, and counting the chargeback there would be refused,
	// failing the webhook for as long as Stripe redelivers it.
	left = min(left, o.Paid.Minor-o.Refunded.Minor)
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
	// What the lines could not take is held by refunds counted on them; if
	// one of those fails, the dispute takes its amount over.
	now := s.clock.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO order_chargebacks (dispute_id, order_id, currency, disputed, counted, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, stripeDisputeID, orderID, o.Total.Currency, amount.Minor, counted, now); err != nil {
		return wrapDB("record chargeback", err)
	}
	return audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "order", SubjectID: orderID,
		Action: "order.chargeback", After: map[string]any{"dispute": stripeDisputeID, "disputed": amount,
			"counted": money.Amount{Minor: counted, Currency: o.Total.Currency}}})
}

// takeOverForChargebacks counts for the order's lost disputes, up to what
// each could not count when it was decided, the amount of a refund on the
// line that failed (ReleaseLineRefundTx): the bank returned that money to
// the customer, so it stays counted on the line, and the part the invoice
// has left uncredited gets its credit note, keyed on the dispute and the
// failed refund (once: the unique source of credit notes). Each dispute's
// counted is a conditional update within what it disputed. It returns how
// much it took over.
func (s *Service) takeOverForChargebacks(ctx context.Context, tx *sql.Tx, orderID, lineID, refundID string, amount money.Amount) (money.Amount, error) {
	taken := money.Amount{Currency: amount.Currency}
	shorts, err := db.KeyedInts(ctx, tx, `SELECT dispute_id, disputed - counted FROM order_chargebacks
		WHERE order_id = $1 AND counted < disputed AND currency = $2 ORDER BY created_at, dispute_id`, orderID, amount.Currency)
	if err != nil || len(shorts) == 0 {
		return taken, wrapDB("chargebacks of order", err)
	}
	// The amount must be counted on the line for the dispute to keep it
	// there (what releasing it would check).
	var onLine int64
	if err := tx.QueryRowContext(ctx, `SELECT refunded FROM order_lines WHERE id = $1 AND order_id = $2`, lineID, orderID).Scan(&onLine); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return taken, ErrNotFound
		}
		return taken, wrapDB("chargebacks of order", err)
	}
	if onLine < amount.Minor {
		return taken, fmt.Errorf("%w: releasing %v on line %s would go below zero", ErrOverRefund, amount, lineID)
	}
	now := s.clock.Now()
	for _, c := range shorts {
		disputeID := c.Key
		take := min(c.N, amount.Minor-taken.Minor)
		if take <= 0 {
			break
		}
		res, err := tx.ExecContext(ctx, `UPDATE order_chargebacks SET counted = counted + $2
			WHERE dispute_id = $1 AND counted + $2 <= disputed`, disputeID, take)
		if err != nil {
			return taken, wrapDB("count chargeback", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return taken, fmt.Errorf("orders: chargeback %s changed while counting it", disputeID)
		}
		part := money.Amount{Minor: take, Currency: amount.Currency}
		if s.opts.Invoices != nil {
			credit, found, err := s.opts.Invoices.ChargebackTx(ctx, tx, invoices.SourceOrder, orderID, part)
			if err != nil {
				return taken, err
			}
			if found && credit.Minor > 0 {
				if err := s.creditNote(ctx, tx, orderID, lineID, invoices.DisputeCreditID(disputeID, refundID), credit, true); err != nil {
					return taken, err
				}
			}
		}
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "order_line", SubjectID: lineID,
			Action: "chargeback_took_over_refund", After: map[string]any{"dispute": disputeID, "refund": refundID, "amount": part, "order_id": orderID}}); err != nil {
			return taken, err
		}
		taken.Minor += take
	}
	return taken, nil
}
