package web

import (
	"errors"
	"net/http"

	"comptoir/internal/account"
)

type staffData struct {
	Staff []account.User
	// Me is the admin reading the page: their own row offers no button,
	// since nobody disables themselves.
	Me string
}

// showStaff renders the staff page with status; errorKey, when set, is the
// refusal of the action just tried.
func (s *Server) showStaff(w http.ResponseWriter, r *http.Request, status int, errorKey string) {
	staff, err := s.Accounts.ListStaff(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r, "admin.staff.title", &staffData{Staff: staff, Me: state(r).user.ID})
	if errorKey != "" {
		v.Errors = map[string]string{"form": s.Messages.T(v.Lang, errorKey)}
	}
	s.render(w, r, status, "admin_staff", v)
}

// adminStaff lists the agents and admins, each with a button to disable
// (or enable again) their account.
func (s *Server) adminStaff(w http.ResponseWriter, r *http.Request) {
	s.showStaff(w, r, http.StatusOK, "")
}

// adminStaffAction disables or enables the staff account in the path
// (POST /admin/staff/{id}/disable or /enable), then goes back to the list.
// A refusal (oneself, the last admin) is the list again with the reason.
func (s *Server) adminStaffAction(w http.ResponseWriter, r *http.Request) {
	by, id := state(r).user.Actor(), r.PathValue("id")
	var err error
	var done string
	switch r.PathValue("action") {
	case "disable":
		err, done = s.Accounts.DisableStaff(r.Context(), by, id), "admin.staff.disabled"
	case "enable":
		err, done = s.Accounts.EnableStaff(r.Context(), by, id), "admin.staff.enabled"
	default:
		s.notFound(w, r)
		return
	}
	refusals := map[error]string{
		account.ErrDisableSelf: "admin.staff.error.self",
		account.ErrLastAdmin:   "admin.staff.error.last_admin",
		account.ErrNotAdmin:    "admin.staff.error.not_admin",
	}
	for refusal, key := range refusals {
		if errors.Is(err, refusal) {
			s.showStaff(w, r, http.StatusConflict, key)
			return
		}
	}
	switch {
	case errors.Is(err, account.ErrNotFound), errors.Is(err, account.ErrNotStaff):
		s.notFound(w, r)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.flash(w, done)
	http.Redirect(w, r, "/admin/staff", http.StatusSeeOther)
}
