package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
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
