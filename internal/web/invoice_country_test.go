package web_test

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
	"comptoir/internal/orders"
	"comptoir/internal/pdftext"
)

// The invoice's seller block printed the country's code ("FR") under an
// address that ends "France", and its VAT line gave a code ("TVA facturée
// au taux en vigueur : FR"). The country is named once, in words, in the
// invoice's language, and the VAT line says in words which country's rate
// applies and why; the buyer's country, which their address gave as its
// code, is named too. On the page and in the PDF, French and English.
func TestInvoiceNamesCountriesInWords(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) {
		c.SellerName, c.SellerAddress, c.SellerCountry = "Atelier Lune SARL", "3 quai des Arts\n75006 Paris, France", "FR"
	})
	ctx := context.Background()
	p := newService(t, h, "posts", 25)
	for _, tc := range []struct{ lang, vat string }{
		{"fr", "TVA facturée au taux en vigueur dans le pays d’imposition\u00a0: France (pays du vendeur)."},
		{"en", "VAT charged at the rate in force in the country of taxation: France (the seller’s country)."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			u, c := h.User(t, account.RoleCustomer, "ana-"+tc.lang+"@example.fr")
			credit(t, h, u, 10_000)
			o, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 10}},
				Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: tc.lang}, nil)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := h.App.Invoices.ForOrder(ctx, o.ID)
			if err != nil || len(docs) != 1 {
				t.Fatalf("%d documents, %v", len(docs), err)
			}
			r := c.Get("/invoices/" + docs[0].ID)
			if r.Status != http.StatusOK {
				t.Fatalf("invoice page: %d", r.Status)
			}
			i := strings.Index(r.Body, "Atelier Lune SARL")
			seller := r.Body[i : i+strings.Index(r.Body[i:], "</p>")]
			if seller != "Atelier Lune SARL<br>3 quai des Arts<br>75006 Paris, France" {
				t.Fatalf("the seller block is %q, want its country named once", seller)
			}
			mustContain(t, r, html.EscapeString(tc.vat), "Lyon, France")
			if strings.Contains(r.Body, ": FR") || strings.Contains(r.Body, ", FR<") {
				t.Fatalf("the page still names a country by its code:\n%s", r.Body)
			}
			text := strings.Join(strings.Fields(pdftext.Text(t, []byte(c.Get("/invoices/"+docs[0].ID+".pdf").Body))), " ")
			// The PDF's text has plain spaces for no-break ones.
			if n := strings.Count(text, "France"); !strings.Contains(text, strings.ReplaceAll(tc.vat, "\u00a0", " ")) || n != 3 {
				// The seller's address, the buyer's, the VAT line.
				t.Fatalf("the PDF names France %d times, or lacks %q:\n%s", n, tc.vat, text)
			}
		})
	}
}
