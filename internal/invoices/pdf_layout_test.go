package invoices_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/money"
	"comptoir/internal/pdftext"
)

// A description longer than its column was drawn in one line across the
// next columns, over the quantity, the net amount and the rate: the PDF of
// a product with a long name (or of a subscription period, "Formule — 8
// mars 2026 à 10:00 UTC → 8 avril 2026 à 10:00 UTC") had its words on top
// of the amounts. The description now wraps inside its column, and the
// row is as tall as it needs.
func TestPDFKeepsALongDescriptionInItsColumn(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	name := "Publications sur les réseaux sociaux, rédaction et planification mensuelle comprises, avec un rapport détaillé"
	p, err := h.App.Catalog.Create(ctx, adminActor, catalog.ProductInput{
		Slug: "long", Kind: catalog.KindService, NameFR: name, NameEN: "Posts",
		DescriptionFR: "Des publications.", DescriptionEN: "Some posts.", UnitPrice: money.MustNew(1200, "EUR"),
		MinQuantity: 1, MaxQuantity: 1000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	u := customer(t, h, "ana@example.fr", "fr", "FR", "consumer", "", 10_000)
	o, err := buy(h, u, p, 2)
	if err != nil {
		t.Fatal(err)
	}
	inv := invoiceOf(t, h, o.ID)
	b, err := h.App.Invoices.PDF(inv, translator(h, inv.Lang))
	if err != nil {
		t.Fatal(err)
	}
	words := pdftext.Words(t, b)
	// The quantity column starts where its heading's cell does: the
	// heading "Qté" is centred in it, so the column starts left of it.
	var qty pdftext.Word
	for _, w := range words {
		if w.Text == "Qté" {
			qty = w
		}
	}
	if qty.Text == "" {
		t.Fatalf("no quantity heading in %+v", words)
	}
	nameWords := map[string]bool{}
	for _, w := range strings.Fields(name) {
		nameWords[w] = true
	}
	seen, rowBottom := 0, 0.0
	for _, w := range words {
		if w.YMin <= qty.YMax || !nameWords[w.Text] {
			continue // the headings and the seller's and buyer's blocks are above
		}
		seen++
		if w.XMax >= qty.XMin {
			t.Errorf("the description's word %q ends at %.1f pt, in the quantity column (from %.1f pt)", w.Text, w.XMax, qty.XMin)
		}
		rowBottom = max(rowBottom, w.YMax)
	}
	if seen != len(strings.Fields(name)) {
		t.Errorf("%d of the description's %d words found below the headings", seen, len(strings.Fields(name)))
	}
	// The totals come below the whole description.
	for _, w := range words {
		if w.Text == "Total" && w.YMin < rowBottom {
			t.Errorf("a total at %.1f pt, above the end of the description (%.1f pt)", w.YMin, rowBottom)
		}
	}
	if text := pdftext.Text(t, b); !strings.Contains(text, "24,00 €") || !strings.Contains(text, "Total TTC 24,00 €") {
		t.Errorf("the PDF lacks its amounts:\n%s", text)
	}
}
