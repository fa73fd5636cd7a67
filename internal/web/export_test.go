package web

import (
	"testing"
	"time"
)

// SetTransferBudgets shortens the budgets of the routes that send a file
// or an export for the rest of t.
func SetTransferBudgets(t testing.TB, send, export time.Duration) {
	oldSend, oldExport := sendBudget, exportBudget
	sendBudget, exportBudget = send, export
	t.Cleanup(func() { sendBudget, exportBudget = oldSend, oldExport })
}
