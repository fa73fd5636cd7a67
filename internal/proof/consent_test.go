package proof_test

import (
	"context"
	"testing"
	"time"
)

// A withdrawal covers every consent the customer gave until then (their
// notices go at once, cached or not), not another customer's; an order
// placed afterwards without a word from them (an API client) is not shown,
// one where they say "show it" again is; giving the consent back brings the
// earlier orders back. Withdrawing twice records one change.
func TestWithdrawnConsentCoversEarlierOrdersOnly(t *testing.T) {
	s := newStore(t)
	s.settings(nil)
	ctx := context.Background()
	p := s.h.App.Proof
	me := s.customer("FR", "", "Lyon")
	other := s.customer("FR", "", "Lyon")
	before := s.buy(me, no())
	kept := s.buy(other, no())
	s.h.Clock.Advance(11 * time.Minute)
	if n := len(s.recent("en")); n != 2 {
		t.Fatalf("%d notices, want 2", n)
	}
	for range 2 {
		if err := p.WithdrawConsent(ctx, me.Actor(), me.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.recent("en")); n != 1 {
		t.Fatalf("after withdrawal (cached feed): %d notices, want 1", n)
	}
	if ids := orderIDs(s.current()); len(ids) != 1 || ids[0] != kept.ID {
		t.Fatalf("shown %v, want only %s (never %s)", ids, kept.ID, before.ID)
	}
	s.h.Clock.Advance(time.Minute)
	silent := s.buy(me, nil)            // the store's default would show it
	again := s.buy(me, no())            // said so at checkout: a new consent
	s.h.Clock.Advance(20 * time.Minute) // the delay, and the slot it ends in (Grain)
	ids := orderIDs(s.current())
	if len(ids) != 2 || ids[0] != again.ID || ids[1] != kept.ID {
		t.Fatalf("shown %v, want %s and %s (never %s nor %s)", ids, again.ID, kept.ID, silent.ID, before.ID)
	}
	if c, err := p.ConsentOf(ctx, me.ID); err != nil || !c.IsWithdrawn() || c.Given != 2 {
		t.Fatalf("consent %+v %v, want withdrawn, given for 2 orders", c, err)
	}
	if err := p.GiveConsentAgain(ctx, me.Actor(), me.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(s.current()); n != 3 {
		t.Fatalf("after giving consent again: %d notices, want 3", n)
	}
	var changes int
	if err := s.h.App.DB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND action LIKE 'proof_consent_%'`, me.ID).Scan(&changes); err != nil || changes != 2 {
		t.Fatalf("%d audited changes (%v), want 2", changes, err)
	}
}
