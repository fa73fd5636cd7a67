package web

import (
	"net/http"
	"testing"
	"time"

	"comptoir/internal/account"
)

// SetAfterDeleteCheck makes f run on the deletion page between its check
// of the balance given up and the erasure (tests of a credit landing
// meanwhile).
func SetAfterDeleteCheck(s *Server, f func()) { s.afterDeleteCheck = f }

// SetTransferBudgets shortens the budgets of the routes that send a file
// or an export for the rest of t.
func SetTransferBudgets(t testing.TB, send, export time.Duration) {
	oldSend, oldExport := sendBudget, exportBudget
	sendBudget, exportBudget = send, export
	t.Cleanup(func() { sendBudget, exportBudget = oldSend, oldExport })
}

// SetAfterPasswordCheck makes f run between a sign-in's password check
// and the creation of its session (tests of an account disabled
// meanwhile).
func SetAfterPasswordCheck(s *Server, f func(account.User)) { s.afterPasswordCheck = f }

// SetAfterKeyLookup makes f run on a keyed API request once its lookup
// found the key unused, before the request's effect (tests of a
// duplicate racing the key's first use); nil removes it.
func SetAfterKeyLookup(s *Server, f func(*http.Request)) { s.afterKeyLookup = f }
