package claims_test

import (
	"context"
	"errors"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/policy"
)

// Text PostgreSQL cannot store (NUL) was a server error there, and stored
// as given on SQLite: a claim's ids name nothing, and the words are
// refused on their field, on both engines alike.
func TestClaimInputThatPostgreSQLCannotHoldIsRefusedAsBadInput(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 1000)
	e.clock.Set(t0.Add(2 * day))
	for _, in := range []claims.FileInput{
		{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: "ord\x00", Actor: customerActor(u)},
		{Kind: policy.SubscriptionCancel, CustomerID: u.ID, SubscriptionID: "sub\x00", Choice: policy.CancelNow, Actor: customerActor(u)},
	} {
		if _, err := e.claims.File(ctx, in); !errors.Is(err, claims.ErrNotFound) {
			t.Errorf("filing on %q: %v, want not found", in.OrderID+in.SubscriptionID, err)
		}
	}
	_, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o.ID,
		SourceMessageID: "msg\x00", Actor: e.agentActor()})
	var verr *claims.ValidationError
	if !errors.As(err, &verr) || verr.Fields["source_message_id"] != "invalid" {
		t.Errorf("source message with NUL: %v", err)
	}
	if _, err := e.claims.Get(ctx, "clm\x00"); !errors.Is(err, claims.ErrNotFound) {
		t.Errorf("claim id with NUL: %v", err)
	}

	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.claims.AddEvidence(ctx, u.ID, c.ID, []claims.EvidenceInput{{Text: "no\x00posts"}}); !errors.Is(err, claims.ErrEvidenceTypeForbidden) {
		t.Errorf("evidence text with NUL: %v", err)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM claim_evidence WHERE claim_id = $1`, c.ID); n != 0 {
		t.Errorf("%d evidence stored", n)
	}
	_, err = e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefused, ReasonCode: "expectation_only",
		Note: "called\x00her", Actor: e.agentActor()})
	if !errors.As(err, &verr) || verr.Fields["note"] != "invalid" {
		t.Errorf("note with NUL: %v", err)
	}
	if got := e.get(t, c.ID); !got.Open() || got.Revision != c.Revision {
		t.Errorf("the refused decision changed the claim: %+v", got)
	}
}

func TestClaimListRefusesAStatusNoClaimHas(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	c := e.unhappy(t, t0.Add(3*day))
	for _, status := range []string{"opened", "closed", "OPEN"} {
		_, _, err := e.claims.List(ctx, claims.ListFilter{Status: status})
		var verr *claims.ValidationError
		if !errors.As(err, &verr) || verr.Fields["status"] != "invalid" {
			t.Errorf("status %q: %v, want invalid", status, err)
		}
	}
	page, _, err := e.claims.List(ctx, claims.ListFilter{Status: claims.StatusOpen})
	if err != nil || len(page) != 1 || page[0].ID != c.ID {
		t.Fatalf("open claims: %+v %v", page, err)
	}
}
