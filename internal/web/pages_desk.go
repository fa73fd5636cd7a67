package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/claims"
	"comptoir/internal/db"
	"comptoir/internal/desk"
	"comptoir/internal/id"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

type queueData struct {
	Tickets []desk.Ticket
	Filter  string
	// Fragment is the URL of the table's rows alone, for the script that
	// refreshes the queue in place with the same filter and page.
	Fragment string
	Refresh  int // seconds between refreshes
	// Next is the address of the queue's next page, empty on the last.
	Next string
}

// queueRefreshSeconds is how often queue.js fetches the rows again.
const queueRefreshSeconds = 15

// consoleQueuePage is how many tickets a page of the console's queue shows.
const consoleQueuePage = 50

// queueFilter is the agents' queue named by a filter of the console and
// the API ("" the whole queue, mine, unassigned, claims, breached) for
// agent userID; ok is false for a name it does not know.
func queueFilter(name, userID string) (f desk.QueueFilter, ok bool) {
	switch name {
	case "":
	case "mine":
		f.AssigneeID = userID
	case "unassigned":
		f.Unassigned = true
	case "claims":
		f.ClaimsOnly = true
	case "breached":
		f.BreachedOnly = true
	default:
		return desk.QueueFilter{}, false
	}
	return f, true
}

// consoleQueue is the agents' queue, nearest deadline first. It works
// without script; it carries no cache so a reload always shows the queue
// as it is. With fragment=1 it answers the table's rows alone: queue.js
// polls that to refresh the queue in place, keeping the filter.
func (s *Server) consoleQueue(w http.ResponseWriter, r *http.Request) {
	filter := r.URL.Query().Get("filter")
	f, ok := queueFilter(filter, state(r).user.ID)
	switch {
	case filter == "closed":
		// The console's own: a closed ticket was in no list, so an
		// agent could not find it again (a customer calling about it,
		// a colleague's close to check) but by its address.
		f = desk.QueueFilter{ClosedOnly: true}
	case !ok:
		filter = "" // the whole queue, as the page's own links say
	}
	// Pages like the API: one ticket more than a page says whether another
	// follows, and ?after= goes on from where this page ended. Without
	// it, every ticket past the first page was out of the agents' sight.
	after := r.URL.Query().Get("after")
	f.After, f.Limit = after, consoleQueuePage+1
	tickets, err := s.Desk.Queue(r.Context(), f)
	if errors.Is(err, desk.ErrNotFound) {
		s.renderError(w, r, http.StatusBadRequest, "error.bad_request") // a cursor the page never gave
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	page := func(after string, fragment bool) string {
		q := url.Values{}
		if fragment {
			q.Set("fragment", "1")
		}
		if filter != "" {
			q.Set("filter", filter)
		}
		if after != "" {
			q.Set("after", after)
		}
		return "/console/tickets?" + q.Encode()
	}
	d := queueData{Filter: filter, Fragment: page(after, true), Refresh: queueRefreshSeconds}
	if len(tickets) > consoleQueuePage {
		tickets = tickets[:consoleQueuePage]
		d.Next = page(desk.QueueCursor(tickets[len(tickets)-1]), false)
	}
	d.Tickets = tickets
	v := s.newView(r, "console.queue.title", d)
	if r.URL.Query().Get("fragment") == "1" {
		s.renderFragment(w, r, "console_queue", "queue_rows", v)
		return
	}
	s.render(w, r, http.StatusOK, "console_queue", v)
}

type ticketData struct {
	Ticket     desk.Ticket
	Messages   []desk.Message
	Console    bool
	ClaimKinds []policy.Kind
	// Console only: the canned replies, each filled in for this ticket in
	// its language; Draft is the reply box's text (a canned reply picked
	// with ?canned=ID, for browsers without script); Context is what the
	// store knows of the customer.
	Canned  []cannedChoice
	Draft   string
	Context *customerContext
	// Assignee is the name (else the email) of the staff member who took
	// the ticket, empty when no one did: an agent sees it before answering
	// a ticket a colleague is already on.
	Assignee string
	// TakenByMe: the agent reading the page took the ticket ("Take it" is
	// then not offered again).
	TakenByMe bool
	// ReplyKey is the reply form's key: sent twice, it is one message
	// (and, an agent's, one mail).
	ReplyKey string
	// ClaimKey is the key of the console's forms that turn a message into
	// a claim: sent twice, they file one claim (decided, refunded and
	// mailed once).
	ClaimKey string
	// ClaimLines are the lines of the order the claim forms name (the
	// ticket's, or the one the agent typed in the form sent), when it has
	// several: the agent picks the product the claim is about.
	ClaimLines []orders.Line
	// Base is the ticket's address on this page: the console's, the
	// portal's, or a guest link's (/support/t/<token>); its attachments
	// and the reply form are under it.
	Base string
	// Guest: the page is reached by a guest link, without an account.
	Guest bool
	// The attachment limits of a customer's reply, for its help text.
	MaxFiles, MaxMB int
	// BusinessHours: the deadlines count these hours only (the page says
	// so); empty for wall-clock hours.
	BusinessHours string
	// Mine: a signed-in customer's own page of the ticket, which leads
	// back to their list (My messages) and to MyOrder, the order the
	// ticket is about when it is one of theirs; before, only the
	// navigation did.
	Mine    bool
	MyOrder string
}

// cannedChoice is a canned reply as the ticket page offers it.
type cannedChoice struct {
	ID, Title, Body string
	Picked          bool
}

func (s *Server) ticketView(r *http.Request, console bool) (*view, error) {
	ctx := r.Context()
	var t desk.Ticket
	var err error
	if console {
		t, err = s.Desk.Get(ctx, r.PathValue("id"))
	} else {
		t, err = s.Desk.GetForCustomer(ctx, state(r).user.ID, r.PathValue("id"))
	}
	if err != nil {
		return nil, err
	}
	base := "/support/tickets/" + t.ID
	if console {
		base = "/console/tickets/" + t.ID
	}
	v, err := s.ticketViewOf(r, t, console, base)
	if err != nil || console {
		return v, err
	}
	d := v.Data.(ticketData)
	d.Mine = true
	if t.OrderID != "" && db.ValidText(t.OrderID) {
		// Linked only when the customer can open it: their own order.
		o, err := s.Orders.Get(ctx, t.OrderID)
		switch {
		case err == nil && o.CustomerID == state(r).user.ID:
			d.MyOrder = o.ID
		case err != nil && !errors.Is(err, orders.ErrNotFound):
			return nil, err
		}
	}
	v.Data = d
	return v, nil
}

// ticketViewOf is the ticket page of t, whoever reached it (base: see
// ticketData).
func (s *Server) ticketViewOf(r *http.Request, t desk.Ticket, console bool, base string) (*view, error) {
	ctx := r.Context()
	msgs, err := s.Desk.Thread(ctx, t.ID, console)
	if err != nil {
		return nil, err
	}
	d := ticketData{Ticket: t, BusinessHours: s.Desk.BusinessHours(), Messages: msgs, Console: console, ClaimKinds: claimKindsFromMessage, Base: base,
		MaxFiles: desk.MaxContactFiles, MaxMB: desk.MaxContactFileBytes >> 20}
	d.ReplyKey = id.New("rpl")
	if console {
		d.ClaimKey = id.New("clk")
		canned, err := s.Desk.CannedReplies(ctx)
		if err != nil {
			return nil, err
		}
		picked := r.URL.Query().Get("canned")
		for _, c := range canned {
			// The title in the agent's language, the body in the customer's.
			choice := cannedChoice{ID: c.ID, Title: c.Title(state(r).lang), Body: s.Desk.Fill(c, t)}
			if c.ID == picked {
				d.Draft, choice.Picked = choice.Body, true
			}
			d.Canned = append(d.Canned, choice)
		}
		if d.Context, err = s.customerContext(r, t); err != nil {
			return nil, err
		}
		if d.ClaimLines, err = s.claimLines(r, t); err != nil {
			return nil, err
		}
		d.TakenByMe = t.AssigneeID != "" && t.AssigneeID == state(r).user.ID
		if t.AssigneeID != "" {
			u, err := s.Accounts.UserByID(ctx, t.AssigneeID)
			switch {
			case err == nil && u.Name != "":
				d.Assignee = u.Name
			case err == nil:
				d.Assignee = u.Email
			case !errors.Is(err, account.ErrNotFound):
				return nil, err
			}
		}
	}
	v := s.newView(r, "", d)
	v.Title = s.Messages.T(v.Lang, "ticket.title", map[string]any{"Reference": t.Reference})
	return v, nil
}

// claimLines are the lines of the order the console's claim forms name,
// when it is one of the ticket's customer's with several lines: the
// order_id of the form sent (the page shown again with its error), else
// the ticket's order. An order that is not found offers no list.
func (s *Server) claimLines(r *http.Request, t desk.Ticket) ([]orders.Line, error) {
	ref := t.OrderID
	if r.Method == http.MethodPost && r.PostForm.Get("message_id") != "" {
		ref = strings.TrimSpace(r.PostForm.Get("order_id"))
	}
	if ref == "" || t.CustomerID == "" || !db.ValidText(ref) {
		return nil, nil
	}
	o, err := s.Orders.Get(r.Context(), ref)
	if errors.Is(err, orders.ErrNotFound) || err == nil && (o.CustomerID != t.CustomerID || len(o.Lines) < 2) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return o.Lines, nil
}

// deskFailed answers err from the desk, if any: an unknown (or another
// visitor's) ticket or canned reply is 404, anything else a server error. It
// reports whether it answered, so that the handler stops.
func (s *Server) deskFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, desk.ErrNotFound):
		s.notFound(w, r)
	default:
		s.serverError(w, r, err)
	}
	return true
}

func (s *Server) showTicket(w http.ResponseWriter, r *http.Request, console bool) {
	v, err := s.ticketView(r, console)
	if s.deskFailed(w, r, err) {
		return
	}
	s.render(w, r, http.StatusOK, "ticket", v)
}

func (s *Server) consoleTicket(w http.ResponseWriter, r *http.Request) { s.showTicket(w, r, true) }
func (s *Server) myTicket(w http.ResponseWriter, r *http.Request)      { s.showTicket(w, r, false) }

// myTicketsPage is the page size of a customer's tickets page.
const myTicketsPage = 50

func (s *Server) myTickets(w http.ResponseWriter, r *http.Request) {
	// Pages as the orders do: ?after= goes on from where the page ended.
	tickets, next, err := s.Desk.ListForCustomer(r.Context(), state(r).user.ID, r.URL.Query().Get("after"), myTicketsPage)
	if errors.Is(err, desk.ErrNotFound) {
		s.renderError(w, r, http.StatusBadRequest, "error.bad_request") // a cursor the page never gave
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	d := queueData{Tickets: tickets}
	if next != "" {
		d.Next = "/support/tickets?" + url.Values{"after": {next}}.Encode()
	}
	s.render(w, r, http.StatusOK, "tickets", s.newView(r, "tickets.title", d))
}

// consoleTicketAction is an agent's reply, internal note, assignment to
// themselves, wait on the customer, or closing.
func (s *Server) consoleTicketAction(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	ctx := r.Context()
	actor := state(r).user.Actor()
	id := r.PathValue("id")
	var err error
	switch r.PostForm.Get("action") {
	case "reply":
		err = s.consoleReply(r, actor, id)
	case "note":
		err = s.consoleNote(r, actor, id)
	case "assign":
		_, err = s.Desk.Assign(ctx, actor, id, actor.ID)
	case "wait":
		_, err = s.Desk.WaitOnCustomer(ctx, actor, id)
	case "close":
		_, err = s.Desk.Close(ctx, actor, id)
	case "insert":
		s.consoleInsertCanned(w, r)
		return
	default:
		s.renderError(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	var verr *desk.ValidationError
	// A reply refused because the ticket is closed (by a colleague while
	// it was being written) keeps its words too: redirected with "This
	// ticket is closed", the agent lost them, with no way to send them.
	if errors.As(err, &verr) || (errors.Is(err, desk.ErrClosed) && r.PostForm.Get("action") == "reply") {
		// The page again with the agent's words in the box and what is
		// wrong: redirected, the refused reply was gone with it.
		v, vErr := s.ticketView(r, true)
		if s.deskFailed(w, r, vErr) {
			return
		}
		d := v.Data.(ticketData)
		d.Draft = r.PostForm.Get("text")
		v.Data = d
		// Beside the box, as every refused field's reason: a notice at
		// the top of the page was far from the words to change.
		key := ticketErrorKey(err)
		if errors.Is(err, desk.ErrClosed) {
			key = "ticket.error.closed_reply"
		}
		v.Errors = map[string]string{"text": s.Messages.T(v.Lang, key)}
		s.render(w, r, http.StatusUnprocessableEntity, "ticket", v)
		return
	}
	s.afterTicketChange(w, r, err, "/console/tickets/"+id)
}

// consoleInsertCanned is the canned reply picker without script: the
// ticket again, the picked reply added after what the agent had written
// (as canned.js adds it in place). Nothing is stored or sent.
func (s *Server) consoleInsertCanned(w http.ResponseWriter, r *http.Request) {
	v, err := s.ticketView(r, true)
	if s.deskFailed(w, r, err) {
		return
	}
	d := v.Data.(ticketData)
	written := strings.TrimRight(r.PostForm.Get("text"), " \t\r\n")
	d.Draft = r.PostForm.Get("text")
	for i, c := range d.Canned {
		d.Canned[i].Picked = c.ID == r.PostForm.Get("canned")
		if d.Canned[i].Picked {
			if strings.TrimSpace(written) == "" {
				d.Draft = c.Body
			} else {
				d.Draft = written + "\n\n" + c.Body
			}
		}
	}
	v.Data = d
	s.render(w, r, http.StatusOK, "ticket", v)
}

// consoleReply sends an agent's reply under the form's key: the form sent
// twice (a double click without script) mails the customer once, the
// repeat answering as the first did.
func (s *Server) consoleReply(r *http.Request, actor audit.Actor, ticketID string) error {
	ctx := r.Context()
	keyed, replay := s.formKeyed(r, actor.ID, "page:ticket-reply", "reply_key")
	if replay != nil {
		return nil
	}
	_, err := s.Desk.ReplyThen(ctx, actor, ticketID, r.PostForm.Get("text"), func(ctx context.Context, tx *sql.Tx, m desk.Message) error {
		return keyed.saveTx(ctx, tx, http.StatusSeeOther, map[string]string{"message_id": m.ID})
	})
	if out, rerr := keyed.recover(ctx, err); rerr == nil && out.Replay {
		return nil
	}
	return err
}

// consoleNote adds an agent's internal note under the form's key, as
// consoleReply sends a reply: the form sent twice (a double click without
// script, a reload of its answer) is one note.
func (s *Server) consoleNote(r *http.Request, actor audit.Actor, ticketID string) error {
	ctx := r.Context()
	keyed, replay := s.formKeyed(r, actor.ID, "page:ticket-note", "reply_key")
	if replay != nil {
		return nil
	}
	_, err := s.Desk.NoteThen(ctx, actor, ticketID, r.PostForm.Get("text"), func(ctx context.Context, tx *sql.Tx, m desk.Message) error {
		return keyed.saveTx(ctx, tx, http.StatusSeeOther, map[string]string{"message_id": m.ID})
	})
	if out, rerr := keyed.recover(ctx, err); rerr == nil && out.Replay {
		return nil
	}
	return err
}

// ticketReply is the customer's reply from the portal, with files like the
// Contact form (the same thread as a reply by email).
func (s *Server) ticketReply(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.pageReply(w, r, "/support/tickets/"+id, state(r).user.ID,
		func() (*view, error) { return s.ticketView(r, false) },
		func(text string, atts []desk.Attachment, after func(context.Context, *sql.Tx, desk.Ticket) error) error {
			_, err := s.Desk.ReplyAsCustomerThen(r.Context(), state(r).user.ID, id, text, atts, after)
			return err
		})
}

func (s *Server) afterTicketChange(w http.ResponseWriter, r *http.Request, err error, back string) {
	switch code := desk.Code(err); {
	case err == nil:
		s.flash(w, "ticket.saved")
	case code == "not_found":
		s.notFound(w, r)
		return
	case code == "internal":
		s.serverError(w, r, err)
		return
	default:
		s.flash(w, ticketErrorKey(err))
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// ticketErrorKey is the message that tells a desk error. An invalid reply
// says what is wrong with it: "write a message" answered an agent whose
// message was too long, or whose ticket has no address to send it to.
func ticketErrorKey(err error) string {
	var verr *desk.ValidationError
	if errors.As(err, &verr) {
		switch {
		case verr.Fields["customer_email"] != "":
			return "ticket.error.no_address"
		case verr.Fields["text"] == "too_long" || verr.Fields["message"] == "too_long":
			return "ticket.error.too_long"
		}
	}
	return "ticket.error." + desk.Code(err)
}

// consoleClaimFromMessage turns a customer's message into a claim: it is
// filed as of the message's time, so the agent's delay never costs the
// customer their window, and it names the message it came from.
func (s *Server) consoleClaimFromMessage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	ctx := r.Context()
	t, err := s.Desk.Get(ctx, r.PathValue("id"))
	if s.deskFailed(w, r, err) {
		return
	}
	msgs, err := s.Desk.Thread(ctx, t.ID, false)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	var from *desk.Message
	for i := range msgs {
		if msgs[i].ID == r.PostForm.Get("message_id") && msgs[i].Direction == desk.DirectionIn {
			from = &msgs[i]
		}
	}
	if from == nil || t.CustomerID == "" {
		// Only a customer's own message on a ticket linked to their account
		// can become their claim.
		s.flash(w, "ticket.error.claim_needs_customer")
		http.Redirect(w, r, "/console/tickets/"+t.ID, http.StatusSeeOther)
		return
	}
	in := claims.FileInput{
		Kind: policy.Kind(r.PostForm.Get("kind")), CustomerID: t.CustomerID,
		Message: from.Text, Lang: from.Lang, FiledAt: from.CreatedAt, SourceMessageID: from.ID, Actor: state(r).user.Actor(),
	}
	if in.Kind == policy.SubscriptionCancel {
		// A written request to stop a subscription: filed at the
		// message's time, so a renewal charged after it is refunded
		// (POLICY.md: no renewal is charged after the request).
		in.SubscriptionID = strings.TrimSpace(r.PostForm.Get("subscription_id"))
		in.Choice = policy.Cancel(r.PostForm.Get("choice"))
	} else {
		in.OrderID = strings.TrimSpace(r.PostForm.Get("order_id"))
		// The product, from the list the page offers for an order of
		// several lines: without it such an order could not take a claim
		// from this page (line_id required, said as "not valid").
		in.LineID = strings.TrimSpace(r.PostForm.Get("line_id"))
	}
	// The form's key: sent twice (a double click, a reload of its answer)
	// it files one claim, and the repeat leads to it. Without it each send
	// filed another claim about the message, decided and mailed again.
	claimID, err := s.keyedClaimForm(r, in.Actor.ID, "page:claim-from-message", "claim_key", func(then func(context.Context, *sql.Tx, claims.Claim) error) (claims.Claim, error) {
		in.Then = then
		return s.Claims.File(ctx, in)
	})
	if err != nil {
		code := claims.Code(err)
		if claimErrorStatus(code) >= 500 {
			s.serverError(w, r, err)
			return
		}
		// The ticket again, the reason under the reference the agent
		// typed and their choices kept: redirected, both were lost, and
		// an order id that names no order of this customer's said "This
		// claim does not exist".
		field, key := "order_id", claimErrorKey(err)
		var verr *claims.ValidationError
		switch {
		case in.Kind == policy.SubscriptionCancel:
			field = "subscription_id"
			if code == "not_found" {
				key = "subscription.error.not_found"
			}
		case code == "not_found":
			key = "claim.error.order_not_found"
		case errors.As(err, &verr) && verr.Fields["line_id"] == "required":
			// The order has several lines: the page now lists them.
			field, key = "line_id", "claim.error.line_required"
		case errors.As(err, &verr) && verr.Fields["filed_at"] == "before_order":
			key = "claim.error.message_before_order"
		}
		v, vErr := s.ticketViewOf(r, t, true, "/console/tickets/"+t.ID)
		if s.deskFailed(w, r, vErr) {
			return
		}
		v.Form = r.PostForm
		v.Errors = map[string]string{field: s.Messages.T(v.Lang, key)}
		s.render(w, r, claimErrorStatus(code), "ticket", v)
		return
	}
	http.Redirect(w, r, "/console/claims/"+claimID, http.StatusSeeOther)
}
