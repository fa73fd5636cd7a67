package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"comptoir/internal/account"
	"comptoir/internal/alerts"
	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/catalog"
	"comptoir/internal/db"
)

// CardHandler moves orders forward when Stripe reports on their card
// payments. It implements cardpay.Handler for the "order" purpose; every
// method runs in the transaction that records the payment's new state.
type CardHandler struct{ s *Service }

// CardHandler returns the handler to register with card payments.
func (s *Service) CardHandler() CardHandler { return CardHandler{s} }

// PaymentSucceeded marks the order paid, delivers its digital lines and
// sends the confirmation. It is conditional on the order still awaiting
// payment, so a replayed event changes nothing.
func (h CardHandler) PaymentSucceeded(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error {
	s := h.s
	now := s.clock.Now()
	res, err := tx.ExecContext(ctx, `UPDATE orders SET status = 'paid', paid = total, paid_at = $1, updated_at = $1
		WHERE id = $2 AND status = 'pending_payment' AND total = $3 AND currency = $4`, now, p.ReferenceID, p.Amount.Minor, p.Amount.Currency)
	if err != nil {
		return wrapDB("mark paid", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		o, err := getOrder(ctx, tx, p.ReferenceID)
		if err != nil {
			return err
		}
		if o.Status == StatusPendingPayment {
			return fmt.Errorf("orders: card payment %s of %v does not match order %s", p.ID, p.Amount, o.ID)
		}
		if o.Status == StatusCanceled {
			return s.refundPaidAfterCancelTx(ctx, tx, o, p)
		}
		return nil // already applied
	}
	o, err := getOrder(ctx, tx, p.ReferenceID)
	if err != nil {
		return err
	}
	for i := range o.Lines {
		l := &o.Lines[i]
		if l.Kind != catalog.KindDigital {
			continue
		}
		prod, err := catalog.GetTx(ctx, tx, l.ProductID)
		if err != nil {
			return err
		}
		// Deliver what the customer bought, as it was when bought: the
		// revision only matters for the words; the delivery method of a
		// product never changes kind.
		err = s.deliverAtOnce(ctx, tx, o.ID, l, prod, now)
		if errors.Is(err, ErrOutOfStock) {
			// The line's key is reserved at checkout, so this is an order
			// placed before reservations existed (migration 0037), paid
			// after the pool ran dry: the line stays undelivered for a
			// person to settle (keys added and the line delivered, or a
			// refund). The admins were told when the pool emptied, not that
			// a customer has now paid for nothing: they are, with this
			// order.
			s.opts.Logger.Warn("paid order line could not get a licence key", "order", o.ID, "line", l.ID)
			if s.opts.Alerts != nil {
				buyerName, err := alerts.CustomerTx(ctx, tx, o.CustomerID)
				if err != nil {
					return err
				}
				if err := s.opts.Alerts.NotifyTx(ctx, tx, account.RoleAdmin, "licence_key_missing", alerts.Data{
					SubjectIn: func(w alerts.Words) string { return w.Order(o.ID, buyerName) },
					DetailIn:  func(w alerts.Words) string { return prod.Name(w.Lang) }, Link: "/console/orders/" + o.ID,
				}); err != nil {
					return err
				}
			}
			continue
		}
		if err != nil {
			return err
		}
	}
	o.Status = statusFor(o.Lines)
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = $1 WHERE id = $2`, o.Status, o.ID); err != nil {
		return wrapDB("set status", err)
	}
	if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "order", SubjectID: o.ID, Action: "paid",
		After: map[string]any{"status": o.Status, "payment": p.ID, "amount": p.Amount}}); err != nil {
		return err
	}
	buyer, err := account.UserTx(ctx, tx, o.CustomerID)
	if err != nil {
		return err
	}
	var c Consent
	var terms sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT required, immediate_performance, withdrawal_waiver, immediate_text, waiver_text, terms_version
		FROM order_consents WHERE order_id = $1`, o.ID).Scan(&c.Required, &c.ImmediatePerformance, &c.WithdrawalWaiver, &c.ImmediateText, &c.WaiverText, &terms); err != nil {
		return wrapDB("consent", err)
	}
	c.TermsVersion = terms.String
	o.PaidAt = now
	o.Paid = o.Total
	inv, err := s.issueInvoice(ctx, tx, buyer, o, p.CardCountry, false, "")
	if err != nil {
		return err
	}
	_, err = s.sendConfirmation(ctx, tx, buyer, o, c, inv, nil, false)
	return err
}

// refundPaidAfterCancelTx gives back in full, in tx, a card payment that
// arrived for an order canceled while its Checkout page was still open (the
// order abandoned on an erasure, its page released but paid before its
// expiry reached Stripe): nothing is delivered for it, and nobody else
// would give it back, since a canceled order offers no claim. A payment
// that cannot be refunded now (disputed) is left for a person, and logged.
func (s *Service) refundPaidAfterCancelTx(ctx context.Context, tx *sql.Tx, o Order, p cardpay.Payment) error {
	s.opts.Logger.Warn("card payment arrived for a canceled order; refunding it", "order", o.ID, "payment", p.ID)
	var err error
	if s.opts.Card == nil {
		err = cardpay.ErrDisabled
	} else {
		_, err = s.opts.Card.RefundTx(ctx, tx, p.ID, p.Amount, "order "+o.ID+" canceled before this payment")
	}
	refused := err
	switch {
	case errors.Is(err, cardpay.ErrPaymentDisputed), errors.Is(err, cardpay.ErrRefundExceedsPayment),
		errors.Is(err, cardpay.ErrNotRefundable), errors.Is(err, cardpay.ErrDisabled):
	case err != nil:
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{At: s.clock.Now(), Actor: audit.System, SubjectType: "order", SubjectID: o.ID,
		Action: "paid_after_cancel", After: map[string]any{"payment": p.ID, "amount": p.Amount, "refunded": refused == nil}}); err != nil {
		return err
	}
	if refused != nil {
		return s.paidAfterCancelNotRefundedTx(ctx, tx, o.ID, p.ID, "", refused.Error())
	}
	return nil
}

// paidAfterCancelNotRefundedTx tells the agents, in tx, that a payment for
// a canceled order was not given back to the card (refused now, or failed
// at the bank): nobody else would, since a canceled order offers no claim.
// refundID is the card refund that failed at the bank, or "" when none
// could be made (why says which).
func (s *Service) paidAfterCancelNotRefundedTx(ctx context.Context, tx *sql.Tx, orderID, paymentID, refundID, why string) error {
	s.opts.Logger.Error("a payment for a canceled order was not refunded; an agent must give the money back another way",
		"order", orderID, "payment", paymentID, "error", why)
	if s.opts.Alerts == nil {
		return nil
	}
	var customerID string
	if err := tx.QueryRowContext(ctx, `SELECT customer_id FROM orders WHERE id = $1`, orderID).Scan(&customerID); err != nil {
		return wrapDB("order's customer", err)
	}
	customer, err := alerts.CustomerTx(ctx, tx, customerID)
	if err != nil {
		return err
	}
	return s.opts.Alerts.NotifyTx(ctx, tx, account.RoleAgent, "order_refund_failed", alerts.Data{
		SubjectIn: func(w alerts.Words) string { return w.Order(orderID, customer) },
		Link:      "/console/orders/" + orderID, DetailIn: func(w alerts.Words) string {
			return w.Say("alert.order_not_refunded", "Payment", paymentID, "Refund", refundID, "Error", why)
		},
	})
}

// PaymentFailed cancels an order whose payment ended unpaid (its Checkout
// page expired, the payment failed or was canceled) and, in the same
// transaction, gives the licence keys its lines reserved back to the pool,
// for the next buyer.
func (h CardHandler) PaymentFailed(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error {
	_, err := h.s.cancelUnpaidTx(ctx, tx, p.ReferenceID, "payment_failed", map[string]any{"payment": p.ID})
	return err
}

// cancelUnpaidTx cancels an order still waiting for its payment and gives
// back the licence keys its lines reserved, recording action in the audit
// log with after's details. It reports false, changing nothing, when the
// order no longer waits (paid or canceled meanwhile).
func (s *Service) cancelUnpaidTx(ctx context.Context, tx *sql.Tx, orderID, action string, after map[string]any) (bool, error) {
	now := s.clock.Now()
	res, err := tx.ExecContext(ctx, `UPDATE orders SET status = 'canceled', updated_at = $1 WHERE id = $2 AND status = 'pending_payment'`, now, orderID)
	if err != nil {
		return false, wrapDB("cancel unpaid", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	lines, err := db.Strings(ctx, tx, `SELECT id FROM order_lines WHERE order_id = $1 AND kind = $2`, orderID, catalog.KindDigital)
	if err != nil {
		return false, wrapDB("lines of the unpaid order", err)
	}
	released, err := s.catalog.ReleaseLicenceKeysTx(ctx, tx, lines)
	if err != nil {
		return false, err
	}
	after["status"] = StatusCanceled
	if released > 0 {
		after["licence_keys_released"] = released
	}
	return true, audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "order", SubjectID: orderID, Action: action,
		After: after})
}

// AbandonUnpaidTx cancels, in an erasure's transaction, the customer's
// orders still waiting for a card payment: nobody is left to pay them
// (the account and its sessions go), their Checkout jobs are forgotten with
// the erasure (cardpay.ForgetCustomerJobsTx), and a page still open must
// not take money for an erased account. Each payment is released here and
// at Stripe (cardpay.Service.ReleaseTx: the Checkout Session expired by a
// job), and the licence keys the orders reserved go back to the pool.
// Before, such an order stayed pending for ever with its key reserved.
func (s *Service) AbandonUnpaidTx(ctx context.Context, tx *sql.Tx, customerID string) (int, error) {
	ids, err := db.Strings(ctx, tx, `SELECT id FROM orders WHERE customer_id = $1 AND status = 'pending_payment' ORDER BY id`, customerID)
	if err != nil {
		return 0, wrapDB("unpaid orders", err)
	}
	n := 0
	for _, id := range ids {
		if s.opts.Card != nil {
			if _, err := s.opts.Card.ReleaseTx(ctx, tx, cardpay.PurposeOrder, id, "customer erased"); err != nil {
				return n, err
			}
		}
		canceled, err := s.cancelUnpaidTx(ctx, tx, id, "payment_abandoned", map[string]any{"reason": "customer_erased"})
		if err != nil {
			return n, err
		}
		if canceled {
			n++
		}
	}
	return n, nil
}

// RefundSettled is told when a card refund of an order succeeds or fails.
// The refund was already counted on the order line when it was decided
// (claims); a failure is for the agents to see, through the claim. A
// canceled order has no claim: its refund is of a payment that arrived
// after the cancel (refundPaidAfterCancelTx), and its failure alerts the
// agents here.
func (h CardHandler) RefundSettled(ctx context.Context, tx *sql.Tx, r cardpay.Refund, p cardpay.Payment) error {
	if err := audit.Record(ctx, tx, audit.Entry{At: h.s.clock.Now(), Actor: audit.System, SubjectType: "order", SubjectID: p.ReferenceID,
		Action: "card_refund_" + string(r.Status), After: map[string]any{"refund": r.ID, "amount": r.Amount}}); err != nil {
		return err
	}
	if r.Status != cardpay.RefundFailed {
		return nil
	}
	o, err := getOrder(ctx, tx, p.ReferenceID)
	if err != nil || o.Status != StatusCanceled {
		return err
	}
	return h.s.paidAfterCancelNotRefundedTx(ctx, tx, o.ID, p.ID, r.ID, r.LastError)
}
