package invoices_test

import (
	"context"
	"strings"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/config"
	"comptoir/internal/invoices"
	"comptoir/internal/pdftext"
)

// An issued invoice never changes when the store's settings do: a store
// that moves, renames itself, registers for VAT or switches its prices to
// VAT excluded keeps printing its old invoices as they were issued, with
// the seller, buyer and amounts of that day, while its new ones carry the
// new settings.
func TestIssuedInvoicesKeepTheSettingsOfTheirDay(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) {
		c.SellerName, c.SellerAddress, c.SellerVATNumber, c.SellerRegistration = "Atelier Lune SARL", "3 quai des Arts, 75006 Paris", "FR12345678901", "RCS Paris 111 222 333"
	})
	ctx := context.Background()
	p := product(t, h, "posts", 1200)
	u := customer(t, h, "ana@example.fr", "fr", "BE", "consumer", "", 10_000)
	o, err := buy(h, u, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := invoiceOf(t, h, o.ID)

	// The store's settings change: another node (or the same after a
	// restart) runs with the new ones on the same database.
	moved := invoices.New(h.App.DB, h.Clock, nil, invoices.Options{
		Seller:           invoices.Seller{Name: "Lune & Fils SAS", Address: "1 rue Neuve, 69001 Lyon", Country: "FR", VATNumber: "FR99999999999", Registration: "RCS Lyon 999 888 777"},
		PricesIncludeVAT: false,
	})
	after, err := moved.Get(ctx, before.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Seller != before.Seller || after.Number != before.Number || after.Total != before.Total || after.VAT != before.VAT ||
		after.PricesInclVAT != before.PricesInclVAT || after.BuyerAddress != before.BuyerAddress || after.VATReason != before.VATReason {
		t.Fatalf("the invoice read with the new settings changed:\nbefore %+v\nafter  %+v", before, after)
	}
	text := func(s *invoices.Service, inv invoices.Invoice) string {
		b, err := s.PDF(inv, translator(h, inv.Lang))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(strings.Fields(pdftext.Text(t, b)), " ")
	}
	got := text(moved, after)
	for _, want := range []string{"Atelier Lune SARL", "3 quai des Arts, 75006 Paris", "FR12345678901", "RCS Paris 111 222 333", "12,00 €"} {
		if !strings.Contains(got, want) {
			t.Errorf("the old invoice's PDF lacks %q:\n%s", want, got)
		}
	}
	for _, stale := range []string{"Lune & Fils", "Lyon", "FR99999999999"} {
		if strings.Contains(got, stale) {
			t.Errorf("the old invoice's PDF shows the new settings' %q:\n%s", stale, got)
		}
	}
	// The buyer moves too: the invoice keeps the address it was issued to.
	if _, err := h.App.DB.Write.Exec(`UPDATE users SET country = 'DE', city = 'Berlin' WHERE id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	again, err := h.App.Invoices.Get(ctx, before.ID)
	if err != nil || again.BuyerAddress != before.BuyerAddress || again.BuyerCountry != "BE" || again.VATCountry != "BE" {
		t.Fatalf("after the buyer moved: %+v, %v", again, err)
	}
}
