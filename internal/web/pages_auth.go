package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/disputes"
	"comptoir/internal/locale"
)

// Rate limits on the forms that an attacker would hammer. They are kept in
// the database so that every node counts the same hits.
type limit struct {
	n      int
	window time.Duration
}

var (
	signinLimit = limit{20, 15 * time.Minute}
	signupLimit = limit{10, time.Hour}
	resetLimit  = limit{5, time.Hour}
)

// signinTurn takes email's turn to have a password (or a second-factor
// code) checked, and answers 429 when the account rule locks the email
// after too many recent failures (account.SigninLockout). When it returns
// ok, the caller checks the secret, counts a failure (signinFailed), and
// then calls end: a burst of guesses is thus checked one after another,
// each seeing the failures before it.
func (s *Server) signinTurn(w http.ResponseWriter, r *http.Request, email string, api bool) (end func(), ok bool) {
	end, err := s.lockout.Turn(r.Context(), email)
	if err != nil {
		s.serverError(w, r, err)
		return nil, false
	}
	wait, err := s.lockout.LockedFor(r.Context(), email)
	if err != nil {
		end()
		s.serverError(w, r, err)
		return nil, false
	}
	if wait == 0 {
		return end, true
	}
	end()
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	if api {
		writeError(w, http.StatusTooManyRequests, "rate_limited", s.Messages.T(state(r).lang, "error.rate_limited"))
	} else {
		s.renderError(w, r, http.StatusTooManyRequests, "error.rate_limited")
	}
	return nil, false
}

// signinFailed counts a wrong password against the email. A failure to
// count is logged, not shown: the visitor's answer is the wrong password.
func (s *Server) signinFailed(r *http.Request, email string) {
	if err := s.lockout.Failed(r.Context(), email); err != nil {
		s.Logger.Error("count a failed sign-in", "error", err)
	}
}

// allow counts one hit on bucket and answers 429 when over the limit.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, bucket string, l limit) bool {
	ok, retry, err := s.Limiter.Allow(r.Context(), bucket, l.n, l.window)
	if err != nil {
		s.serverError(w, r, err)
		return false
	}
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
		s.renderError(w, r, http.StatusTooManyRequests, "error.rate_limited")
		return false
	}
	return true
}

// fieldCodeKeys maps the account service's validation codes to messages.
var fieldCodeKeys = map[string]string{
	"required":              "auth.field_required",
	"email_invalid":         "auth.email_invalid",
	"email_confusable":      "auth.email_confusable",
	"password_too_short":    "auth.password_too_short",
	"country_invalid":       "auth.country_invalid",
	"vat_required":          "auth.vat_required_for_business",
	"language_invalid":      "auth.language_invalid",
	"customer_type_invalid": "auth.customer_type_invalid",
	"passwords_differ":      "auth.passwords_differ",
}

// fieldLabelKeys name the fields whose label is not "auth.<field>": the
// account page's password fields. Without them a refused new password
// read "auth.new_password must be at least … characters long".
var fieldLabelKeys = map[string]string{
	"new_password":     "account.password.new",
	"current_password": "account.password.current",
}

// formFieldKeys are the messages a form words otherwise than the API: its
// country is chosen from a list, where an API client sends a code.
var formFieldKeys = map[string]string{
	"country_invalid": "auth.country_invalid_form",
}

// fieldMessages words an account validation error's fields for the API.
func (s *Server) fieldMessages(lang string, verr *account.ValidationError) map[string]string {
	return s.wordFields(lang, verr, nil)
}

// formFieldMessages words them for a form's page.
func (s *Server) formFieldMessages(lang string, verr *account.ValidationError) map[string]string {
	return s.wordFields(lang, verr, formFieldKeys)
}

func (s *Server) wordFields(lang string, verr *account.ValidationError, override map[string]string) map[string]string {
	out := map[string]string{}
	for field, code := range verr.Fields {
		key, ok := override[code]
		if !ok {
			key, ok = fieldCodeKeys[code]
		}
		if !ok {
			key = "error.bad_request"
		}
		label, ok := fieldLabelKeys[field]
		if !ok {
			label = "auth." + field
		}
		out[field] = s.Messages.T(lang, key, map[string]any{
			"Field": s.Messages.T(lang, label),
			"Min":   s.Accounts.MinPasswordLength(),
		})
	}
	return out
}

func (s *Server) signupForm(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "auth.signup.title", nil)
	v.Form.Set("language", v.Lang)
	v.Form.Set("customer_type", "consumer")
	// The country the field suggested (its placeholder was "FR"): the
	// store's own, chosen until the visitor picks another.
	country := "FR"
	if s.Invoices != nil && s.Invoices.Seller().Country != "" {
		country = s.Invoices.Seller().Country
	}
	v.Form.Set("country", country)
	v.Form.Set("next", r.URL.Query().Get("next"))
	s.render(w, r, http.StatusOK, "signup", v)
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	if !s.allow(w, r, "signup:"+limitAddr(r), signupLimit) {
		return
	}
	v := s.newView(r, "auth.signup.title", nil)
	v.Form = r.PostForm
	f := r.PostForm
	if u := state(r).user; u != nil && account.EmailKey(u.Email) == account.EmailKey(f.Get("email")) {
		// The form sent twice (a double click, or back and send again):
		// the first made this account and signed its visitor in, and the
		// repeat said "an account already exists for this address" to
		// them. It goes where the first went.
		http.Redirect(w, r, afterSignUp(f.Get("next")), http.StatusSeeOther)
		return
	}
	lang := f.Get("language")
	if _, ok := locale.Normalize(lang); !ok {
		lang = v.Lang
	}
	in := account.SignUpInput{
		Email: f.Get("email"), Password: f.Get("password"), Name: f.Get("name"), Language: lang,
		Country: f.Get("country"), Region: f.Get("region"), City: f.Get("city"),
		Street: f.Get("street"), Postcode: f.Get("postcode"),
		CustomerType: f.Get("customer_type"), VATNumber: f.Get("vat_number"),
	}
	if f.Get("password") != f.Get("password_confirm") {
		// Every wrong field at once, this one with them: before, the
		// visitor who mistyped the confirmation learnt of a missing city
		// or a bad country only once it matched.
		v.Errors = map[string]string{}
		var verr *account.ValidationError
		if errors.As(s.Accounts.CheckSignUp(in), &verr) {
			v.Errors = s.formFieldMessages(v.Lang, verr)
		}
		v.Errors["password_confirm"] = s.Messages.T(v.Lang, "auth.passwords_differ")
		s.render(w, r, http.StatusUnprocessableEntity, "signup", v)
		return
	}
	u, err := s.Accounts.SignUp(r.Context(), in)
	var verr *account.ValidationError
	switch {
	case errors.As(err, &verr):
		v.Errors = s.formFieldMessages(v.Lang, verr)
		s.render(w, r, http.StatusUnprocessableEntity, "signup", v)
		return
	case errors.Is(err, account.ErrEmailTaken):
		v.Errors = map[string]string{"email": s.Messages.T(v.Lang, "auth.email_taken")}
		s.render(w, r, http.StatusConflict, "signup", v)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	if !s.startSession(w, r, u) {
		return
	}
	http.Redirect(w, r, afterSignUp(f.Get("next")), http.StatusSeeOther)
}

// afterSignUp is where a new account lands: back where the visitor was
// going (the cart they were about to pay) when the link said so, else
// their account page.
func afterSignUp(next string) string {
	if dest := safeNext(next); next != "" && dest != "/" {
		return dest
	}
	return "/account"
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u account.User) bool {
	// A session id never survives a sign-in (session fixation): the one the
	// browser came with, if it was valid, ends, and a fresh one is issued.
	if st := state(r); st.session != nil {
		if err := s.Accounts.RevokeSession(r.Context(), st.user.ID, st.session.ID); err != nil && !errors.Is(err, account.ErrNotFound) {
			s.serverError(w, r, err)
			return false
		}
	}
	token, sess, err := s.createSession(r, u)
	if errors.Is(err, account.ErrInvalidCredentials) {
		// Disabled since its password was checked: nobody gets in, and
		// the answer is a failed sign-in's, not an error page.
		v := s.newView(r, "auth.signin.title", nil)
		v.Form = url.Values{"email": {r.PostForm.Get("email")}, "next": {safeNext(r.PostForm.Get("next"))}}
		v.Errors = map[string]string{"form": s.Messages.T(v.Lang, "auth.invalid_credentials")}
		s.render(w, r, http.StatusUnauthorized, "signin", v)
		return false
	}
	if err != nil {
		s.serverError(w, r, err)
		return false
	}
	s.setCookie(w, sessionCookie, token, int(sess.ExpiresAt.Sub(s.Clock.Now()).Seconds()))
	if u.Role == account.RoleCustomer {
		s.recordActivity(r, u.ID, disputes.ActivitySignIn, "")
	}
	// The language the account chose wins from now on.
	s.setCookie(w, langCookie, u.Language, 365*24*3600)
	return true
}

// createSession signs u in (account.Service.CreateSession): an account
// disabled since its password or second factor was checked is refused
// with account.ErrInvalidCredentials, which the callers answer as a
// failed sign-in.
func (s *Server) createSession(r *http.Request, u account.User) (string, account.Session, error) {
	if s.afterPasswordCheck != nil {
		s.afterPasswordCheck(u)
	}
	return s.Accounts.CreateSession(r.Context(), u.ID, clientIP(r), r.UserAgent())
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "auth.signin.title", nil)
	v.Form.Set("next", safeNext(r.URL.Query().Get("next")))
	switch expired := r.URL.Query().Get("expired"); {
	case expired == "form":
		v.Flash = s.Messages.T(v.Lang, "auth.session_expired_form")
	case expired == "1" || state(r).expired:
		v.Flash = s.Messages.T(v.Lang, "auth.session_expired")
	}
	s.render(w, r, http.StatusOK, "signin", v)
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	if !s.allow(w, r, "signin:"+limitAddr(r), signinLimit) {
		return
	}
	v := s.newView(r, "auth.signin.title", nil)
	v.Form = url.Values{"email": {r.PostForm.Get("email")}, "next": {safeNext(r.PostForm.Get("next"))}}
	end, ok := s.signinTurn(w, r, r.PostForm.Get("email"), false)
	if !ok {
		return
	}
	defer end()
	u, err := s.Accounts.Authenticate(r.Context(), r.PostForm.Get("email"), r.PostForm.Get("password"))
	if errors.Is(err, account.ErrInvalidCredentials) {
		s.signinFailed(r, r.PostForm.Get("email"))
		v.Errors = map[string]string{"form": s.Messages.T(v.Lang, "auth.invalid_credentials")}
		s.render(w, r, http.StatusUnauthorized, "signin", v)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if need, err := s.needsSecondFactor(r, u); err != nil || need {
		if err != nil {
			s.serverError(w, r, err)
		} else {
			s.askSecondFactor(w, r, u, r.PostForm.Get("next"))
		}
		return
	}
	if !s.startSession(w, r, u) {
		return
	}
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	if st.session != nil {
		if err := s.Accounts.RevokeSession(r.Context(), st.user.ID, st.session.ID); err != nil && !errors.Is(err, account.ErrNotFound) {
			s.serverError(w, r, err)
			return
		}
	}
	s.clearCookie(w, sessionCookie)
	s.flash(w, "auth.signed_out")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// switchLanguage remembers the visitor's choice in a cookie and, for a
// signed-in user, in the account, then goes back to the page it came from.
func (s *Server) switchLanguage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	lang, ok := locale.Normalize(r.PostForm.Get("lang"))
	if !ok {
		s.renderError(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	s.setCookie(w, langCookie, lang, 365*24*3600)
	if u := state(r).user; u != nil && u.Language != lang {
		if err := s.Accounts.SetLanguage(r.Context(), u.ID, lang); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (s *Server) resetRequestForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "reset_request", s.newView(r, "auth.reset.title", nil))
}

func (s *Server) resetRequest(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	email := r.PostForm.Get("email")
	if !s.allow(w, r, "reset:"+limitAddr(r), resetLimit) || !s.allow(w, r, "reset-email:"+account.EmailKey(email), resetLimit) {
		return
	}
	if err := s.Accounts.RequestPasswordReset(r.Context(), email, state(r).lang); err != nil {
		s.serverError(w, r, err)
		return
	}
	// The same answer whether or not the account exists, after the same
	// work: the request's job looks the address up and mails the link.
	s.flash(w, "auth.reset.sent")
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// resetForm is a reset link's page. A dead link (used, expired, unknown)
// says so at once, with the way to a new one, rather than taking a new
// password twice to refuse it.
func (s *Server) resetForm(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "auth.reset.new_password_title", nil)
	v.Form.Set("token", r.PathValue("token"))
	err := s.Accounts.CheckResetLink(r.Context(), r.PathValue("token"))
	switch {
	case errors.Is(err, account.ErrResetInvalid):
		s.deadResetLink(w, r, v, err)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "reset", v)
}

// deadResetLink answers a link that can no longer set a password (410).
// One already used, as the form sent twice finds it, says so and leads to
// the sign-in as well as to a new link: "invalid" sent the visitor who had
// just chosen a password to ask for another. It is not answered "done":
// a used link would then try passwords past the sign-in's lock-out, and
// nothing is said of the password the form carries.
func (s *Server) deadResetLink(w http.ResponseWriter, r *http.Request, v *view, err error) {
	key := "auth.reset.invalid_link"
	if errors.Is(err, account.ErrResetUsed) {
		key = "auth.reset.used_link"
		v.Data = resetData{Used: true}
	}
	v.Errors = map[string]string{"form": s.Messages.T(v.Lang, key)}
	s.render(w, r, http.StatusGone, "reset", v)
}

// resetData is the reset page's: Used when its link was used already.
type resetData struct{ Used bool }

func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	v := s.newView(r, "auth.reset.new_password_title", nil)
	v.Form.Set("token", r.PathValue("token"))
	if r.PostForm.Get("password") != r.PostForm.Get("password_confirm") {
		v.Errors = map[string]string{"password_confirm": s.Messages.T(v.Lang, "auth.passwords_differ")}
		s.render(w, r, http.StatusUnprocessableEntity, "reset", v)
		return
	}
	err := s.Accounts.ResetPassword(r.Context(), r.PathValue("token"), r.PostForm.Get("password"))
	var verr *account.ValidationError
	switch {
	case errors.As(err, &verr):
		v.Errors = s.formFieldMessages(v.Lang, verr)
		s.render(w, r, http.StatusUnprocessableEntity, "reset", v)
		return
	case errors.Is(err, account.ErrResetInvalid):
		s.deadResetLink(w, r, v, err)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.flash(w, "auth.reset.done")
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
