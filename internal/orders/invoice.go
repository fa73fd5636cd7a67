package orders

import (
	"context"
	"database/sql"

	"comptoir/internal/account"
	"comptoir/internal/invoices"
	"comptoir/internal/mail"
	"comptoir/internal/money"
)

// Invoicer issues invoices and credit notes in the caller's transaction
// (internal/invoices): the one that records the payment or the refund, so
// that there is a document for every payment that commits and none for one
// that does not; numbers are given right after the commit.
type Invoicer interface {
	IssueTx(ctx context.Context, tx *sql.Tx, in invoices.IssueInput) (invoices.Invoice, error)
	CreditTx(ctx context.Context, tx *sql.Tx, in invoices.CreditInput) (invoices.Invoice, error)
	// ChargebackTx is how much of a lost dispute the source's invoice can
	// still credit; found is false when it was never invoiced.
	ChargebackTx(ctx context.Context, tx *sql.Tx, source, sourceID string, disputed money.Amount) (credit money.Amount, found bool, err error)
	// PricesIncludeVAT is the store setting; when false, Gross adds the
	// buyer's VAT to the catalog prices, and that is what the order costs.
	PricesIncludeVAT() bool
	Gross(ctx context.Context, b invoices.Buyer, amounts []money.Amount) ([]money.Amount, error)
	// WarmRates loads the VAT rates into memory before a transaction
	// that needs one.
	WarmRates(ctx context.Context) error
	// Attachment is an invoice's PDF for the order confirmation to carry,
	// false when the store draws none.
	Attachment(inv invoices.Invoice) (mail.Attachment, bool)
}

// addVAT turns the lines' catalog (VAT excluded) amounts into what the
// buyer pays when the store prices without VAT, and the order total with
// them. With prices VAT included nothing changes.
func (s *Service) addVAT(ctx context.Context, buyer account.User, o *Order) error {
	if s.opts.Invoices == nil {
		return nil
	}
	// The invoice, issued in the checkout's transaction, takes its rate
	// from memory rather than reading it there (on SQLite, on the single
	// writer). Should this fail, it reads the rate in the transaction.
	s.opts.Invoices.WarmRates(ctx)
	if s.opts.Invoices.PricesIncludeVAT() {
		return nil
	}
	amounts := make([]money.Amount, len(o.Lines))
	for i, l := range o.Lines {
		amounts[i] = l.Amount
	}
	gross, err := s.opts.Invoices.Gross(ctx, invoices.BuyerOf(buyer), amounts)
	if err != nil {
		return err
	}
	o.Total = money.Zero(o.Total.Currency)
	for i := range o.Lines {
		o.Lines[i].Amount = gross[i]
		if o.Total, err = o.Total.Add(gross[i]); err != nil {
			return err
		}
	}
	return nil
}

// Quote is what lines of these catalog amounts cost the buyer, as Place
// charges them: the amounts themselves when prices include VAT, else with
// the buyer's VAT added. The cart page shows it, so that its "Pay" button
// says what the checkout takes.
func (s *Service) Quote(ctx context.Context, buyer account.User, amounts []money.Amount) ([]money.Amount, error) {
	if s.opts.Invoices == nil || len(amounts) == 0 { // Gross keeps prices that include VAT
		return amounts, nil
	}
	return s.opts.Invoices.Gross(ctx, invoices.BuyerOf(buyer), amounts)
}

// issueInvoice invoices a paid order; without an invoicer it does nothing
// and returns no invoice. placing says the order was written in tx (paid
// from the balance at checkout), so it has no invoice yet; invoiceID, when
// set, is the id to issue it under (IssueInput.ID). The order's
// confirmation announces the invoice and carries it (sendConfirmation).
//
// The invoice's lines are what the order charged, VAT included (Charged),
// whatever the price setting: with prices VAT excluded the line amounts
// already hold the VAT addVAT added, and the invoice splits them at the
// rate in force when paid. At the same rate that is exactly the price and
// its VAT (the VAT inside price + round(price × r) rounds back to the same
// amount); when the rate or the buyer's country changed between checkout
// and a card payment, the invoice still says what was paid, not the price
// plus another VAT.
func (s *Service) issueInvoice(ctx context.Context, tx *sql.Tx, buyer account.User, o Order, cardCountry string, placing bool, invoiceID string) (invoices.Invoice, error) {
	if s.opts.Invoices == nil {
		return invoices.Invoice{}, nil
	}
	in := invoices.IssueInput{ID: invoiceID, Source: invoices.SourceOrder, SourceID: o.ID, OrderID: o.ID, Buyer: invoices.BuyerOf(buyer),
		Lang: o.Lang, CardCountry: cardCountry, NewSource: placing, Announced: true, Charged: true,
		// A checkout reads none of it back: its rows go with the commit.
		Append: placing}
	for _, l := range o.Lines {
		in.Lines = append(in.Lines, invoices.LineInput{Ref: l.ID, Description: l.Name, Quantity: l.Quantity, Amount: l.Amount})
	}
	return s.opts.Invoices.IssueTx(ctx, tx, in)
}

// creditNote documents a refund of an order line against the order's
// invoice. fresh says refundID was counted in tx (refundLine): a credit
// note already issued under it is then an error, not an answer.
func (s *Service) creditNote(ctx context.Context, tx *sql.Tx, orderID, lineID, refundID string, amount money.Amount, fresh bool) error {
	if s.opts.Invoices == nil {
		return nil
	}
	var customerID string
	if err := tx.QueryRowContext(ctx, `SELECT customer_id FROM orders WHERE id = $1`, orderID).Scan(&customerID); err != nil {
		return wrapDB("credit note", err)
	}
	var b invoices.Buyer
	if u, err := account.UserTx(ctx, tx, customerID); err == nil {
		b = invoices.BuyerOf(u)
	}
	_, err := s.opts.Invoices.CreditTx(ctx, tx, invoices.CreditInput{RefundID: refundID, Source: invoices.SourceOrder, SourceID: orderID,
		LineRef: lineID, Amount: amount, Buyer: b, NewRefund: fresh})
	return err
}
