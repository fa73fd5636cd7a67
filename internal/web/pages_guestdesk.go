package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"time"

	"comptoir/internal/desk"
)

// guestReplyLimit bounds the replies sent from guest ticket pages per
// address. Guessing a link is pointless (256-bit tokens, see desk.GuestTicket);
// this only keeps one visitor from flooding a ticket.
var guestReplyLimit = limit{30, time.Hour}

// guestTicketView is the page of the ticket a guest link opens; an unknown
// token is desk.ErrNotFound.
func (s *Server) guestTicketView(r *http.Request) (*view, error) {
	token := r.PathValue("token")
	t, err := s.Desk.GuestTicket(r.Context(), token)
	if err != nil {
		return nil, err
	}
	v, err := s.ticketViewOf(r, t, false, desk.GuestLinkPath+token)
	if err != nil {
		return nil, err
	}
	d := v.Data.(ticketData)
	d.Guest = true
	v.Data = d
	return v, nil
}

// guestHeaders: the URL is the credential, so it is never named to another
// site (render already keeps pages out of caches).
func guestHeaders(w http.ResponseWriter) {
	w.Header().Set("Referrer-Policy", "no-referrer")
}

// guestTicket shows a guest the thread of the ticket their link opens (what
// a customer sees in the portal: no notes, no messages from strangers),
// with a reply form.
func (s *Server) guestTicket(w http.ResponseWriter, r *http.Request) {
	v, err := s.guestTicketView(r)
	if s.deskFailed(w, r, err) {
		return
	}
	guestHeaders(w)
	s.render(w, r, http.StatusOK, "ticket", v)
}

// guestTicketReply is a guest's reply from their ticket page: into the same
// thread as their emails.
func (s *Server) guestTicketReply(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, "guestticket:"+limitAddr(r), guestReplyLimit) {
		return
	}
	token := r.PathValue("token")
	guestHeaders(w)
	s.pageReply(w, r, desk.GuestLinkPath+token, "guest",
		func() (*view, error) { return s.guestTicketView(r) },
		func(text string, atts []desk.Attachment, after func(context.Context, *sql.Tx, desk.Ticket) error) error {
			_, err := s.Desk.ReplyAsGuestThen(r.Context(), token, text, atts, after)
			return err
		})
}

// guestTicketConfirm is the guest's "I wrote this message" on the page of
// a Contact form ticket their link opens (desk.ConfirmAsGuest): only
// someone who reads the address has the link, and only the form, never
// the link alone (mail scanners follow links), confirms. Back to the page,
// which says so.
func (s *Server) guestTicketConfirm(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, "guestticket:"+limitAddr(r), guestReplyLimit) {
		return
	}
	token := r.PathValue("token")
	guestHeaders(w)
	if _, err := s.Desk.ConfirmAsGuest(r.Context(), token); s.deskFailed(w, r, err) {
		return
	}
	s.flash(w, "ticket.confirmed")
	http.Redirect(w, r, desk.GuestLinkPath+token, http.StatusSeeOther)
}

// guestTicketAttachment serves a file of the ticket the guest link opens,
// as the portal does; a file of another ticket is 404.
func (s *Server) guestTicketAttachment(w http.ResponseWriter, r *http.Request) {
	t, err := s.Desk.GuestTicket(r.Context(), r.PathValue("token"))
	if s.deskFailed(w, r, err) {
		return
	}
	guestHeaders(w)
	s.serveTicketAttachment(w, r, t.ID, false)
}

// pageReply handles a customer's reply form (portal or guest link): the
// text and up to a few files, checked like the Contact form's before
// anything is stored. A refused file shows the page again with the reason
// in the visitor's language and the text kept, nothing stored; otherwise
// the reply goes through reply and the visitor goes back to the page.
//
// The form's key (reply_key, scoped to caller) makes the form sent twice,
// a double click without script, one message: the repeat goes back to the
// page as the first did, its files not even stored.
func (s *Server) pageReply(w http.ResponseWriter, r *http.Request, back, caller string, page func() (*view, error),
	reply func(text string, atts []desk.Attachment, after func(context.Context, *sql.Tx, desk.Ticket) error) error) {
	if err := parseFormWithFiles(r); err != nil {
		s.badForm(w, r, err)
		return
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	keyed, replay := s.formKeyed(r, caller, "page:ticket-reply", "reply_key")
	if replay != nil {
		s.afterTicketChange(w, r, nil, back)
		return
	}
	ups, closeFiles, err := contactUploads(r.MultipartForm)
	if err != nil {
		s.badForm(w, r, err)
		return
	}
	defer closeFiles()
	if len(ups) > 0 {
		// Whether the visitor may reply at all, before their files are
		// read and stored.
		if _, err := page(); err != nil {
			s.afterTicketChange(w, r, err, back)
			return
		}
	}
	atts, discard, err := desk.StoreUploads(r.Context(), s.Blobs, ups)
	var uerr *desk.UploadError
	if errors.As(err, &uerr) {
		v, verr := page()
		if verr != nil {
			s.afterTicketChange(w, r, verr, back)
			return
		}
		v.Form = r.PostForm
		v.Errors = s.uploadErrors(v.Lang, uerr)
		s.render(w, r, http.StatusUnprocessableEntity, "ticket", v)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	err = reply(r.PostForm.Get("text"), atts, func(ctx context.Context, tx *sql.Tx, t desk.Ticket) error {
		return keyed.saveTx(ctx, tx, http.StatusSeeOther, map[string]string{"ticket_id": t.ID})
	})
	if err != nil {
		discard() // the reply was not recorded: its files go too
		if out, rerr := keyed.recover(r.Context(), err); rerr == nil && out.Replay {
			err = nil // a repeat of a reply recorded meanwhile
		}
		var verr *desk.ValidationError
		if errors.As(err, &verr) {
			// The page again with the customer's words kept: redirected,
			// the refused message was gone with it.
			v, vErr := page()
			if vErr != nil {
				s.afterTicketChange(w, r, vErr, back)
				return
			}
			v.Form = r.PostForm
			v.Errors = map[string]string{"text": s.Messages.T(v.Lang, ticketErrorKey(err))}
			s.render(w, r, http.StatusUnprocessableEntity, "ticket", v)
			return
		}
		s.afterTicketChange(w, r, err, back)
		return
	}
	s.afterTicketChange(w, r, nil, back)
}
