package web

import (
	"errors"
	"net/http"
	"time"

	"comptoir/internal/desk"
)

var contactLimit = limit{10, time.Hour}

type contactData struct {
	Topics []string
	// Sent is the ticket just opened, to show its reference and the time
	// by which the customer will have an answer.
	Sent *desk.Ticket
}

func (s *Server) contactView(r *http.Request) *view {
	v := s.newView(r, "contact.title", &contactData{Topics: desk.Topics})
	if u := state(r).user; u != nil {
		v.Form.Set("name", u.Name)
		v.Form.Set("email", u.Email)
	}
	v.Form.Set("order_ref", r.URL.Query().Get("order"))
	return v
}

func (s *Server) contactForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "contact", s.contactView(r))
}

// contact opens a ticket from the Contact page, for guests and customers,
// and shows its reference and the promised answer time (also emailed).
func (s *Server) contact(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	if !s.allow(w, r, "contact:"+clientIP(r), contactLimit) {
		return
	}
	st := state(r)
	f := r.PostForm
	in := desk.ContactInput{Name: f.Get("name"), Email: f.Get("email"), OrderRef: f.Get("order_ref"),
		Topic: f.Get("topic"), Message: f.Get("message"), Lang: st.lang}
	if st.user != nil {
		in.CustomerID = st.user.ID
	}
	t, err := s.Desk.OpenFromContact(r.Context(), in)
	var verr *desk.ValidationError
	switch {
	case errors.As(err, &verr):
		v := s.contactView(r)
		v.Form = f
		v.Errors = map[string]string{}
		for field := range verr.Fields {
			v.Errors[field] = s.Messages.T(v.Lang, "contact.error."+field)
		}
		s.render(w, r, http.StatusUnprocessableEntity, "contact", v)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	v := s.contactView(r)
	v.Data.(*contactData).Sent = &t
	s.render(w, r, http.StatusOK, "contact", v)
}
