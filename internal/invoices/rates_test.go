package invoices_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"comptoir/internal/apptest"
	"comptoir/internal/db/gencache"
	"comptoir/internal/invoices"
)

// Each node keeps the VAT rates in memory once warmed: the node that adds
// a rate uses it at once, another within a second; a transaction whose
// node holds no fresh copy reads the rate in that transaction.
func TestRatesCachedPerNode(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	a := h.App.Invoices
	b := invoices.New(h.App.DB, h.Clock, nil, invoices.Options{})
	rate := func(s *invoices.Service) int {
		t.Helper()
		bp, err := s.Rate(ctx, h.App.DB.Read, "fr", h.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return bp
	}
	for _, s := range []*invoices.Service{a, b} {
		if err := s.WarmRates(ctx); err != nil {
			t.Fatal(err)
		}
		if got := rate(s); got != 2000 {
			t.Fatalf("FR rate %d, want 2000", got)
		}
	}
	if err := a.AddRate(ctx, "FR", h.Clock.Now().Format(time.DateOnly), 2100, ""); err != nil {
		t.Fatal(err)
	}
	if got := rate(a); got != 2100 {
		t.Errorf("the node that added the rate uses %d, want 2100 at once", got)
	}
	if got := rate(b); got != 2000 {
		t.Errorf("the other node read the table again within the second: %d", got)
	}
	h.Clock.Advance(gencache.RefreshEvery)
	if err := b.WarmRates(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rate(b); got != 2100 {
		t.Errorf("the other node uses %d a second later, want 2100", got)
	}

	// No fresh copy: the rate is read in the transaction, which sees its
	// own writes.
	h.Clock.Advance(24 * time.Hour)
	rolledBack := errors.New("rolled back")
	err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vat_rates (country, effective_from, rate_bp, created_at) VALUES ('FR', $1, 2200, $2)`,
			h.Clock.Now().Format(time.DateOnly), h.Clock.Now()); err != nil {
			return err
		}
		bp, err := a.Rate(ctx, tx, "FR", h.Clock.Now())
		if err != nil {
			return err
		}
		if bp != 2200 {
			t.Errorf("rate in the transaction %d, want 2200 (its own write)", bp)
		}
		return rolledBack
	})
	if !errors.Is(err, rolledBack) {
		t.Fatal(err)
	}
}

// A rate is filed under a member state's ISO code: Greece's VAT prefix EL
// is refused (a rate under it never applied, Greek buyers being GR), as is
// a country outside the EU; GR is taken and applies.
func TestAddRateTakesMemberStatesOnly(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	from := h.Clock.Now().Format(time.DateOnly)
	for _, c := range []string{"EL", "CH", "XX", "MC"} {
		if err := h.App.Invoices.AddRate(ctx, c, from, 2500, ""); !errors.Is(err, invoices.ErrRateInvalid) {
			t.Errorf("rate for %s: %v, want ErrRateInvalid", c, err)
		}
	}
	if err := h.App.Invoices.AddRate(ctx, "gr", from, 2500, ""); err != nil {
		t.Fatal(err)
	}
	if bp, err := h.App.Invoices.Rate(ctx, h.App.DB.Read, "GR", h.Clock.Now()); err != nil || bp != 2500 {
		t.Fatalf("Greek rate %d, %v", bp, err)
	}
}
