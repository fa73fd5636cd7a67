package orders

import (
	"context"
	"database/sql"
	"net/url"

	"comptoir/internal/account"
	"comptoir/internal/invoices"
	"comptoir/internal/mail"
	"comptoir/internal/money"
)

type confirmationLine struct {
	Name     string
	Quantity int
	Amount   string
	Key      string
}

// confirmationData fills the order_confirmation template: the durable record
// the law asks for (what was bought, the consent given, the refund policy
// version) and the model withdrawal form.
type confirmationData struct {
	Name      string
	StoreName string
	// Trader is the withdrawal form's addressee: the seller's name,
	// address and email.
	Trader       string
	OrderID      string
	OrderLink    string
	PlacedAt     string
	Lines        []confirmationLine
	Total        string
	PaidWith     string
	ConsentShown bool
	Immediate    string
	Waiver       string
	// Ticked: both boxes were; ImmediateTicked and WaiverTicked say which
	// box was, each on its own, as the consent record keeps them.
	Ticked          bool
	ImmediateTicked bool
	WaiverTicked    bool
	PolicyVersion   string
	PolicyLink      string
	// TermsVersion and TermsLink name the terms of sale accepted; empty
	// when the store records none.
	TermsVersion string
	TermsLink    string
	// InvoiceLink is the order's invoice, when the store issues them;
	// InvoiceAttached says its PDF travels with the email.
	InvoiceLink     string
	InvoiceAttached bool
}

// sendConfirmation queues the order's confirmation in tx; appended: with
// Mailer.AppendTx, for a checkout that reads nothing of it back.
func (s *Service) sendConfirmation(ctx context.Context, tx *sql.Tx, buyer account.User, o Order, c Consent, inv invoices.Invoice, appended bool) error {
	d := confirmationData{
		Name: buyer.Name, StoreName: s.opts.StoreName, Trader: s.opts.Trader.Addressee(s.opts.StoreName), OrderID: o.ID,
		OrderLink: s.opts.BaseURL + "/orders/" + o.ID,
		PlacedAt:  s.opts.Zone.Time(o.PlacedAt, o.Lang),
		Total:     money.Format(o.Total, o.Lang), PaidWith: o.PaymentMethod,
		ConsentShown: c.Required || c.ImmediatePerformance || c.WithdrawalWaiver,
		Immediate:    c.ImmediateText, Waiver: c.WaiverText,
		Ticked:          c.ImmediatePerformance && c.WithdrawalWaiver,
		ImmediateTicked: c.ImmediatePerformance, WaiverTicked: c.WithdrawalWaiver,
		PolicyVersion: o.PolicyVersion,
		PolicyLink:    s.opts.BaseURL + "/policy?version=" + url.QueryEscape(o.PolicyVersion) + "&lang=" + o.Lang,
	}
	if c.TermsVersion != "" {
		d.TermsVersion = c.TermsVersion
		d.TermsLink = s.opts.BaseURL + "/legal/terms?version=" + url.QueryEscape(c.TermsVersion) + "&lang=" + o.Lang
	}
	for _, l := range o.Lines {
		d.Lines = append(d.Lines, confirmationLine{Name: l.Name, Quantity: l.Quantity, Amount: money.Format(l.Amount, o.Lang), Key: l.LicenceKey})
	}
	m := mail.Message{Kind: "order_confirmation", To: buyer.Email, ToName: buyer.Name, Lang: o.Lang, UserID: buyer.ID}
	if inv.ID != "" {
		d.InvoiceLink = s.opts.BaseURL + "/invoices/" + inv.ID
		if a, ok := s.opts.Invoices.Attachment(inv); ok {
			m.Attachments = []mail.Attachment{a}
			d.InvoiceAttached = true
		}
	}
	var err error
	if m.Subject, m.Text, err = mail.Render(o.Lang, "order_confirmation", d); err != nil {
		return err
	}
	if appended {
		_, err = s.mailer.AppendTx(ctx, tx, m)
	} else {
		_, err = s.mailer.EnqueueTx(ctx, tx, m)
	}
	return err
}
