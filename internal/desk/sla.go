package desk

import (
	"context"
	"database/sql"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/desk/sla"
	"comptoir/internal/id"
)

// Default SLA: first (and next) response due 24 h after the earliest
// unanswered customer message (the target), 48 h at the latest (the promise).
const (
	DefaultTarget  = 24 * time.Hour
	DefaultPromise = 48 * time.Hour
)

// DefaultDeadlines is the wall-clock SLA (24 h aimed for, 48 h promised),
// counted by the same rules as a store's configured one (sla.Deadlines,
// through SLADeadlines): the earliest unanswered customer message starts
// the clock, an answer or a close stops it, and waiting on the customer
// pauses it, the time already counted kept when the customer writes again.
// It restarted a full 48 hours after a wait instead, unlike the SLA the
// application runs.
var DefaultDeadlines = SLADeadlines(sla.Policy{Target: DefaultTarget, Promise: DefaultPromise})

// addEventTx appends an SLA event and recomputes the ticket's deadlines
// and breach flag.
func (s *Service) addEventTx(ctx context.Context, tx *sql.Tx, ticketID, kind string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_sla_events (id, ticket_id, kind, at) VALUES ($1, $2, $3, $4)`,
		id.New("tse"), ticketID, kind, at); err != nil {
		return wrapDB("record SLA event", err)
	}
	return s.recomputeTx(ctx, tx, ticketID)
}

func (s *Service) recomputeTx(ctx context.Context, tx *sql.Tx, ticketID string) error {
	rows, err := tx.QueryContext(ctx, `SELECT kind, at FROM ticket_sla_events WHERE ticket_id = $1 ORDER BY at, id`, ticketID)
	if err != nil {
		return wrapDB("read SLA events", err)
	}
	var events []SLAEvent
	for rows.Next() {
		var e SLAEvent
		if err := rows.Scan(&e.Kind, &e.At); err != nil {
			rows.Close()
			return wrapDB("read SLA events", err)
		}
		e.At = e.At.UTC()
		events = append(events, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrapDB("read SLA events", err)
	}
	// The deadline as it stood, to count a breach the periodic scan has not
	// seen yet (MarkBreaches runs every minute; an answer or a message may
	// come in between).
	var oldPromise sql.NullTime
	var oldBreached bool
	if err := tx.QueryRowContext(ctx, `SELECT promise_at, breached FROM tickets WHERE id = $1`, ticketID).Scan(&oldPromise, &oldBreached); err != nil {
		return wrapDB("read deadlines", err)
	}
	now := s.clock.Now()
	target, promise := s.opts.Deadlines(events, now)
	switch {
	case promise.IsZero():
		target = time.Time{}
	case target.IsZero() || target.After(promise):
		target = promise
	}
	breached := !promise.IsZero() && promise.Before(now)
	if _, err = tx.ExecContext(ctx, `UPDATE tickets SET target_at = $1, promise_at = $2, breached = $3, updated_at = $4 WHERE id = $5`,
		nullTime(target), nullTime(promise), breached, now, ticketID); err != nil {
		return wrapDB("update deadlines", err)
	}
	// Each passed promise is audited once, like MarkBreaches does: the old
	// one if it passed unflagged (it is now cleared or flagged here, so the
	// scan will not see it), and a new one that is already past.
	if oldPromise.Valid && !oldBreached && oldPromise.Time.Before(now) {
		if err := auditBreachTx(ctx, tx, ticketID, now); err != nil {
			return err
		}
	}
	if breached && !(oldPromise.Valid && oldPromise.Time.Equal(promise)) {
		return auditBreachTx(ctx, tx, ticketID, now)
	}
	return nil
}

// auditBreachTx records that a ticket missed its promise.
func auditBreachTx(ctx context.Context, tx *sql.Tx, ticketID string, now time.Time) error {
	return audit.Record(ctx, tx, audit.Entry{At: now.UTC(), Actor: audit.System, SubjectType: "ticket", SubjectID: ticketID,
		Action: "ticket.breached", After: map[string]any{"breached": true}})
}
