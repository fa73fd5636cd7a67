package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"comptoir/internal/desk"
)

// surveyForm is the satisfaction survey reached by the tokenized link sent
// when a ticket closes; the token is the only credential.
// An unknown link is a 404 and an answered one says so at once, rather
// than taking a rating and a comment to refuse them.
func (s *Server) surveyForm(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "survey.title", nil)
	v.Form.Set("token", r.PathValue("token"))
	err := s.Desk.CheckSurvey(r.Context(), r.PathValue("token"))
	switch desk.Code(err) {
	case "":
	case "not_found":
		s.notFound(w, r)
		return
	case "survey_answered":
		// Just answered (the redirect of the answer): the thanks it
		// left; opened again later: that it was answered.
		if v.Flash = s.takeFlash(w, r, v.Lang); v.Flash == "" {
			v.Flash = s.Messages.T(v.Lang, "survey.error.survey_answered")
		}
		if v.Data, err = s.surveyAnswered(r); err != nil {
			s.serverError(w, r, err)
			return
		}
	default:
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "survey", v)
}

func (s *Server) survey(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	rating, _ := strconv.Atoi(r.PostForm.Get("rating"))
	err := s.Desk.AnswerSurvey(r.Context(), r.PathValue("token"), rating, r.PostForm.Get("comment"))
	v := s.newView(r, "survey.title", nil)
	v.Form = r.PostForm
	v.Form.Set("token", r.PathValue("token"))
	switch code := desk.Code(err); code {
	case "":
		// Post/redirect/get: a reload of the thanks sends nothing again.
		s.flash(w, "survey.thanks")
		http.Redirect(w, r, "/survey/"+url.PathEscape(r.PathValue("token")), http.StatusSeeOther)
	case "not_found":
		s.notFound(w, r)
	case "internal":
		s.serverError(w, r, err)
	case "survey_answered":
		// Answered already (the form sent twice, or a second answer):
		// the page as an answered link shows it, without the form that
		// asked for an answer it could only refuse again.
		v.Flash = s.Messages.T(v.Lang, "survey.error.survey_answered")
		if v.Data, err = s.surveyAnswered(r); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.render(w, r, http.StatusUnprocessableEntity, "survey", v)
	default:
		v.Errors = map[string]string{"rating": s.Messages.T(v.Lang, "survey.error."+code)}
		var verr *desk.ValidationError
		if errors.As(err, &verr) {
			// Each field's own message: a comment refused is not a rating.
			v.Errors = map[string]string{}
			if _, bad := verr.Fields["rating"]; bad {
				v.Errors["rating"] = s.Messages.T(v.Lang, "survey.error.invalid")
			}
			if _, bad := verr.Fields["comment"]; bad {
				v.Errors["comment"] = s.Messages.T(v.Lang, "survey.error.comment", map[string]any{"Max": desk.MaxCommentLen})
			}
		}
		s.render(w, r, http.StatusUnprocessableEntity, "survey", v)
	}
}

// surveyStopForm is the page of a survey mail's stop link: a button that
// stops the surveys to its address, or, once stopped, that it is done. A
// GET changes nothing: mail scanners open links.
func (s *Server) surveyStopForm(w http.ResponseWriter, r *http.Request) {
	stopped, err := s.Desk.SurveysStoppedByLink(r.Context(), r.PathValue("token"))
	switch desk.Code(err) {
	case "":
	case "not_found":
		s.notFound(w, r)
		return
	default:
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r, "survey.stop.title", stopped)
	v.Form.Set("token", r.PathValue("token"))
	s.render(w, r, http.StatusOK, "survey_stop", v)
}

// surveyStop stops the surveys to the address of the survey mail whose
// link holds the token: the page's button, or the mail reader's one-click
// POST (RFC 8058, body "List-Unsubscribe=One-Click", no cookie), answered
// with the page itself rather than a redirect it would not follow.
func (s *Server) surveyStop(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	switch err := s.Desk.StopSurveysByLink(r.Context(), r.PathValue("token")); desk.Code(err) {
	case "":
	case "not_found":
		s.notFound(w, r)
		return
	default:
		s.serverError(w, r, err)
		return
	}
	if r.PostForm.Get("List-Unsubscribe") == "One-Click" {
		v := s.newView(r, "survey.stop.title", true)
		s.render(w, r, http.StatusOK, "survey_stop", v)
		return
	}
	// Post/redirect/get: the page now says it is done.
	http.Redirect(w, r, "/survey/"+url.PathEscape(r.PathValue("token"))+"/stop", http.StatusSeeOther)
}

// surveyDone is the answered survey's page: thanks, and a way on: the
// ticket itself for its customer signed in, else the shop.
type surveyDone struct {
	Ticket string // the ticket's page, for its owner signed in
}

func (s *Server) surveyAnswered(r *http.Request) (*surveyDone, error) {
	d := &surveyDone{}
	u := state(r).user
	if u == nil {
		return d, nil
	}
	ticket, customer, err := s.Desk.SurveyTicket(r.Context(), r.PathValue("token"))
	if err != nil && !errors.Is(err, desk.ErrNotFound) {
		return nil, err
	}
	if customer != "" && customer == u.ID {
		d.Ticket = "/support/tickets/" + url.PathEscape(ticket)
	}
	return d, nil
}
