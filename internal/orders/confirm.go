package orders

import (
	"context"
	"database/sql"
	"net/url"
	"reflect"

	"comptoir/internal/account"
	"comptoir/internal/catalog"
	"comptoir/internal/invoices"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/policy"
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
	// PolicyNumber and TermsNumber are the versions' numbers, which the
	// email names them by as the pages do (policy.VersionNumber).
	PolicyNumber string
	// TermsVersion and TermsLink name the terms of sale accepted; empty
	// when the store records none.
	TermsVersion string
	TermsLink    string
	TermsNumber  string
	// InvoiceLink is the order's invoice, when the store issues them;
	// InvoiceAttached says its PDF travels with the email.
	InvoiceLink     string
	InvoiceAttached bool
}

// confirmation is an order's confirmation as sendConfirmation queues
// it: the template's data, and the message without its subject and text
// (rendered from the data).
func (s *Service) confirmation(buyer account.User, o Order, c Consent, inv invoices.Invoice) (confirmationData, mail.Message) {
	d := confirmationData{
		Name: buyer.Name, StoreName: s.opts.StoreName, Trader: s.opts.Trader.Addressee(s.opts.StoreName), OrderID: o.ID,
		OrderLink: s.opts.BaseURL + "/orders/" + o.ID,
		// In words, as the other mails write their dates.
		PlacedAt: s.opts.Zone.LongTime(o.PlacedAt, o.Lang),
		Total:    money.Format(o.Total, o.Lang), PaidWith: o.PaymentMethod,
		ConsentShown: c.Required || c.ImmediatePerformance || c.WithdrawalWaiver,
		Immediate:    c.ImmediateText, Waiver: c.WaiverText,
		Ticked:          c.ImmediatePerformance && c.WithdrawalWaiver,
		ImmediateTicked: c.ImmediatePerformance, WaiverTicked: c.WithdrawalWaiver,
		PolicyVersion: o.PolicyVersion, PolicyNumber: policy.VersionNumber(o.PolicyVersion),
		PolicyLink: s.opts.BaseURL + "/policy?version=" + url.QueryEscape(o.PolicyVersion) + "&lang=" + o.Lang,
	}
	if c.TermsVersion != "" {
		d.TermsVersion, d.TermsNumber = c.TermsVersion, policy.VersionNumber(c.TermsVersion)
		d.TermsLink = s.opts.BaseURL + "/legal/terms?version=" + url.QueryEscape(c.TermsVersion) + "&lang=" + o.Lang
	}
	d.Lines = make([]confirmationLine, 0, len(o.Lines))
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
	return d, m
}

// PreparingMailer is a Mailer that also validates a message and makes its
// row before the transaction that queues it (mail.Outbox does).
type PreparingMailer interface {
	Prepare(m mail.Message) (mail.Prepared, error)
	EnqueuePreparedTx(ctx context.Context, tx *sql.Tx, p mail.Prepared) (string, error)
	AppendPreparedTx(ctx context.Context, tx *sql.Tx, p mail.Prepared) (string, error)
}

// earlyConfirmation is a checkout's confirmation rendered and prepared
// before its transaction, from what the order will be once written: on
// SQLite the transaction runs on the single writer, which every checkout
// waits for, and rendering and validating the email took a tenth of its
// time there. What only the transaction knows (a licence key, the invoice
// the invoicer actually issued) is checked there: sendConfirmation queues
// the early message only when the confirmation it would draw is the same,
// data and message alike (sameConfirmation), and draws it as before
// otherwise.
type earlyConfirmation struct {
	data     confirmationData
	msg      mail.Message // without Subject and Text
	prepared mail.Prepared
}

// prepareConfirmation draws o's confirmation before its transaction, the
// invoice to be issued under invoiceID (empty: none is). It returns nil
// when it cannot (a mailer that prepares nothing, a line whose licence key
// the transaction will take, a failure, which sendConfirmation then meets
// and reports itself).
func (s *Service) prepareConfirmation(buyer account.User, o Order, c Consent, invoiceID string) *earlyConfirmation {
	pm, ok := s.mailer.(PreparingMailer)
	if !ok {
		return nil
	}
	for _, l := range o.Lines {
		if l.Kind == catalog.KindDigital {
			// A licence key is taken in the transaction; a file is not,
			// but the rare digital line is not worth telling apart.
			return nil
		}
	}
	var inv invoices.Invoice
	if invoiceID != "" {
		if s.opts.Invoices == nil {
			return nil
		}
		inv.ID = invoiceID // pending: no number yet, as IssueTx returns it
	}
	d, m := s.confirmation(buyer, o, c, inv)
	msg := m
	var err error
	if m.Subject, m.Text, err = mail.Render(o.Lang, "order_confirmation", d); err != nil {
		return nil
	}
	p, err := pm.Prepare(m)
	if err != nil {
		return nil
	}
	return &earlyConfirmation{data: d, msg: msg, prepared: p}
}

// sendConfirmation queues the order's confirmation in tx: early's, drawn
// before the transaction, when it is the one the order now gets, else one
// drawn now. It returns the message's id. appended: its rows are
// appended (Mailer.AppendTx), for a checkout that reads nothing of it back.
func (s *Service) sendConfirmation(ctx context.Context, tx *sql.Tx, buyer account.User, o Order, c Consent, inv invoices.Invoice, early *earlyConfirmation, appended bool) (string, error) {
	d, m := s.confirmation(buyer, o, c, inv)
	if early != nil && sameConfirmation(early.data, d, early.msg, m) {
		if pm, ok := s.mailer.(PreparingMailer); ok {
			if appended {
				return pm.AppendPreparedTx(ctx, tx, early.prepared)
			}
			return pm.EnqueuePreparedTx(ctx, tx, early.prepared)
		}
	}
	var err error
	if m.Subject, m.Text, err = mail.Render(o.Lang, "order_confirmation", d); err != nil {
		return "", err
	}
	if appended {
		return s.mailer.AppendTx(ctx, tx, m)
	}
	return s.mailer.EnqueueTx(ctx, tx, m)
}

// sameConfirmation says two confirmations render and queue the same:
// their data and their messages equal, every field of them (compared by
// reflection, so that a field added later is compared too).
func sameConfirmation(a, b confirmationData, am, bm mail.Message) bool {
	return reflect.DeepEqual(a, b) && reflect.DeepEqual(am, bm)
}
