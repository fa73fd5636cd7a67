package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"comptoir/internal/account"
)

// The second factor (TOTP) of staff accounts: enrolment from the account,
// and the sign-in step for those who enabled it.

const challengeCookie = "comptoir_2fa"

type totpData struct {
	Enabled  bool
	Required bool
	// Secret and URI are shown once, right after BeginTOTP. URI is an
	// otpauth: link we made, which html/template would otherwise refuse.
	Secret string
	URI    template.URL
	// Recovery is shown once, right after confirmation.
	Recovery []string
}

// needsSecondFactor reports whether a user must give a code after their
// password: staff who enabled TOTP.
func (s *Server) needsSecondFactor(r *http.Request, u account.User) (bool, error) {
	if !u.IsStaff() {
		return false, nil
	}
	return s.Accounts.TOTPEnabled(r.Context(), u.ID)
}

// askSecondFactor sends a user whose password was right to the code step.
func (s *Server) askSecondFactor(w http.ResponseWriter, r *http.Request, u account.User, next string) {
	token, err := s.Accounts.StartSignInChallenge(r.Context(), u.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.setCookie(w, challengeCookie, token, 600)
	http.Redirect(w, r, "/signin/verify?next="+url.QueryEscape(safeNext(next)), http.StatusSeeOther)
}

func (s *Server) signinVerifyForm(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(challengeCookie); err != nil || c.Value == "" {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	v := s.newView(r, "totp.verify_title", nil)
	v.Form.Set("next", safeNext(r.URL.Query().Get("next")))
	s.render(w, r, http.StatusOK, "signin_verify", v)
}

func (s *Server) signinVerify(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	if !s.allow(w, r, "signin:"+limitAddr(r), signinLimit) {
		return
	}
	c, err := r.Cookie(challengeCookie)
	if err != nil || c.Value == "" {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	// A wrong code counts against the account as a wrong password does:
	// one challenge allows a few tries, but whoever has the password can
	// start challenges without end, from as many addresses as they have.
	var u account.User
	who, err := s.Accounts.SignInChallengeUser(r.Context(), c.Value)
	if err == nil {
		end, ok := s.signinTurn(w, r, who.Email, false)
		if !ok {
			return
		}
		defer end()
		u, err = s.Accounts.AnswerSignInChallenge(r.Context(), c.Value, r.PostForm.Get("code"))
		if errors.Is(err, account.ErrBadCode) || errors.Is(err, account.ErrSecretUnreadable) {
			s.signinFailed(r, who.Email)
		}
	}
	switch {
	case errors.Is(err, account.ErrBadCode):
		v := s.newView(r, "totp.verify_title", nil)
		v.Form.Set("next", next)
		v.Errors = map[string]string{"code": s.Messages.T(v.Lang, "totp.bad_code")}
		s.render(w, r, http.StatusUnauthorized, "signin_verify", v)
		return
	case errors.Is(err, account.ErrChallengeGone), errors.Is(err, account.ErrNoTOTP):
		s.clearCookie(w, challengeCookie)
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.clearCookie(w, challengeCookie)
	if !s.startSession(w, r, u) {
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// lacksRequiredTOTP reports whether u is staff without the second factor
// the store requires (--require-staff-totp).
func (s *Server) lacksRequiredTOTP(r *http.Request, u *account.User) (bool, error) {
	if !s.RequireStaffTOTP || u == nil || !u.IsStaff() {
		return false, nil
	}
	on, err := s.Accounts.TOTPEnabled(r.Context(), u.ID)
	return !on, err
}

// beforeEnrolment are the signed-in pages staff may use before setting up
// a required second factor: their account, enrolment, signing out. Every
// other one is refused, not only the console's: staff reach customers'
// orders, tickets and claims through the routes customers use too, and an
// API token made from the account page would be a way around the rule.
var beforeEnrolment = map[string]bool{
	"GET /account": true, "POST /account/profile": true, "POST /account/password": true,
	"POST /account/sessions/{id}/revoke": true, "POST /account/tokens/{id}/revoke": true,
	"GET /account/totp": true, "POST /account/totp": true, "POST /account/totp/confirm": true,
	"POST /signout": true,
}

// totpRedirect sends staff without a second factor to enrolment when the
// store requires one; it reports whether it did.
func (s *Server) totpRedirect(w http.ResponseWriter, r *http.Request, u *account.User) bool {
	if beforeEnrolment[r.Pattern] {
		return false
	}
	lacks, err := s.lacksRequiredTOTP(r, u)
	if err != nil {
		s.serverError(w, r, err)
		return true
	}
	if !lacks {
		return false
	}
	http.Redirect(w, r, "/account/totp", http.StatusSeeOther)
	return true
}

// apiTOTPRefused answers 403 second_factor_required when staff without the
// required second factor call the API with a session (a browser's cookie or
// a login's token): the password alone must not reach what the console
// refuses. API tokens are not sessions: one made by an operator (comptoir
// token create) keeps working, and the account page no longer makes one
// before enrolment.
func (s *Server) apiTOTPRefused(w http.ResponseWriter, r *http.Request, u *account.User) bool {
	lacks, err := s.lacksRequiredTOTP(r, u)
	if err != nil {
		s.serverError(w, r, err)
		return true
	}
	if lacks {
		writeError(w, http.StatusForbidden, "second_factor_required", s.Messages.T(state(r).lang, "totp.required"))
	}
	return lacks
}

func (s *Server) totpView(w http.ResponseWriter, r *http.Request) (*view, *totpData, bool) {
	u := state(r).user
	if !u.IsStaff() {
		s.notFound(w, r)
		return nil, nil, false
	}
	on, err := s.Accounts.TOTPEnabled(r.Context(), u.ID)
	if err != nil {
		s.serverError(w, r, err)
		return nil, nil, false
	}
	d := &totpData{Enabled: on, Required: s.RequireStaffTOTP}
	return s.newView(r, "totp.title", d), d, true
}

func (s *Server) totpPage(w http.ResponseWriter, r *http.Request) {
	if v, _, ok := s.totpView(w, r); ok {
		s.render(w, r, http.StatusOK, "totp", v)
	}
}

// totpBegin makes a new secret and shows it, with the form to confirm it.
func (s *Server) totpBegin(w http.ResponseWriter, r *http.Request) {
	v, d, ok := s.totpView(w, r)
	if !ok {
		return
	}
	en, err := s.Accounts.BeginTOTP(r.Context(), state(r).user.ID, s.StoreName)
	if errors.Is(err, account.ErrTOTPEnabled) {
		http.Redirect(w, r, "/account/totp", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	d.Secret, d.URI = en.Secret, template.URL(en.URI)
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "totp", v)
}

func (s *Server) totpConfirm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	v, d, ok := s.totpView(w, r)
	if !ok {
		return
	}
	keep := ""
	if st := state(r); st.session != nil {
		keep = st.session.ID
	}
	codes, err := s.Accounts.ConfirmTOTP(r.Context(), state(r).user.ID, r.PostForm.Get("code"), keep)
	switch {
	case errors.Is(err, account.ErrBadCode), errors.Is(err, account.ErrNoTOTP):
		v.Errors = map[string]string{"code": s.Messages.T(v.Lang, "totp.bad_code")}
		s.render(w, r, http.StatusUnprocessableEntity, "totp", v)
		return
	case errors.Is(err, account.ErrTOTPEnabled):
		http.Redirect(w, r, "/account/totp", http.StatusSeeOther)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	d.Enabled, d.Recovery = true, codes
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "totp", v)
}
