package web

import (
	"net/http"

	"comptoir/internal/desk"
	"comptoir/internal/id"
)

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home", s.newView(r, "home.title", nil))
}

// consoleData is the agents' home: what waits for the team, each count
// beside the list it counts.
type consoleData struct {
	Tickets                  desk.Workload
	Claims, LateClaims       int
	Disputes, DisputesToMeet int
}

// console is the agents' home: the work waiting, counted, with the way to
// each list.
func (s *Server) console(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var d consoleData
	var err error
	if d.Tickets, err = s.Desk.Workload(ctx, state(r).user.ID); err != nil {
		s.serverError(w, r, err)
		return
	}
	if d.Claims, d.LateClaims, err = s.Claims.Backlog(ctx); err != nil {
		s.serverError(w, r, err)
		return
	}
	if d.Disputes, d.DisputesToMeet, err = s.Disputes.Backlog(ctx); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "console", s.newView(r, "nav.console", d))
}

// adminData is the administrators' home: the key of its balance form.
type adminData struct {
	CreditKey string
}

// admin is the administrators' home.
func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "admin", s.newView(r, "nav.admin", adminData{CreditKey: id.New("crd")}))
}
