package invoices_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/invoices"
	"comptoir/internal/mail"
	"comptoir/internal/money"
)

// The credit note's email was written in the invoice's language, which is
// the one the customer bought in: a customer who switched language since
// read it in the old one. The email speaks the customer's language now, as
// every email to a customer does; the credit note itself stays in its
// invoice's language (it corrects that document), and the email says so.
func TestCreditNoteEmailSpeaksTheCustomersLanguageNow(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	p := product(t, h, "posts", 1200)
	for _, tc := range []struct {
		bought, now    string
		subject, total string
		says           string
	}{
		{"fr", "en", "Your credit note A-", "€6.00", "The credit note is in French, the language of the invoice it corrects."},
		{"en", "fr", "Votre avoir A-", "6,00", "L’avoir est rédigé en anglais, la langue de la facture qu’il corrige."},
		{"fr", "fr", "Votre avoir A-", "6,00", ""},
	} {
		u := customer(t, h, tc.bought+"-"+tc.now+"@example.test", tc.bought, "FR", "consumer", "", 10_000)
		o, err := buy(h, u, p, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.App.Accounts.SetLanguage(ctx, u.ID, tc.now); err != nil {
			t.Fatal(err)
		}
		if err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			return h.App.Orders.RefundLineTx(ctx, tx, o.ID, o.Lines[0].ID, money.MustNew(600, "EUR"), adminActor)
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.App.Invoices.NumberPending(ctx); err != nil {
			t.Fatal(err)
		}
		docs, err := h.App.Invoices.ForOrder(ctx, o.ID)
		if err != nil || len(docs) != 2 || docs[1].Kind != invoices.KindCreditNote || docs[1].Number == "" {
			t.Fatalf("%s→%s: documents %+v %v", tc.bought, tc.now, docs, err)
		}
		if cn := docs[1]; cn.Lang != tc.bought {
			t.Errorf("%s→%s: the credit note is in %s, not its invoice's language", tc.bought, tc.now, cn.Lang)
		}
		sent, err := h.App.Outbox.List(ctx, mail.Filter{UserID: u.ID, Kind: "invoice_issued"})
		if err != nil || len(sent) != 1 {
			t.Fatalf("%s→%s: %d credit note emails, %v", tc.bought, tc.now, len(sent), err)
		}
		m, err := h.App.Outbox.Get(ctx, sent[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Lang != tc.now || !strings.HasPrefix(m.Subject, tc.subject) || !strings.Contains(m.Text, tc.total) {
			t.Errorf("%s→%s: email in %q, %q:\n%s", tc.bought, tc.now, m.Lang, m.Subject, m.Text)
		}
		if tc.says != "" && !strings.Contains(m.Text, tc.says) {
			t.Errorf("%s→%s: the email does not say the document's language (%q):\n%s", tc.bought, tc.now, tc.says, m.Text)
		}
		if tc.says == "" && (strings.Contains(m.Text, "rédigé") || strings.Contains(m.Text, "language")) {
			t.Errorf("%s→%s: the email names a language when both agree:\n%s", tc.bought, tc.now, m.Text)
		}
	}
}
