package orders

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/id"
)

// DeliveryInput is progress on one line: the total delivered so far.
type DeliveryInput struct {
	OrderID   string
	LineID    string
	Delivered int
	Source    string // SourceAgent, SourceAPI or SourceWebhook
	Actor     audit.Actor
}

// RecordDelivery moves a line's delivery forward to in.Delivered and keeps
// the step, with its time and source, as evidence. Delivery never goes back
// (a correction would rewrite the store's evidence) and never passes the
// quantity ordered; both rules are also enforced by the database. A line
// whose undelivered part was refunded or withdrawn from (Line.SettledAt)
// takes no more: ErrLineSettled. The customer was paid back for what was
// not delivered (a withdrawing consumer pays only for what was delivered),
// so delivering it now would give it for free and make the delivery record
// say more was delivered than was paid for; a repeated report of what was
// delivered still changes nothing.
func (s *Service) RecordDelivery(ctx context.Context, in DeliveryInput) (Order, error) {
	if in.Delivered < 0 {
		return Order{}, &ValidationError{Fields: map[string]string{"delivered": "out_of_range"}}
	}
	now := s.clock.Now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		o, err := getOrder(ctx, tx, in.OrderID)
		if err != nil {
			return err
		}
		switch o.Status {
		case StatusProcessing, StatusPartial, StatusCompleted:
		default:
			return ErrNotDeliverable
		}
		l, ok := o.Line(in.LineID)
		if !ok {
			return ErrNotFound
		}
		switch {
		case in.Delivered > l.Quantity:
			return ErrOverDelivery
		case in.Delivered < l.Delivered:
			return ErrDeliveryRegression
		case in.Delivered == l.Delivered:
			return nil // a repeated report changes nothing
		case !l.SettledAt.IsZero():
			return ErrLineSettled
		}
		before := l.Delivered
		if err := deliverTx(ctx, tx, o.ID, &l, in.Delivered, in.Source, in.Actor.ID, now); err != nil {
			return err
		}
		status, err := settleStatusTx(ctx, tx, o.ID, now)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{
			At: now, Actor: in.Actor, SubjectType: "order_line", SubjectID: l.ID, Action: "deliver",
			Before: map[string]any{"delivered": before}, After: map[string]any{"delivered": in.Delivered, "order_status": status},
		})
	})
	if err != nil {
		return Order{}, err
	}
	return s.Get(ctx, in.OrderID)
}

// settleStatusTx sets a delivered order's status from its lines as they
// are once this transaction holds the order's row, and returns it. The
// lines are read again after the lock, not taken from the transaction's
// first read: two lines delivered at once each saw the other undelivered,
// and on PostgreSQL the last to commit wrote "partial" over an order whose
// lines were all delivered. The line was updated first, then the order, the
// order in which refunds lock them too. A status that left delivery
// meanwhile (a refund made the order "refunded") is kept.
func settleStatusTx(ctx context.Context, tx *sql.Tx, orderID string, now time.Time) (string, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET updated_at = $1 WHERE id = $2`, now, orderID); err != nil {
		return "", wrapDB("lock order", err)
	}
	o, err := getOrder(ctx, tx, orderID)
	if err != nil {
		return "", err
	}
	switch o.Status {
	case StatusProcessing, StatusPartial, StatusCompleted:
	default:
		return o.Status, nil
	}
	status := statusFor(o.Lines)
	if status != o.Status {
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = $1 WHERE id = $2`, status, orderID); err != nil {
			return "", wrapDB("set status", err)
		}
	}
	return status, nil
}

// deliverTx sets a line's delivered total and appends the delivery event.
// The update is conditional on the value read, so two reports racing on one
// line cannot both apply from the same starting point.
func deliverTx(ctx context.Context, tx *sql.Tx, orderID string, l *Line, to int, source, actorID string, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE order_lines SET delivered = $1 WHERE id = $2 AND delivered = $3 AND $1 <= quantity AND settled_at IS NULL`,
		to, l.ID, l.Delivered)
	if err != nil {
		return wrapDB("deliver", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		// Settled meanwhile (a withdrawal committed since the line was
		// read, which PostgreSQL's update waited for): refused as such.
		var settled sql.NullTime
		if err := tx.QueryRowContext(ctx, `SELECT settled_at FROM order_lines WHERE id = $1`, l.ID).Scan(&settled); err == nil && settled.Valid {
			return ErrLineSettled
		}
		return errors.New("orders: line changed while recording delivery; try again")
	}
	var actor any
	if actorID != "" {
		actor = actorID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_events (id, order_id, order_line_id, delivered_before, delivered_after, source, actor_id, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id.New("dlv"), orderID, l.ID, l.Delivered, to, source, actor, now); err != nil {
		return wrapDB("delivery event", err)
	}
	l.Delivered = to
	return nil
}

// DeliveryEvent is one recorded step of delivery.
type DeliveryEvent struct {
	LineID          string
	LineName        string // the line's name, as bought
	DeliveredBefore int
	DeliveredAfter  int
	Source          string
	ActorID         string
	At              time.Time
}

// DeliveryEvents lists an order's delivery record, oldest first.
func (s *Service) DeliveryEvents(ctx context.Context, orderID string) ([]DeliveryEvent, error) {
	return DeliveryEventsTx(ctx, s.db.Read, orderID)
}

// DeliveryEventsTx is DeliveryEvents in the caller's transaction (the
// dispute evidence reads it with the rest of the order in one snapshot).
// Ties in time keep the order they were recorded in (by id).
func DeliveryEventsTx(ctx context.Context, q db.Querier, orderID string) ([]DeliveryEvent, error) {
	rows, err := q.QueryContext(ctx, `SELECT e.order_line_id, l.name, e.delivered_before, e.delivered_after, e.source, e.actor_id, e.at
		FROM delivery_events e JOIN order_lines l ON l.id = e.order_line_id WHERE e.order_id = $1 ORDER BY e.at, e.id`, orderID)
	if err != nil {
		return nil, wrapDB("delivery events", err)
	}
	defer rows.Close()
	var out []DeliveryEvent
	for rows.Next() {
		var e DeliveryEvent
		var actor sql.NullString
		if err := rows.Scan(&e.LineID, &e.LineName, &e.DeliveredBefore, &e.DeliveredAfter, &e.Source, &actor, &e.At); err != nil {
			return nil, wrapDB("delivery events", err)
		}
		e.ActorID = actor.String
		out = append(out, e)
	}
	return out, wrapDB("delivery events", rows.Err())
}
