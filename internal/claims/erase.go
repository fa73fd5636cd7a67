package claims

import (
	"context"
	"database/sql"
	"fmt"

	"comptoir/internal/db"
)

// ErasedFileName is the name an erased evidence file keeps (its blob is
// deleted): readers such as the dispute pack tell by it that the file is
// gone.
const ErasedFileName = "erased"

// EraseCustomerTx erases what a customer wrote in their claims and the
// evidence they gave: the claim's message is blanked, a text evidence
// becomes "erased", a file keeps its row (size and SHA-256: the record that
// something was given) under the name "erased", and its blob key is
// returned for deletion once tx commits. The agents' notes on the
// decisions are blanked too: free text about the customer, which may name
// them or say more. Kinds, outcomes, decisions and amounts stay: they are
// the seller's accounting and legal record.
func EraseCustomerTx(ctx context.Context, tx *sql.Tx, customerID string) ([]string, error) {
	keys, err := db.Strings(ctx, tx, `SELECT e.blob_key FROM claim_evidence e JOIN claims c ON c.id = e.claim_id
		WHERE c.customer_id = $1 AND e.kind = 'file'`, customerID)
	if err != nil {
		return nil, fmt.Errorf("claims: erase: %w", err)
	}
	if err := db.ExecEach(ctx, tx, []string{
		`UPDATE claims SET message = '' WHERE customer_id = $1`,
		`UPDATE claim_evidence SET text = 'erased', lang = '' WHERE kind = 'text' AND claim_id IN (SELECT id FROM claims WHERE customer_id = $1)`,
		`UPDATE claim_evidence SET file_name = '` + ErasedFileName + `' WHERE kind = 'file' AND claim_id IN (SELECT id FROM claims WHERE customer_id = $1)`,
		// The decisions' guard lets this one change through (0039).
		`UPDATE claim_decisions SET note = '' WHERE note <> '' AND claim_id IN (SELECT id FROM claims WHERE customer_id = $1)`,
	}, customerID); err != nil {
		return nil, fmt.Errorf("claims: erase: %w", err)
	}
	return keys, nil
}
