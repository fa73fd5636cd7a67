package invoices_test

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
	"comptoir/internal/invoices"
	"comptoir/internal/localtime"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/pdftext"
)

// An invoice issued at 23:30 UTC on 30 November is, for a seller in Paris
// (--zone Europe/Paris), issued at 00:30 on 1 December: its pages and PDF
// are dated 1 December, and the accounting export of November leaves it
// out while December's takes it. One issued at 23:30 UTC on 31 December
// is numbered in the new year's series, like its date.
func TestInvoiceDatesAreTheSellersLocalDates(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.Zone = "Europe/Paris" })
	ctx := context.Background()
	h.Clock.Set(time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC))
	p := product(t, h, "posts", 1200)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	if _, err := h.App.Ledger.AdminCredit(ctx, adminActor, u.ID, money.MustNew(10_000, "EUR"), "test"); err != nil {
		t.Fatal(err)
	}
	en := customer(t, h, "bob@example.test", "en", "FR", "consumer", "", 10_000)
	o, err := buy(h, u, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	oEN, err := buy(h, en, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	inv, invEN := invoiceOf(t, h, o.ID), invoiceOf(t, h, oEN.ID)
	if !inv.IssuedAt.Equal(time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)) || inv.IssuedAt.Location() != time.UTC {
		t.Fatalf("stored issue time %v, want 2026-11-30T23:30Z", inv.IssuedAt)
	}
	if got := pdfText(t, inv, h); !strings.Contains(got, "01/12/2026") || strings.Contains(got, "30/11/2026") {
		t.Fatalf("French PDF not dated 01/12/2026:\n%s", got)
	}
	if got := pdfText(t, invEN, h); !strings.Contains(got, "2026-12-01") || strings.Contains(got, "2026-11-30") {
		t.Fatalf("English PDF not dated 2026-12-01:\n%s", got)
	}
	if r := c.Get("/invoices/" + inv.ID); r.Status != http.StatusOK || !strings.Contains(r.Body, "01/12/2026") || strings.Contains(r.Body, "30/11/2026") {
		t.Fatalf("invoice page not dated 01/12/2026: %d\n%s", r.Status, r.Body)
	}
	// The order confirmation says when the order was placed, in Paris.
	sent, err := h.App.Outbox.List(ctx, mail.Filter{UserID: u.ID, Kind: "order_confirmation"})
	if err != nil || len(sent) != 1 {
		t.Fatalf("%d confirmations, %v", len(sent), err)
	}
	if full, err := h.App.Outbox.Get(ctx, sent[0].ID); err != nil || !strings.Contains(full.Text, "1er décembre 2026 à 00:30 CET") {
		t.Fatalf("confirmation without the Paris time (%v):\n%s", err, full.Text)
	}

	// The accounting export: from and to are Paris dates.
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	for _, tc := range []struct {
		from, to string
		want     bool
	}{
		{"2026-11-01", "2026-11-30", false},
		{"2026-12-01", "2026-12-31", true},
		{"2026-12-01", "2026-12-01", true},
	} {
		r := admin.Get("/admin/invoices.csv?from=" + tc.from + "&to=" + tc.to)
		if r.Status != http.StatusOK {
			t.Fatalf("export %s..%s: %d", tc.from, tc.to, r.Status)
		}
		if got := strings.Contains(r.Body, inv.Number); got != tc.want {
			t.Errorf("export %s..%s has the invoice of 1 December 00:30 Paris: %v, want %v\n%s", tc.from, tc.to, got, tc.want, r.Body)
		}
	}

	// New Year's Eve at 23:30 UTC is New Year's Day in Paris: the number
	// is in the 2027 series, as the date is.
	h.Clock.Set(time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC))
	o2, err := buy(h, u, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	inv2 := invoiceOf(t, h, o2.ID)
	if !strings.HasPrefix(inv2.Number, "F-2027-") || h.App.Invoices.IssuedOn(inv2) != "01/01/2027" {
		t.Fatalf("invoice of 1 January 00:30 Paris: %s dated %s", inv2.Number, h.App.Invoices.IssuedOn(inv2))
	}
}

// A document keeps the zone it was issued in: once the store switches
// from Paris to UTC, the invoice and the credit note issued at 23:30 UTC
// on 31 December (1 January 00:30 in Paris, numbered in 2027) still say
// 01/01/2027, on their pages and PDFs, and the accounting export still
// counts them in January; the documents issued since are dated in UTC.
func TestIssuedDocumentsKeepTheZoneOfTheirDay(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.Zone = "Europe/Paris" })
	ctx := context.Background()
	h.Clock.Set(time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC))
	p := product(t, h, "posts", 1200)
	u := customer(t, h, "ana@example.fr", "fr", "FR", "consumer", "", 10_000)
	o, err := buy(h, u, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		return h.App.Orders.RefundLineTx(ctx, tx, o.ID, o.Lines[0].ID, money.MustNew(600, "EUR"), adminActor)
	}); err != nil {
		t.Fatal(err)
	}
	docs, err := h.App.Invoices.ForOrder(ctx, o.ID)
	if err != nil || len(docs) != 2 {
		t.Fatalf("%d documents, %v", len(docs), err)
	}
	if docs[0].Number != "F-2027-000001" || docs[1].Number != "A-2027-000001" || docs[0].Zone != "Europe/Paris" || docs[1].Zone != "Europe/Paris" {
		t.Fatalf("documents of 1 January 00:30 in Paris: %s (%s), %s (%s)", docs[0].Number, docs[0].Zone, docs[1].Number, docs[1].Zone)
	}

	// The store now keeps UTC: another node, or the same after a restart,
	// on the same database.
	utc := invoices.New(h.App.DB, h.Clock, nil, invoices.Options{Seller: h.App.Invoices.Seller(), PricesIncludeVAT: true, Zone: localtime.UTC})
	for _, d := range docs {
		doc, err := utc.Get(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := utc.IssuedOn(doc); got != "01/01/2027" {
			t.Errorf("%s read in UTC is dated %s, want 01/01/2027", doc.Number, got)
		}
		b, err := utc.PDF(doc, translator(h, doc.Lang))
		if err != nil {
			t.Fatal(err)
		}
		if got := pdftext.Text(t, b); !strings.Contains(got, "01/01/2027") || strings.Contains(got, "31/12/2026") {
			t.Errorf("%s's PDF drawn in UTC is not dated 01/01/2027:\n%s", doc.Number, got)
		}
	}
	export := func(from, to string) string {
		t.Helper()
		first, _ := time.Parse(time.DateOnly, from)
		last, _ := time.Parse(time.DateOnly, to)
		period, err := utc.Period(ctx, first, last)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := invoices.WriteCSV(&b, period); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if got := export("2027-01-01", "2027-01-31"); !strings.Contains(got, "F-2027-000001") || !strings.Contains(got, "A-2027-000001") ||
		!strings.Contains(got, "2026-12-31T23:30:00Z") {
		t.Errorf("January's export lacks the documents of 1 January in Paris:\n%s", got)
	}
	if got := export("2026-12-01", "2026-12-31"); strings.Contains(got, "F-2027-000001") || strings.Contains(got, "A-2027-000001") {
		t.Errorf("December's export counts the documents of 1 January in Paris:\n%s", got)
	}

	// A document issued now, in UTC, is dated and numbered there.
	var topUp invoices.Invoice
	if err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		topUp, err = utc.IssueTx(ctx, tx, invoices.IssueInput{Source: invoices.SourceTopUp, SourceID: "top_zone", Lang: "fr",
			Buyer: invoices.Buyer{ID: u.ID, Name: u.Name, Country: "FR", Type: "consumer"},
			Lines: []invoices.LineInput{{Description: "Crédit", Quantity: 1, Amount: money.MustNew(1000, "EUR")}}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if topUp, err = utc.Get(ctx, topUp.ID); err != nil {
		t.Fatal(err)
	}
	if topUp.Zone != "UTC" || topUp.Year != 2026 || utc.IssuedOn(topUp) != "31/12/2026" || h.App.Invoices.IssuedOn(topUp) != "31/12/2026" {
		t.Errorf("a document issued in UTC: zone %q, year %d, dated %s", topUp.Zone, topUp.Year, utc.IssuedOn(topUp))
	}
}
