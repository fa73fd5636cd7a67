package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"comptoir/internal/desk"
)

// The support desk in the JSON API (API.md: /tickets): the Contact form,
// the agents' queue, a ticket's thread and a reply to it, as the pages do.

// ticketJSON is a ticket as the API shows it. due_at is when the store's
// answer is promised, target_at when it is aimed for (POLICY.md: both
// clocks are visible on every ticket, as the pages show them), both null
// when none is due (answered, waiting on the customer, closed).
type ticketJSON struct {
	ID            string     `json:"id"`
	Reference     string     `json:"reference"`
	Status        string     `json:"status"`
	Topic         string     `json:"topic"`
	OrderID       string     `json:"order_id,omitempty"`
	CustomerID    string     `json:"customer_id,omitempty"`
	CustomerName  string     `json:"customer_name"`
	CustomerEmail string     `json:"customer_email"`
	Language      string     `json:"language"`
	AssigneeID    string     `json:"assignee_id,omitempty"`
	DueAt         *time.Time `json:"due_at"`
	TargetAt      *time.Time `json:"target_at"`
	Breached      bool       `json:"breached"`
	// SenderUnverified (only when true): the trusted mail server did not
	// vouch for the From of the mail that opened the ticket
	// (desk.Ticket.SenderUnverified). An addition API.md allows.
	SenderUnverified bool            `json:"sender_unverified,omitempty"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
	Messages         []ticketMessage `json:"messages,omitempty"`
}

// ticketMessage is one message of a thread: direction is in (from the
// customer), out (the store's answer) or note (internal, staff only).
type ticketMessage struct {
	ID        string `json:"id"`
	Direction string `json:"direction"`
	From      string `json:"from,omitempty"`
	AuthorID  string `json:"author_id,omitempty"`
	// SenderUnverified (only when true): the message came under its From
	// without the trusted mail server vouching for it.
	SenderUnverified bool               `json:"sender_unverified,omitempty"`
	Text             string             `json:"text"`
	CreatedAt        time.Time          `json:"created_at"`
	Attachments      []ticketAttachment `json:"attachments"`
}

type ticketAttachment struct {
	ID          string `json:"id"`
	FileName    string `json:"file_name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

func toTicketJSON(t desk.Ticket) ticketJSON {
	out := ticketJSON{ID: t.ID, Reference: t.Reference, Status: t.Status, Topic: t.Topic, OrderID: t.OrderID,
		CustomerID: t.CustomerID, CustomerName: t.CustomerName, CustomerEmail: t.CustomerEmail, Language: t.Lang,
		AssigneeID: t.AssigneeID, Breached: t.Breached, SenderUnverified: t.SenderUnverified, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if !t.PromiseAt.IsZero() {
		due, target := t.PromiseAt, t.TargetAt
		out.DueAt, out.TargetAt = &due, &target
	}
	return out
}

func toTicketMessages(t desk.Ticket, msgs []desk.Message) []ticketMessage {
	out := make([]ticketMessage, len(msgs))
	for i, m := range msgs {
		tm := ticketMessage{ID: m.ID, Direction: m.Direction, From: m.FromEmail, AuthorID: m.AuthorID, SenderUnverified: m.SenderUnverified(t),
			Text: m.Text, CreatedAt: m.CreatedAt, Attachments: []ticketAttachment{}}
		for _, a := range m.Attachments {
			tm.Attachments = append(tm.Attachments, ticketAttachment{ID: a.ID, FileName: a.FileName, ContentType: a.ContentType, Size: a.Size})
		}
		out[i] = tm
	}
	return out
}

// apiTicketError answers a desk error: a ticket that is not the caller's
// is 404 like an unknown one.
func (s *Server) apiTicketError(w http.ResponseWriter, r *http.Request, err error) {
	lang := state(r).lang
	var verr *desk.ValidationError
	switch code := desk.Code(err); {
	case code == "not_found" || code == "forbidden":
		s.apiNotFound(w, r)
	case errors.As(err, &verr):
		fields := map[string]string{}
		for f, code := range verr.Fields {
			if f == "text" { // an agent's reply calls it text; the API, message
				f = "message"
			}
			switch {
			case f == "customer_email": // the ticket's, not the caller's
				fields[f] = s.Messages.T(lang, "ticket.error.no_address")
			case f == "message" && code == "too_long":
				fields[f] = s.Messages.T(lang, "ticket.error.too_long")
			case f == "order_ref" && code == "unknown":
				fields[f] = s.Messages.T(lang, "contact.error.order_ref_unknown")
			case f == "topic":
				// The page offers the topics; a client of the API,
				// which API.md does not tell them, is told here.
				fields[f] = s.Messages.T(lang, "contact.error.topic") + " (" + strings.Join(desk.Topics, ", ") + ")"
			default:
				fields[f] = s.Messages.T(lang, "contact.error."+f)
			}
		}
		writeFieldErrors(w, http.StatusUnprocessableEntity, "invalid", s.Messages.T(lang, "error.bad_request"), fields)
	case code == "ticket_closed":
		writeError(w, http.StatusConflict, code, s.Messages.T(lang, "ticket.error.ticket_closed"))
	default:
		s.serverError(w, r, err)
	}
}

type contactJSON struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	OrderRef string `json:"order_ref"`
	Topic    string `json:"topic"`
	Message  string `json:"message"`
}

// apiOpenTicket is POST /api/v1/tickets, the Contact form: anyone may
// write; a signed-in customer's ticket joins their account. The answer
// names the ticket and when the store promises to answer. It creates a
// record, so it honours Idempotency-Key: a retry is the first ticket,
// acknowledged once. A guest's key is scoped to the address they write
// from, so that two guests who pick the same key never meet.
func (s *Server) apiOpenTicket(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var in contactJSON
	if !s.decodeJSONBytes(w, r, body, &in) {
		return
	}
	if !s.allow(w, r, "contact:"+limitAddr(r), contactLimit) {
		return
	}
	ci := desk.ContactInput{Name: in.Name, Email: in.Email, OrderRef: in.OrderRef, Topic: in.Topic, Message: in.Message, Lang: st.lang}
	caller := "guest:" + strings.ToLower(strings.TrimSpace(in.Email))
	if st.user != nil {
		// The account's address, as on the Contact page (contact).
		ci.CustomerID, ci.Email, caller = st.user.ID, st.user.Email, st.user.ID
	}
	keyed, ok := s.keyedLookup(w, r, caller, body)
	if !ok {
		return
	}
	ci.After = func(ctx context.Context, tx *sql.Tx, t desk.Ticket) error {
		return keyed.saveTx(ctx, tx, http.StatusCreated, toTicketJSON(t))
	}
	t, err := s.Desk.OpenFromContact(r.Context(), ci)
	out, err := keyed.recover(r.Context(), err)
	if s.writeKeyed(w, r, out, err) {
		return
	}
	if err != nil {
		s.apiTicketError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toTicketJSON(t))
}

// apiTickets is GET /api/v1/tickets: for staff the queue, nearest deadline
// first (?filter=mine|unassigned|claims|breached); for a customer their own
// tickets, most recently active first. Both take ?after= for the next page.
func (s *Server) apiTickets(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	var tickets []desk.Ticket
	var next string
	var err error
	if u.IsStaff() {
		f, ok := queueFilter(r.URL.Query().Get("filter"), u.ID)
		if !ok {
			writeError(w, http.StatusBadRequest, "bad_request", s.Messages.T(state(r).lang, "error.bad_request"))
			return
		}
		// One row more than a page says whether another page follows: a
		// full page alone does not (a queue of exactly one page).
		f.After, f.Limit = r.URL.Query().Get("after"), apiTicketsPage+1
		tickets, err = s.Desk.Queue(r.Context(), f)
		if len(tickets) > apiTicketsPage {
			tickets = tickets[:apiTicketsPage]
			next = desk.QueueCursor(tickets[len(tickets)-1])
		}
	} else {
		// A customer's own tickets page the same way (API.md: a list is
		// {items, next}); without it they stopped at 200.
		tickets, next, err = s.Desk.ListForCustomer(r.Context(), u.ID, r.URL.Query().Get("after"), apiTicketsPage)
	}
	if errors.Is(err, desk.ErrNotFound) {
		// ?after= names no ticket: a cursor this API did not give.
		writeError(w, http.StatusBadRequest, "bad_request", s.Messages.T(state(r).lang, "error.bad_request"))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	items := make([]ticketJSON, len(tickets))
	for i, t := range tickets {
		items[i] = toTicketJSON(t)
	}
	writeJSON(w, http.StatusOK, listJSON(items, next))
}

// apiTicketsPage is the page size of both ticket lists in the API.
const apiTicketsPage = 50

// apiTicket is GET /api/v1/tickets/{id}: the ticket and its thread, for
// its owner (without internal notes) or staff.
func (s *Server) apiTicket(w http.ResponseWriter, r *http.Request) {
	s.writeTicket(w, r, http.StatusOK, r.PathValue("id"))
}

func (s *Server) writeTicket(w http.ResponseWriter, r *http.Request, status int, ticketID string) {
	ctx := r.Context()
	u := state(r).user
	var t desk.Ticket
	var err error
	if u.IsStaff() {
		t, err = s.Desk.Get(ctx, ticketID)
	} else {
		t, err = s.Desk.GetForCustomer(ctx, u.ID, ticketID)
	}
	if err != nil {
		s.apiTicketError(w, r, err)
		return
	}
	msgs, err := s.Desk.Thread(ctx, t.ID, u.IsStaff())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := toTicketJSON(t)
	out.Messages = toTicketMessages(t, msgs)
	writeJSON(w, status, out)
}

type ticketReplyJSON struct {
	Message string `json:"message"`
}

// apiTicketReply is POST /api/v1/tickets/{id}/messages: the owner's
// message (as from the portal: the ticket reopens) or an agent's answer
// (emailed to the customer). It answers the ticket with its thread.
//
// It honours Idempotency-Key: a client that retries after a lost answer
// gets the first one back, instead of a second message (and, an agent's,
// a second email to the customer).
func (s *Server) apiTicketReply(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var in ticketReplyJSON
	if !s.decodeJSONBytes(w, r, body, &in) {
		return
	}
	u := state(r).user
	keyed, ok := s.keyedLookup(w, r, u.ID, body)
	if !ok {
		return
	}
	id := r.PathValue("id")
	// The answer, as it stands in the reply's transaction, is stored with
	// the key.
	save := func(ctx context.Context, tx *sql.Tx) error {
		if keyed.key == "" {
			return nil
		}
		t, err := desk.TicketTx(ctx, tx, id)
		if err != nil {
			return err
		}
		msgs, err := desk.ThreadTx(ctx, tx, id, u.IsStaff())
		if err != nil {
			return err
		}
		out := toTicketJSON(t)
		out.Messages = toTicketMessages(t, msgs)
		return keyed.saveTx(ctx, tx, http.StatusCreated, out)
	}
	var err error
	if u.IsStaff() {
		_, err = s.Desk.ReplyThen(r.Context(), u.Actor(), id, in.Message, func(ctx context.Context, tx *sql.Tx, _ desk.Message) error {
			return save(ctx, tx)
		})
	} else {
		_, err = s.Desk.ReplyAsCustomerThen(r.Context(), u.ID, id, in.Message, nil, func(ctx context.Context, tx *sql.Tx, _ desk.Ticket) error {
			return save(ctx, tx)
		})
	}
	out, err := keyed.recover(r.Context(), err)
	if s.writeKeyed(w, r, out, err) {
		return
	}
	if err != nil {
		s.apiTicketError(w, r, err)
		return
	}
	s.writeTicket(w, r, http.StatusCreated, id)
}
