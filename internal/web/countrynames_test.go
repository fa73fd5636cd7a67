package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/testwait"
)

// The admin's VAT page and the console's tax evidence under an order's
// invoice showed country codes ("DE", "VAT country: FR"), and the rate form
// took a code typed by hand. They name countries in the page's language,
// the code beside the name where a VAT filing needs it, and the form
// offers the member states by name (a plain select: no script needed).
func TestVATPagesNameCountriesInThePagesLanguage(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	if err := h.App.Invoices.AddRate(ctx, "DE", "2026-01-01", 1900, ""); err != nil {
		t.Fatal(err)
	}
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 10000)
	c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
	r := c.PostForm("/checkout", checkoutForm(t, c.Get("/cart")))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("checkout: %d", r.Status)
	}
	orderID := strings.TrimPrefix(r.Location, "/orders/")
	testwait.Until(t, "the order's invoice", func() bool {
		docs, err := h.App.Invoices.ForOrder(ctx, orderID)
		return err == nil && len(docs) == 1
	})
	for _, tc := range []struct{ lang, de, fr, vat, choose string }{
		{"fr", "Allemagne (DE)", "France (FR)", "Pays de TVA\u00a0: France (FR) — ", "Choisissez un État membre de l’UE dans la liste."},
		{"en", "Germany (DE)", "France (FR)", "VAT country: France (FR) — ", "Choose an EU member state from the list."},
	} {
		admin.PostForm("/lang", url.Values{"lang": {tc.lang}})
		page := admin.Get("/admin/vat")
		mustContain(t, page, "<td>"+tc.de+"</td>", "<td>"+tc.fr+"</td>", `<select id="vat-country" name="country" required>`,
			`<option value="DE">`+tc.de+`</option>`)
		if strings.Contains(page.Body, "<td>DE</td>") || strings.Contains(page.Body, "(FR).") {
			t.Errorf("%s VAT page shows country codes alone", tc.lang)
		}
		// A code that is no member state: refused in words, nothing added.
		r := admin.PostForm("/admin/vat", url.Values{"country": {"CH"}, "rate": {"8.1"}, "from": {"2027-01-01"}})
		mustContain(t, r, `id="country-error">`+tc.choose)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: a rate for CH: %d", tc.lang, r.Status)
		}
		mustContain(t, admin.Get("/console/orders/"+orderID), tc.vat)
	}
	rates, err := h.App.Invoices.Rates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range rates {
		if rt.Country == "CH" {
			t.Fatal("a rate was added for a non-member")
		}
	}
}
