package claims

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"comptoir/internal/account"
	"comptoir/internal/db"
)

// ErasedFileName is the name an erased evidence file keeps (its blob is
// deleted): readers such as the dispute pack tell by it that the file is
// gone.
const ErasedFileName = "erased"

// OpenCount counts the customer's claims still open: waiting for their
// processing time or a redelivery, for evidence, for an agent, or held by
// a payment's dispute. Each may still give money back to the balance, so
// an erasure waits for them (privacy.ErrOpenClaim).
func OpenCount(ctx context.Context, q db.Querier, customerID string) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM claims WHERE customer_id = $1 AND status = 'open'`, customerID).Scan(&n); err != nil {
		return 0, fmt.Errorf("claims: open claims of %s: %w", customerID, err)
	}
	return n, nil
}

// holdCustomerTx runs first in each transaction that decides a claim
// automatically (an agent's decision holds the account the same way, and
// also refuses to reopen the claim: ErrErasedReopen): it holds the
// customer's account row as an erasure does first (account.HoldUnerasedTx),
// so that the two never interleave, on PostgreSQL as on SQLite's single writer. Either the
// claim commits first, and the erasure then sees it open and waits
// (privacy.ErrOpenClaim) or sees the balance it credited; or the erasure
// commits first, and a decision that credits the balance (credits) is
// refused with ErrCustomerErased: nobody could use that money. Taken
// first, before any claim, subject or order row, it keeps the erasure's
// lock order (the account, then the rest): neither waits on a row the
// other holds while holding one it wants. An id without an account is not
// erased.
func holdCustomerTx(ctx context.Context, tx *sql.Tx, customerID string, credits bool) error {
	var ifErased error // a decision that moves no money is still taken
	if credits {
		ifErased = ErrCustomerErased
	}
	return holdAccountTx(ctx, tx, customerID, ifErased)
}

// holdFilerTx runs first in each transaction that files a claim: it
// holds the customer's account row as holdCustomerTx does, and refuses
// the filing with ErrAccountErased once the account is erased, whatever
// the decision. The erased state is read under the row's lock, after any
// erasure that held it has committed: a filing checked before (the page's
// session, the facts gathered) and an erasure committing meanwhile never
// both commit, which would leave a claim, open or decided, on an account
// nobody can reach, filed after the erasure had found none open.
func holdFilerTx(ctx context.Context, tx *sql.Tx, customerID string) error {
	return holdAccountTx(ctx, tx, customerID, ErrAccountErased)
}

// holdAccountTx holds the customer's account row (account.HoldUnerasedTx)
// and answers ifErased (nil: go on) when the account is erased. An id
// without an account is not erased.
func holdAccountTx(ctx context.Context, tx *sql.Tx, customerID string, ifErased error) error {
	erased, err := account.HoldUnerasedTx(ctx, tx, customerID)
	switch {
	case errors.Is(err, account.ErrNotFound):
		return nil
	case err != nil:
		return err
	case erased:
		return ifErased
	}
	return nil
}

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
