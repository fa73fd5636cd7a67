package desk

import (
	"context"
	"database/sql"
	"errors"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/db"
)

// MaxCommentLen caps a survey comment.
const MaxCommentLen = 2000

func isStaff(a audit.Actor) bool {
	return a.ID != "" && (a.Role == account.RoleAgent || a.Role == account.RoleAdmin)
}

// replyData fills the ticket_reply template.
type replyData struct {
	Name      string
	StoreName string
	Reference string
	Text      string
	Link      string // the ticket in the customer portal, or a guest's tokenized link
	// Greeted and Signed: the agent's text opens with its own greeting
	// ("Bonjour Léa,") or closes with the team's signature, as the canned
	// replies do; the mail then adds neither a second time.
	Greeted, Signed bool
}

// greetings are the words a reply's greeting line starts with.
var greetings = map[string]bool{"bonjour": true, "bonsoir": true, "salut": true, "madame": true, "monsieur": true,
	"cher": true, "chère": true, "hello": true, "hi": true, "dear": true, "good": true}

// greeted reports whether text opens with a greeting line: a short first
// line, ending with a comma, whose first word greets ("Bonjour Léa,",
// "Hello,", "Madame, Monsieur,").
func greeted(text string) bool {
	first, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	first = strings.TrimSpace(first)
	words := strings.FieldsFunc(strings.ToLower(first), func(r rune) bool { return r == ' ' || r == ',' })
	return strings.HasSuffix(first, ",") && utf8.RuneCountInString(first) <= 60 && len(words) > 0 && greetings[words[0]]
}

// signed reports whether text closes with the team's signature, in either
// language, as the mail would add it.
func signed(text, store string) bool {
	text = strings.TrimSpace(text)
	last := text[strings.LastIndex(text, "\n")+1:]
	last = strings.TrimSpace(strings.ReplaceAll(last, "'", "’"))
	return last == "L’équipe "+store || last == "The "+store+" team"
}

// surveyData fills the ticket_survey template.
type surveyData struct {
	Name      string
	StoreName string
	Reference string
	Link      string // the tokenized survey link
	// StopLink stops the surveys to this address, in one click (and as
	// the mail's List-Unsubscribe).
	StopLink string
}

// staffTx loads the ticket for a change by an agent.
func (s *Service) staffTx(ctx context.Context, tx *sql.Tx, agent audit.Actor, ticketID string) (Ticket, error) {
	if !isStaff(agent) {
		return Ticket{}, ErrForbidden
	}
	return lockTicketTx(ctx, tx, ticketID)
}

// Reply sends an agent's answer by email, threaded onto the customer's last
// message (In-Reply-To and References), with the ticket's Reply-To and its
// reference in the subject, and records it on the ticket. The ticket is
// answered and its SLA stops.
func (s *Service) Reply(ctx context.Context, agent audit.Actor, ticketID, text string) (Message, error) {
	return s.ReplyThen(ctx, agent, ticketID, text, nil)
}

// ReplyThen is Reply with after, when set, run in the reply's transaction
// once it is written: the console stores its form key there, so that the
// form sent twice mails the customer once. An error rolls the reply back.
func (s *Service) ReplyThen(ctx context.Context, agent audit.Actor, ticketID, text string, after func(ctx context.Context, tx *sql.Tx, m Message) error) (Message, error) {
	fields := map[string]string{}
	checkText(fields, "text", text)
	if len(fields) > 0 {
		return Message{}, &ValidationError{Fields: fields}
	}
	var out Message
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.staffTx(ctx, tx, agent, ticketID)
		if err != nil {
			return err
		}
		if t.Status == StatusClosed {
			return ErrClosed
		}
		if !validRecipient(t.CustomerEmail) {
			return &ValidationError{Fields: map[string]string{"customer_email": "invalid"}}
		}
		inReplyTo, refs, err := lastThreadIDs(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		d := replyData{Name: t.mailName(), StoreName: s.opts.StoreName, Reference: t.Reference, Text: text,
			Greeted: greeted(text), Signed: signed(text, s.opts.StoreName)}
		if d.Link, err = s.ticketLinkTx(ctx, tx, t); err != nil {
			return err
		}
		if out, err = s.sendTx(ctx, tx, t, outgoing{kind: "ticket_reply", data: d, inReplyTo: inReplyTo,
			references: refs, authorID: agent.ID, body: text}); err != nil {
			return err
		}
		now := s.clock.Now()
		if err := setStatusTx(ctx, tx, t.ID, StatusAnswered, now); err != nil {
			return err
		}
		if err := s.addEventTx(ctx, tx, t.ID, EventReply, now); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: agent, SubjectType: "ticket", SubjectID: t.ID,
			Action: "ticket.replied", Before: map[string]any{"status": t.Status},
			After: map[string]any{"status": StatusAnswered, "message": out.ID, "mail": out.OutgoingMailID}}); err != nil {
			return err
		}
		if after != nil {
			return after(ctx, tx, out)
		}
		return nil
	})
	return out, err
}

func validRecipient(email string) bool {
	a, err := netmail.ParseAddress(email)
	return err == nil && a.Address == email && !strings.ContainsAny(email, "\r\n")
}

// lastThreadIDs returns the In-Reply-To and References of a reply: the
// customer's last message with a Message-ID (else our last mail), and its
// references followed by it.
func lastThreadIDs(ctx context.Context, tx *sql.Tx, ticketID string) (string, []string, error) {
	var mid, refs string
	err := tx.QueryRowContext(ctx, `SELECT message_id, refs FROM ticket_messages
		WHERE ticket_id = $1 AND message_id IS NOT NULL AND flagged = FALSE AND (direction = 'in' OR direction = 'out')
		ORDER BY CASE WHEN direction = 'in' THEN 0 ELSE 1 END, created_at DESC, id DESC LIMIT 1`, ticketID).Scan(&mid, &refs)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, wrapDB("read thread", err)
	}
	r := strings.Fields(refs)
	if len(r) > 20 {
		r = append(r[:1], r[len(r)-19:]...) // keep the root and the latest
	}
	return mid, append(r, mid), nil
}

// Note adds an internal note, never shown to the customer.
func (s *Service) Note(ctx context.Context, agent audit.Actor, ticketID, text string) (Message, error) {
	return s.NoteThen(ctx, agent, ticketID, text, nil)
}

// NoteThen is Note with after, when set, run in the note's transaction
// once it is written (the console's form key: the form sent twice is one
// note). An error rolls the note back.
func (s *Service) NoteThen(ctx context.Context, agent audit.Actor, ticketID, text string, after func(ctx context.Context, tx *sql.Tx, m Message) error) (Message, error) {
	fields := map[string]string{}
	checkText(fields, "text", text)
	if len(fields) > 0 {
		return Message{}, &ValidationError{Fields: fields}
	}
	var m Message
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.staffTx(ctx, tx, agent, ticketID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		m = Message{TicketID: t.ID, Direction: DirectionNote, AuthorID: agent.ID, Text: text, CreatedAt: now}
		if err := insertMessageTx(ctx, tx, &m, nil); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `UPDATE tickets SET updated_at = $1 WHERE id = $2`, now, t.ID); err != nil {
			return wrapDB("touch ticket", err)
		}
		if after != nil {
			return after(ctx, tx, m)
		}
		return nil
	})
	return m, err
}

// Assign gives the ticket to a member of staff, or to nobody when
// assigneeID is empty.
func (s *Service) Assign(ctx context.Context, agent audit.Actor, ticketID, assigneeID string) (Ticket, error) {
	var t Ticket
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if !isStaff(agent) {
			return ErrForbidden
		}
		// The assignee is read before the ticket is locked, in the order
		// a disabling takes them (the account, then its tickets): read
		// after, FOR SHARE waited on a disabling of the assignee that
		// waited on this ticket to hand it back, a deadlock (a 500).
		refused, err := s.assigneeRefusedTx(ctx, tx, assigneeID)
		if err != nil {
			return err
		}
		if t, err = s.staffTx(ctx, tx, agent, ticketID); err != nil {
			return err
		}
		if refused != nil {
			return refused
		}
		now := s.clock.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET assignee_id = $1, updated_at = $2 WHERE id = $3`,
			nullString(assigneeID), now, t.ID); err != nil {
			return wrapDB("assign", err)
		}
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: agent, SubjectType: "ticket", SubjectID: t.ID,
			Action: "ticket.assigned", Before: map[string]any{"assignee": t.AssigneeID}, After: map[string]any{"assignee": assigneeID}}); err != nil {
			return err
		}
		t, err = getTicket(ctx, tx, t.ID)
		return err
	})
	return t, err
}

// assigneeRefusedTx reads the account a ticket is to be assigned to: a
// refusal when it is not enabled staff (a disabled account has left: it
// takes no ticket), nil when it is, or assigneeID is empty (nobody). On
// PostgreSQL the read waits for a disabling of the assignee under way (FOR
// SHARE), which would miss the ticket when it unassigns theirs, and then
// finds them disabled; the lock is held until the assignment commits.
func (s *Service) assigneeRefusedTx(ctx context.Context, tx *sql.Tx, assigneeID string) (refused, err error) {
	if assigneeID == "" {
		return nil, nil
	}
	lock := ""
	if s.db.Engine == db.Postgres {
		lock = " FOR SHARE"
	}
	var role string
	err = tx.QueryRowContext(ctx, `SELECT role FROM users WHERE id = $1 AND disabled_at IS NULL`+lock, assigneeID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) || err == nil && role != account.RoleAgent && role != account.RoleAdmin {
		return &ValidationError{Fields: map[string]string{"assignee": "not_staff"}}, nil
	}
	if err != nil {
		return nil, wrapDB("read assignee", err)
	}
	return nil, nil
}

// UnassignStaffTx puts every ticket assigned to staff member u back in the
// queue, unassigned, when their account is disabled (account.Options.
// StaffDisabled calls it): someone who left answers nothing, and a ticket
// left with them would wait unseen, its deadline warnings mailed to no one
// who works here. Unassigned, the open ones show under the queue's
// "unassigned" filter and their warnings go to every agent. Closed
// tickets are unassigned too, so that one reopened by the customer later
// lands in the queue the same way; they keep their updated_at, which
// dates their retention. Each change is audited as an assignment by the
// admin who disabled u (the log keeps who held the ticket). It returns the
// tickets unassigned.
func UnassignStaffTx(ctx context.Context, tx *sql.Tx, u account.User, by audit.Actor, at time.Time) ([]string, error) {
	ids, err := db.Strings(ctx, tx, `UPDATE tickets SET assignee_id = NULL,
		updated_at = CASE WHEN status = 'closed' THEN updated_at ELSE $1 END
		WHERE assignee_id = $2 RETURNING id`, at.UTC(), u.ID)
	if err != nil {
		return nil, wrapDB("unassign tickets", err)
	}
	for _, id := range ids {
		if err := audit.Record(ctx, tx, audit.Entry{At: at.UTC(), Actor: by, SubjectType: "ticket", SubjectID: id,
			Action: "ticket.assigned", Before: map[string]any{"assignee": u.ID},
			After: map[string]any{"assignee": "", "reason": "assignee_disabled"}}); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// WaitOnCustomer marks the ticket as waiting on the customer: nothing is
// due (the SLA clock pauses) until the customer writes again.
func (s *Service) WaitOnCustomer(ctx context.Context, agent audit.Actor, ticketID string) (Ticket, error) {
	return s.move(ctx, agent, ticketID, StatusWaitingCustomer, EventWait, "ticket.waiting")
}

// Close closes the ticket and sends the satisfaction survey (once per
// ticket) with its tokenized link.
func (s *Service) Close(ctx context.Context, agent audit.Actor, ticketID string) (Ticket, error) {
	return s.move(ctx, agent, ticketID, StatusClosed, EventClose, "ticket.closed")
}

func (s *Service) move(ctx context.Context, agent audit.Actor, ticketID, status, event, action string) (Ticket, error) {
	var t Ticket
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if t, err = s.staffTx(ctx, tx, agent, ticketID); err != nil {
			return err
		}
		if t.Status == StatusClosed {
			return ErrClosed
		}
		now := s.clock.Now()
		before := t.Status
		if err := setStatusTx(ctx, tx, t.ID, status, now); err != nil {
			return err
		}
		if err := s.addEventTx(ctx, tx, t.ID, event, now); err != nil {
			return err
		}
		if t, err = getTicket(ctx, tx, t.ID); err != nil {
			return err
		}
		if status == StatusClosed {
			if err := s.sendSurveyTx(ctx, tx, t); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: agent, SubjectType: "ticket", SubjectID: t.ID,
			Action: action, Before: map[string]any{"status": before}, After: map[string]any{"status": status}})
	})
	return t, err
}

func (s *Service) sendSurveyTx(ctx context.Context, tx *sql.Tx, t Ticket) error {
	if !validRecipient(t.CustomerEmail) {
		return nil // nobody to ask
	}
	// Nor when no person ever wrote: a ticket a bounce or an auto-reply
	// opened is closed by an agent with nothing to rate, and a survey sent
	// back to a mailer daemon or an autoresponder asks a robot (which may
	// well answer it, automatically).
	var human bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM ticket_messages
		WHERE ticket_id = $1 AND direction = 'in' AND auto_reply = FALSE AND flagged = FALSE)`, t.ID).Scan(&human); err != nil {
		return wrapDB("read thread", err)
	}
	if !human {
		return nil
	}
	// Nor to whom asked for no more (StopSurveysByLink, SetWantsSurveys).
	if stopped, err := surveysStoppedTx(ctx, tx, t.CustomerEmail); err != nil || stopped {
		return err
	}
	token := randomBase32(32)
	res, err := tx.ExecContext(ctx, `INSERT INTO ticket_surveys (ticket_id, token_hash, comment, sent_at) VALUES ($1, $2, '', $3)
		ON CONFLICT (ticket_id) DO NOTHING`, t.ID, hashToken(token), s.clock.Now())
	if err != nil {
		return wrapDB("store survey", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return wrapDB("store survey", err) // already sent after an earlier close
	}
	stop := s.opts.BaseURL + "/survey/" + token + "/stop"
	_, err = s.sendTx(ctx, tx, t, outgoing{kind: "ticket_survey", data: surveyData{Name: t.mailName(),
		StoreName: s.opts.StoreName, Reference: t.Reference, Link: s.opts.BaseURL + "/survey/" + token,
		StopLink: stop}, unsubscribe: stop})
	return err
}

// AnswerSurvey records the customer's rating (1 to 5) and comment, once.
// CheckSurvey reports, without answering it, whether a survey link may
// still be answered: ErrNotFound for an unknown link, ErrSurveyAnswered
// once answered. The link's page asks it before showing the form.
func (s *Service) CheckSurvey(ctx context.Context, token string) error {
	if token == "" || len(token) > 64 {
		return ErrNotFound
	}
	var answered sql.NullTime
	err := s.db.Read.QueryRowContext(ctx, `SELECT answered_at FROM ticket_surveys WHERE token_hash = $1`, hashToken(token)).Scan(&answered)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return wrapDB("read survey", err)
	case answered.Valid:
		return ErrSurveyAnswered
	}
	return nil
}

// SurveyTicket names the ticket a survey link is about and the customer
// account it belongs to ("" for a guest's ticket): the answered page
// leads its owner, when signed in, back to it. ErrNotFound for an
// unknown link.
func (s *Service) SurveyTicket(ctx context.Context, token string) (ticketID, customerID string, err error) {
	if token == "" || len(token) > 64 {
		return "", "", ErrNotFound
	}
	var customer sql.NullString
	err = s.db.Read.QueryRowContext(ctx, `SELECT t.id, t.customer_id FROM ticket_surveys s JOIN tickets t ON t.id = s.ticket_id
		WHERE s.token_hash = $1`, hashToken(token)).Scan(&ticketID, &customer)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", "", ErrNotFound
	case err != nil:
		return "", "", wrapDB("read survey", err)
	}
	return ticketID, customer.String, nil
}

func (s *Service) AnswerSurvey(ctx context.Context, token string, rating int, comment string) error {
	fields := map[string]string{}
	if rating < 1 || rating > 5 {
		fields["rating"] = "out_of_range"
	}
	switch {
	case !validBody(comment):
		fields["comment"] = "invalid"
	case utf8.RuneCountInString(comment) > MaxCommentLen:
		fields["comment"] = "too_long"
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	if token == "" || len(token) > 64 {
		return ErrNotFound
	}
	h := hashToken(token)
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var ticketID string
		var answered sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT ticket_id, answered_at FROM ticket_surveys WHERE token_hash = $1`, h).Scan(&ticketID, &answered)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return wrapDB("read survey", err)
		}
		if answered.Valid {
			return ErrSurveyAnswered
		}
		now := s.clock.Now()
		res, err := tx.ExecContext(ctx, `UPDATE ticket_surveys SET rating = $1, comment = $2, answered_at = $3
			WHERE token_hash = $4 AND answered_at IS NULL`, rating, comment, now, h)
		if err != nil {
			return wrapDB("answer survey", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err != nil {
				return wrapDB("answer survey", err)
			}
			return ErrSurveyAnswered
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.Actor{Role: "customer"}, SubjectType: "ticket",
			SubjectID: ticketID, Action: "ticket.survey_answered", After: map[string]any{"rating": rating}})
	})
}

// Survey is a ticket's satisfaction survey.
type Survey struct {
	TicketID   string
	Rating     int // 0 until answered
	Comment    string
	SentAt     time.Time
	AnsweredAt time.Time
}
