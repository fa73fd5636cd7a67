package cardpay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"comptoir/internal/account"
	"comptoir/internal/alerts"
	"comptoir/internal/audit"
	"comptoir/internal/id"
	"comptoir/internal/money"
)

// Alerter emails the staff of a role in the caller's transaction
// (alerts.Alerts).
type Alerter interface {
	NotifyTx(ctx context.Context, tx *sql.Tx, role, kind string, d alerts.Data) error
}

// SetAlerts installs who tells the admins of duplicate payments; the
// composition root calls it before serving. Without it they are logged only.
func (s *Service) SetAlerts(a Alerter) { s.alerts = a }

// duplicateReason is the reason of a duplicate's refund, one Stripe knows.
const duplicateReason = "duplicate"

// recordDuplicate records, in tx, money Stripe took for the closed payment
// before while another payment holds its reference: the off-session charge
// of a renewal that the bank let through after the customer paid the period
// on the Checkout page (StartAuthenticationTx released it, but its cancel
// had not reached Stripe), or a charge recorded failed that Stripe made
// after all while the retry's charge paid the period. Before, this was only
// logged: money taken and never accounted for.
//
// The payment becomes succeeded and a duplicate (it never holds the
// reference, see 0043), the domain is not told (the reference is paid once,
// by the other payment), and it is refunded in full at once, with an audit
// line and an alert to the admins. It is a conditional update from the
// closed status, so a replayed or second event for the same payment finds
// it succeeded and refunds nothing more (succeed returns early).
func (s *Service) recordDuplicate(ctx context.Context, tx *sql.Tx, before Payment, d details) error {
	holder, err := scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM card_payments
		WHERE purpose = $1 AND reference_id = $2 AND id <> $3 AND status IN `+inList(live...)+` AND NOT duplicate`,
		string(before.Purpose), before.ReferenceID, before.ID))
	if errors.Is(err, sql.ErrNoRows) {
		// Neither closed nor held by another: changed under us. The error
		// rolls back; the job or Stripe's retry applies it again.
		return fmt.Errorf("payment %s changed while recording its success; retry", before.ID)
	}
	if err != nil {
		return fmt.Errorf("payment holding %s %s: %w", before.Purpose, before.ReferenceID, err)
	}
	now := s.clock.Now()
	res, err := tx.ExecContext(ctx, `UPDATE card_payments SET status = 'succeeded', duplicate = TRUE, last_error = '', updated_at = $2
		WHERE id = $1 AND status IN ('canceled', 'failed')`, before.ID, now)
	if err != nil {
		return fmt.Errorf("record duplicate %s: %w", before.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("payment %s changed while recording its success; retry", before.ID)
	}
	p, err := getPayment(ctx, tx, before.ID)
	if err != nil {
		return err
	}
	return s.refundDuplicate(ctx, tx, auditState(before), p, holder.ID)
}

// recordExtraIntent records, in tx, a PaymentIntent Stripe reports
// succeeded for payment before, which another intent already holds (two
// intents for one payment: an off-session charge whose job resumed after
// Stripe forgot its idempotency key, and whose look-up missed the first
// intent). The second intent is money taken too: it gets a payment of its
// own, a duplicate refunded in full at once, as recordDuplicate does; the
// payment and its domain are left as they are. An intent already recorded
// (a replayed or second event) changes nothing.
func (s *Service) recordExtraIntent(ctx context.Context, tx *sql.Tx, before Payment, d details) error {
	if _, found, err := paymentBy(ctx, tx, "payment_intent_id", d.PaymentIntentID); err != nil || found {
		return err
	}
	now := s.clock.Now()
	dupID := id.New("pay")
	if _, err := tx.ExecContext(ctx, `INSERT INTO card_payments (id, purpose, reference_id, customer_id, amount, currency, status,
		payment_intent_id, stripe_customer_id, payment_method_id, card_country, duplicate, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'succeeded', $7, $8, $9, $10, TRUE, $11, $11)`,
		dupID, string(before.Purpose), before.ReferenceID, before.CustomerID, before.Amount.Minor, before.Amount.Currency,
		d.PaymentIntentID, d.StripeCustomerID, d.PaymentMethodID, d.CardCountry, now); err != nil {
		return fmt.Errorf("record second intent %s of %s: %w", d.PaymentIntentID, before.ID, err)
	}
	p, err := getPayment(ctx, tx, dupID)
	if err != nil {
		return err
	}
	return s.refundDuplicate(ctx, tx, nil, p, before.ID)
}

// refundDuplicate writes the duplicate p (already paid by holderID) to the
// audit log, refunds it in full and alerts the admins, in tx.
func (s *Service) refundDuplicate(ctx context.Context, tx *sql.Tx, before map[string]any, p Payment, holderID string) error {
	after := auditState(p)
	after["duplicate_of"] = holderID
	if err := audit.Record(ctx, tx, audit.Entry{At: s.clock.Now(), Actor: audit.System, SubjectType: "card_payment", SubjectID: p.ID,
		Action: "payment.duplicate", Before: before, After: after}); err != nil {
		return err
	}
	r, err := s.RefundTx(ctx, tx, p.ID, p.Amount, duplicateReason)
	id, why := "alert.duplicate_refunding", ""
	switch {
	case err == nil:
		s.log.Warn("cardpay: a second payment for a paid reference is refunded", "payment", p.ID, "purpose", p.Purpose,
			"reference", p.ReferenceID, "paid_by", holderID, "refund", r.ID)
	case errors.Is(err, ErrPaymentDisputed), errors.Is(err, ErrNotRefundable), errors.Is(err, ErrRefundExceedsPayment):
		s.log.Error("cardpay: a second payment for a paid reference cannot be refunded now; needs review",
			"payment", p.ID, "purpose", p.Purpose, "reference", p.ReferenceID, "paid_by", holderID, "error", err)
		id, why = "alert.duplicate_refused", err.Error()
	default:
		return err
	}
	return s.alertDuplicate(ctx, tx, p, func(w alerts.Words) string {
		return w.Say(id, "Amount", money.Format(p.Amount, w.Lang), "What", w.Word("alert.purpose.", string(p.Purpose)),
			"Reference", p.ReferenceID, "Customer", p.CustomerID, "PaidBy", holderID, "Refund", r.ID, "Error", why)
	})
}

// duplicateRefundSettled follows the refund of a duplicate (not the
// domain's business): one that failed leaves the second payment with the
// store, so the admins are told again.
func (s *Service) duplicateRefundSettled(ctx context.Context, tx *sql.Tx, r Refund, p Payment) error {
	if r.Status != RefundFailed {
		return nil
	}
	s.log.Error("cardpay: the refund of a second payment for a paid reference failed; needs review",
		"payment", p.ID, "refund", r.ID, "error", r.LastError)
	return s.alertDuplicate(ctx, tx, p, func(w alerts.Words) string {
		return w.Say("alert.duplicate_refund_failed", "Amount", money.Format(r.Amount, w.Lang),
			"What", w.Word("alert.purpose.", string(p.Purpose)), "Reference", p.ReferenceID, "Customer", p.CustomerID,
			"Refund", r.ID, "Error", r.LastError)
	})
}

// alertDuplicate tells the admins of the duplicate p, the detail written
// for each in their language.
func (s *Service) alertDuplicate(ctx context.Context, tx *sql.Tx, p Payment, detail func(alerts.Words) string) error {
	if s.alerts == nil {
		return nil
	}
	customer, err := alerts.CustomerTx(ctx, tx, p.CustomerID)
	if err != nil {
		return err
	}
	return s.alerts.NotifyTx(ctx, tx, account.RoleAdmin, "card_payment_duplicate", alerts.Data{DetailIn: detail,
		// What was paid twice: the order, or what and how much.
		SubjectIn: func(w alerts.Words) string {
			if p.Purpose == PurposeOrder {
				return w.Order(p.ReferenceID, customer)
			}
			return w.Payment(string(p.Purpose), money.Format(p.Amount, w.Lang), customer)
		}})
}
