package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/invoices"
	"comptoir/internal/pdftext"
)

// A customer gives a street and postcode at sign-up and corrects them on
// the account page (a missing city is refused, and what they typed stays
// in the form). Each invoice carries the address the account had when it
// was issued, street on its own line, on the page and in the PDF.
func TestBillingAddressReachesTheInvoice(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	c := h.NewClient(t)
	r := c.PostForm("/signup", url.Values{"name": {"Inès Martin"}, "email": {"ines@example.fr"}, "password": {apptest.Password},
		"password_confirm": {apptest.Password}, "customer_type": {"consumer"}, "country": {"FR"}, "street": {"3 rue de la Paix"},
		"postcode": {"35000"}, "city": {"Rennes"}, "language": {"fr"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
	u, err := h.App.Accounts.UserByEmail(ctx, "ines@example.fr")
	if err != nil || u.Street != "3 rue de la Paix" || u.Postcode != "35000" {
		t.Fatalf("signed up as %+v (%v)", u, err)
	}
	credit(t, h, u, 10000)
	p := newService(t, h, "address-posts", 25)
	auth := h.Bearer(t, u.ID)
	invoiceOf := func() invoices.Invoice {
		t.Helper()
		r := postJSON(c, "/api/v1/orders", `{"lines":[{"product_id":"`+p.ID+`","quantity":10}],"payment":"balance",`+
			`"consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`, auth)
		if r.Status != http.StatusCreated {
			t.Fatalf("order: %d %s", r.Status, r.Body)
		}
		var o struct{ ID string }
		if err := json.Unmarshal([]byte(r.Body), &o); err != nil {
			t.Fatal(err)
		}
		docs, err := h.App.Invoices.ForOrder(ctx, o.ID)
		if err != nil || len(docs) != 1 {
			t.Fatalf("invoices of %s: %+v %v", o.ID, docs, err)
		}
		return docs[0]
	}
	first := invoiceOf()
	if first.BuyerAddress != "3 rue de la Paix\n35000 Rennes, FR" {
		t.Fatalf("first invoice's address %q", first.BuyerAddress)
	}

	r = c.PostForm("/account/address", url.Values{"street": {"12 quai Voltaire"}, "postcode": {"75007"}, "city": {" "}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `value="12 quai Voltaire"`) || !strings.Contains(r.Body, `id="city-error"`) {
		t.Fatalf("address without a city: %d\n%s", r.Status, r.Body)
	}
	if again, _ := h.App.Accounts.UserByID(ctx, u.ID); again != u {
		t.Fatalf("a refused address changed the account: %+v", again)
	}
	r = c.PostForm("/account/address", url.Values{"street": {"12 quai Voltaire"}, "postcode": {"75007"}, "city": {"Paris"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("address: %d %s", r.Status, r.Body)
	}
	if page := c.Get("/account"); !strings.Contains(page.Body, "12 quai Voltaire<br>75007 Paris, France") {
		t.Fatalf("the account page does not show the new address:\n%s", page.Body)
	}

	second := invoiceOf()
	if second.BuyerAddress != "12 quai Voltaire\n75007 Paris, FR" {
		t.Fatalf("second invoice's address %q", second.BuyerAddress)
	}
	if page := c.Get("/invoices/" + second.ID); !strings.Contains(page.Body, "Inès Martin<br>12 quai Voltaire<br>75007 Paris, France") {
		t.Fatalf("the invoice page does not show the address line by line:\n%s", page.Body)
	}
	pdf := c.Get("/invoices/" + second.ID + ".pdf")
	if text := pdftext.Text(t, []byte(pdf.Body)); !strings.Contains(text, "12 quai Voltaire") || !strings.Contains(text, "75007 Paris, France") {
		t.Fatalf("the PDF lacks the address:\n%s", text)
	}
	if kept, _ := h.App.Invoices.ForOrder(ctx, first.OrderID); kept[0].BuyerAddress != first.BuyerAddress {
		t.Fatalf("the first invoice's address changed to %q", kept[0].BuyerAddress)
	}
}

// The account page ended the customer's address with their country's
// code ("10115 Berlin, DE"), where the invoices name it; it names it in
// the customer's language.
func TestAccountPageNamesTheCountry(t *testing.T) {
	h := apptest.Start(t)
	for _, tc := range []struct{ lang, email, want string }{
		{"fr", "jonas@example.de", "10115 Berlin, Allemagne</dd>"},
		{"en", "lena@example.de", "10115 Berlin, Germany</dd>"},
	} {
		c := h.NewClient(t)
		r := c.PostForm("/signup", url.Values{"name": {"Jonas Weber"}, "email": {tc.email}, "password": {apptest.Password},
			"password_confirm": {apptest.Password}, "customer_type": {"consumer"}, "country": {"DE"}, "street": {"Invalidenstraße 1"},
			"postcode": {"10115"}, "city": {"Berlin"}, "language": {tc.lang}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("%s sign-up: %d %s", tc.lang, r.Status, r.Body)
		}
		if page := c.Get("/account"); !strings.Contains(page.Body, tc.want) {
			t.Errorf("%s: the account page does not end the address with %q:\n%s", tc.lang, tc.want, page.Body)
		}
	}
}
