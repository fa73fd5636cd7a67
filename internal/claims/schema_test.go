package claims_test

import (
	"context"
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
