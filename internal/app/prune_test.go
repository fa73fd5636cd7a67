package app_test

import (
	"context"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/testwait"
)

// The pruning of expired sessions, reset links and reset requests runs as a
// periodic job, from the start. account.PruneExpired said a periodic job
// called it, but none did: a reset request whose job never ran kept its
// address for ever.
func TestPruneRunsAsAPeriodicJob(t *testing.T) {
	h := apptest.Start(t)
	testwait.Until(t, "the pruning job run at start", func() bool {
		var n int
		if err := h.App.DB.Read.QueryRowContext(context.Background(),
			`SELECT COUNT(*) FROM river_job WHERE kind = 'account.prune' AND state = 'completed'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	})
}
