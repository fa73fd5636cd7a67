package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/id"
	"comptoir/internal/money"
)

// ErrOverRefund means a refund would take back more than was paid for the
// line. The database refuses it too; this error is how callers learn it.
var ErrOverRefund = errors.New("orders: refund above what was paid")

// RefundLineTx records that amount goes back for one line, in the caller's
// transaction (where the money movement itself is also recorded). It is one
// conditional update per row, so concurrent refunds — two agents clicking at
// once, a claim and a withdrawal — can never add up to more than was paid:
// the second one finds the condition false and gets ErrOverRefund.
//
// The money has left when it returns (a balance refund, store credit), so
// the refund's credit note is issued here too. A refund whose money moves
// later (a card refund the processor settles) uses RefundLinePendingTx.
func (s *Service) RefundLineTx(ctx context.Context, tx *sql.Tx, orderID, lineID string, amount money.Amount, actor audit.Actor) error {
	return s.refundLine(ctx, tx, orderID, lineID, amount, actor, id.New("rfd"))
}

// RefundLinePendingTx is RefundLineTx for a refund the card processor has
// yet to carry out: the amount is counted on the line at once (so nothing
// else can refund it), but no credit note is issued, since the money may
// never leave. CreditLineRefundTx issues it when the refund succeeds;
// ReleaseLineRefundTx gives the amount back when it fails.
func (s *Service) RefundLinePendingTx(ctx context.Context, tx *sql.Tx, orderID, lineID string, amount money.Amount, actor audit.Actor) error {
	return s.refundLine(ctx, tx, orderID, lineID, amount, actor, "")
}

// CreditLineRefundTx issues the credit note of a refund counted by
// RefundLinePendingTx, in the transaction that records its success, so the
// credit note's number is taken only for money that really went back.
// refundID names the refund: a second call for the same refund issues
// nothing more.
func (s *Service) CreditLineRefundTx(ctx context.Context, tx *sql.Tx, orderID, lineID, refundID string, amount money.Amount) error {
	return s.creditNote(ctx, tx, orderID, lineID, refundID, amount, false)
}

// refundLine counts amount as gone back on the line and its order, and
// issues its credit note under the refund id creditAs (none when empty).
func (s *Service) refundLine(ctx context.Context, tx *sql.Tx, orderID, lineID string, amount money.Amount, actor audit.Actor, creditAs string) error {
	if amount.Minor <= 0 {
		return &ValidationError{Fields: map[string]string{"amount": "not_positive"}}
	}
	res, err := tx.ExecContext(ctx, `UPDATE order_lines SET refunded = refunded + $1
		WHERE id = $2 AND order_id = $3 AND refunded + $1 <= amount`, amount.Minor, lineID, orderID)
	if err != nil {
		return wrapDB("refund line", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return s.refundRefusal(ctx, tx, orderID, lineID)
	}
	now := s.clock.Now()
	res, err = tx.ExecContext(ctx, `UPDATE orders SET refunded = refunded + $1, updated_at = $2,
		status = CASE WHEN refunded + $1 = paid THEN 'refunded' ELSE status END
		WHERE id = $3 AND currency = $4 AND refunded + $1 <= paid`, amount.Minor, now, orderID, amount.Currency)
	if err != nil {
		return wrapDB("refund order", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrOverRefund
	}
	if creditAs != "" {
		if err := s.creditNote(ctx, tx, orderID, lineID, creditAs, amount, true); err != nil {
			return err
		}
	}
	return audit.Record(ctx, tx, audit.Entry{
		At: now, Actor: actor, SubjectType: "order_line", SubjectID: lineID, Action: "refund",
		After: map[string]any{"amount": amount, "order_id": orderID},
	})
}

// refundRefusal tells a missing line from a refund that is too large.
func (s *Service) refundRefusal(ctx context.Context, tx *sql.Tx, orderID, lineID string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM order_lines WHERE id = $1 AND order_id = $2`, lineID, orderID).Scan(&n); err != nil {
		return wrapDB("refund line", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return ErrOverRefund
}

// RedeliverTx sends a line back to processing: its processing time starts
// again from now, and the delivered count stays as it is (what was
// delivered stays delivered in the record). The order is processing again.
func (s *Service) RedeliverTx(ctx context.Context, tx *sql.Tx, orderID, lineID string, processing time.Duration, actor audit.Actor) error {
	now := s.clock.Now()
	res, err := tx.ExecContext(ctx, `UPDATE order_lines SET processing_until = $1 WHERE id = $2 AND order_id = $3 AND kind = 'service'`,
		now.Add(processing), lineID, orderID)
	if err != nil {
		return wrapDB("redeliver", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = CASE WHEN status IN ('completed', 'partial') THEN 'processing' ELSE status END,
		updated_at = $1 WHERE id = $2`, now, orderID); err != nil {
		return wrapDB("redeliver", err)
	}
	return audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "order_line", SubjectID: lineID, Action: "redeliver",
		After: map[string]any{"processing_until": now.Add(processing)}})
}

// ErrLineMoved: SettleLineTx found the line's delivery moved since the
// caller read it; what it decided on is stale.
var ErrLineMoved = errors.New("orders: the line's delivery changed meanwhile")

// SettleLineTx records, in the caller's transaction (the one that refunds
// the undelivered part, or records the withdrawal), that the store no
// longer owes what line lineID has not delivered: delivered is what the
// caller decided on, and a line whose delivery moved since is
// ErrLineMoved (the decision is taken again on what it is now). A line
// settled already stays as it was.
func (s *Service) SettleLineTx(ctx context.Context, tx *sql.Tx, orderID, lineID string, delivered int, actor audit.Actor) error {
	now := s.clock.Now()
	res, err := tx.ExecContext(ctx, `UPDATE order_lines SET settled_at = $1 WHERE id = $2 AND order_id = $3 AND delivered = $4 AND settled_at IS NULL`,
		now, lineID, orderID, delivered)
	if err != nil {
		return wrapDB("settle line", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		// The order's status counts the line as done now (statusFor):
		// "partly delivered" no longer, once the rest is not owed.
		status, err := settleStatusTx(ctx, tx, orderID, now)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "order_line", SubjectID: lineID, Action: "settle",
			After: map[string]any{"delivered": delivered, "order_id": orderID, "order_status": status}})
	}
	var got int
	var settled sql.NullTime
	err = tx.QueryRowContext(ctx, `SELECT delivered, settled_at FROM order_lines WHERE id = $1 AND order_id = $2`, lineID, orderID).Scan(&got, &settled)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return wrapDB("settle line", err)
	case got != delivered:
		return ErrLineMoved
	}
	return nil // settled already
}

// ReleaseLineRefundTx gives back to a line the amount of a refund that was
// counted on it (RefundLineTx) but never reached the customer: a card
// refund that failed for good. It runs in the transaction that records the
// failure, so the amount is refundable again exactly when the failure
// commits.
//
// It is the mirror of RefundLineTx: one conditional update per row, never
// below zero (the condition, and the CHECKs of order_lines and orders), so
// a release that does not fit changes nothing and returns ErrOverRefund.
// The caller makes it happen once per failed refund: claims calls it only
// when its own conditional update moves the claim refund from pending to
// failed, so a repeated report of the same failure releases nothing more.
//
// A lost card dispute may have given the customer that money back already
// (the refund was still pending when the bank decided, so the chargeback
// could not count it): that part stays counted on the line, now for the
// dispute, and is credited as the dispute's (takeOverForChargebacks). It
// is returned as chargedBack, and only the rest is released: releasing it
// would invite an agent to pay the customer a second time.
//
// An order that the refund had made "refunded" goes back to the state its
// delivery gives it (processing, partial or completed).
func (s *Service) ReleaseLineRefundTx(ctx context.Context, tx *sql.Tx, orderID, lineID, refundID string, amount money.Amount, actor audit.Actor) (chargedBack money.Amount, err error) {
	if amount.Minor <= 0 {
		return money.Amount{}, &ValidationError{Fields: map[string]string{"amount": "not_positive"}}
	}
	chargedBack, err = s.takeOverForChargebacks(ctx, tx, orderID, lineID, refundID, amount)
	if err != nil || chargedBack == amount {
		return chargedBack, err
	}
	return chargedBack, s.releaseLine(ctx, tx, orderID, lineID, money.Amount{Minor: amount.Minor - chargedBack.Minor, Currency: amount.Currency}, actor)
}

// releaseLine takes amount off what is counted refunded on the line and
// its order.
func (s *Service) releaseLine(ctx context.Context, tx *sql.Tx, orderID, lineID string, amount money.Amount, actor audit.Actor) error {
	res, err := tx.ExecContext(ctx, `UPDATE order_lines SET refunded = refunded - $1
		WHERE id = $2 AND order_id = $3 AND refunded - $1 >= 0`, amount.Minor, lineID, orderID)
	if err != nil {
		return wrapDB("release line refund", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		if err := s.refundRefusal(ctx, tx, orderID, lineID); errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("%w: releasing %v on line %s would go below zero", ErrOverRefund, amount, lineID)
	}
	now := s.clock.Now()
	before, err := getOrder(ctx, tx, orderID)
	if err != nil {
		return err
	}
	status := before.Status
	if status == StatusRefunded {
		status = statusFor(before.Lines)
	}
	res, err = tx.ExecContext(ctx, `UPDATE orders SET refunded = refunded - $1, status = $2, updated_at = $3
		WHERE id = $4 AND currency = $5 AND refunded - $1 >= 0`, amount.Minor, status, now, orderID, amount.Currency)
	if err != nil {
		return wrapDB("release order refund", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("%w: releasing %v on order %s would go below zero", ErrOverRefund, amount, orderID)
	}
	return audit.Record(ctx, tx, audit.Entry{
		At: now, Actor: actor, SubjectType: "order_line", SubjectID: lineID, Action: "refund_released",
		Before: map[string]any{"status": before.Status},
		After:  map[string]any{"amount": amount, "order_id": orderID, "status": status},
	})
}
