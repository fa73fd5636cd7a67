package web

import (
	"net/http"

	"comptoir/internal/id"
)

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home", s.newView(r, "home.title", nil))
}

// console is the agents' home. The support desk fills it in a later step.
func (s *Server) console(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "console", s.newView(r, "nav.console", nil))
}

// adminData is the administrators' home: the key of its balance form.
type adminData struct {
	CreditKey string
}

// admin is the administrators' home.
func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "admin", s.newView(r, "nav.admin", adminData{CreditKey: id.New("crd")}))
}
