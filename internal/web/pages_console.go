package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/billing"
	"comptoir/internal/blob"
	"comptoir/internal/claims"
	"comptoir/internal/desk"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/subscriptions"
)

// renderFragment writes one named template of a page without the layout:
// a piece of a page a script swaps in place (the queue's rows).
func (s *Server) renderFragment(w http.ResponseWriter, r *http.Request, page, name string, v *view) {
	t, ok := s.pages.get(page, v.Lang)
	if !ok {
		s.serverError(w, r, errors.New("no page template "+page))
		return
	}
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	if err := t.ExecuteTemplate(buf, name, v); err != nil {
		s.serverError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The script swaps in only what says it is the fragment: a sign-in
	// page after the session expired is not.
	h.Set("X-Fragment", name)
	w.Write(buf.Bytes())
}

// contextRows bounds each list of the customer context: the latest few are
// what an agent needs beside a thread; the console pages have the rest.
const contextRows = 5

// customerContext is what the store knows of a ticket's customer, shown
// to agents beside the thread.
type customerContext struct {
	// Customer is nil for a guest without an account.
	Customer *account.User
	// ByEmail: the ticket is a guest's but its email is an account's.
	ByEmail bool
	// SenderUnverified: the ticket came under an address the trusted mail
	// server did not vouch for (desk.Ticket.SenderUnverified): the account
	// of that address is not looked up, nor shown.
	SenderUnverified bool
	Orders           []orders.Order
	MoreOrders       bool
	Subscriptions    []subscriptions.Subscription
	PlanNames        map[string]string // by subscription id, in the agent's language
	// Retry is when a past-due subscription's failed payment is tried
	// again, by subscription id: "Payment overdue" alone left the agent
	// to guess what the customer's email had told them.
	Retry      map[string]time.Time
	Balance    money.Amount
	Claims     []claims.Claim
	MoreClaims bool
}

// Running are the customer's subscriptions not ended, the ones a written
// request to stop can be about: the console's "turn into a cancellation"
// form offers them by plan, where it asked the agent to type a sub_… id
// the page showed nowhere.
func (c *customerContext) Running() []subscriptions.Subscription {
	var out []subscriptions.Subscription
	for _, sub := range c.Subscriptions {
		if sub.Status != subscriptions.StatusCanceled {
			out = append(out, sub)
		}
	}
	return out
}

// customerContext reads the ticket's customer's orders, subscriptions,
// balance and claims through their services: a handful of indexed reads
// (by customer id), each bounded.
func (s *Server) customerContext(r *http.Request, t desk.Ticket) (*customerContext, error) {
	ctx := r.Context()
	c := &customerContext{}
	var u account.User
	var err error
	switch {
	case t.CustomerID != "":
		u, err = s.Accounts.UserByID(ctx, t.CustomerID)
	case t.SenderUnverified:
		// Whoever wrote it may not be the address's owner: shown that
		// account's orders, balance and claims, the agent would take the
		// message for its holder's, answer it with them, act on them.
		// An address no account has is a guest's as any other.
		if _, err := s.Accounts.UserByEmail(ctx, t.CustomerEmail); errors.Is(err, account.ErrNotFound) {
			return c, nil
		} else if err != nil {
			return nil, err
		}
		c.SenderUnverified = true
		return c, nil
	default:
		u, err = s.Accounts.UserByEmail(ctx, t.CustomerEmail)
		c.ByEmail = err == nil
	}
	if errors.Is(err, account.ErrNotFound) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	return s.accountContext(ctx, c, u, state(r).lang)
}

// accountContext fills c with u's orders, subscriptions, balance and
// claims (nothing for staff, who have none); lang is the agent's, in
// which the subscriptions' plans are named.
func (s *Server) accountContext(ctx context.Context, c *customerContext, u account.User, lang string) (*customerContext, error) {
	if u.Role != account.RoleCustomer {
		return c, nil // staff writing to the desk have no orders to show
	}
	c.Customer = &u
	var err error
	next := ""
	if c.Orders, next, err = s.Orders.List(ctx, orders.ListFilter{CustomerID: u.ID, Limit: contextRows}); err != nil {
		return nil, err
	}
	c.MoreOrders = next != ""
	if c.Subscriptions, _, err = s.Subscriptions.List(ctx, subscriptions.ListFilter{CustomerID: u.ID, Limit: contextRows}); err != nil {
		return nil, err
	}
	c.PlanNames = s.planNames(ctx, c.Subscriptions, lang)
	if c.Retry, err = s.retries(ctx, c.Subscriptions); err != nil {
		return nil, err
	}
	if c.Balance, err = s.Ledger.Balance(ctx, u.ID, billing.BalanceCurrency); err != nil {
		return nil, err
	}
	if c.Claims, next, err = s.Claims.List(ctx, claims.ListFilter{CustomerID: u.ID, Limit: contextRows}); err != nil {
		return nil, err
	}
	c.MoreClaims = next != ""
	return c, nil
}

// servedTypes are the attachment types served under their own type; any
// other (a mail attachment's type is whatever its sender claimed) is
// served as bytes to save. Every file is a download either way.
var servedTypes = map[string]bool{
	"application/pdf": true, "image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"text/plain; charset=utf-8": true,
}

// ticketAttachment serves a file of a ticket to staff (console) or to the
// ticket's own customer (portal); anyone else, and a file of a message the
// customer does not see, gets 404.
func (s *Server) ticketAttachment(w http.ResponseWriter, r *http.Request, console bool) {
	ctx := r.Context()
	ticketID := r.PathValue("id")
	var err error
	if console {
		_, err = s.Desk.Get(ctx, ticketID)
	} else {
		_, err = s.Desk.GetForCustomer(ctx, state(r).user.ID, ticketID)
	}
	if s.deskFailed(w, r, err) {
		return
	}
	s.serveTicketAttachment(w, r, ticketID, console)
}

// serveTicketAttachment serves the file named by the path's aid if it
// belongs to the ticket (the caller checked the visitor may see it), and
// without console only if the customer sees its message.
func (s *Server) serveTicketAttachment(w http.ResponseWriter, r *http.Request, ticketID string, console bool) {
	ctx := r.Context()
	a, err := s.Desk.Attachment(ctx, ticketID, r.PathValue("aid"), !console)
	var rc io.ReadCloser
	if err == nil {
		rc, err = s.Blobs.Get(ctx, a.BlobKey)
	}
	switch {
	case errors.Is(err, desk.ErrNotFound), errors.Is(err, blob.ErrNotFound):
		s.notFound(w, r)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	defer rc.Close()
	ctype := a.ContentType
	if !servedTypes[ctype] {
		ctype = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.FileName}))
	h.Set("Cache-Control", "private, no-store")
	io.Copy(w, rc)
}

func (s *Server) consoleTicketAttachment(w http.ResponseWriter, r *http.Request) {
	s.ticketAttachment(w, r, true)
}

func (s *Server) myTicketAttachment(w http.ResponseWriter, r *http.Request) {
	s.ticketAttachment(w, r, false)
}

// contactUploads reads the files of a multipart Contact form.
func contactUploads(form *multipart.Form) ([]desk.Upload, func(), error) {
	var ups []desk.Upload
	var opened []io.Closer
	done := func() {
		for _, c := range opened {
			c.Close()
		}
	}
	if form == nil {
		return nil, done, nil
	}
	for _, fh := range form.File["files"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue // the empty file input of a form sent without a file
		}
		f, err := fh.Open()
		if err != nil {
			done()
			return nil, func() {}, err
		}
		opened = append(opened, f)
		ups = append(ups, desk.Upload{Name: fh.Filename, File: f})
	}
	return ups, done, nil
}
