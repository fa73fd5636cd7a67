package web

import "net/http"

// PanicAtForTest makes pattern a route that panics, for the tests of the
// 500 page served through the whole middleware.
func (s *Server) PanicAtForTest(pattern string) {
	s.mux.HandleFunc(pattern, func(http.ResponseWriter, *http.Request) { panic("boom") })
}
