package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/id"
)

// insertInvoices files n numbered invoices for the customer, one a day
// from the harness's start, F-2026-000001 the oldest.
func insertInvoices(t *testing.T, h *apptest.Harness, customerID string, n int) []string {
	t.Helper()
	ctx := context.Background()
	var numbers []string
	for i := range n {
		number := fmt.Sprintf("F-2026-%06d", i+1)
		_, err := h.App.DB.Write.ExecContext(ctx, `INSERT INTO invoices (id, kind, series, year, seq, number, source_type, source_id, order_id,
			customer_id, refers_to, issued_at, lang, currency, net, vat, total, seller_name, seller_address, seller_country, seller_vat_number,
			seller_registration, buyer_name, buyer_address, buyer_country, buyer_type, buyer_vat_number, prices_include_vat, billing_country,
			card_country, vat_country, vat_reason, reverse_charge, zone)
			VALUES ($1, 'invoice', 'F', 2026, $2, $3, 'order', $4, $4, $5, NULL, $6, 'fr', 'EUR', 1000, 200, 1200, 'S', 'A', 'FR', '', '',
			'Ana', 'Lyon', 'FR', 'consumer', '', TRUE, 'FR', '', 'FR', 'seller_country', FALSE, 'UTC')`,
			id.New("inv"), i+1, number, id.New("ord"), customerID, h.Clock.Now().Add(time.Duration(i)*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		numbers = append(numbers, number)
	}
	return numbers
}

// "My invoices" stopped at 200 documents, the older ones out of reach
// (the API paged, the page did not). It pages now, with a next-page link
// that works without script: every document once.
func TestInvoiceListPagesToEveryDocument(t *testing.T) {
	h := apptest.Start(t)
	cus, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	mine := insertInvoices(t, h, cus.ID, 203)
	next := regexp.MustCompile(`<a href="(\?after=[^"]*)" rel="next">`)
	seen := map[string]int{}
	path := "/invoices"
	for pages := 0; path != ""; pages++ {
		if pages > 10 {
			t.Fatal("the next links never end")
		}
		r := c.Get(path)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, r.Status)
		}
		for _, n := range regexp.MustCompile(`>(F-2026-\d{6})<`).FindAllStringSubmatch(r.Body, -1) {
			seen[n[1]]++
		}
		path = ""
		if m := next.FindStringSubmatch(r.Body); m != nil {
			path = "/invoices" + html.UnescapeString(m[1])
		}
	}
	var missing []string
	for _, n := range mine {
		if seen[n] != 1 {
			missing = append(missing, fmt.Sprintf("%s×%d", n, seen[n]))
		}
	}
	if len(missing) > 0 || len(seen) != len(mine) {
		t.Fatalf("over the pages, %d documents of %d; not once: %s", len(seen), len(mine), strings.Join(missing, " "))
	}
	if r := c.Get("/invoices?after=garbage"); r.Status != http.StatusBadRequest {
		t.Errorf("a cursor the page never gave: %d", r.Status)
	}
}
