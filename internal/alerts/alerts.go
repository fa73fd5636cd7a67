// Package alerts tells the store's staff, by email in each one's language,
// about what needs a person: a licence-key pool that ran dry, a card refund
// the bank refused. Alerts are queued in the transaction of the event that
// causes them, so they exist exactly when the event does.
package alerts

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"comptoir/internal/account"
	"comptoir/internal/db"
	"comptoir/internal/locale"
	"comptoir/internal/localtime"
	"comptoir/internal/mail"
)

// Mailer queues email in the caller's transaction.
type Mailer interface {
	EnqueueTx(ctx context.Context, tx *sql.Tx, m mail.Message) (string, error)
}

// Alerts sends staff alerts.
type Alerts struct {
	mailer    Mailer
	baseURL   string
	storeName string
	zone      localtime.Zone
	messages  *locale.Catalog
}

// New returns the alerts service. zone and messages write the details
// that an alert localizes (Data.SubjectIn, DetailIn): its times in the
// store's zone, its words in each recipient's language. messages is
// required: every alert is written from it.
func New(mailer Mailer, baseURL, storeName string, zone localtime.Zone, messages *locale.Catalog) *Alerts {
	return &Alerts{mailer: mailer, baseURL: baseURL, storeName: storeName, zone: zone, messages: messages}
}

// Words is what a localized detail is written with, for one recipient.
type Words struct {
	Lang     string // "fr" or "en"
	Zone     localtime.Zone
	Messages *locale.Catalog
}

// Word is the catalog's wording of code under prefix (a dispute's reason,
// a payment's purpose), or code itself where the catalog has none (a code
// Stripe added since).
func (w Words) Word(prefix, code string) string {
	if !w.Messages.Has(w.Lang, prefix+code) {
		return code
	}
	return w.Messages.T(w.Lang, prefix+code)
}

// Say writes message id in the recipient's language with the fields kv
// (key, value…).
func (w Words) Say(id string, kv ...any) string {
	return w.Messages.TPairs(w.Lang, id, kv...)
}

// Order is what an alert about an order is about, as staff recognise it:
// the order's reference (the one its customer quotes) and its customer.
func (w Words) Order(orderID, customer string) string {
	return w.Say("alert.about.order", "Order", orderID, "Customer", customer)
}

// Payment is what an alert about a card payment whose reference means
// nothing to a person is about: what it paid for (a cardpay purpose:
// "renewal", "topup"), its amount as the recipient writes it, and its
// customer.
func (w Words) Payment(purpose, amount, customer string) string {
	return w.Say("alert.about.payment", "What", w.Word("alert.purpose.", purpose), "Amount", amount, "Customer", customer)
}

// CustomerTx is how an alert names the customer userID: the name on their
// account, else its email address; an erased account keeps a placeholder
// name (account.ErasedName). An id that names no account is given as it
// is: an alert is never lost for want of a name.
func CustomerTx(ctx context.Context, q db.Querier, userID string) (string, error) {
	u, err := account.UserTx(ctx, q, userID)
	if errors.Is(err, account.ErrNotFound) {
		return userID, nil
	}
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(u.Name) != "" {
		return u.Name, nil
	}
	return u.Email, nil
}

// Data is what an alert template receives; Subject is the thing concerned
// as a person recognises it (a product's name; an order's or a claim's
// reference and its customer's name, never an id only the database
// knows), Link where to act.
type Data struct {
	StoreName string
	Name      string
	Subject   string
	Detail    string
	Link      string
	// SubjectIn and DetailIn, when set, write Subject and Detail for
	// each recipient, in their language (a product's name, an amount, a
	// bank's reason, a deadline in the store's zone), instead of the one
	// given.
	SubjectIn, DetailIn func(Words) string
}

// NotifyTx emails every user with role the alert of kind (a mail template
// "alert_<kind>"), in tx.
func (a *Alerts) NotifyTx(ctx context.Context, tx *sql.Tx, role, kind string, d Data) error {
	// Read in tx, not from the pool: a transaction that waits for a second
	// connection while holding one deadlocks once as many of them run at
	// once as the pool has connections (eight closing events of one
	// dispute did, on PostgreSQL's pool of 8).
	users, err := account.StaffTx(ctx, tx, role)
	if err != nil {
		return err
	}
	d.StoreName = a.storeName
	if d.Link != "" {
		d.Link = a.baseURL + d.Link
	}
	for _, u := range users {
		d.Name = u.Name
		w := Words{Lang: u.Language, Zone: a.zone, Messages: a.messages}
		if d.SubjectIn != nil {
			d.Subject = d.SubjectIn(w)
		}
		if d.DetailIn != nil {
			d.Detail = d.DetailIn(w)
		}
		subject, text, err := mail.Render(u.Language, "alert_"+kind, d)
		if err != nil {
			return err
		}
		if _, err := a.mailer.EnqueueTx(ctx, tx, mail.Message{
			Kind: "alert_" + kind, To: u.Email, ToName: u.Name, Lang: u.Language, Subject: subject, Text: text, UserID: u.ID,
		}); err != nil {
			return err
		}
	}
	return nil
}
