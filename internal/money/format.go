package money

import (
	"strconv"
	"strings"
)

// Typographic spaces used by the French format.
const (
	// nnbsp (U+202F NARROW NO-BREAK SPACE) separates thousands in French,
	// as CLDR and the Imprimerie nationale want: narrow, and a number is
	// never broken across two lines.
	nnbsp = "\u202f"
	// nbsp (U+00A0 NO-BREAK SPACE) sits between a number and its currency
	// sign, so "€" never starts a line on its own.
	nbsp = "\u00a0"
)

// symbol returns how currency is written next to a number in lang ("fr" or
// "en"), and whether it is a symbol that English writes before the number
// without a space (€12, $12, £12). Other currencies, CHF included (whose
// sign is its code), show the three-letter code, which is what a reader of
// either language recognizes best.
//
// USD is "$US" in French (as CLDR writes it: "12,00 $US"), because for a
// French reader a bare "$" could be Canadian or any other dollar; in
// English it is "$".
func symbol(currency, lang string) (sym string, prefix bool) {
	switch currency {
	case "EUR":
		return "€", true
	case "GBP":
		return "£", true
	case "USD":
		if lang == "fr" {
			return "$US", false
		}
		return "$", true
	}
	return currency, false
}

// baseLang reduces a language tag to the two formats we have: "fr" for
// French (fr, fr-FR, fr_CA, FR…), "en" for everything else, since English is
// the store's fallback language.
func baseLang(lang string) string {
	if len(lang) >= 2 && strings.EqualFold(lang[:2], "fr") && (len(lang) == 2 || lang[2] == '-' || lang[2] == '_') {
		return "fr"
	}
	return "en"
}

// Format renders a for a person reading lang, with the currency's number
// of decimals:
//
//	fr: "1 234,50 €"   (U+202F between thousands, U+00A0 before the sign)
//	en: "€1,234.50"
//	fr: "1 234,50 CHF", "1 234 JPY", "12,00 $US"
//	en: "CHF 1,234.50" (U+00A0 after a code), "JPY 1,234", "$12.00"
//
// A negative amount gets a leading ASCII hyphen-minus: "-1 234,50 €",
// "-€1,234.50". (U+2212 MINUS SIGN would be finer typography, but the
// hyphen survives copying into a spreadsheet or a plain-text email.)
// Any lang other than French gets English. A malformed currency code is
// shown as given; Format never fails, because it runs on render paths.
func Format(a Amount, lang string) string {
	lang = baseLang(lang)
	neg, digits := splitDigits(a)
	exp := Exponent(a.Currency)
	intPart, frac := digits[:len(digits)-exp], digits[len(digits)-exp:]

	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	sym, prefix := symbol(a.Currency, lang)
	if lang == "fr" {
		group(&b, intPart, nnbsp)
		if exp > 0 {
			b.WriteByte(',')
			b.WriteString(frac)
		}
		if sym != "" {
			b.WriteString(nbsp)
			b.WriteString(sym)
		}
		return b.String()
	}
	if sym != "" {
		b.WriteString(sym)
		if !prefix {
			b.WriteString(nbsp)
		}
	}
	group(&b, intPart, ",")
	if exp > 0 {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// FormatPlain renders a as a bare decimal number with a dot and the
// currency's number of decimals, no grouping and no sign of the currency:
// "1234.50", "-0.05", "1234" for JPY. It is for form fields (Parse reads
// it back exactly for non-negative amounts), CSV exports and logs.
func FormatPlain(a Amount) string {
	neg, digits := splitDigits(a)
	exp := Exponent(a.Currency)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteString(digits[:len(digits)-exp])
	if exp > 0 {
		b.WriteByte('.')
		b.WriteString(digits[len(digits)-exp:])
	}
	return b.String()
}

// splitDigits returns the sign of a and the decimal digits of |a.Minor|,
// left-padded with zeros so that there is at least one digit before the
// currency's decimals (5 cents → "005" → "0.05").
func splitDigits(a Amount) (neg bool, digits string) {
	// |MinInt64| does not fit in an int64; it does in a uint64, and
	// negating in uint64 is exact for every int64.
	u := uint64(a.Minor)
	if a.Minor < 0 {
		neg = true
		u = -u
	}
	digits = strconv.FormatUint(u, 10)
	if width := Exponent(a.Currency) + 1; len(digits) < width {
		digits = strings.Repeat("0", width-len(digits)) + digits
	}
	return neg, digits
}

// group writes the integer digits with sep between groups of three.
func group(b *strings.Builder, digits, sep string) {
	first := len(digits) % 3
	if first == 0 {
		first = 3
	}
	b.WriteString(digits[:first])
	for i := first; i < len(digits); i += 3 {
		b.WriteString(sep)
		b.WriteString(digits[i : i+3])
	}
}
