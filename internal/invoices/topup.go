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
	Next     cardpay.Handler
	Invoices *Service
	// Lang is the document's language when the customer has none.
	Lang string
}

// PaymentSucceeded credits the balance, then issues the document; a
// replayed event finds both done.
func (h TopUpHandler) PaymentSucceeded(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error {
	if err := h.Next.PaymentSucceeded(ctx, tx, p); err != nil {
		return err
	}
	// An erased account's top-up is refunded, not credited
	// (billing.TopUpHandler): no money was received for a voucher.
	if erased, err := account.IsErased(ctx, tx, p.CustomerID); err != nil || erased {
		return err
	}
	u, err := account.UserTx(ctx, tx, p.CustomerID)
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

// PaymentDisputeEventTx implements cardpay.DisputeFollower: a top-up whose
// dispute the store lost gets a credit note against its document, for the
// amount the bank took back (at most what is left uncredited), issued once:
// by the event that closed the case (Dispute.Decided), and keyed on the
// dispute (one document per source). The top-up's document records money
// received for a voucher, with no VAT; the bank returned that money, so the
// document is corrected the same way, at the same zero VAT. The orders paid
// from that balance keep their invoices: those sales took place, and the
// VAT on them was due when the voucher was spent; what the store could not
// take back from the balance is a loss, not a smaller sale. The customer
// gets the credit note by email like any other (a document they are owed).
func (h TopUpHandler) PaymentDisputeEventTx(ctx context.Context, tx *sql.Tx, p cardpay.Payment, d cardpay.Dispute) error {
	if f, ok := h.Next.(cardpay.DisputeFollower); ok {
		if err := f.PaymentDisputeEventTx(ctx, tx, p, d); err != nil {
			return err
		}
	}
	if !d.Lost() || !d.Decided {
		return nil
	}
	amount, found, err := h.Invoices.ChargebackTx(ctx, tx, SourceTopUp, p.ID, d.Amount)
	if err != nil || !found || amount.Minor == 0 {
		return err
	}
	var b Buyer
	if u, err := account.UserTx(ctx, tx, p.CustomerID); err == nil {
		b = BuyerOf(u)
	}
	_, err = h.Invoices.CreditTx(ctx, tx, CreditInput{RefundID: DisputeCreditID(d.StripeID, ""), Source: SourceTopUp, SourceID: p.ID,
		LineRef: p.ID, Amount: amount, Buyer: b})
	return err
}

// DisputeCreditID names the credit note of a lost dispute (its refund id),
// per invoiced line when a dispute is credited line by line: the unique
// source of credit notes then refuses a second one for the same dispute.
func DisputeCreditID(stripeDisputeID, lineRef string) string {
	if lineRef == "" {
		return "dispute_" + stripeDisputeID
	}
	return "dispute_" + stripeDisputeID + "_" + lineRef
}

// BuyerOf is an account as its invoices name it.
func BuyerOf(u account.User) Buyer {
	return Buyer{ID: u.ID, Name: u.Name, Email: u.Email, Type: u.CustomerType, VATNumber: u.VATNumber,
		Country: u.Country, Region: u.Region, City: u.City, Street: u.Street, Postcode: u.Postcode}
}
