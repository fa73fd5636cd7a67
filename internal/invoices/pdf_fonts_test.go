package invoices

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-pdf/fpdf"

	"comptoir/internal/localtime"
	"comptoir/internal/money"
)

// Each document decoded fpdf's JSON definitions of Helvetica and
// Helvetica bold again, more than half of drawing a one-page invoice. A
// new document now starts with both already loaded, copied from the ones
// read once per process; it must draw exactly the same bytes as a
// document that loads them itself.
func TestPreloadedFontsDrawTheSameDocument(t *testing.T) {
	fonts, ok := fontMap(newPDF())
	if !ok {
		t.Fatal("fpdf's font table not found: check fontMap against the fpdf version in go.mod")
	}
	if fonts.Len() != 2 {
		t.Fatalf("a new document has %d fonts loaded, want Helvetica and Helvetica bold", fonts.Len())
	}

	zone, err := localtime.Load("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{opts: Options{Zone: zone}}
	eur := func(minor int64) money.Amount { return money.MustNew(minor, "EUR") }
	inv := Invoice{
		ID: "inv_1", Kind: KindInvoice, Number: "F-2026-000042", OrderID: "ord_1", IssuedAt: time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC),
		Zone: "Europe/Paris", Lang: "fr", Net: eur(4000), VAT: eur(800), Total: eur(4800),
		Seller:    Seller{Name: "Éditions Zoé SAS", Address: "12 rue de la Paix, 75002 Paris", Country: "FR", VATNumber: "FR12345678901", Registration: "RCS Paris 123 456 789"},
		BuyerName: "Łukasz Dvořák", BuyerAddress: "3 rue des Lilas\n69001 Lyon", BuyerCountry: "FR", BuyerType: Business, BuyerVATNumber: "FR98765432109",
		VATCountry: "FR", VATReason: "seller",
		Lines: []Line{
			{Position: 1, Description: "Publications soignées", Quantity: 2, Net: eur(2000), RateBP: 2000, VAT: eur(400), Total: eur(2400)},
			{Position: 2, Description: "Publications sur les réseaux sociaux, rédaction et planification mensuelle comprises, avec un rapport détaillé",
				Quantity: 1, Net: eur(2000), RateBP: 2000, VAT: eur(400), Total: eur(2400)},
		},
	}
	label := func(id string, kv ...any) string { return id + fmt.Sprint(kv...) + " €" }
	at := time.Date(2026, 3, 8, 10, 0, 1, 0, time.UTC)
	draw := func(pdf *fpdf.Fpdf) []byte {
		pdf.SetCreationDate(at)
		pdf.SetModificationDate(at)
		b, err := s.drawPDF(pdf, inv, label)
		if err != nil {
			t.Error(err)
		}
		return b
	}
	preloaded, loaded := draw(newPDF()), draw(plainPDF())
	if !bytes.Equal(preloaded, loaded) {
		t.Errorf("the document drawn with the preloaded fonts differs from the one loading them itself:\n%s\n---\n%s", preloaded, loaded)
	}
	if !bytes.Contains(preloaded, []byte("/BaseFont /Helvetica-Bold")) || !bytes.Contains(preloaded, []byte("/BaseFont /Helvetica\n")) {
		t.Errorf("the document lacks its fonts:\n%s", preloaded)
	}
	// Drawing documents, several at once as mail batches do, leaves the
	// definitions they were copied from as they were (go test -race).
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				if again := draw(newPDF()); !bytes.Equal(again, preloaded) {
					t.Errorf("a later document differs from the first")
					return
				}
			}
		})
	}
	wg.Wait()
}

// Regression guard (issue #9): the fonts are copied into a new document
// from entries read out of the table once, not through a map iterator
// that copied each key and value again for every document.
func TestNewPDFCopiesTheFontsWithoutIterating(t *testing.T) {
	plain := testing.AllocsPerRun(20, func() { plainPDF() })
	preloaded := testing.AllocsPerRun(20, func() { newPDF() })
	if extra := preloaded - plain; extra > 3 {
		t.Errorf("newPDF: %v allocations beyond a plain document's %v, want at most 3 (7 through the iterator)", extra, plain)
	}
}
