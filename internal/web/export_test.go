package web

// SetAfterDeleteCheck makes f run on the deletion page between its check
// of the balance given up and the erasure (tests of a credit landing
// meanwhile).
func SetAfterDeleteCheck(s *Server, f func()) { s.afterDeleteCheck = f }
