package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
	"comptoir/internal/id"
	"comptoir/internal/invoices"
	"comptoir/internal/orders"
	"comptoir/internal/pdftext"
)

// An invoice is dated in the store's zone of its day. Issued at 23:30 UTC
// on 31 December by a store in Paris, it is F-2027-000001 of 1 January;
// when the store then runs with --zone UTC (a restart, another node), its
// page and PDF still say 01/01/2027 and January's accounting export still
// holds it, where they said 31/12/2026 and December's did.
func TestInvoicePagesKeepTheZoneOfTheirDay(t *testing.T) {
	paris := apptest.StartWith(t, func(c *config.Config) { c.Zone = "Europe/Paris" })
	ctx := context.Background()
	paris.Clock.Set(time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC))
	p := newService(t, paris, "posts", 25)
	u, _ := paris.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, paris, u, 10_000)
	o, err := paris.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 10}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := paris.App.Invoices.ForOrder(ctx, o.ID)
	if err != nil || len(docs) != 1 || docs[0].Number != "F-2027-000001" {
		t.Fatalf("documents %+v, %v", docs, err)
	}
	inv := docs[0]

	utc := apptest.StartWith(t, func(c *config.Config) { c.Zone, c.DatabaseURL = "UTC", paris.App.Config.DatabaseURL })
	_, admin := utc.User(t, account.RoleAdmin, "admin@shop.test")
	page := admin.Get("/invoices/" + inv.ID)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "01/01/2027") || strings.Contains(page.Body, "31/12/2026") {
		t.Errorf("the invoice page in UTC is not dated 01/01/2027: %d\n%s", page.Status, page.Body)
	}
	pdf := admin.Get("/invoices/" + inv.ID + ".pdf")
	if pdf.Status != http.StatusOK {
		t.Fatalf("PDF: %d", pdf.Status)
	}
	if text := pdftext.Text(t, []byte(pdf.Body)); !strings.Contains(text, "01/01/2027") || strings.Contains(text, "31/12/2026") {
		t.Errorf("the PDF in UTC is not dated 01/01/2027:\n%s", text)
	}
	for _, tc := range []struct {
		from, to string
		want     bool
	}{{"2027-01-01", "2027-01-31", true}, {"2026-12-01", "2026-12-31", false}} {
		r := admin.Get("/admin/invoices.csv?from=" + tc.from + "&to=" + tc.to)
		if r.Status != http.StatusOK {
			t.Fatalf("export %s..%s: %d", tc.from, tc.to, r.Status)
		}
		if got := strings.Contains(r.Body, inv.Number); got != tc.want {
			t.Errorf("the export of %s..%s in UTC holds %s: %v, want %v\n%s", tc.from, tc.to, inv.Number, got, tc.want, r.Body)
		}
	}
}

// issueOnNewYearsEve starts a store in Paris, has a customer (French, or
// English with lang "en") buy at 23:30 UTC on 31 December, which is
// 1 January in Paris, and returns the store and the invoice.
func issueOnNewYearsEve(t *testing.T, lang string) (*apptest.Harness, account.User, invoices.Invoice) {
	t.Helper()
	paris := apptest.StartWith(t, func(c *config.Config) { c.Zone = "Europe/Paris" })
	ctx := context.Background()
	paris.Clock.Set(time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC))
	p := newService(t, paris, "posts", 25)
	u, _ := paris.User(t, account.RoleCustomer, "ana@example.fr")
	if lang != "fr" {
		if _, err := paris.App.DB.Write.ExecContext(ctx, `UPDATE users SET language = $1 WHERE id = $2`, lang, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	credit(t, paris, u, 10_000)
	o, err := paris.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 10}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := paris.App.Invoices.ForOrder(ctx, o.ID)
	if err != nil || len(docs) != 1 {
		t.Fatalf("documents %+v, %v", docs, err)
	}
	return paris, u, docs[0]
}

// restartIn starts the store again on the same database in zone, and
// signs the customer in.
func restartIn(t *testing.T, from *apptest.Harness, zone, email string) (*apptest.Harness, *apptest.Client) {
	t.Helper()
	h := apptest.StartWith(t, func(c *config.Config) { c.Zone, c.DatabaseURL = zone, from.App.Config.DatabaseURL })
	c := h.NewClient(t)
	if r := c.PostForm("/signin", url.Values{"email": {email}, "password": {apptest.Password}}); r.Status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", r.Status)
	}
	return h, c
}

// The customer's list of invoices dated each in the store's zone of the
// moment, where the invoice's own page and PDF date it in the zone it was
// issued in: after a switch to UTC, F-2027-000001 was listed on
// 31/12/2026 and opened on 01/01/2027. The list now dates it as its page,
// in the reader's language.
func TestInvoiceListDatesEachDocumentInItsOwnZone(t *testing.T) {
	for _, tc := range []struct{ lang, want, wrong string }{{"fr", "01/01/2027", "31/12/2026"}, {"en", "2027-01-01", "2026-12-31"}} {
		t.Run(tc.lang, func(t *testing.T) {
			paris, u, inv := issueOnNewYearsEve(t, tc.lang)
			_, c := restartIn(t, paris, "UTC", u.Email)
			list := c.Get("/invoices")
			mustContain(t, list, inv.Number, tc.want)
			if strings.Contains(list.Body, tc.wrong) {
				t.Errorf("the list in UTC dates %s %s:\n%s", inv.Number, tc.wrong, list.Body)
			}
		})
	}
}

// Documents issued before their zone was kept (0038) had none, and were
// dated in the zone of each start: a store that moved to UTC reprinted
// them a day earlier, in another year. The first start fills them with the
// zone in force then (Paris here), for good.
func TestStartDatesOlderInvoicesForGood(t *testing.T) {
	paris, u, issued := issueOnNewYearsEve(t, "fr")
	ctx := context.Background()
	// A document as 0038 left the older ones: the same, with no zone.
	older := id.New("inv")
	const columns = `kind, series, year, order_id, customer_id, refers_to, issued_at, lang, currency, net, vat, total,
		seller_name, seller_address, seller_country, seller_vat_number, seller_registration, buyer_name, buyer_address, buyer_country,
		buyer_type, buyer_vat_number, prices_include_vat, billing_country, card_country, vat_country, vat_reason, reverse_charge`
	if _, err := paris.App.DB.Write.ExecContext(ctx, `INSERT INTO invoices (id, seq, number, source_type, source_id, zone, `+columns+`)
		SELECT $1, 2, 'F-2027-000002', source_type, $2, '', `+columns+` FROM invoices WHERE id = $3`, older, id.New("ord"), issued.ID); err != nil {
		t.Fatal(err)
	}
	restartIn(t, paris, "Europe/Paris", u.Email) // the first start since: it fills the zone
	_, c := restartIn(t, paris, "UTC", u.Email)
	page := c.Get("/invoices/" + older)
	mustContain(t, page, "F-2027-000002", "01/01/2027")
	if strings.Contains(page.Body, "31/12/2026") {
		t.Errorf("an older invoice, after a start in Paris, is dated 31/12/2026 in UTC:\n%s", page.Body)
	}
}
