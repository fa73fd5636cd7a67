package desk

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/id"
	"comptoir/internal/mail"
)

const ticketColumns = `id, reference, reply_token, customer_id, customer_email, customer_name, lang, topic, order_id,
	status, assignee_id, first_message_at, target_at, promise_at, breached, created_at, updated_at, sender_unverified`

func scanTicket(row interface{ Scan(...any) error }) (Ticket, error) {
	var t Ticket
	var customerID, orderID, assigneeID sql.NullString
	var target, promise sql.NullTime
	err := row.Scan(&t.ID, &t.Reference, &t.ReplyToken, &customerID, &t.CustomerEmail, &t.CustomerName, &t.Lang, &t.Topic,
		&orderID, &t.Status, &assigneeID, &t.FirstMessage, &target, &promise, &t.Breached, &t.CreatedAt, &t.UpdatedAt, &t.SenderUnverified)
	if err != nil {
		return Ticket{}, err
	}
	t.CustomerID, t.OrderID, t.AssigneeID = customerID.String, orderID.String, assigneeID.String
	t.FirstMessage, t.CreatedAt, t.UpdatedAt = t.FirstMessage.UTC(), t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	if target.Valid {
		t.TargetAt = target.Time.UTC()
	}
	if promise.Valid {
		t.PromiseAt = promise.Time.UTC()
	}
	return t, nil
}

// oneTicketQuery reads a ticket with, as its language, the one its
// customer saved on their account now when it has one (they may have
// switched since the ticket opened): emails go out in the recipient's
// language, and the agent writes and the canned replies fill in it. A
// guest's ticket keeps the language it was opened in.
const oneTicketQuery = `SELECT t.id, t.reference, t.reply_token, t.customer_id, t.customer_email, t.customer_name,
	CASE WHEN u.language IN ('fr', 'en') THEN u.language ELSE t.lang END, t.topic, t.order_id,
	t.status, t.assignee_id, t.first_message_at, t.target_at, t.promise_at, t.breached, t.created_at, t.updated_at, t.sender_unverified
	FROM tickets t LEFT JOIN users u ON u.id = t.customer_id WHERE t.id = $1`

func getTicket(ctx context.Context, q db.Querier, ticketID string) (Ticket, error) {
	t, err := scanTicket(q.QueryRowContext(ctx, oneTicketQuery, ticketID))
	if errors.Is(err, sql.ErrNoRows) {
		return Ticket{}, ErrNotFound
	}
	return t, wrapDB("read ticket", err)
}

// lockTicketTx reads a ticket for a change, holding its row until the
// transaction ends, so that two changes to one ticket (an agent's reply and
// the customer's message) take turns instead of computing the SLA from each
// other's stale view. A no-op UPDATE takes the row lock on PostgreSQL;
// SQLite has one writer at a time anyway.
func lockTicketTx(ctx context.Context, tx *sql.Tx, ticketID string) (Ticket, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE tickets SET updated_at = updated_at WHERE id = $1`, ticketID); err != nil {
		return Ticket{}, wrapDB("lock ticket", err)
	}
	return getTicket(ctx, tx, ticketID)
}

// insertTicketTx stores a new ticket (status open, nothing due yet).
func insertTicketTx(ctx context.Context, tx *sql.Tx, t *Ticket) error {
	t.ID, t.Reference, t.ReplyToken = id.New("tkt"), newReference(), newReplyToken()
	t.Status = StatusOpen
	_, err := tx.ExecContext(ctx, `INSERT INTO tickets (id, reference, reply_token, customer_id, customer_email, customer_name,
		lang, topic, order_id, status, assignee_id, first_message_at, breached, created_at, updated_at, sender_unverified)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11, FALSE, $12, $12, $13)`,
		t.ID, t.Reference, t.ReplyToken, nullString(t.CustomerID), t.CustomerEmail, t.CustomerName,
		t.Lang, t.Topic, nullString(t.OrderID), t.Status, t.FirstMessage, t.CreatedAt, t.SenderUnverified)
	return wrapDB("store ticket", err)
}

// insertMessageTx stores m and its attachments; m.ID is set.
func insertMessageTx(ctx context.Context, tx *sql.Tx, m *Message, raw []byte) error {
	m.ID = id.New("tms")
	var rawArg any
	if raw != nil {
		rawArg = raw
	}
	if m.Lang != "fr" && m.Lang != "en" {
		m.Lang = ""
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO ticket_messages (id, ticket_id, direction, author_id, from_email, message_id,
		in_reply_to, refs, subject, body_text, body_html, flagged, auto_reply, unparsed, raw, outgoing_mail_id, created_at, sender_unverified, lang)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		m.ID, m.TicketID, m.Direction, nullString(m.AuthorID), m.FromEmail, nullString(m.MessageID),
		m.InReplyTo, strings.Join(m.References, " "), m.Subject, m.Text, m.HTML, m.Flagged, m.AutoReply, m.Unparsed,
		rawArg, nullString(m.OutgoingMailID), m.CreatedAt, m.FromUnverified, m.Lang)
	if err != nil {
		return wrapDB("store message", err)
	}
	for i := range m.Attachments {
		a := &m.Attachments[i]
		a.ID = id.New("tat")
		if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_attachments (id, message_id, file_name, content_type, size, blob_key)
			VALUES ($1, $2, $3, $4, $5, $6)`, a.ID, m.ID, a.FileName, a.ContentType, a.Size, a.BlobKey); err != nil {
			return wrapDB("store attachment", err)
		}
	}
	return nil
}

func setStatusTx(ctx context.Context, tx *sql.Tx, ticketID, status string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE tickets SET status = $1, updated_at = $2 WHERE id = $3`, status, now, ticketID)
	return wrapDB("update status", err)
}

// outgoing is an email about a ticket.
type outgoing struct {
	kind       string
	data       any
	inReplyTo  string
	references []string
	authorID   string
	// body, when set, is the text recorded on the ticket instead of the
	// whole rendered email (an agent's reply).
	body string
	// unnamed leaves the customer's name out of the To header.
	unnamed bool
	// unsubscribe is the mail's List-Unsubscribe link (a survey's stop
	// link), or empty.
	unsubscribe string
}

// guestTokens finds the token of a guest link (guestLinkTx) in a text. The
// email carries the link; the copy recorded on the ticket does not, since
// the token is the guest's whole credential and the thread is read by
// agents, exported and sent to banks as dispute evidence.
var guestTokens = regexp.MustCompile(regexp.QuoteMeta(GuestLinkPath) + `[A-Za-z0-9_-]+`)

// sendTx renders and queues an email to the ticket's customer, with the
// ticket's Reply-To and its reference in the subject, and records it as an
// out message carrying the mail's Message-ID (so that a reply to it threads).
func (s *Service) sendTx(ctx context.Context, tx *sql.Tx, t Ticket, o outgoing) (Message, error) {
	subject, text, err := mail.Render(t.Lang, o.kind, o.data)
	if err != nil {
		return Message{}, err
	}
	tag := "[#" + t.Reference + "]"
	if !strings.Contains(subject, tag) {
		subject += " " + tag
	}
	toName := t.mailName()
	if o.unnamed {
		toName = ""
	}
	mailID, err := s.mailer.EnqueueTx(ctx, tx, mail.Message{
		Kind: o.kind, To: t.CustomerEmail, ToName: toName, Lang: t.Lang, Subject: subject, Text: text,
		ReplyTo: s.ReplyAddress(t), InReplyTo: o.inReplyTo, References: o.references, UserID: t.CustomerID,
		ListUnsubscribe: o.unsubscribe,
	})
	if err != nil {
		return Message{}, wrapDB("queue "+o.kind, err)
	}
	var messageID string
	if err := tx.QueryRowContext(ctx, `SELECT message_id FROM outgoing_mail WHERE id = $1`, mailID).Scan(&messageID); err != nil {
		return Message{}, wrapDB("read Message-ID", err)
	}
	body := guestTokens.ReplaceAllString(text, GuestLinkPath+"…")
	if o.body != "" {
		body = o.body
	}
	m := Message{TicketID: t.ID, Direction: DirectionOut, AuthorID: o.authorID, FromEmail: s.opts.SupportAddress,
		MessageID: messageID, InReplyTo: o.inReplyTo, References: o.references, Subject: subject, Text: body,
		OutgoingMailID: mailID, CreatedAt: s.clock.Now(), Lang: t.Lang}
	return m, insertMessageTx(ctx, tx, &m, nil)
}
