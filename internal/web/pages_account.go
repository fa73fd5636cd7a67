package web

import (
	"errors"
	"net/http"

	"comptoir/internal/account"
	"comptoir/internal/locale"
	"comptoir/internal/proof"
)

type accountData struct {
	Sessions         []account.Session
	CurrentSessionID string
	Tokens           []account.Token
	// NewToken is shown once, right after it is made.
	NewToken string
	// Proof is the customer's consent to the purchase notices; nil for
	// staff, or when the store has no notices.
	Proof *proof.Consent
	// SurveysShown: the page offers a customer's survey setting;
	// WantsSurveys: they are sent a satisfaction survey when a ticket of
	// theirs is closed (they may ask for none).
	SurveysShown, WantsSurveys bool
}

func (s *Server) accountView(r *http.Request) (*view, error) {
	st := state(r)
	ctx := r.Context()
	sessions, err := s.Accounts.ListSessions(ctx, st.user.ID)
	if err != nil {
		return nil, err
	}
	tokens, err := s.Accounts.ListTokens(ctx, st.user.ID)
	if err != nil {
		return nil, err
	}
	d := &accountData{Sessions: sessions, Tokens: tokens}
	if s.Proof != nil && st.user.Role == account.RoleCustomer {
		c, err := s.Proof.ConsentOf(ctx, st.user.ID)
		if err != nil {
			return nil, err
		}
		d.Proof = &c
	}
	if s.Desk != nil && st.user.Role == account.RoleCustomer {
		if d.WantsSurveys, err = s.Desk.WantsSurveys(ctx, *st.user); err != nil {
			return nil, err
		}
		d.SurveysShown = true
	}
	if st.session != nil {
		d.CurrentSessionID = st.session.ID
	}
	v := s.newView(r, "account.title", d)
	v.Form.Set("language", st.user.Language)
	for field, value := range map[string]string{"street": st.user.Street, "postcode": st.user.Postcode, "city": st.user.City, "region": st.user.Region} {
		v.Form.Set(field, value)
	}
	return v, nil
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.accountView(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "account", v)
}

func (s *Server) accountProfile(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	lang, ok := locale.Normalize(r.PostForm.Get("language"))
	if !ok {
		s.renderError(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	if err := s.Accounts.SetLanguage(r.Context(), state(r).user.ID, lang); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.setCookie(w, langCookie, lang, 365*24*3600)
	s.flash(w, "account.language_saved")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// accountAddress saves the customer's billing address; a wrong field shows
// the page again with what they typed and what is wrong with it.
func (s *Server) accountAddress(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	f := r.PostForm
	err := s.Accounts.SetAddress(r.Context(), state(r).user.ID, account.AddressInput{
		Street: f.Get("street"), Postcode: f.Get("postcode"), City: f.Get("city"), Region: f.Get("region"),
	})
	var valErr *account.ValidationError
	switch {
	case err == nil:
		s.flash(w, "account.address_saved")
		http.Redirect(w, r, "/account#address", http.StatusSeeOther)
	case errors.As(err, &valErr):
		v, verr := s.accountView(r)
		if verr != nil {
			s.serverError(w, r, verr)
			return
		}
		for _, field := range []string{"street", "postcode", "city", "region"} {
			v.Form.Set(field, f.Get(field))
		}
		v.Errors = s.formFieldMessages(v.Lang, valErr)
		s.render(w, r, http.StatusUnprocessableEntity, "account", v)
	default:
		s.serverError(w, r, err)
	}
}

func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	st := state(r)
	f := r.PostForm
	keep := ""
	if st.session != nil {
		keep = st.session.ID
	}
	// The current password is checked like a sign-in's: whoever holds a
	// session (a borrowed browser, a stolen cookie) must not guess it
	// without limit and then lock the owner out with a new one.
	end, ok := s.signinTurn(w, r, st.user.Email, false)
	if !ok {
		return
	}
	defer end()
	var err error
	if f.Get("new_password") != f.Get("password_confirm") {
		err = &account.ValidationError{Fields: map[string]string{"password_confirm": "passwords_differ"}}
	} else {
		err = s.Accounts.ChangePassword(r.Context(), st.user.ID, f.Get("current_password"), f.Get("new_password"), keep)
		if errors.Is(err, account.ErrInvalidCredentials) && f.Get("new_password") != "" {
			// The form sent twice (a double click, or back and send
			// again): the first changed the password, so the repeat's
			// "current" one is the old one, and it was told "The current
			// password is incorrect" after a change that went through.
			// The new password already in force answers as the first
			// did. Only its holder knows it: this tells a guesser nothing
			// a right current password would not.
			if _, aerr := s.Accounts.Authenticate(r.Context(), st.user.Email, f.Get("new_password")); aerr == nil {
				err = nil
			}
		}
		if errors.Is(err, account.ErrInvalidCredentials) {
			s.signinFailed(r, st.user.Email)
		}
	}
	if err == nil {
		s.flash(w, "account.password.changed")
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	v, verr := s.accountView(r)
	if verr != nil {
		s.serverError(w, r, verr)
		return
	}
	var valErr *account.ValidationError
	switch {
	case errors.As(err, &valErr):
		v.Errors = s.formFieldMessages(v.Lang, valErr)
		if m, ok := v.Errors["password"]; ok {
			v.Errors["new_password"] = m
		}
	case errors.Is(err, account.ErrInvalidCredentials):
		v.Errors = map[string]string{"current_password": s.Messages.T(v.Lang, "account.password.wrong_current")}
	default:
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusUnprocessableEntity, "account", v)
}

func (s *Server) accountRevokeSession(w http.ResponseWriter, r *http.Request) {
	err := s.Accounts.RevokeSession(r.Context(), state(r).user.ID, r.PathValue("id"))
	if errors.Is(err, account.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if st := state(r); st.session != nil && st.session.ID == r.PathValue("id") {
		s.clearCookie(w, sessionCookie)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account#sessions", http.StatusSeeOther)
}

func (s *Server) accountCreateToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	name := r.PostForm.Get("name")
	if name == "" {
		name = "API"
	}
	plain, _, err := s.Accounts.CreateToken(r.Context(), state(r).user.ID, name)
	var verr *account.ValidationError
	if errors.As(err, &verr) {
		// A name too long or with control characters: the form says so,
		// with the name as it was typed to correct it.
		v, err := s.accountView(r)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		v.Errors = s.formFieldMessages(v.Lang, verr)
		v.Errors["token_name"] = v.Errors["name"]
		v.Form.Set("token_name", r.PostForm.Get("name"))
		s.render(w, r, http.StatusUnprocessableEntity, "account", v)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v, err := s.accountView(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	// Shown once, on this response only: it is not stored in clear anywhere.
	v.Data.(*accountData).NewToken = plain
	s.render(w, r, http.StatusOK, "account", v)
}

func (s *Server) accountRevokeToken(w http.ResponseWriter, r *http.Request) {
	err := s.Accounts.RevokeToken(r.Context(), state(r).user.ID, r.PathValue("id"))
	if errors.Is(err, account.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account#tokens", http.StatusSeeOther)
}

// accountProofConsent withdraws, or gives again, the customer's consent to
// appear in the purchase notices: one button on the account page, as easy
// as the box ticked at checkout (GDPR art. 7(3)).
// accountSurveys stops the satisfaction surveys, or asks for them again.
func (s *Server) accountSurveys(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	if s.Desk == nil || st.user.Role != account.RoleCustomer {
		s.notFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	var want bool
	var done string
	switch r.PostForm.Get("surveys") {
	case "stop":
		want, done = false, "account.surveys.stopped"
	case "start":
		want, done = true, "account.surveys.started"
	default:
		s.renderError(w, r, http.StatusBadRequest, "account.proof.bad_choice")
		return
	}
	if err := s.Desk.SetWantsSurveys(r.Context(), *st.user, want); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.flash(w, done)
	http.Redirect(w, r, "/account#surveys", http.StatusSeeOther)
}

func (s *Server) accountProofConsent(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	if s.Proof == nil || st.user.Role != account.RoleCustomer {
		s.notFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	var err error
	var done string
	switch r.PostForm.Get("consent") {
	case "withdraw":
		err, done = s.Proof.WithdrawConsent(r.Context(), st.user.Actor(), st.user.ID), "account.proof.withdrawn"
	case "give":
		err, done = s.Proof.GiveConsentAgain(r.Context(), st.user.Actor(), st.user.ID), "account.proof.given"
	default:
		s.renderError(w, r, http.StatusBadRequest, "account.proof.bad_choice")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.flash(w, done)
	http.Redirect(w, r, "/account#proof", http.StatusSeeOther)
}
