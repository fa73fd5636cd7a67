package invoices

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"comptoir/internal/money"
)

// TotalKey groups the export's totals: what the quarterly one-stop-shop
// return asks for, per country of consumption and rate.
type TotalKey struct {
	Country  string // the VAT country; "" for reverse charge and outside the EU
	Reason   string // ReasonBuyerCountry, ReasonReverseCharge…
	RateBP   int
	Currency string
}

// Total is the sums of one group, credit notes subtracted.
type Total struct {
	TotalKey
	Net, VAT, Gross int64
}

// Totals sums the lines of the documents per (country, reason, rate),
// credit notes counting negative.
func Totals(docs []Invoice) []Total {
	sums := map[TotalKey]*Total{}
	for _, inv := range docs {
		sign := int64(1)
		if inv.Kind == KindCreditNote {
			sign = -1
		}
		reason := baseReason(inv.VATReason)
		for _, l := range inv.Lines {
			k := TotalKey{Country: inv.VATCountry, Reason: reason, RateBP: l.RateBP, Currency: inv.Total.Currency}
			t := sums[k]
			if t == nil {
				t = &Total{TotalKey: k}
				sums[k] = t
			}
			t.Net += sign * l.Net.Minor
			t.VAT += sign * l.VAT.Minor
			t.Gross += sign * l.Total.Minor
		}
	}
	out := make([]Total, 0, len(sums))
	for _, t := range sums {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Country != b.Country {
			return a.Country < b.Country
		}
		if a.Reason != b.Reason {
			return a.Reason < b.Reason
		}
		if a.RateBP != b.RateBP {
			return a.RateBP < b.RateBP
		}
		return a.Currency < b.Currency
	})
	return out
}

// baseReason drops the evidence notes appended to a reason
// ("buyer_country;card_country_differs" → "buyer_country").
func baseReason(r string) string {
	for i := 0; i < len(r); i++ {
		if r[i] == ';' {
			return r[:i]
		}
	}
	return r
}

// textCell makes a cell of text someone else typed (a buyer's name, a
// product's name) safe to open in a spreadsheet: one starting with = + -
// @, a tab or a carriage return would be read as a formula there
// (=HYPERLINK(…) sends the accountant's click anywhere), so it gets a
// leading apostrophe, which spreadsheets show as text. Amounts are written
// as they are: a credit note's "-6.00" is a number, not text.
func textCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteCSV writes the accounting export: one row per document line
// (credit notes negative), then one row per total. Amounts are plain
// decimals with a point ("12.50"), rates in percent. A line's quantity is
// the one its document prints (LineQuantity): a credit note's line that
// credits a part of an invoiced line has none, an empty cell.
func WriteCSV(w io.Writer, docs []Invoice) error {
	cw := csv.NewWriter(w)
	amt := func(minor int64, cur string) string {
		return money.FormatPlain(money.Amount{Minor: minor, Currency: cur})
	}
	if err := cw.Write([]string{"row", "number", "kind", "issued_at", "refers_to", "order_id", "customer_id", "buyer_name", "buyer_country",
		"buyer_vat_number", "vat_country", "vat_reason", "reverse_charge", "line", "description", "quantity", "rate_percent",
		"net", "vat", "total", "currency"}); err != nil {
		return err
	}
	for _, inv := range docs {
		sign := int64(1)
		if inv.Kind == KindCreditNote {
			sign = -1
		}
		cur := inv.Total.Currency
		for _, l := range inv.Lines {
			// As the document prints it (LineQuantity): a credit note's
			// line credited whole, the quantity invoiced; a part, none (an
			// empty cell, the PDF's "—"), where every credit note's line
			// said 1.
			qty := ""
			if n, ok := LineQuantity(inv, l); ok {
				qty = strconv.Itoa(n)
			}
			if err := cw.Write([]string{"line", inv.Number, inv.Kind, inv.IssuedAt.Format("2006-01-02T15:04:05Z"), inv.RefersToNumber, inv.OrderID,
				inv.CustomerID, textCell(inv.BuyerName), textCell(inv.BuyerCountry), textCell(inv.BuyerVATNumber), inv.VATCountry, inv.VATReason,
				strconv.FormatBool(inv.ReverseCharge), strconv.Itoa(l.Position), textCell(l.Description), qty, RateBP(l.RateBP),
				amt(sign*l.Net.Minor, cur), amt(sign*l.VAT.Minor, cur), amt(sign*l.Total.Minor, cur), cur}); err != nil {
				return err
			}
		}
	}
	for _, t := range Totals(docs) {
		if err := cw.Write([]string{"total", "", "", "", "", "", "", "", "", "", t.Country, t.Reason, strconv.FormatBool(t.Reason == ReasonReverseCharge),
			"", "", "", RateBP(t.RateBP), amt(t.Net, t.Currency), amt(t.VAT, t.Currency), amt(t.Gross, t.Currency), t.Currency}); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("invoices: csv: %w", err)
	}
	return nil
}
