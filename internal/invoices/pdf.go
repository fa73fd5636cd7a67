package invoices

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/go-pdf/fpdf"

	"comptoir/internal/locale"
	"comptoir/internal/localtime"
	"comptoir/internal/money"
)

// Translate gives the label of a message id in the document's language
// (the web layer passes its message catalog), so the PDF and the HTML page
// say the same words.
type Translate func(id string, kv ...any) string

// Mentions are the legal sentences a document carries besides its lines:
// the VAT treatment, and the invoice a credit note corrects. The HTML page
// and the PDF both print exactly these.
func Mentions(inv Invoice, t Translate) []string {
	var out []string
	if inv.Kind == KindCreditNote {
		out = append(out, t("invoice.refers_to", "Number", inv.RefersToNumber))
	}
	switch {
	case inv.ReverseCharge:
		out = append(out, t("invoice.mention.reverse_charge"))
	case strings.HasPrefix(inv.VATReason, ReasonOutsideEU):
		out = append(out, t("invoice.mention.outside_eu"))
	case inv.VATReason == ReasonVoucher:
		out = append(out, t("invoice.mention.voucher"))
	case inv.VATCountry != "":
		// The country in words and why its rate applies (the reason's
		// words are the order page's), not its code.
		reason, _, _ := strings.Cut(inv.VATReason, ";") // less ";card_country_differs", evidence only
		out = append(out, t("invoice.mention.vat_country", "Country", locale.CountryName(inv.VATCountry, inv.Lang),
			"Reason", t("order.vat_reason."+reason)))
	}
	if inv.Kind == KindInvoice {
		out = append(out, t("invoice.mention.paid"))
		if inv.BuyerType == Business {
			// Between businesses, French law (art. L441-9 and L441-10 of
			// the Code de commerce) wants the late-payment terms on every
			// invoice, paid or not.
			out = append(out, t("invoice.mention.late_payment"))
		}
	}
	return out
}

// LineText is a line's description and quantity as the page and the PDF
// print them. A credit note's line credits an amount, which its quantity
// (always 1) did not say: a partial refund of ten hours read "Qty 1" of
// the product. A line credited whole keeps the invoiced quantity; a part
// says, in words, how much of the invoiced line it refunds, and has no
// quantity ("—").
func LineText(inv Invoice, l Line, t Translate) (description, quantity string) {
	n, ok := LineQuantity(inv, l)
	switch {
	case ok:
		return l.Description, strconv.Itoa(n)
	case l.InvoicedTotal.Minor > 0:
		return t("invoice.credit_part", "Description", l.Description, "Amount", money.Format(l.Total, inv.Lang),
			"Of", money.Format(l.InvoicedTotal, inv.Lang)), "—"
	default:
		return l.Description, "—"
	}
}

// LineQuantity is the quantity a document's line says, the same on its
// page, in its PDF (LineText) and in the accounting export: an invoice's
// line, what was sold; a credit note's line, the invoiced quantity when
// it credits the whole line. A credit note's line that credits a part
// (or whose invoiced line is unknown) gives back an amount, not units:
// it has no quantity (ok false), where the stored 1 read as one unit.
func LineQuantity(inv Invoice, l Line) (n int, ok bool) {
	if inv.Kind != KindCreditNote {
		return l.Quantity, true
	}
	if l.InvoicedQuantity > 0 && l.InvoicedTotal.Minor > 0 && l.Total.Minor == l.InvoicedTotal.Minor {
		return l.InvoicedQuantity, true
	}
	return 0, false
}

// Title is the document's heading: invoice or credit note.
func Title(inv Invoice, t Translate) string {
	if inv.Kind == KindCreditNote {
		return t("invoice.credit_title")
	}
	return t("invoice.title")
}

// SourceRef names what the document is for under its number: the order,
// or the subscription ("Order sub_…" named a subscription an order);
// empty for neither (a top-up).
func SourceRef(inv Invoice, t Translate) string {
	switch {
	case inv.OfSubscription():
		return t("invoice.subscription_ref", "ID", inv.OrderID)
	case inv.OrderID != "":
		return t("invoice.order_ref", "ID", inv.OrderID)
	}
	return ""
}

// PDF renders the document as a one-page (or more) A4 PDF in its
// language. Core fonts speak cp1252, which holds French accents and the
// euro sign; the narrow no-break space French uses in numbers is not in
// it, so it becomes a plain no-break space, and Greek or Cyrillic names are
// written in Latin letters (see CP1252).
func (s *Service) PDF(inv Invoice, t Translate) ([]byte, error) {
	return s.drawPDF(newPDF(), inv, t)
}

// drawPDF draws the document on pdf, a new document (newPDF).
func (s *Service) drawPDF(pdf *fpdf.Fpdf, inv Invoice, t Translate) ([]byte, error) {
	pdf.SetTitle(inv.Number, true)
	pdf.SetCreator("comptoir", true)
	// Uncompressed: a one-page invoice stays a few kilobytes, and a zlib
	// writer costs more to set up than the rest of the document.
	pdf.SetCompression(false)
	enc := func(s string) string { return CP1252(strings.ReplaceAll(s, "\u202F", "\u00A0")) }
	m := func(a money.Amount) string { return enc(money.Format(a, inv.Lang)) }
	pdf.SetMargins(15, 15, 15)
	pdf.AddPage()

	pdf.SetFont("Helvetica", "B", 18)
	pdf.CellFormat(0, 10, enc(Title(inv, t)+" "+inv.Number), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.CellFormat(0, 6, enc(t("invoice.issued_on", "Date", s.IssuedOn(inv))), "", 1, "L", false, 0, "")
	if ref := SourceRef(inv, t); ref != "" {
		pdf.CellFormat(0, 6, enc(ref), "", 1, "L", false, 0, "")
	}
	pdf.Ln(4)

	// Seller and buyer side by side.
	y := pdf.GetY()
	seller := append([]string{inv.Seller.Name}, inv.SellerLines()...)
	if inv.Seller.VATNumber != "" {
		seller = append(seller, t("invoice.vat_number", "Number", inv.Seller.VATNumber))
	}
	if inv.Seller.Registration != "" {
		seller = append(seller, inv.Seller.Registration)
	}
	buyer := append([]string{inv.BuyerName}, inv.BuyerLines()...)
	if inv.BuyerVATNumber != "" {
		buyer = append(buyer, t("invoice.vat_number", "Number", inv.BuyerVATNumber))
	}
	block := func(x float64, head string, lines []string) {
		pdf.SetXY(x, y)
		pdf.SetFont("Helvetica", "B", 10)
		pdf.CellFormat(85, 6, enc(head), "", 2, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 10)
		for _, l := range lines {
			if strings.TrimSpace(l) != "" {
				pdf.MultiCell(85, 5, enc(l), "", "L", false)
				pdf.SetX(x)
			}
		}
	}
	block(15, t("invoice.seller"), seller)
	yEnd := pdf.GetY()
	block(110, t("invoice.buyer"), buyer)
	pdf.SetY(max(yEnd, pdf.GetY()) + 6)

	// Lines.
	widths := []float64{70, 14, 28, 20, 24, 24}
	heads := []string{t("invoice.description"), t("invoice.quantity"), t("invoice.net"), t("invoice.rate"), t("invoice.vat"), t("invoice.total")}
	pdf.SetFont("Helvetica", "B", 9)
	for i, h := range heads {
		pdf.CellFormat(widths[i], 7, enc(h), "1", 0, "C", false, 0, "")
	}
	pdf.Ln(-1)
	pdf.SetFont("Helvetica", "", 9)
	_, pageHeight := pdf.GetPageSize()
	for _, l := range inv.Lines {
		// The description wraps inside its column and the row is as tall
		// as it needs: drawn on one line, a long one ran over the amounts.
		description, quantity := LineText(inv, l, t)
		desc := pdf.SplitLines([]byte(enc(description)), widths[0])
		rowHeight := 7.0
		if len(desc) > 1 {
			rowHeight = float64(len(desc))*5 + 2
		}
		if pdf.GetY()+rowHeight > pageHeight-20 {
			pdf.AddPage()
		}
		x, y := pdf.GetXY()
		pdf.Rect(x, y, widths[0], rowHeight, "D")
		for i, dl := range desc {
			pdf.SetXY(x, y+(rowHeight-float64(len(desc))*5)/2+float64(i)*5)
			pdf.CellFormat(widths[0], 5, string(dl), "", 0, "L", false, 0, "")
		}
		pdf.SetXY(x+widths[0], y)
		cells := []string{enc(quantity), m(l.Net), enc(RatePercent(l.RateBP, inv.Lang)), m(l.VAT), m(l.Total)}
		for i, c := range cells {
			pdf.CellFormat(widths[i+1], rowHeight, c, "1", 0, "R", false, 0, "")
		}
		pdf.SetXY(x, y+rowHeight)
	}
	pdf.Ln(3)
	for _, row := range [][2]string{{t("invoice.total_net"), m(inv.Net)}, {t("invoice.total_vat"), m(inv.VAT)}, {t("invoice.total_gross"), m(inv.Total)}} {
		pdf.SetFont("Helvetica", "B", 10)
		pdf.CellFormat(130, 7, enc(row[0]), "", 0, "R", false, 0, "")
		pdf.CellFormat(50, 7, row[1], "", 1, "R", false, 0, "")
	}
	pdf.Ln(4)
	pdf.SetFont("Helvetica", "", 9)
	for _, s := range Mentions(inv, t) {
		pdf.MultiCell(0, 5, enc(s), "", "L", false)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("invoices: pdf: %w", err)
	}
	return buf.Bytes(), nil
}

// newPDF starts an A4 document in millimetres with the core fonts the
// documents use already loaded. fpdf loads a core font into each document
// the first time it is selected, by decoding its JSON definition and
// hashing it again: for a one-page invoice that was more than half of the
// drawing (two fonts, ~130 µs). Those definitions are read once per
// process (coreFonts) and copied into each new document, as the document's
// own first SetFont would have added them.
func newPDF() *fpdf.Fpdf {
	pdf := plainPDF()
	if proto := coreFonts(); proto != nil {
		if fonts, ok := fontMap(pdf); ok {
			for _, e := range proto {
				fonts.SetMapIndex(e.key, e.value)
			}
		}
	}
	return pdf
}

// fontEntry is an entry of fpdf's font table, its key and its value each
// read out of the map once (a map iterator copies both, for every new
// document).
type fontEntry struct{ key, value reflect.Value }

// plainPDF is a new document as fpdf makes it, its fonts not loaded.
func plainPDF() *fpdf.Fpdf {
	pdf := fpdf.New("P", "mm", "A4", "")
	// Objects in a fixed order (fpdf walks its font map otherwise): the
	// same document gives the same bytes, save its creation date.
	pdf.SetCatalogSort(true)
	return pdf
}

// coreFonts are the entries of the font table of a document that selected
// Helvetica and Helvetica bold, read once, never written after: each
// document gets a copy of them (the definitions' width tables are shared,
// and fpdf only reads those of core fonts). It is nil, and each document
// loads its fonts itself, when fpdf's table is not where this version
// keeps it.
var coreFonts = sync.OnceValue(func() []fontEntry {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.SetFont("Helvetica", "B", 10)
	fonts, ok := fontMap(pdf)
	if pdf.Err() || !ok || fonts.Len() != 2 {
		return nil
	}
	var entries []fontEntry
	for it := fonts.MapRange(); it.Next(); {
		entries = append(entries, fontEntry{it.Key(), it.Value()})
	}
	return entries
})

// fontMap is the document's table of loaded fonts (fpdf's unexported
// Fpdf.fonts, map[string]fontDefType), writable. fpdf has no way to give a
// document fonts already parsed; the version is pinned in go.mod, and
// TestPreloadedFontsDrawTheSameDocument checks that this still finds the
// table and that the documents are the same as without it.
func fontMap(pdf *fpdf.Fpdf) (reflect.Value, bool) {
	f := reflect.ValueOf(pdf).Elem().FieldByName("fonts")
	if !f.IsValid() || f.Kind() != reflect.Map || f.Type().Key().Kind() != reflect.String ||
		f.Type().Elem().Kind() != reflect.Struct || f.IsNil() {
		return reflect.Value{}, false
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem(), true
}

// RatePercent writes a rate for people: "20 %" / "5,5 %" in French,
// "20%" / "5.5%" in English.
func RatePercent(bp int, lang string) string {
	s := RateBP(bp)
	if lang == "fr" {
		return strings.ReplaceAll(s, ".", ",") + "\u00A0%"
	}
	return s + "%"
}

// IssuedOn is the document's date as its language writes it (01/12/2026
// in French, 2026-12-01 in English): the seller's local date in the zone
// it was issued in, which is not UTC's for a document issued late in the
// evening, and stays what it was when the store's zone changes.
func (s *Service) IssuedOn(inv Invoice) string { return s.DateIn(inv, inv.Lang) }

// DateIn is the document's date (as IssuedOn) as lang writes it: a list
// of documents shows each in the reader's language, dated as the
// document itself is.
func (s *Service) DateIn(inv Invoice, lang string) string {
	return s.zoneOf(inv).Date(inv.IssuedAt, lang)
}

// issuedZones holds the zones documents were issued in, loaded once by
// name: a store has one or two in its whole history.
var issuedZones sync.Map // IANA name → localtime.Zone

// zoneOf is the zone a document is dated in: the one it was issued in, or,
// for a document issued before that was kept (Zone empty), the store's.
// The name was loaded by this program when the document was issued, and
// the zone database is built into it (time/tzdata, imported by
// internal/policy), so loading it again fails only on a name no store
// could have been configured with; the store's zone is then as good a
// guess as any.
func (s *Service) zoneOf(inv Invoice) localtime.Zone {
	if inv.Zone == "" {
		return s.opts.Zone
	}
	if z, ok := issuedZones.Load(inv.Zone); ok {
		return z.(localtime.Zone)
	}
	z, err := localtime.Load(inv.Zone)
	if err != nil {
		return s.opts.Zone
	}
	issuedZones.Store(inv.Zone, z)
	return z
}
