package proof_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/clock"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/proof"
)

// Admins saving over the same settings at once: one save replaces them, the
// others are refused with ErrSettingsChanged, whichever wins; on
// PostgreSQL the saves take turns on the settings' row rather than each
// reading the same settings and the last one undoing the others. The first
// save of a store, before any row exists, is covered too.
func TestConcurrentSavesOverTheSameSettings(t *testing.T) {
	d := dbtest.Open(t)
	clk := clock.NewManual(time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC))
	p := proof.New(d, clk, nil)
	ctx := context.Background()
	admin := audit.Actor{ID: "usr_admin", Role: "admin"}
	for round := range 3 {
		read, err := p.SettingsToEdit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const admins = 6
		errs := make([]error, admins)
		var wg sync.WaitGroup
		for i := range admins {
			wg.Go(func() {
				in := read
				in.K = 100 + round*admins + i // never the default k: a save that changes nothing leaves the digest as read
				errs[i] = p.SaveSettingsOver(ctx, in, read.Digest(), admin)
			})
		}
		wg.Wait()
		saved, winner := 0, -1
		for i, err := range errs {
			switch {
			case err == nil:
				saved, winner = saved+1, i
			case !errors.Is(err, proof.ErrSettingsChanged):
				t.Fatalf("round %d, admin %d: %v", round, i, err)
			}
		}
		if saved != 1 {
			t.Fatalf("round %d: %d saves over the same settings went through, want 1", round, saved)
		}
		now, err := p.SettingsToEdit(ctx)
		if err != nil || now.K != 100+round*admins+winner {
			t.Fatalf("round %d: k %d, want the winner's (%d): %v", round, now.K, 100+round*admins+winner, err)
		}
	}
}
