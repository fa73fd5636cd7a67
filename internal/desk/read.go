package desk

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/id"
)

// Get returns a ticket, for the staff.
func (s *Service) Get(ctx context.Context, ticketID string) (Ticket, error) {
	return getTicket(ctx, s.db.Read, ticketID)
}

// GetForCustomer returns one of the customer's tickets; another's is
// ErrNotFound.
func (s *Service) GetForCustomer(ctx context.Context, customerID, ticketID string) (Ticket, error) {
	t, err := getTicket(ctx, s.db.Read, ticketID)
	if err != nil {
		return Ticket{}, err
	}
	if customerID == "" || t.CustomerID != customerID {
		return Ticket{}, ErrNotFound
	}
	return t, nil
}

// ListForCustomer returns a page of the customer's tickets, most recently
// active first, and the cursor of the next page ("" on the last). after is
// a cursor this list gave (CustomerCursor); anything else is ErrNotFound.
// limit 0 means 50, more than 200 is 200. Without pages, a customer's
// tickets past the 200th were out of their reach.
func (s *Service) ListForCustomer(ctx context.Context, customerID, after string, limit int) ([]Ticket, string, error) {
	switch {
	case limit <= 0:
		limit = 50
	case limit > 200:
		limit = 200
	}
	q := `SELECT ` + ticketColumns + ` FROM tickets WHERE customer_id = $1`
	args := []any{customerID}
	if after != "" {
		pos, err := customerPosition(after)
		if err != nil {
			return nil, "", err
		}
		// The first condition says nothing the second does not; it lets
		// the tickets_customer index (customer_id, updated_at) start at
		// the cursor instead of reading the customer's tickets from the top.
		q += ` AND updated_at <= $2 AND (updated_at, id) < ($2, $3)`
		args = append(args, pos.UpdatedAt, pos.ID)
	}
	args = append(args, limit+1)
	q += ` ORDER BY updated_at DESC, id DESC LIMIT $` + strconv.Itoa(len(args))
	page, err := s.tickets(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(page) > limit {
		page = page[:limit]
		next = CustomerCursor(page[limit-1])
	}
	return page, next, nil
}

// CustomerCursor is the position of t in its customer's list, for
// ListForCustomer's after: its id and its last activity as the page showed
// it (as QueueCursor, the position rather than the ticket: it may have
// moved to the top since).
func CustomerCursor(t Ticket) string { return id.Cursor(t.ID, t.UpdatedAt) }

// customerPosition reads a cursor of CustomerCursor; anything else is
// ErrNotFound.
func customerPosition(cursor string) (Ticket, error) {
	ticketID, at, ok := id.ParseCursor("tkt", cursor)
	if !ok || at.IsZero() {
		return Ticket{}, ErrNotFound
	}
	return Ticket{ID: ticketID, UpdatedAt: at}, nil
}

func (s *Service) tickets(ctx context.Context, q string, args ...any) ([]Ticket, error) {
	rows, err := s.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapDB("list tickets", err)
	}
	defer rows.Close()
	var out []Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, wrapDB("list tickets", err)
		}
		out = append(out, t)
	}
	return out, wrapDB("list tickets", rows.Err())
}

// Thread returns a ticket's messages in order. Without notes (what the
// customer sees), internal notes and flagged messages (from someone else
// than the customer) are left out.
func (s *Service) Thread(ctx context.Context, ticketID string, includeNotes bool) ([]Message, error) {
	return ThreadTx(ctx, s.db.Read, ticketID, includeNotes)
}

// TicketTx is Get in the caller's transaction: what a use case's after
// function (see ReplyThen) answers with, as it stands once written.
func TicketTx(ctx context.Context, q db.Querier, ticketID string) (Ticket, error) {
	return getTicket(ctx, q, ticketID)
}

// ThreadTx is Thread in the caller's transaction (see TicketTx).
func ThreadTx(ctx context.Context, dbq db.Querier, ticketID string, includeNotes bool) ([]Message, error) {
	q := `SELECT id, ticket_id, direction, author_id, from_email, message_id, in_reply_to, refs, subject, body_text, body_html,
		flagged, auto_reply, unparsed, outgoing_mail_id, created_at, sender_unverified, lang FROM ticket_messages WHERE ticket_id = $1`
	if !includeNotes {
		q += ` AND direction <> 'note' AND flagged = FALSE`
	}
	rows, err := dbq.QueryContext(ctx, q+` ORDER BY created_at, id`, ticketID)
	if err != nil {
		return nil, wrapDB("read thread", err)
	}
	var out []Message
	index := map[string]int{}
	for rows.Next() {
		var m Message
		var author, mid, mail sql.NullString
		var refs string
		if err := rows.Scan(&m.ID, &m.TicketID, &m.Direction, &author, &m.FromEmail, &mid, &m.InReplyTo, &refs, &m.Subject,
			&m.Text, &m.HTML, &m.Flagged, &m.AutoReply, &m.Unparsed, &mail, &m.CreatedAt, &m.FromUnverified, &m.Lang); err != nil {
			rows.Close()
			return nil, wrapDB("read thread", err)
		}
		m.AuthorID, m.MessageID, m.OutgoingMailID = author.String, mid.String, mail.String
		m.References = strings.Fields(refs)
		m.CreatedAt = m.CreatedAt.UTC()
		index[m.ID] = len(out)
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapDB("read thread", err)
	}
	arows, err := dbq.QueryContext(ctx, `SELECT a.id, a.message_id, a.file_name, a.content_type, a.size, a.blob_key
		FROM ticket_attachments a JOIN ticket_messages m ON m.id = a.message_id WHERE m.ticket_id = $1 ORDER BY a.id`, ticketID)
	if err != nil {
		return nil, wrapDB("read attachments", err)
	}
	defer arows.Close()
	for arows.Next() {
		var a Attachment
		var msgID string
		if err := arows.Scan(&a.ID, &msgID, &a.FileName, &a.ContentType, &a.Size, &a.BlobKey); err != nil {
			return nil, wrapDB("read attachments", err)
		}
		if i, ok := index[msgID]; ok {
			out[i].Attachments = append(out[i].Attachments, a)
		}
	}
	return out, wrapDB("read attachments", arows.Err())
}

// OrderMessage is a message of a ticket about an order, named by its
// ticket's reference.
type OrderMessage struct {
	Ticket    string // the ticket's reference, "T-…"
	Direction string
	FromEmail string
	Subject   string
	Text      string
	CreatedAt time.Time
}

// OrderThreadTx returns what was said about an order in the tickets of its
// customer, oldest first (ties in the order they were stored), in the
// caller's transaction: the dispute evidence reads it in one snapshot with
// the order. Internal notes are left out (they are the store's, not what
// was said), and so are flagged messages: someone else's on the
// customer's ticket, or mail under the customer's address the trusted
// mail server did not vouch for. The pack calls every inbound message the
// customer's, and the customer never saw those in their thread. See
// customerTicketsOf for which tickets count.
func OrderThreadTx(ctx context.Context, q db.Querier, orderID, customerID, email string) ([]OrderMessage, error) {
	theirs, args := customerTicketsOf(orderID, customerID, email)
	rows, err := q.QueryContext(ctx, `SELECT m.created_at, t.reference, m.direction, m.from_email, m.subject, m.body_text
		FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id
		WHERE `+theirs+` AND m.direction <> 'note' AND m.flagged = FALSE ORDER BY m.created_at, m.id`, args...)
	if err != nil {
		return nil, wrapDB("order thread", err)
	}
	defer rows.Close()
	var out []OrderMessage
	for rows.Next() {
		var m OrderMessage
		if err := rows.Scan(&m.CreatedAt, &m.Ticket, &m.Direction, &m.FromEmail, &m.Subject, &m.Text); err != nil {
			return nil, wrapDB("order thread", err)
		}
		out = append(out, m)
	}
	return out, wrapDB("order thread", rows.Err())
}

// customerTicketsOf is the condition on tickets t about orderID opened by
// its customer: from their account, or as a guest from their address (in
// any case; email empty: none). The contact form lets a guest name any
// order, so a ticket that names it may be someone else's, and what they
// wrote is not the customer's correspondence: it must not reach the
// dispute pack that goes to the bank.
func customerTicketsOf(orderID, customerID, email string) (string, []any) {
	cond := `t.order_id = $1 AND (t.customer_id = $2`
	args := []any{orderID, customerID}
	if email != "" {
		sameEmail, forms := db.LowerIn("t.customer_email", 3, email)
		cond += ` OR (t.customer_id IS NULL AND ` + sameEmail + `)`
		args = append(args, forms...)
	}
	return cond + `)`, args
}

// OrderAttachment is a file sent with a message of a ticket about an
// order (internal notes and flagged messages left out), for the dispute
// pack.
type OrderAttachment struct {
	Attachment
	At        time.Time
	Ticket    string // the ticket's reference
	Direction string // "in" from the customer, "out" from the store
}

// OrderAttachmentsTx lists the files of the support thread about orderID
// (the tickets of its customer, as OrderThreadTx), oldest first, in the
// caller's transaction. Erasing a customer deletes their tickets'
// attachments (rows and blobs): none is listed then.
func OrderAttachmentsTx(ctx context.Context, q db.Querier, orderID, customerID, email string) ([]OrderAttachment, error) {
	theirs, args := customerTicketsOf(orderID, customerID, email)
	rows, err := q.QueryContext(ctx, `SELECT a.id, a.file_name, a.content_type, a.size, a.blob_key, m.created_at, t.reference, m.direction
		FROM ticket_attachments a JOIN ticket_messages m ON m.id = a.message_id JOIN tickets t ON t.id = m.ticket_id
		WHERE `+theirs+` AND m.direction <> 'note' AND m.flagged = FALSE ORDER BY m.created_at, m.id, a.id`, args...)
	if err != nil {
		return nil, wrapDB("order attachments", err)
	}
	defer rows.Close()
	var out []OrderAttachment
	for rows.Next() {
		var a OrderAttachment
		if err := rows.Scan(&a.ID, &a.FileName, &a.ContentType, &a.Size, &a.BlobKey, &a.At, &a.Ticket, &a.Direction); err != nil {
			return nil, wrapDB("order attachments", err)
		}
		a.At = a.At.UTC()
		out = append(out, a)
	}
	return out, wrapDB("order attachments", rows.Err())
}

// RawMessage returns the raw email of a stored inbound message, for an
// agent looking at what the parser could not read.
func (s *Service) RawMessage(ctx context.Context, messageID string) ([]byte, error) {
	var raw []byte
	err := s.db.Read.QueryRowContext(ctx, `SELECT raw FROM ticket_messages WHERE id = $1`, messageID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return raw, wrapDB("read raw message", err)
}

// CustomerMessage returns a message a customer wrote and its ticket, for
// an agent who files a claim from it (the message's time is the claim's
// filing time). Anything else is ErrNotFound: an unknown id, the store's
// own answers and notes, a stranger's flagged message, a ticket not linked
// to an account.
func (s *Service) CustomerMessage(ctx context.Context, messageID string) (Ticket, Message, error) {
	var m Message
	err := s.db.Read.QueryRowContext(ctx, `SELECT id, ticket_id, direction, flagged, body_text, created_at, lang
		FROM ticket_messages WHERE id = $1`, messageID).Scan(&m.ID, &m.TicketID, &m.Direction, &m.Flagged, &m.Text, &m.CreatedAt, &m.Lang)
	if errors.Is(err, sql.ErrNoRows) {
		return Ticket{}, Message{}, ErrNotFound
	}
	if err != nil {
		return Ticket{}, Message{}, wrapDB("read message", err)
	}
	if m.Direction != DirectionIn || m.Flagged {
		return Ticket{}, Message{}, ErrNotFound
	}
	m.CreatedAt = m.CreatedAt.UTC()
	t, err := getTicket(ctx, s.db.Read, m.TicketID)
	if err != nil {
		return Ticket{}, Message{}, err
	}
	if t.CustomerID == "" {
		return Ticket{}, Message{}, ErrNotFound
	}
	return t, m, nil
}

// QueueFilter selects tickets for the agents' queue. Empty fields match
// everything; closed tickets are left out unless IncludeClosed.
type QueueFilter struct {
	AssigneeID    string // "mine"
	Unassigned    bool
	ClaimsOnly    bool // topics that are claim kinds
	BreachedOnly  bool
	IncludeClosed bool
	// ClosedOnly: the closed tickets alone (the console's "Closed"), where
	// an agent finds a ticket again once closed.
	ClosedOnly bool
	// After is where the previous page ended: QueueCursor of its last
	// ticket (or, as before, that ticket's id).
	After string
	// Limit caps the page; 0 means 50, more than 500 is 500.
	Limit int
}

// Queue returns tickets ordered by the nearest promised deadline, tickets
// with nothing due last (by id, which is creation order).
//
// The two kinds are read separately and put end to end: ordering all of
// them by "promise_at IS NULL, promise_at, id" at once made the database
// sort every open ticket for each page. Each part instead reads the partial
// index tickets_queue (promise_at, id), or tickets_queue_assignee for one
// agent, in its own order and stops at the page size; what is left to sort
// is at most two pages.
func (s *Service) Queue(ctx context.Context, f QueueFilter) ([]Ticket, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.AssigneeID != "" {
		where = append(where, "assignee_id = "+arg(f.AssigneeID))
	}
	if f.Unassigned {
		where = append(where, "assignee_id IS NULL")
	}
	if f.ClaimsOnly {
		var in []string
		for _, c := range ClaimTopics {
			in = append(in, arg(c))
		}
		where = append(where, "topic IN ("+strings.Join(in, ", ")+")")
	}
	if f.BreachedOnly {
		where = append(where, "breached = TRUE")
	}
	switch {
	case f.ClosedOnly:
		where = append(where, "status = 'closed'")
	case !f.IncludeClosed:
		where = append(where, "status <> 'closed'")
	}
	promised := append(where[:len(where):len(where)], "promise_at IS NOT NULL")
	unpromised := append(where[:len(where):len(where)], "promise_at IS NULL")
	if f.After != "" {
		after, err := s.queuePosition(ctx, f.After)
		if err != nil {
			return nil, err
		}
		if after.PromiseAt.IsZero() {
			promised = nil // that part is behind us
			unpromised = append(unpromised, "id > "+arg(after.ID))
		} else {
			// The first condition says nothing the second does not, but
			// without it PostgreSQL misjudges how many rows the row
			// comparison keeps and sorts them all instead of reading the
			// index in order (250 ms instead of 0.1 ms at 20,000 open
			// tickets).
			p := arg(after.PromiseAt)
			promised = append(promised, "promise_at >= "+p, "(promise_at, id) > ("+p+", "+arg(after.ID)+")")
		}
	}
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = 50
	case limit > 500:
		limit = 500
	}
	lim := arg(limit)
	// Within each part every row has the same promise_at IS NULL, so
	// "promise_at, id" is the index's order in both engines (whatever
	// their place for NULLs).
	part := func(n int, where []string) string {
		return `SELECT * FROM (SELECT ` + ticketColumns + `, ` + strconv.Itoa(n) + ` AS part FROM tickets WHERE ` +
			strings.Join(where, " AND ") + ` ORDER BY promise_at, id LIMIT ` + lim + `) p` + strconv.Itoa(n)
	}
	q := part(1, unpromised)
	if promised != nil {
		q = part(0, promised) + ` UNION ALL ` + q
	}
	q = `SELECT ` + ticketColumns + ` FROM (` + q + `) q ORDER BY part, promise_at, id LIMIT ` + lim
	return s.tickets(ctx, q, args...)
}

// QueueCursor is the position of t in the queue, for QueueFilter.After:
// its id and its promise as the page showed it. The position, not the
// ticket's promise read again for the next page: that ticket may have been
// answered or moved meanwhile, and the next page would then start from its
// new place (answered: among the tickets with nothing due, skipping every
// ticket still due after it).
func QueueCursor(t Ticket) string { return id.Cursor(t.ID, t.PromiseAt) }

// queuePosition reads a cursor of QueueCursor, or a bare ticket id (its
// position now); anything else is ErrNotFound.
func (s *Service) queuePosition(ctx context.Context, cursor string) (Ticket, error) {
	if id.Valid("tkt", cursor) {
		return getTicket(ctx, s.db.Read, cursor)
	}
	ticketID, promise, ok := id.ParseCursor("tkt", cursor)
	if !ok {
		return Ticket{}, ErrNotFound
	}
	return Ticket{ID: ticketID, PromiseAt: promise}, nil
}

// markBreachesQuery reads the tickets_breach_scan partial index by promise
// time: it holds only the tickets with a promise not yet flagged late, so
// neither closed tickets (the history, with no promise) nor the late ones
// already flagged are walked over (see TestSLAScanUsesItsIndex).
const markBreachesQuery = `UPDATE tickets SET breached = TRUE
	WHERE promise_at IS NOT NULL AND promise_at < $1 AND breached = FALSE RETURNING id`

// MarkBreaches flags the tickets whose promised deadline passed before now
// and returns how many it newly flagged. Running it again changes nothing.
func (s *Service) MarkBreaches(ctx context.Context, now time.Time) (int, error) {
	var ids []string
	err := s.db.Tx(ctx, func(tx *sql.Tx) (err error) {
		if ids, err = db.Strings(ctx, tx, markBreachesQuery, now.UTC()); err != nil {
			return wrapDB("mark breaches", err)
		}
		for _, id := range ids {
			if err := auditBreachTx(ctx, tx, id, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(ids), nil
}

// CountBreaches returns how many open tickets have missed their promise.
func (s *Service) CountBreaches(ctx context.Context) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM tickets WHERE breached = TRUE AND status <> 'closed'`).Scan(&n)
	return n, wrapDB("count breaches", err)
}

// SurveyFor returns the ticket's survey, or ErrNotFound before it is sent.
func (s *Service) SurveyFor(ctx context.Context, ticketID string) (Survey, error) {
	var sv Survey
	var rating sql.NullInt64
	var answered sql.NullTime
	err := s.db.Read.QueryRowContext(ctx, `SELECT ticket_id, rating, comment, sent_at, answered_at FROM ticket_surveys WHERE ticket_id = $1`,
		ticketID).Scan(&sv.TicketID, &rating, &sv.Comment, &sv.SentAt, &answered)
	if errors.Is(err, sql.ErrNoRows) {
		return Survey{}, ErrNotFound
	}
	if err != nil {
		return Survey{}, wrapDB("read survey", err)
	}
	sv.Rating, sv.SentAt = int(rating.Int64), sv.SentAt.UTC()
	if answered.Valid {
		sv.AnsweredAt = answered.Time.UTC()
	}
	return sv, nil
}

// Workload is what waits for the support team, for the console's home.
// Each count is what a filter of the queue lists, so a number and the
// list it links to always agree.
type Workload struct {
	Open       int // tickets not closed (the whole queue)
	Awaiting   int // of them, with the customer's word last: ours to answer
	Mine       int // assigned to the agent asking (filter=mine)
	Unassigned int // filter=unassigned
	Breached   int // past the promised answer (filter=breached)
}

// Workload counts the queue for agentID in one pass over the open
// tickets (the partial index tickets_queue), not over the history.
func (s *Service) Workload(ctx context.Context, agentID string) (Workload, error) {
	var w Workload
	err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN assignee_id = $1 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN assignee_id IS NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN breached THEN 1 ELSE 0 END), 0)
		FROM tickets WHERE status <> 'closed'`, agentID).Scan(&w.Open, &w.Awaiting, &w.Mine, &w.Unassigned, &w.Breached)
	return w, wrapDB("count the queue", err)
}
