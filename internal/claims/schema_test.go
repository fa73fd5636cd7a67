package claims_test

import (
	"context"
	"database/sql"
	"reflect"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/policy"
)

// TestTheDatabaseKeepsTheRules checks the rules the schema enforces
// whatever the code does, on the test run's engine.
func TestTheDatabaseKeepsTheRules(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 400)
	e.clock.Set(t0.Add(4 * day))
	refunded, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	open, err := e.claims.File(ctx, claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	for name, stmt := range map[string]string{
		"moving filed_at":                `UPDATE claims SET filed_at = $2 WHERE id = $1`,
		"changing the kind":              `UPDATE claims SET kind = 'withdrawal' WHERE id = $1 AND $2 IS NOT NULL`,
		"reopening a decided claim":      `UPDATE claims SET status = 'open', outcome = 'review', refund_amount = NULL, refund_currency = NULL WHERE id = $1 AND $2 IS NOT NULL`,
		"deleting a claim":               `DELETE FROM claims WHERE id = $1 AND $2 IS NOT NULL`,
		"rewriting a decision":           `UPDATE claim_decisions SET outcome = 'refused', refund_amount = NULL, refund_currency = NULL WHERE claim_id = $1 AND $2 IS NOT NULL`,
		"deleting a decision":            `DELETE FROM claim_decisions WHERE claim_id = $1 AND $2 IS NOT NULL`,
		"store credit without assent":    `UPDATE claim_refunds SET destination = 'credit' WHERE claim_id = $1 AND $2 IS NOT NULL`,
		"a refund without an amount":     `UPDATE claims SET refund_amount = NULL, refund_currency = NULL WHERE id = $1 AND $2 IS NOT NULL`,
		"a decided claim with no answer": `UPDATE claims SET outcome = 'review' WHERE id = $1 AND $2 IS NOT NULL`,
	} {
		if _, err := e.db.Write.Exec(stmt, refunded.ID, time.Now()); err == nil {
			t.Errorf("the database accepted %s", name)
		}
	}
	if _, err := e.db.Write.Exec(`UPDATE claims SET status = 'decided' WHERE id = $1`, open.ID); err == nil {
		t.Error("the database accepted an open outcome on a decided claim")
	}
	if _, err := e.db.Write.Exec(`INSERT INTO claims (id, kind, customer_id, order_id, order_line_id, status, filed_at, filed_by, filed_via,
		policy_version, outcome, rule, statutory, cancel, reason_en, reason_fr, decided_at, created_at, updated_at)
		VALUES ('clm_x', 'dissatisfied', $1, $2, $3, 'open', $4, $1, 'customer', 'default@1', 'solution', 'dissatisfied.solution', FALSE,
		'none', 'x', 'x', $4, $4, $4)`, u.ID, o.ID, o.Lines[0].ID, e.clock.Now()); err == nil {
		t.Error("the database accepted a second open claim of a kind on a line")
	}
	// The message alone may be blanked, for the erasure of a person.
	if _, err := e.db.Write.Exec(`UPDATE claims SET message = '' WHERE id = $1`, open.ID); err != nil {
		t.Errorf("blanking the message: %v", err)
	}
}

// An agent's note may hold the customer's personal data: the erasure of the
// customer blanks the notes of their claims' decisions, and only theirs.
// The decisions are append-only otherwise, notes included: the database
// lets a note be blanked, with nothing else changed, and nothing more.
func TestErasureBlanksTheAgentsNotesAndNothingElse(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	const note = "Called her at +33 6 12 34 56 78: she lives with the account holder."
	decided := func(u account.User) claims.Claim {
		t.Helper()
		o := e.order(t, u, e.service(t), 1000, true, 1000)
		c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
		if err != nil {
			t.Fatal(err)
		}
		if c, err = e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefused, ReasonCode: "expectation_only",
			Note: note, Actor: e.agentActor()}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	erased, other := e.customer(t, "FR", account.CustomerConsumer, "fr"), e.customer(t, "FR", account.CustomerConsumer, "fr")
	c, kept := decided(erased), decided(other)
	history := func(claimID string) []claims.Decision {
		t.Helper()
		ds, err := e.claims.Decisions(ctx, claimID)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	before := history(c.ID)
	if len(before) != 2 || before[1].Note != note {
		t.Fatalf("history before the erasure %+v", before)
	}

	// The guard, on the test run's engine.
	for name, stmt := range map[string]string{
		"rewriting a note":                   `UPDATE claim_decisions SET note = 'Nothing to see.' WHERE claim_id = $1`,
		"blanking a note with its reason":    `UPDATE claim_decisions SET note = '', reason_code = 'delivery_record' WHERE claim_id = $1 AND note <> ''`,
		"blanking a note with its outcome":   `UPDATE claim_decisions SET note = '', outcome = 'refund', refund_amount = 100, refund_currency = 'EUR' WHERE claim_id = $1 AND note <> ''`,
		"blanking a note with its author":    `UPDATE claim_decisions SET note = '', decided_at = decided_at, decided_by = 'usr_someone' WHERE claim_id = $1 AND note <> ''`,
		"changing an automatic decision":     `UPDATE claim_decisions SET rule = 'x' WHERE claim_id = $1 AND note = ''`,
		"deleting a decision with a note":    `DELETE FROM claim_decisions WHERE claim_id = $1 AND note <> ''`,
		"deleting a decision without a note": `DELETE FROM claim_decisions WHERE claim_id = $1 AND note = ''`,
	} {
		if _, err := e.db.Write.Exec(stmt, kept.ID); err == nil {
			t.Errorf("the database accepted %s", name)
		}
	}
	if got := history(kept.ID); len(got) != 2 || got[1].Note != note || got[1].ReasonCode != "expectation_only" || got[1].Decision.Outcome != policy.OutcomeRefused {
		t.Fatalf("the refused statements changed the history: %+v", got)
	}

	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := claims.EraseCustomerTx(ctx, tx, erased.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	after := history(c.ID)
	if len(after) != len(before) {
		t.Fatalf("%d decisions after the erasure, %d before", len(after), len(before))
	}
	for i := range after {
		want := before[i]
		want.Note = ""
		if after[i].Note != "" || !reflect.DeepEqual(after[i], want) {
			t.Errorf("decision %d after the erasure:\n%+v\nwant\n%+v", i, after[i], want)
		}
	}
	if got := history(kept.ID); got[1].Note != note {
		t.Errorf("another customer's note was blanked: %q", got[1].Note)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM claim_decisions WHERE note LIKE '%12 34 56 78%'`); n != 1 {
		t.Errorf("%d notes hold the phone number, want only the other customer's", n)
	}
}
