package orders_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/catalog"
	"comptoir/internal/id"
	"comptoir/internal/invoices"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
)

// attachingInvoicer is an invoicer that only names invoices' PDFs, all a
// confirmation asks of it.
type attachingInvoicer struct{ orders.Invoicer }

func (attachingInvoicer) Attachment(inv invoices.Invoice) (mail.Attachment, bool) {
	return mail.Attachment{Filename: inv.ID + ".pdf", ContentType: "application/pdf", Source: invoices.AttachmentSource + ":" + inv.ID}, true
}

// A checkout's confirmation is drawn before its transaction (Place, paid
// from the balance) from what the order will be; it must be the very
// message the transaction would draw, and when the transaction's order or
// invoice turn out otherwise (a licence key taken, another invoice) the
// message drawn in it goes out instead.
func TestEarlyConfirmationIsTheOneDrawnInTheTransaction(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u, svc, o, c := confirmationCase(t, e)
	invID := id.New("inv")
	keyed := o
	keyed.Lines = []orders.Line{o.Lines[0]}
	keyed.Lines[0].LicenceKey = "KEY-0001"
	for _, tc := range []struct {
		name      string
		planned   string
		actual    orders.Order
		inv       invoices.Invoice
		early     bool
		mustSay   string
		withPDFOf string
	}{
		{"same order and invoice", invID, o, invoices.Invoice{ID: invID}, true, "/invoices/" + invID, invID},
		{"no invoice", "", o, invoices.Invoice{}, true, "Commande " + o.ID, ""},
		{"another invoice", invID, o, invoices.Invoice{ID: "inv_" + strings.Repeat("0", 26)}, false, "/invoices/inv_" + strings.Repeat("0", 26), "inv_" + strings.Repeat("0", 26)},
		{"invoice not issued", invID, o, invoices.Invoice{}, false, "Commande " + o.ID, ""},
		{"licence key taken in the transaction", invID, keyed, invoices.Invoice{ID: invID}, false, "KEY-0001", invID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			earlyID, drawnID, used, err := svc.ConfirmBothWays(ctx, u, o, tc.actual, c, tc.planned, tc.inv)
			if err != nil {
				t.Fatal(err)
			}
			if used != tc.early {
				t.Fatalf("drawn before the transaction used: %v, want %v", used, tc.early)
			}
			got, err := e.outbox.Get(ctx, earlyID)
			if err != nil {
				t.Fatal(err)
			}
			want, err := e.outbox.Get(ctx, drawnID)
			if err != nil {
				t.Fatal(err)
			}
			if earlyID == drawnID {
				t.Fatalf("one message for two: %s", earlyID)
			}
			if got.Subject != want.Subject || got.Text != want.Text {
				t.Errorf("confirmation drawn early:\n%s\n%s\n\nin the transaction:\n%s\n%s", got.Subject, got.Text, want.Subject, want.Text)
			}
			if got.Kind != want.Kind || got.To != want.To || got.ToName != want.ToName || got.Lang != want.Lang || got.UserID != want.UserID ||
				got.From != want.From || got.HTML != want.HTML || got.Status != want.Status || !got.CreatedAt.Equal(want.CreatedAt) {
				t.Errorf("message drawn early %+v, in the transaction %+v", got, want)
			}
			if len(got.Attachments) != len(want.Attachments) {
				t.Fatalf("attachments: early %+v, in the transaction %+v", got.Attachments, want.Attachments)
			}
			for i := range got.Attachments {
				g, w := got.Attachments[i], want.Attachments[i]
				if g.Filename != w.Filename || g.ContentType != w.ContentType || g.Source != w.Source || string(g.Data) != string(w.Data) {
					t.Errorf("attachment %d: early %+v, in the transaction %+v", i, g, w)
				}
			}
			if !strings.Contains(got.Text, tc.mustSay) {
				t.Errorf("confirmation does not say %q:\n%s", tc.mustSay, got.Text)
			}
			if tc.withPDFOf != "" && (len(got.Attachments) != 1 || got.Attachments[0].Source != invoices.AttachmentSource+":"+tc.withPDFOf) {
				t.Errorf("attachments %+v, want the PDF of %s", got.Attachments, tc.withPDFOf)
			}
		})
	}
}

// confirmationCase is a buyer, an orders service whose invoices are
// attached to confirmations, an order of a service paid from the balance
// and its consent, as a checkout confirms them.
func confirmationCase(t testing.TB, e *env) (account.User, *orders.Service, orders.Order, orders.Consent) {
	t.Helper()
	u := e.customer(t, "zoe@example.fr", "FR", account.CustomerConsumer, 0)
	svc := orders.New(e.db, e.clock, e.catalog, e.ledger, e.accounts, e.outbox, orders.Options{
		BaseURL: "http://shop.test", StoreName: "Shop", Invoices: attachingInvoicer{},
		Trader: mail.Trader{Name: "Shop SARL", Address: "3 rue des Lilas, 69001 Lyon", Email: "support@shop.test"},
	})
	now := e.clock.Now()
	o := orders.Order{
		ID: id.New("ord"), CustomerID: u.ID, Status: orders.StatusProcessing, PaymentMethod: orders.PayBalance, PolicyVersion: "default@1",
		Lang: "fr", PlacedAt: now, PaidAt: now, Total: money.MustNew(5000, "EUR"),
		Lines: []orders.Line{{ID: id.New("oln"), Position: 1, Kind: catalog.KindService, Name: "Publications soignées", Quantity: 2,
			UnitPrice: money.MustNew(2500, "EUR"), Amount: money.MustNew(5000, "EUR"), ProcessingUntil: now.Add(72 * time.Hour)}},
	}
	c := orders.Consent{Required: true, ImmediatePerformance: true, WithdrawalWaiver: true, ImmediateText: "Je demande l’exécution immédiate.",
		WaiverText: "Je renonce à mon droit de rétractation.", PolicyVersion: "default@1", TermsVersion: "terms@2", Lang: "fr", At: now}
	return u, svc, o, c
}

// BenchmarkConfirmationInTransaction is what a checkout's confirmation
// costs its transaction (on SQLite, the single writer every checkout
// waits for): queuing the message drawn before it ("early"), or drawing,
// checking and queuing it there ("drawn"). The transaction is rolled
// back, so no commit is counted.
//
//	go test ./internal/orders -run '^$' -bench ConfirmationInTransaction -benchmem
func BenchmarkConfirmationInTransaction(b *testing.B) {
	e := setup(b)
	ctx := context.Background()
	u, svc, o, c := confirmationCase(b, e)
	inv := invoices.Invoice{ID: id.New("inv")}
	for _, early := range []bool{true, false} {
		name := "drawn"
		if early {
			name = "early"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				var ec *orders.EarlyConfirmation
				if early {
					if ec = svc.PrepareConfirmation(u, o, c, inv.ID); ec == nil {
						b.Fatal("no confirmation drawn before the transaction")
					}
				}
				tx, err := e.db.Write.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := svc.ConfirmInTx(ctx, tx, u, o, c, inv, ec); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				tx.Rollback()
				b.StartTimer()
			}
		})
	}
}
