package subscriptions

import (
	"context"
	"database/sql"

	"comptoir/internal/invoices"
	"comptoir/internal/money"
)

// Invoicer issues invoices and credit notes in the caller's transaction
// (internal/invoices): a paid period is invoiced where it is recorded paid,
// a refunded one credited where the refund is decided.
type Invoicer interface {
	IssueTx(ctx context.Context, tx *sql.Tx, in invoices.IssueInput) (invoices.Invoice, error)
	CreditTx(ctx context.Context, tx *sql.Tx, in invoices.CreditInput) (invoices.Invoice, error)
	ChargebackTx(ctx context.Context, tx *sql.Tx, source, sourceID string, disputed money.Amount) (credit money.Amount, found bool, err error)
}

// invoicePeriod invoices a period just paid. The amount charged is the
// plan's price as agreed, VAT included.
func (s *Service) invoicePeriod(ctx context.Context, tx *sql.Tx, sub Subscription, period Period, p party) error {
	if s.opts.Invoices == nil {
		return nil
	}
	lang := p.lang(sub)
	desc := p.plan.Name(lang) + " — " + s.formatDate(period.Start, lang) + " → " + s.formatDate(period.End, lang)
	_, err := s.opts.Invoices.IssueTx(ctx, tx, invoices.IssueInput{
		Source: invoices.SourceRenewal, SourceID: period.ID, OrderID: sub.ID, Buyer: invoices.BuyerOf(p.user), Lang: lang, Charged: true,
		Lines: []invoices.LineInput{{Ref: period.ID, Description: desc, Quantity: 1, Amount: period.Amount}},
	})
	return err
}

// creditPeriod issues the credit note of a period's refund.
func (s *Service) creditPeriod(ctx context.Context, tx *sql.Tx, sub Subscription, period Period, refundID string, amount money.Amount) error {
	if s.opts.Invoices == nil {
		return nil
	}
	var b invoices.Buyer
	if p, err := partyOf(ctx, tx, sub); err == nil {
		b = invoices.BuyerOf(p.user)
	}
	_, err := s.opts.Invoices.CreditTx(ctx, tx, invoices.CreditInput{RefundID: refundID, Source: invoices.SourceRenewal, SourceID: period.ID,
		LineRef: period.ID, Amount: amount, Buyer: b})
	return err
}

// creditChargeback issues the credit note of a period whose card payment's
// dispute the store lost: the bank gave the disputed amount back, at most
// what is left uncredited on the period's invoice. Keyed on the dispute,
// so the invoices' unique source refuses a second one; the caller acts
// only on the event that closed the case.
func (s *Service) creditChargeback(ctx context.Context, tx *sql.Tx, periodID, stripeDisputeID string, disputed money.Amount) error {
	if s.opts.Invoices == nil {
		return nil
	}
	amount, found, err := s.opts.Invoices.ChargebackTx(ctx, tx, invoices.SourceRenewal, periodID, disputed)
	if err != nil || !found || amount.Minor == 0 {
		return err
	}
	period, err := getPeriod(ctx, tx, periodID)
	if err != nil {
		return err
	}
	sub, err := getSubscription(ctx, tx, period.SubscriptionID)
	if err != nil {
		return err
	}
	return s.creditPeriod(ctx, tx, sub, period, invoices.DisputeCreditID(stripeDisputeID, ""), amount)
}
