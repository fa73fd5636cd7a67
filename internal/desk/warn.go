package desk

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/mail"
)

// DefaultWarnBefore is how long before a ticket's promised answer time the
// staff is warned, when Options.WarnBefore is zero: with the default 48 h
// promise, the warning comes 42 h after the customer wrote.
const DefaultWarnBefore = 6 * time.Hour

// maxWarningsPerScan bounds one scan; the next scan takes the rest.
const maxWarningsPerScan = 200

// warningData fills the ticket_sla_warning template.
type warningData struct {
	Name      string // the staff member warned
	StoreName string
	Reference string
	Customer  string
	Assigned  bool // the recipient is the ticket's assignee
	PromiseAt string
	Link      string // the ticket in the console
}

// WarnDeadlines emails the staff about every ticket whose promised answer
// time falls within WarnBefore of now and is not yet past: its assignee, or
// every agent when it is unassigned (every admin when the store has no
// agent). Each ticket is warned once per deadline, however many scans run,
// even at once: the warning's row (ticket, deadline) is unique and the mail
// is queued in the transaction that inserts it. A later customer message
// that moves the deadline allows a new warning. It returns how many tickets
// were warned.
//
// The scan reads tickets by promise_at over the window [now, now +
// WarnBefore] through its index, so its cost follows the tickets due soon,
// not the history.
func (s *Service) WarnDeadlines(ctx context.Context, now time.Time) (int, error) {
	now = now.UTC()
	ids, err := db.Strings(ctx, s.db.Read, warnDueQuery, now, now.Add(s.opts.WarnBefore), maxWarningsPerScan)
	if err != nil {
		return 0, wrapDB("find deadlines", err)
	}
	n := 0
	for _, id := range ids {
		warned, err := s.warnTicket(ctx, id, now)
		if err != nil {
			return n, err
		}
		if warned {
			n++
		}
	}
	return n, nil
}

// warningKind is the staff's email about a ticket due soon.
const warningKind = mail.KindSLAWarning

// warnDueQuery finds the tickets to warn about (see WarnDeadlines).
const warnDueQuery = `SELECT id FROM tickets t
	WHERE promise_at IS NOT NULL AND promise_at > $1 AND promise_at <= $2 AND breached = FALSE
	AND NOT EXISTS (SELECT 1 FROM ticket_sla_warnings w WHERE w.ticket_id = t.id AND w.deadline_at = t.promise_at)
	ORDER BY promise_at, id LIMIT $3`

// errNoWarning rolls back a warning that another scan sent first or that
// is no longer due.
var errNoWarning = errors.New("desk: no warning due")

func (s *Service) warnTicket(ctx context.Context, ticketID string, now time.Time) (bool, error) {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		t, err := lockTicketTx(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		// The ticket may have been answered since it was read.
		if t.PromiseAt.IsZero() || t.Breached || !t.PromiseAt.After(now) || t.PromiseAt.After(now.Add(s.opts.WarnBefore)) {
			return errNoWarning
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO ticket_sla_warnings (ticket_id, deadline_at, sent_at, recipients)
			VALUES ($1, $2, $3, 0) ON CONFLICT (ticket_id, deadline_at) DO NOTHING`, t.ID, t.PromiseAt, now)
		if err != nil {
			return wrapDB("record warning", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return wrapDB("record warning", err)
			}
			return errNoWarning // another scan warned first
		}
		staff, err := warningRecipientsTx(ctx, tx, t.AssigneeID)
		if err != nil {
			return err
		}
		customer := t.CustomerEmail
		if t.CustomerName != "" {
			customer = t.CustomerName + " (" + t.CustomerEmail + ")"
		}
		for _, u := range staff {
			d := warningData{Name: u.Name, StoreName: s.opts.StoreName, Reference: t.Reference, Customer: customer,
				Assigned: u.ID == t.AssigneeID, PromiseAt: s.formatTime(t.PromiseAt, u.Language),
				Link: s.opts.BaseURL + "/console/tickets/" + t.ID}
			subject, text, err := mail.Render(u.Language, warningKind, d)
			if err != nil {
				return err
			}
			// The outbox fixes the Message-ID when it queues the mail, so a
			// retried send carries the same one.
			if _, err := s.mailer.EnqueueTx(ctx, tx, mail.Message{Kind: warningKind, To: u.Email, ToName: u.Name,
				Lang: u.Language, Subject: subject, Text: text, UserID: u.ID}); err != nil && !errors.Is(err, mail.ErrInvalid) {
				return wrapDB("queue warning", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ticket_sla_warnings SET recipients = $1 WHERE ticket_id = $2 AND deadline_at = $3`,
			len(staff), t.ID, t.PromiseAt); err != nil {
			return wrapDB("record warning", err)
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "ticket", SubjectID: t.ID,
			Action: "ticket.sla_warning", After: map[string]any{"promise_at": t.PromiseAt, "recipients": len(staff)}})
	})
	if errors.Is(err, errNoWarning) {
		return false, nil
	}
	return err == nil, err
}

// warningRecipientsTx is who hears about a ticket due soon: its assignee
// while they are enabled staff, else the staff on duty (every enabled
// agent, else every enabled admin), as for a claim.
func warningRecipientsTx(ctx context.Context, tx *sql.Tx, assigneeID string) ([]account.User, error) {
	if assigneeID != "" {
		u, err := account.UserTx(ctx, tx, assigneeID)
		if err != nil && !errors.Is(err, account.ErrNotFound) {
			return nil, wrapDB("read assignee", err)
		}
		if err == nil && u.IsStaff() && !u.Disabled() {
			return []account.User{u}, nil
		}
	}
	us, err := account.OnDutyStaffTx(ctx, tx)
	return us, wrapDB("read staff", err)
}
