package orders

import (
	"context"
	"database/sql"

	"comptoir/internal/account"
	"comptoir/internal/invoices"
)

// ConfirmBothWays queues, in one transaction, actual's confirmation as
// Place does (drawn before the transaction from planned, its invoice to
// be plannedInvoice, then checked against actual and inv) and actual's
// confirmation drawn in the transaction, and returns both messages' ids
// and whether the first went out as drawn before the transaction.
func (s *Service) ConfirmBothWays(ctx context.Context, buyer account.User, planned, actual Order, c Consent, plannedInvoice string, inv invoices.Invoice) (early, drawn string, usedEarly bool, err error) {
	e := s.prepareConfirmation(buyer, planned, c, plannedInvoice)
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if early, err = s.sendConfirmation(ctx, tx, buyer, actual, c, inv, e, true); err != nil {
			return err
		}
		drawn, err = s.sendConfirmation(ctx, tx, buyer, actual, c, inv, nil, true)
		return err
	})
	return early, drawn, e != nil && early == e.prepared.ID(), err
}

// EarlyConfirmation is a confirmation drawn before a checkout's
// transaction.
type EarlyConfirmation = earlyConfirmation

// PrepareConfirmation draws o's confirmation before its transaction, as
// Place does (nil when it cannot).
func (s *Service) PrepareConfirmation(buyer account.User, o Order, c Consent, invoiceID string) *EarlyConfirmation {
	return s.prepareConfirmation(buyer, o, c, invoiceID)
}

// ConfirmInTx is the part of a checkout's confirmation that runs in its
// transaction, tx: queuing early when it is the message to send, else
// drawing and queuing it there.
func (s *Service) ConfirmInTx(ctx context.Context, tx *sql.Tx, buyer account.User, o Order, c Consent, inv invoices.Invoice, early *EarlyConfirmation) (string, error) {
	return s.sendConfirmation(ctx, tx, buyer, o, c, inv, early, true)
}
