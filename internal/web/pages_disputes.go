package web

import (
	"errors"
	"net/http"

	"comptoir/internal/disputes"
)

// recordActivity appends to the customer activity log (sign-ins, order
// page views), the dispute evidence of use. Best effort: a failure is
// logged and the visitor's request goes on.
func (s *Server) recordActivity(r *http.Request, customerID, kind, subject string) {
	if s.Disputes == nil {
		return
	}
	if err := s.Disputes.RecordActivity(r.Context(), customerID, kind, subject, clientIP(r), r.UserAgent()); err != nil {
		s.Logger.Error("web: activity log not written", "kind", kind, "error", err)
	}
}

// Card disputes in the console: the list, one case with its evidence pack,
// the statement and the submission to Stripe, and the pack as PDF and ZIP.

func (s *Server) consoleDisputes(w http.ResponseWriter, r *http.Request) {
	list, err := s.Disputes.List(r.Context(), 200)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "console_disputes", s.newView(r, "console.disputes.title", list))
}

// pack reads the case named by the path and its pack; false when the
// answer was written (404, 500).
func (s *Server) disputePack(w http.ResponseWriter, r *http.Request) (*disputes.Pack, bool) {
	p, err := s.Disputes.Pack(r.Context(), r.PathValue("id"))
	if errors.Is(err, disputes.ErrNotFound) {
		s.notFound(w, r)
		return nil, false
	}
	if err != nil {
		s.serverError(w, r, err)
		return nil, false
	}
	return p, true
}

func (s *Server) consoleDispute(w http.ResponseWriter, r *http.Request) {
	p, ok := s.disputePack(w, r)
	if !ok {
		return
	}
	v := s.newView(r, "console.dispute.title", p)
	v.Form.Set("statement", p.Case.Statement)
	s.render(w, r, http.StatusOK, "console_dispute", v)
}

// consoleDisputeAction saves the statement ("save") or saves it and
// submits the evidence ("submit").
func (s *Server) consoleDisputeAction(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	st := state(r)
	statement := r.PostForm.Get("statement")
	var err error
	flash := "dispute.saved"
	if r.PostForm.Get("action") == "submit" {
		_, err = s.Disputes.Submit(r.Context(), r.PathValue("id"), statement, st.user.Actor())
		flash = "dispute.submit_queued"
	} else {
		_, err = s.Disputes.SaveStatement(r.Context(), r.PathValue("id"), statement, st.user.Actor())
	}
	var key string
	status := http.StatusConflict
	switch {
	case err == nil:
		s.flash(w, flash)
		http.Redirect(w, r, "/console/disputes/"+r.PathValue("id"), http.StatusSeeOther)
		return
	case errors.Is(err, disputes.ErrNotFound):
		s.notFound(w, r)
		return
	case errors.Is(err, disputes.ErrClosed):
		key = "dispute.error.closed"
	case errors.Is(err, disputes.ErrAlreadySubmitted):
		key = "dispute.error.submitted"
	case errors.Is(err, disputes.ErrStatementTooLong):
		key, status = "dispute.error.too_long", http.StatusUnprocessableEntity
	default:
		s.serverError(w, r, err)
		return
	}
	p, ok := s.disputePack(w, r)
	if !ok {
		return
	}
	v := s.newView(r, "console.dispute.title", p)
	v.Form = r.PostForm
	v.Errors = map[string]string{"statement": s.Messages.T(v.Lang, key)}
	s.render(w, r, status, "console_dispute", v)
}

func (s *Server) consoleDisputePDF(w http.ResponseWriter, r *http.Request) {
	s.disputeFile(w, r, "application/pdf", ".pdf", (*disputes.Pack).PDF)
}

func (s *Server) consoleDisputeZIP(w http.ResponseWriter, r *http.Request) {
	s.disputeFile(w, r, "application/zip", ".zip", func(p *disputes.Pack) ([]byte, error) { return p.ZIP(r.Context(), s.Blobs) })
}

func (s *Server) disputeFile(w http.ResponseWriter, r *http.Request, ctype, ext string, build func(*disputes.Pack) ([]byte, error)) {
	p, ok := s.disputePack(w, r)
	if !ok {
		return
	}
	b, err := build(p)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", `attachment; filename="dispute-`+p.Case.ID+ext+`"`)
	h.Set("Cache-Control", "no-store")
	w.Write(b)
}
