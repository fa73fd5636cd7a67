package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/money"
	"comptoir/internal/privacy"
)

// Privacy: "download my data" and "delete my account", for the customer
// (pages and API) and for an admin acting on a customer's request.

// sendExport writes the export as a JSON file download.
func (s *Server) sendExport(w http.ResponseWriter, r *http.Request, userID string, by audit.Actor) {
	e, err := s.Privacy.Export(r.Context(), userID, by)
	if errors.Is(err, account.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeExport(w, "personal-data-"+userID+".json", e)
}

// writeExport writes an export as a JSON file download.
func writeExport(w http.ResponseWriter, filename string, e *privacy.Export) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(e)
}

// exportMe sends the signed-in customer their data (the API and the
// account page's link alike).
func (s *Server) exportMe(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	s.sendExport(w, r, u.ID, u.Actor())
}

// apiEraseMe erases the caller's account. The bearer token or session is
// the proof of ownership; it stops working with the erasure.
func (s *Server) apiEraseMe(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	if st.user.Role != account.RoleCustomer {
		writeError(w, http.StatusConflict, "not_customer", s.Messages.T(st.lang, "privacy.not_customer"))
		return
	}
	res, err := s.Privacy.Erase(r.Context(), st.user.ID, st.user.Actor(), privacy.ReasonCustomerRequest)
	if code, message, refused := erasureRefused(err); refused {
		writeError(w, http.StatusConflict, code, s.Messages.T(st.lang, message))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.clearCookie(w, sessionCookie)
	writeJSON(w, http.StatusOK, map[string]any{"id": res.UserID, "erased": true, "reason": res.Reason})
}

// erasureRefused names, for the API and the pages, why privacy refuses an
// erasure for now (a 409): its error code and message. refused is false
// for any other error.
func erasureRefused(err error) (code, message string, refused bool) {
	switch {
	case errors.Is(err, privacy.ErrLiveSubscriptions):
		return "subscriptions_active", "privacy.live_subscriptions", true
	case errors.Is(err, privacy.ErrOpenDispute):
		return "dispute_open", "privacy.open_dispute", true
	case errors.Is(err, privacy.ErrOpenClaim):
		return "claim_open", "privacy.open_claim", true
	}
	return "", "", false
}

// accountDeleteForm asks for the password again. Staff see why they cannot
// erase their account this way.
func (s *Server) accountDeleteForm(w http.ResponseWriter, r *http.Request) {
	v, err := s.accountDeleteView(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "account_delete", v)
}

// accountDeleteData is what the deletion page shows besides its text: the
// balance the customer would give up, if any.
type accountDeleteData struct {
	Balance money.Amount // positive, or zero when there is nothing to give up
	// Fix and FixTitle: where the customer does what a refusal asks
	// first (cancel the subscriptions, see the open claim), and the
	// link's words (a message id); empty otherwise.
	Fix, FixTitle string
}

// erasureFixes is where each refusal's reason is acted on.
var erasureFixes = map[string][2]string{
	"privacy.live_subscriptions": {"/subscriptions", "subscriptions.title"},
	"privacy.open_claim":         {"/claims", "claims.title"},
}

// accountDeleteView is the deletion page for the signed-in user, with
// their balance read now.
func (s *Server) accountDeleteView(r *http.Request) (*view, error) {
	st := state(r)
	data := &accountDeleteData{}
	if st.user.Role == account.RoleCustomer {
		b, err := s.Ledger.Balance(r.Context(), st.user.ID, billing.BalanceCurrency)
		if err != nil {
			return nil, err
		}
		if b.Minor > 0 {
			data.Balance = b
		}
	}
	return s.newView(r, "privacy.delete.title", data), nil
}

// forfeitConfirmed reports whether the form gives up exactly the balance
// the customer has now: the box carries the amount it was shown with, so a
// balance that grew since (a top-up paid meanwhile) is shown again rather
// than lost unseen.
func forfeitConfirmed(form url.Values, balance money.Amount) bool {
	return balance.Minor <= 0 || form.Get("forfeit_balance") == strconv.FormatInt(balance.Minor, 10)
}

// accountDelete erases the account once the customer has typed their
// password again: a session left open on a shared computer must not be
// enough to erase someone.
func (s *Server) accountDelete(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	st := state(r)
	if st.user.Role != account.RoleCustomer {
		s.renderError(w, r, http.StatusConflict, "privacy.not_customer")
		return
	}
	if !s.allow(w, r, "erase:"+st.user.ID, signinLimit) {
		return
	}
	// The password is checked like a sign-in's, as on the password form:
	// a wrong one counts against the account's lock-out, so that whoever
	// holds the session cannot guess it here without limit.
	end, ok := s.signinTurn(w, r, st.user.Email, false)
	if !ok {
		return
	}
	defer end()
	if _, err := s.Accounts.Authenticate(r.Context(), st.user.Email, r.PostForm.Get("password")); err != nil {
		if !errors.Is(err, account.ErrInvalidCredentials) {
			s.serverError(w, r, err)
			return
		}
		// The same form sent twice at once (a double click): this
		// sending was signed in when it arrived, and the other erased
		// the account meanwhile (on this node, while this one waited for
		// its turn): the password failed against an address that names
		// nobody now. Counted, it would leave a window naming the erased
		// address; answered "wrong password", it would hide the
		// erasure. It answers as the first sending did.
		if at, err := s.Accounts.ErasedAt(r.Context(), st.user.ID); err != nil {
			s.serverError(w, r, err)
			return
		} else if !at.IsZero() {
			s.accountDeleted(w, r)
			return
		}
		s.signinFailed(r, st.user.Email)
		s.accountDeleteRefused(w, r, http.StatusUnprocessableEntity, "password", "account.password.wrong_current")
		return
	}
	// A renewing subscription (an open dispute, an open claim) stops the
	// erasure whatever the balance: said first, rather than after the box
	// is ticked.
	if err := s.Privacy.CheckErasable(r.Context(), st.user.ID); err != nil {
		if _, message, refused := erasureRefused(err); refused {
			s.accountDeleteRefused(w, r, http.StatusConflict, "password", message)
			return
		}
		s.serverError(w, r, err)
		return
	}
	// A balance is the customer's money: erased, the account can no longer
	// prove it is theirs, so it is given up only knowingly.
	v, err := s.accountDeleteView(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	shown := v.Data.(*accountDeleteData).Balance
	if !forfeitConfirmed(r.PostForm, shown) {
		s.accountDeleteRefused(w, r, http.StatusUnprocessableEntity, "forfeit_balance", "privacy.delete.balance_required")
		return
	}
	// The erasure checks again, in its transaction, that the balance is
	// still the one given up: a credit landing after the check above
	// refuses it rather than being lost unseen.
	if shown.Currency == "" {
		shown.Currency = billing.BalanceCurrency
	}
	if s.afterDeleteCheck != nil {
		s.afterDeleteCheck()
	}
	if _, err := s.Privacy.EraseGivingUp(r.Context(), st.user.ID, st.user.Actor(), privacy.ReasonCustomerRequest, shown); err != nil {
		if errors.Is(err, privacy.ErrBalanceChanged) {
			s.accountDeleteRefused(w, r, http.StatusConflict, "forfeit_balance", "privacy.delete.balance_changed")
			return
		}
		if _, message, refused := erasureRefused(err); refused {
			s.accountDeleteRefused(w, r, http.StatusConflict, "password", message)
			return
		}
		s.serverError(w, r, err)
		return
	}
	s.accountDeleted(w, r)
}

// accountDeleted leads the customer whose account was just erased to the
// home page, which says so.
func (s *Server) accountDeleted(w http.ResponseWriter, r *http.Request) {
	s.clearCookie(w, sessionCookie)
	s.flash(w, "privacy.delete.done")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// deletedRecently is how long after an erasure the deletion form sent
// again says that the account was erased.
const deletedRecently = 15 * time.Minute

// accountDeletedAlready answers the deletion form sent again (a double
// click, a reload of its answer) after it erased the account: the erasure
// ended the session, and the form went to the sign-in page as any signed-out
// visitor's does, without a word of the erasure. The form names its account
// (random, unguessable ids); one erased in the last deletedRecently answers
// as the first sending did. Anything else goes on to the sign-in page.
func (s *Server) accountDeletedAlready(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		return false
	}
	userID := r.PostForm.Get("account")
	if userID == "" {
		return false
	}
	at, err := s.Accounts.ErasedAt(r.Context(), userID)
	if err != nil {
		s.serverError(w, r, err)
		return true
	}
	if at.IsZero() || s.Clock.Now().Sub(at) > deletedRecently {
		return false
	}
	s.accountDeleted(w, r)
	return true
}

// accountDeleteRefused shows the deletion page again, with the balance as
// it is now and the reason under the field it concerns.
func (s *Server) accountDeleteRefused(w http.ResponseWriter, r *http.Request, status int, field, reason string) {
	v, err := s.accountDeleteView(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if field == "forfeit_balance" && v.Data.(*accountDeleteData).Balance.Minor <= 0 {
		field = "password" // no box to say it under: the balance is gone meanwhile
	}
	v.Errors = map[string]string{field: s.Messages.T(v.Lang, reason)}
	if fix, ok := erasureFixes[reason]; ok {
		d := v.Data.(*accountDeleteData)
		d.Fix, d.FixTitle = fix[0], fix[1]
	}
	s.render(w, r, status, "account_delete", v)
}

// adminPrivacyData is the admin's privacy page: a customer found by email.
type adminPrivacyData struct {
	Customer *account.User
	Erased   bool
	// Balance is what the customer's balance holds, when positive: the
	// erasure would give it up, so the admin sees it before erasing.
	Balance money.Amount
	// Guest is what is held about an address without an account that
	// wrote to the store, when there is something.
	Guest *privacy.GuestData
}

func (s *Server) adminPrivacy(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "privacy.admin.title", nil)
	data := &adminPrivacyData{}
	v.Data = data
	if email := strings.TrimSpace(r.URL.Query().Get("email")); email != "" {
		v.Form.Set("email", email)
		u, err := s.Accounts.UserByEmail(r.Context(), email)
		switch {
		case errors.Is(err, account.ErrNotFound):
			// Someone who wrote without an account: their tickets and
			// the mail sent to them, if any.
			g, err := s.Privacy.Guest(r.Context(), email)
			if err != nil {
				s.serverError(w, r, err)
				return
			}
			if g.Empty() {
				v.Errors = map[string]string{"email": s.Messages.T(v.Lang, "privacy.admin.no_customer")}
			} else {
				data.Guest = &g
			}
		case err == nil && u.Role != account.RoleCustomer:
			v.Errors = map[string]string{"email": s.Messages.T(v.Lang, "privacy.admin.no_customer")}
		case err != nil:
			s.serverError(w, r, err)
			return
		default:
			if err := s.fillAdminCustomer(r.Context(), data, u); err != nil {
				s.serverError(w, r, err)
				return
			}
		}
	}
	s.render(w, r, http.StatusOK, "admin_privacy", v)
}

// fillAdminCustomer puts customer u on the admin's privacy page, with the
// balance an erasure would give up (none shown when it is empty). The
// page's form sends that amount back as balance_shown: every page showing
// the erase form, a refusal's included, must show it.
func (s *Server) fillAdminCustomer(ctx context.Context, data *adminPrivacyData, u account.User) error {
	b, err := s.Ledger.Balance(ctx, u.ID, billing.BalanceCurrency)
	if err != nil {
		return err
	}
	data.Customer = &u
	if b.Minor > 0 {
		data.Balance = b
	}
	return nil
}

// adminGuestExport sends an admin the data held about a guest address (a
// request received from it), as the customer's export is sent.
func (s *Server) adminGuestExport(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	e, err := s.Privacy.ExportGuest(r.Context(), r.PostForm.Get("email"), state(r).user.Actor())
	if errors.Is(err, privacy.ErrHasAccount) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeExport(w, "personal-data-guest.json", e)
}

// adminGuestErase erases the data held about a guest address once the admin
// has typed the address again.
func (s *Server) adminGuestErase(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if account.EmailKey(r.PostForm.Get("confirm_email")) != account.EmailKey(email) {
		v := s.newView(r, "privacy.admin.title", nil)
		g, err := s.Privacy.Guest(r.Context(), email)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		v.Data = &adminPrivacyData{Guest: &g}
		v.Form.Set("email", email)
		v.Errors = map[string]string{"confirm_email": s.Messages.T(v.Lang, "privacy.admin.confirm_mismatch")}
		s.render(w, r, http.StatusUnprocessableEntity, "admin_privacy", v)
		return
	}
	if _, err := s.Privacy.EraseGuest(r.Context(), email, state(r).user.Actor()); errors.Is(err, privacy.ErrHasAccount) {
		s.notFound(w, r)
		return
	} else if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.flash(w, "privacy.admin.guest_erased")
	http.Redirect(w, r, "/admin/privacy", http.StatusSeeOther)
}

func (s *Server) adminCustomerExport(w http.ResponseWriter, r *http.Request) {
	u, err := s.Accounts.UserByID(r.Context(), r.PathValue("id"))
	if errors.Is(err, account.ErrNotFound) || (err == nil && u.Role != account.RoleCustomer) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sendExport(w, r, u.ID, state(r).user.Actor())
}

// adminCustomerErase erases a customer on their request received another
// way. The admin confirms by typing the customer's email again.
func (s *Server) adminCustomerErase(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	u, err := s.Accounts.UserByID(r.Context(), r.PathValue("id"))
	if errors.Is(err, account.ErrNotFound) || (err == nil && u.Role != account.RoleCustomer) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	// refuse shows the customer's page again, with the balance as it is
	// now (the amount the next erasure gives up) and why.
	refuse := func(status int, message string) {
		data := &adminPrivacyData{}
		if err := s.fillAdminCustomer(r.Context(), data, u); err != nil {
			s.serverError(w, r, err)
			return
		}
		v := s.newView(r, "privacy.admin.title", data)
		v.Form.Set("email", u.Email)
		v.Errors = map[string]string{"confirm_email": s.Messages.T(v.Lang, message)}
		s.render(w, r, status, "admin_privacy", v)
	}
	if account.EmailKey(r.PostForm.Get("confirm_email")) != account.EmailKey(u.Email) {
		refuse(http.StatusUnprocessableEntity, "privacy.admin.confirm_mismatch")
		return
	}
	// The form carries the balance the page showed the admin: the
	// erasure gives up that amount only, checked in its transaction (a
	// credit landing since refuses it, and the page shows the new amount).
	// Before, the admin's erasure gave up whatever the balance held by
	// then, unseen.
	shown, _ := strconv.ParseInt(r.PostForm.Get("balance_shown"), 10, 64)
	forfeit := money.Amount{Minor: max(shown, 0), Currency: billing.BalanceCurrency}
	if _, err := s.Privacy.EraseGivingUp(r.Context(), u.ID, state(r).user.Actor(), privacy.ReasonOnBehalf, forfeit); err != nil {
		if errors.Is(err, privacy.ErrBalanceChanged) {
			refuse(http.StatusConflict, "privacy.admin.balance_changed")
			return
		}
		if _, message, refused := erasureRefused(err); refused {
			refuse(http.StatusConflict, message)
			return
		}
		s.serverError(w, r, err)
		return
	}
	s.flash(w, "privacy.admin.erased")
	http.Redirect(w, r, "/admin/privacy", http.StatusSeeOther)
}
