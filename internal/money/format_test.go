package money

import (
	"math"
	"testing"
)

const (
	sp  = "\u202f" // thousands separator in French
	nbs = "\u00a0" // before the currency sign in French, after a code in English
)

func TestFormat(t *testing.T) {
	tests := []struct {
		name   string
		a      Amount
		fr, en string
	}{
		{"brief example", eur(123450), "1" + sp + "234,50" + nbs + "€", "€1,234.50"},
		{"zero", eur(0), "0,00" + nbs + "€", "€0.00"},
		{"one cent", eur(1), "0,01" + nbs + "€", "€0.01"},
		{"ten cents", eur(10), "0,10" + nbs + "€", "€0.10"},
		{"one euro", eur(100), "1,00" + nbs + "€", "€1.00"},
		{"three digits, no group", eur(99999), "999,99" + nbs + "€", "€999.99"},
		{"four digits grouped", eur(100000), "1" + sp + "000,00" + nbs + "€", "€1,000.00"},
		{"millions", eur(123456789), "1" + sp + "234" + sp + "567,89" + nbs + "€", "€1,234,567.89"},
		{"exact million", eur(100000000), "1" + sp + "000" + sp + "000,00" + nbs + "€", "€1,000,000.00"},
		{"negative", eur(-123450), "-1" + sp + "234,50" + nbs + "€", "-€1,234.50"},
		{"negative cent", eur(-1), "-0,01" + nbs + "€", "-€0.01"},
		{"max int64", eur(math.MaxInt64),
			"92" + sp + "233" + sp + "720" + sp + "368" + sp + "547" + sp + "758,07" + nbs + "€",
			"€92,233,720,368,547,758.07"},
		{"min int64", eur(math.MinInt64),
			"-92" + sp + "233" + sp + "720" + sp + "368" + sp + "547" + sp + "758,08" + nbs + "€",
			"-€92,233,720,368,547,758.08"},
		{"USD", MustNew(1200, "USD"), "12,00" + nbs + "$US", "$12.00"},
		{"GBP", MustNew(123450, "GBP"), "1" + sp + "234,50" + nbs + "£", "£1,234.50"},
		{"CHF shows its code", MustNew(123450, "CHF"), "1" + sp + "234,50" + nbs + "CHF", "CHF" + nbs + "1,234.50"},
		{"negative CHF", MustNew(-5, "CHF"), "-0,05" + nbs + "CHF", "-CHF" + nbs + "0.05"},
		{"JPY has no decimals", MustNew(1234, "JPY"), "1" + sp + "234" + nbs + "JPY", "JPY" + nbs + "1,234"},
		{"JPY zero", MustNew(0, "JPY"), "0" + nbs + "JPY", "JPY" + nbs + "0"},
		{"JPY negative", MustNew(-1234567, "JPY"), "-1" + sp + "234" + sp + "567" + nbs + "JPY", "-JPY" + nbs + "1,234,567"},
		{"KWD three decimals", MustNew(1234567, "KWD"), "1" + sp + "234,567" + nbs + "KWD", "KWD" + nbs + "1,234.567"},
		{"unknown code, two decimals", MustNew(1050, "XYZ"), "10,50" + nbs + "XYZ", "XYZ" + nbs + "10.50"},
		{"zero Amount never fails", Amount{}, "0,00", "0.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format(tt.a, "fr"); got != tt.fr {
				t.Errorf("Format(%#v, fr) = %q, want %q", tt.a, got, tt.fr)
			}
			if got := Format(tt.a, "en"); got != tt.en {
				t.Errorf("Format(%#v, en) = %q, want %q", tt.a, got, tt.en)
			}
		})
	}
}

func TestFormatLanguages(t *testing.T) {
	a := eur(123450)
	fr, en := "1"+sp+"234,50"+nbs+"€", "€1,234.50"
	tests := []struct {
		lang, want string
	}{
		{"fr", fr}, {"FR", fr}, {"fr-FR", fr}, {"fr-CA", fr}, {"fr_BE", fr},
		{"en", en}, {"en-GB", en}, {"de", en}, {"", en}, {"f", en},
		{"fro", en}, // Old French is another language: falls back
		{"frr", en},
	}
	for _, tt := range tests {
		if got := Format(a, tt.lang); got != tt.want {
			t.Errorf("Format(%v, %q) = %q, want %q", a, tt.lang, got, tt.want)
		}
	}
}

func TestFormatPlain(t *testing.T) {
	tests := []struct {
		a    Amount
		want string
	}{
		{eur(0), "0.00"},
		{eur(5), "0.05"},
		{eur(50), "0.50"},
		{eur(123450), "1234.50"},
		{eur(-123450), "-1234.50"},
		{eur(math.MinInt64), "-92233720368547758.08"},
		{MustNew(1234, "JPY"), "1234"},
		{MustNew(0, "JPY"), "0"},
		{MustNew(5, "KWD"), "0.005"},
		{MustNew(5, "CLF"), "0.0005"},
	}
	for _, tt := range tests {
		if got := FormatPlain(tt.a); got != tt.want {
			t.Errorf("FormatPlain(%#v) = %q, want %q", tt.a, got, tt.want)
		}
	}
}
