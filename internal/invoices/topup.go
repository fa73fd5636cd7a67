package invoices

import (
	"context"
	"database/sql"

	"comptoir/internal/account"
	"comptoir/internal/cardpay"
)

// TopUpHandler wraps the balance's card handler for top-ups: once the
// balance is credited, in the same transaction, the top-up gets its
// document (a voucher: no VAT, see IssueTx).
type TopUpHandler struct {
	Next      cardpay.Handler
	Invoices  *Service
	Customers interface {
		UserByID(ctx context.Context, userID string) (account.User, error)
	}
	// Lang is the document's language when the customer has none.
	Lang string
}

// PaymentSucceeded credits the balance, then issues the document; a
// replayed event finds both done.
func (h TopUpHandler) PaymentSucceeded(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error {
	if err := h.Next.PaymentSucceeded(ctx, tx, p); err != nil {
		return err
	}
	u, err := h.Customers.UserByID(ctx, p.CustomerID)
	if err != nil {
		return err
	}
	desc := map[string]string{"fr": "Rechargement du solde", "en": "Balance top-up"}[u.Language]
	if desc == "" {
		desc = "Rechargement du solde"
	}
	_, err = h.Invoices.IssueTx(ctx, tx, IssueInput{
		Source: SourceTopUp, SourceID: p.ID, OrderID: p.ID, Lang: u.Language, CardCountry: p.CardCountry, Charged: true,
		Buyer: BuyerOf(u),
		Lines: []LineInput{{Ref: p.ID, Description: desc, Quantity: 1, Amount: p.Amount}},
	})
	return err
}

// PaymentFailed passes on.
func (h TopUpHandler) PaymentFailed(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error {
	return h.Next.PaymentFailed(ctx, tx, p)
}

// RefundSettled passes on.
func (h TopUpHandler) RefundSettled(ctx context.Context, tx *sql.Tx, r cardpay.Refund, p cardpay.Payment) error {
	return h.Next.RefundSettled(ctx, tx, r, p)
}

// BuyerOf is an account as its invoices name it.
func BuyerOf(u account.User) Buyer {
	return Buyer{ID: u.ID, Name: u.Name, Email: u.Email, Type: u.CustomerType, VATNumber: u.VATNumber,
		Country: u.Country, Region: u.Region, City: u.City}
}
