package web_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/claims"
	"comptoir/internal/db"
	"comptoir/internal/policy"
	"comptoir/internal/privacy"
	"comptoir/internal/testwait"
)

// A customer files a claim in the instant their own erasure commits, with
// the store's real erasure (privacy.Erase) on either side. The erasure
// refuses while a claim is open (claim_open); a claim filed beside it is
// either seen by it, or refused itself (account_erased): never a claim
// left open on an erased account, which nobody could follow and whose
// decision could credit a balance nobody can use. Both take the account's
// row first: on PostgreSQL the second waits for the first, on SQLite the
// single writer queues it. (claims' TestClaimFiledDuringAnErasureWaitsAndIsRefused
// runs the filing beside an erasure of the account row alone.)
func TestClaimFiledBesideTheErasure(t *testing.T) {
	erase := func(ctx context.Context, priv *privacy.Service, u account.User) error {
		_, err := priv.Erase(ctx, u.ID, u.Actor(), privacy.ReasonCustomerRequest)
		return err
	}
	file := func(ctx context.Context, h *apptest.Harness, u account.User, orderID string, then func(context.Context, *sql.Tx, claims.Claim) error) error {
		_, err := h.App.Claims.File(ctx, claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID, OrderID: orderID,
			Message: "Not what I hoped.", Actor: u.Actor(), Then: then})
		return err
	}

	// The erasure holds the account and has found no claim open: the
	// filing waits for it, then finds the account erased.
	t.Run("erasure first", func(t *testing.T) {
		h := apptest.Start(t)
		ctx := context.Background()
		u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
		o := buyAndDeliver(t, h, u, 40)
		finish := erasureStoppedPastItsChecks(t, h, func(priv *privacy.Service) error { return erase(ctx, priv, u) })
		filed, doneFirst := besideTheErasure(t, h, func() error { return file(ctx, h, u, o.ID, nil) })
		if doneFirst {
			t.Errorf("the claim was filed while the erasure, past its checks, held the account")
		}
		if err := finish(); err != nil {
			t.Fatalf("erasure: %v", err)
		}
		if err := filed(); !errors.Is(err, claims.ErrAccountErased) {
			t.Fatalf("claim filed during the erasure: %v, want account_erased", err)
		}
		if got, _ := h.App.Accounts.UserByID(ctx, u.ID); got.Email != account.ErasedEmail {
			t.Fatalf("not erased: %+v", got)
		}
		if n := queryCount(t, h, `SELECT COUNT(*) FROM claims WHERE customer_id = $1`, u.ID); n != 0 {
			t.Fatalf("%d claims on the erased account", n)
		}
	})

	// The filing holds the account and has written its claim: the
	// erasure waits for it, then sees the claim open and is refused.
	t.Run("claim first", func(t *testing.T) {
		h := apptest.Start(t)
		ctx := context.Background()
		u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
		o := buyAndDeliver(t, h, u, 40)
		inFiling, resume := make(chan struct{}), make(chan struct{})
		filed := make(chan error, 1)
		go func() {
			filed <- file(ctx, h, u, o.ID, func(context.Context, *sql.Tx, claims.Claim) error {
				close(inFiling)
				<-resume
				return nil
			})
		}()
		select {
		case <-inFiling:
		case err := <-filed:
			t.Fatalf("the filing ended before its transaction's end: %v", err)
		case <-time.After(testwait.Default):
			t.Fatal("the filing never reached its transaction's end")
		}
		erased := make(chan error, 1)
		go func() { erased <- erase(ctx, h.App.Privacy, u) }()
		if h.App.DB.Engine == db.Postgres {
			// Whatever it waits on: only its first write, the account's
			// row, keeps it from reading the claims before the filing
			// commits.
			testwait.Until(t, "the erasure to finish or wait on a lock", func() bool {
				return len(erased) > 0 || queryCount(t, h, `SELECT COUNT(*) FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock'`) > 0
			})
			if len(erased) > 0 {
				t.Errorf("the erasure ended while the filing held the account")
			} else if queryCount(t, h, `SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()
				AND wait_event_type = 'Lock' AND query LIKE $1`, holdAccount+"%") != 1 {
				t.Errorf("the erasure waits for the filing on another row than the account's")
			}
		}
		close(resume)
		if err := <-filed; err != nil {
			t.Fatalf("filing: %v", err)
		}
		if err := <-erased; !errors.Is(err, privacy.ErrOpenClaim) {
			t.Fatalf("erasure beside the filing: %v, want claim_open", err)
		}
		if got, _ := h.App.Accounts.UserByID(ctx, u.ID); got.Email != "ana@example.fr" {
			t.Fatalf("erased with a claim open: %+v", got)
		}
		if n := queryCount(t, h, `SELECT COUNT(*) FROM claims WHERE customer_id = $1 AND status = 'open'`, u.ID); n != 1 {
			t.Fatalf("%d open claims, want the one filed", n)
		}
	})
}

// queryCount reads a COUNT(*).
func queryCount(t *testing.T, h *apptest.Harness, query string, args ...any) int {
	t.Helper()
	var n int
	if err := h.App.DB.Read.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
