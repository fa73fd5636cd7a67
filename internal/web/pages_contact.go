package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"comptoir/internal/desk"
	"comptoir/internal/id"
	"comptoir/internal/idempotency"
)

var contactLimit = limit{10, time.Hour}

type contactData struct {
	Topics []string
	// Sent is the ticket just opened, to show its reference and the time
	// by which the customer will have an answer.
	Sent *desk.Ticket
	// The attachment limits, for the form's help text.
	MaxFiles, MaxMB int
	// BusinessHours: the deadlines count these hours only (the pages say
	// so); empty for wall-clock hours.
	BusinessHours string
}

// claimRef is a claim's id, as a link may carry it.
var claimRef = regexp.MustCompile(`^clm_[0-9A-Z]{26}$`)

func (s *Server) contactView(r *http.Request) *view {
	v := s.newView(r, "contact.title", &contactData{Topics: desk.Topics, MaxFiles: desk.MaxContactFiles, MaxMB: desk.MaxContactFileBytes >> 20,
		BusinessHours: s.Desk.BusinessHours()})
	v.Form.Set("contact_key", id.New("cnt"))
	if u := state(r).user; u != nil {
		v.Form.Set("name", u.Name)
		v.Form.Set("email", u.Email)
	}
	v.Form.Set("order_ref", r.URL.Query().Get("order"))
	// A link may choose the subject (the cart's "contact us to add
	// credit": billing); only one of the form's own.
	if topic := r.URL.Query().Get("topic"); slices.Contains(desk.Topics, topic) {
		v.Form.Set("topic", topic)
	}
	// From a claim's "Think this decision is wrong? Write to us quoting
	// this claim": the message starts by quoting it, as the customer was
	// asked to. Only a claim's reference is taken from the link.
	if ref := r.URL.Query().Get("claim"); claimRef.MatchString(ref) {
		v.Form.Set("message", s.Messages.TPairs(v.Lang, "contact.about_claim", "Reference", ref)+"\n")
	}
	return v
}

// parseFormWithFiles reads a form that may carry files (multipart, as the
// Contact and reply forms do) or not; the caller removes r.MultipartForm's
// files when done.
func parseFormWithFiles(r *http.Request) error {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return r.ParseMultipartForm(8 << 20)
	}
	return r.ParseForm()
}

// uploadErrors names a refused file, in lang, under the form's attachments
// field.
func (s *Server) uploadErrors(lang string, uerr *desk.UploadError) map[string]string {
	return map[string]string{"attachments": s.Messages.T(lang, "contact.error.attachments."+uerr.Code,
		map[string]any{"Name": uerr.Name, "Max": desk.MaxContactFiles, "MaxMB": desk.MaxContactFileBytes >> 20})}
}

func (s *Server) contactForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "contact", s.contactView(r))
}

// contact opens a ticket from the Contact page, for guests and customers,
// and redirects to the page that shows its reference and the promised
// answer time (also emailed). The
// form may carry a few files (multipart): they are checked (count, size,
// type read from the content) before anything is stored, and a refused
// file is named in the visitor's language with nothing kept.
func (s *Server) contact(w http.ResponseWriter, r *http.Request) {
	// The limit first: past it, the body (up to maxUploadBytes of files,
	// written to temporary files while parsing) is never read.
	if !s.allow(w, r, "contact:"+limitAddr(r), contactLimit) {
		return
	}
	if err := parseFormWithFiles(r); err != nil {
		s.badForm(w, r, err)
		return
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	st := state(r)
	f := r.PostForm
	in := desk.ContactInput{Name: f.Get("name"), Email: f.Get("email"), OrderRef: f.Get("order_ref"),
		Topic: f.Get("topic"), Message: f.Get("message"), Lang: st.lang}
	if st.user != nil {
		// The account's ticket is answered at the account's address: a
		// typed one would have the store write to anyone about it, and
		// their answers (threaded by the reply address) land in this
		// portal.
		in.CustomerID, in.Email = st.user.ID, st.user.Email
	}
	// The form's key: the form sent twice (a double click, a reload of
	// the answer) opens one ticket, and the repeat shows the first one.
	caller := "guest"
	if st.user != nil {
		caller = st.user.ID
	}
	keyed, replay := s.formKeyed(r, caller, "page:contact", "contact_key")
	if replay != nil {
		s.contactSent(w, r, *replay)
		return
	}
	in.After = func(ctx context.Context, tx *sql.Tx, t desk.Ticket) error {
		return keyed.saveTx(ctx, tx, http.StatusOK, contactKeyed{TicketID: t.ID})
	}
	ups, closeFiles, err := contactUploads(r.MultipartForm)
	if err != nil {
		s.badForm(w, r, err)
		return
	}
	defer closeFiles()
	atts, discard, err := desk.StoreUploads(r.Context(), s.Blobs, ups)
	var uerr *desk.UploadError
	if errors.As(err, &uerr) {
		v := s.contactView(r)
		v.Form = f
		// The fields' mistakes with the file's: they came only once a
		// file was accepted, one more round.
		v.Errors = map[string]string{}
		var verr *desk.ValidationError
		if errors.As(s.Desk.CheckContact(in), &verr) {
			v.Errors = s.contactErrors(v.Lang, verr)
		}
		maps.Copy(v.Errors, s.uploadErrors(v.Lang, uerr))
		s.render(w, r, http.StatusUnprocessableEntity, "contact", v)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	in.Attachments = atts
	t, err := s.Desk.OpenFromContact(r.Context(), in)
	if err != nil {
		discard() // the ticket was not opened: its files go too
	}
	if out, rerr := keyed.recover(r.Context(), err); rerr == nil && out.Replay {
		s.contactSent(w, r, out)
		return
	}
	var verr *desk.ValidationError
	switch {
	case errors.As(err, &verr):
		v := s.contactView(r)
		v.Form = f
		v.Errors = s.contactErrors(v.Lang, verr)
		s.render(w, r, http.StatusUnprocessableEntity, "contact", v)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.toContactSent(w, r, t.ID)
}

// contactErrors words the Contact form's refused fields in lang.
func (s *Server) contactErrors(lang string, verr *desk.ValidationError) map[string]string {
	out := map[string]string{}
	for field, code := range verr.Fields {
		key := "contact.error." + field
		if code == "too_long" && field == "message" {
			key = "ticket.error.too_long" // not "please write your message"
		}
		if code == "unknown" && field == "order_ref" {
			key = "contact.error.order_ref_unknown" // not "this is not an order number"
		}
		if code == "confusable" && field == "email" {
			key = "contact.error.email_confusable" // not "please give a valid address"
		}
		out[field] = s.Messages.T(lang, key)
	}
	return out
}

// contactSentCookie names, for a few minutes, the ticket the visitor's
// Contact form just opened: what /contact/sent shows. The ticket's id is
// not in the address, where history, a shared link or a proxy's log
// would show anyone its reference. Nor is it in the cookie as such: a
// visitor sets their cookies as they like, and whoever knew a guest
// ticket's id (it is in no secret) would be shown its reference and
// times. The cookie holds the id and when it stops naming it, sealed
// with the store's key (contactSentValue), which no visitor can do.
const contactSentCookie = "comptoir_contact_sent"

// contactSentFor is how long the cookie names the ticket.
const contactSentFor = 10 * time.Minute

// contactSentAD binds a sealed value to this cookie: a value sealed for
// another use does not open as one.
var contactSentAD = []byte("cookie " + contactSentCookie)

// contactSentValue is the cookie's value naming ticketID until
// contactSentFor from now.
func (s *Server) contactSentValue(ticketID string) string {
	until := s.Clock.Now().Add(contactSentFor).Unix()
	return s.Secrets.Seal([]byte(ticketID+" "+strconv.FormatInt(until, 10)), contactSentAD)
}

// contactSentTicket is the ticket the cookie's value v names, or "" for a
// value the store did not seal, or no longer valid.
func (s *Server) contactSentTicket(v string) string {
	b, err := s.Secrets.Open(v, contactSentAD)
	if err != nil {
		return ""
	}
	ticketID, until, ok := strings.Cut(string(b), " ")
	sec, err := strconv.ParseInt(until, 10, 64)
	if !ok || err != nil || !s.Clock.Now().Before(time.Unix(sec, 0)) || !id.Valid("tkt", ticketID) {
		return ""
	}
	return ticketID
}

// toContactSent answers a Contact form that opened ticketID (or whose
// repeat finds it) with a redirect to the page that says so
// (post/redirect/get): a reload of that page sends nothing again.
func (s *Server) toContactSent(w http.ResponseWriter, r *http.Request, ticketID string) {
	s.setCookie(w, contactSentCookie, s.contactSentValue(ticketID), int(contactSentFor/time.Second))
	http.Redirect(w, r, "/contact/sent", http.StatusSeeOther)
}

// contactSentPage is where a sent Contact form lands: the ticket's
// reference and when the answer is promised, in the visitor's language.
// Without the cookie of a form just sent (expired, another browser, one
// the store did not seal), for a ticket of an account the visitor is not
// signed in to, or for a ticket deleted or erased since (its reference
// is all an erasure leaves, and it is no one's to show), it is the
// Contact page.
func (s *Server) contactSentPage(w http.ResponseWriter, r *http.Request) {
	ticketID := ""
	if c, err := r.Cookie(contactSentCookie); err == nil {
		ticketID = s.contactSentTicket(c.Value)
	}
	if ticketID == "" {
		http.Redirect(w, r, "/contact", http.StatusSeeOther)
		return
	}
	t, err := s.Desk.Get(r.Context(), ticketID)
	if u := state(r).user; errors.Is(err, desk.ErrNotFound) || (err == nil && (t.Erased() || t.CustomerID != "" && (u == nil || u.ID != t.CustomerID))) {
		http.Redirect(w, r, "/contact", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.contactView(r)
	v.Data.(*contactData).Sent = &t
	s.render(w, r, http.StatusOK, "contact", v)
}

// contactKeyed is what a Contact form's key keeps: the ticket it opened.
type contactKeyed struct {
	TicketID string `json:"ticket_id"`
}

// contactSent answers a repeat of a Contact form with the page of the
// ticket the first one opened.
func (s *Server) contactSent(w http.ResponseWriter, r *http.Request, out idempotency.Outcome) {
	var k contactKeyed
	if err := json.Unmarshal(out.Body, &k); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.toContactSent(w, r, k.TicketID)
}
