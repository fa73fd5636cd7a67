package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/money"
)

// Reference types of the entries that follow a disputed card top-up.
const (
	refDisputeHeld     = "card_dispute"     // the top-up taken back while the bank holds it
	refDisputeReturned = "card_dispute_won" // given back: the store won
)

// TopUpDisputes wraps the card handler of top-ups: a top-up the customer
// disputes with their bank is taken back from the balance while the bank
// holds the money, so the same money cannot be both returned by the bank
// and spent in the store. Only what is still on the balance can be taken
// (a balance never goes below zero); what was already spent stays the
// dispute's business (its evidence, the agents' alert). If the store wins,
// what was taken is given back; if it loses, it stays taken.
type TopUpDisputes struct {
	cardpay.Handler
	L *Ledger
}

// PaymentDisputeEventTx implements cardpay.DisputeFollower.
func (h TopUpDisputes) PaymentDisputeEventTx(ctx context.Context, tx *sql.Tx, p cardpay.Payment, d cardpay.Dispute) error {
	if f, ok := h.Handler.(cardpay.DisputeFollower); ok {
		if err := f.PaymentDisputeEventTx(ctx, tx, p, d); err != nil {
			return err
		}
	}
	switch {
	case d.Lost():
		return nil // the bank kept the money: what was taken stays taken
	case d.Closed():
		return h.giveBack(ctx, tx, p)
	case strings.HasPrefix(d.StripeStatus, "warning_"):
		return nil // an inquiry: the bank has taken nothing yet
	}
	return h.takeBack(ctx, tx, p, d.Amount)
}

func (h TopUpDisputes) takeBack(ctx context.Context, tx *sql.Tx, p cardpay.Payment, disputed money.Amount) error {
	var balance int64
	err := tx.QueryRowContext(ctx, `SELECT balance FROM balance_accounts WHERE customer_id = $1 AND currency = $2`,
		p.CustomerID, p.Amount.Currency).Scan(&balance)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("billing: balance of a disputed top-up: %w", err)
	}
	take := min(disputed.Minor, p.Amount.Minor, balance)
	if take <= 0 {
		return nil // spent already (or taken by an earlier event: the balance is lower)
	}
	_, err = h.L.DebitTx(ctx, tx, Entry{
		CustomerID: p.CustomerID, Amount: money.Amount{Minor: take, Currency: p.Amount.Currency}, Kind: KindReversal,
		ReferenceType: refDisputeHeld, ReferenceID: p.ID, Actor: audit.System,
	})
	if errors.Is(err, ErrDuplicateReference) {
		return nil // taken by an earlier event of this dispute
	}
	return err
}

// giveBack returns what takeBack took, once the store won. It does so for
// an erased account too, unlike every other credit (refuseErased, the
// top-up's refundErased): it brings no new money, the balance becomes
// again what the customer gave up with the account (a dispute opens only
// after the erasure, which waits for open ones), kept by the store as the
// rest of it, and the ledger's two entries (card_dispute,
// card_dispute_won) net to zero as the bank's two movements did. Keeping
// the take-back would record that the cardholder got the money back,
// which only a lost dispute does (TestWonDisputeOfAnErasedAccountsTopUpRestoresWhatWasGivenUp).
func (h TopUpDisputes) giveBack(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error {
	var taken int64
	err := tx.QueryRowContext(ctx, `SELECT -amount FROM balance_entries
		WHERE kind = $1 AND reference_type = $2 AND reference_id = $3 AND customer_id = $4`,
		KindReversal, refDisputeHeld, p.ID, p.CustomerID).Scan(&taken)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && taken <= 0) {
		return nil // nothing was taken
	}
	if err != nil {
		return fmt.Errorf("billing: what a dispute took: %w", err)
	}
	_, err = h.L.CreditTx(ctx, tx, Entry{
		CustomerID: p.CustomerID, Amount: money.Amount{Minor: taken, Currency: p.Amount.Currency}, Kind: KindReversal,
		ReferenceType: refDisputeReturned, ReferenceID: p.ID, Actor: audit.System,
	})
	if errors.Is(err, ErrDuplicateReference) {
		return nil
	}
	return err
}
