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
		v.Data = true
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
		v.Data = true
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
