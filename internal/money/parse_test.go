package money

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		cur     string
		want    int64
		wantErr error
	}{
		// Accepted.
		{"12", "EUR", 1200, nil},
		{"12.5", "EUR", 1250, nil},
		{"12,5", "EUR", 1250, nil},
		{"12,50", "EUR", 1250, nil},
		{"12.05", "EUR", 1205, nil},
		{"0", "EUR", 0, nil},
		{"0,00", "EUR", 0, nil},
		{"000012", "EUR", 1200, nil},
		{".5", "EUR", 50, nil},
		{",05", "EUR", 5, nil},
		{"1 234,50", "EUR", 123450, nil},
		{"1\u202f234,50", "EUR", 123450, nil}, // from our own French format
		{"1\u00a0234,50", "EUR", 123450, nil}, // no-break space
		{"1\u2009234.50", "EUR", 123450, nil}, // thin space
		{"  12 \t", "EUR", 1200, nil},         // surrounding spaces
		{"1 2 3", "EUR", 12300, nil},          // spaces anywhere are ignored
		{"12 , 5", "EUR", 1250, nil},          // even around the separator
		{"1234", "JPY", 1234, nil},            // no minor unit
		{"1 234", "JPY", 1234, nil},           // grouped
		{"1.234", "KWD", 1234, nil},           // three decimals
		{"1.2", "KWD", 1200, nil},             // padded
		{"92233720368547758.07", "EUR", math.MaxInt64, nil},
		{"9223372036854775807", "JPY", math.MaxInt64, nil},
		{"12", "XYZ", 1200, nil}, // unknown currency: exponent 2

		// Refused.
		{"", "EUR", 0, ErrEmpty},
		{"   ", "EUR", 0, ErrEmpty},
		{"\u00a0\u202f", "EUR", 0, ErrEmpty},
		{".", "EUR", 0, ErrSyntax},
		{",", "EUR", 0, ErrSyntax},
		{"12.", "EUR", 0, ErrSyntax},
		{"12,", "EUR", 0, ErrSyntax},
		{"12.505", "EUR", 0, ErrTooManyDecimals},
		{"1,234", "EUR", 0, ErrTooManyDecimals}, // not read as 1234 nor 1.23
		{"1,234.50", "EUR", 0, ErrSyntax},       // two separators
		{"1.234,50", "EUR", 0, ErrSyntax},
		{"1..5", "EUR", 0, ErrSyntax},
		{"12.5", "JPY", 0, ErrTooManyDecimals},
		{"12.", "JPY", 0, ErrTooManyDecimals},
		{"1.2345", "KWD", 0, ErrTooManyDecimals},
		{"-12", "EUR", 0, ErrSyntax},
		{"+12", "EUR", 0, ErrSyntax},
		{"12€", "EUR", 0, ErrSyntax},
		{"€12", "EUR", 0, ErrSyntax},
		{"12 EUR", "EUR", 0, ErrSyntax},
		{"12a", "EUR", 0, ErrSyntax},
		{"1e3", "EUR", 0, ErrSyntax},
		{"0x10", "EUR", 0, ErrSyntax},
		{"１２", "EUR", 0, ErrSyntax}, // full-width digits
		{"١٢", "EUR", 0, ErrSyntax}, // Arabic-Indic digits
		{"12'000", "EUR", 0, ErrSyntax},
		{"1_000", "EUR", 0, ErrSyntax},
		{"\xff", "EUR", 0, ErrSyntax}, // invalid UTF-8
		{"12\n", "EUR", 0, ErrSyntax},
		{"92233720368547758.08", "EUR", 0, ErrOverflow},
		{"92233720368547759", "EUR", 0, ErrOverflow},
		{"9223372036854775808", "JPY", 0, ErrOverflow},
		{"99999999999999999999999999", "EUR", 0, ErrOverflow},
		{"99999999999999999999a", "EUR", 0, ErrSyntax},             // malformed beats too large
		{"99999999999999999999.505", "EUR", 0, ErrTooManyDecimals}, // so do too many decimals
		{"12", "eur", 0, ErrInvalidCurrency},
		{"12", "", 0, ErrInvalidCurrency},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in, tt.cur)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("Parse(%q, %s) error = %v, want %v", tt.in, tt.cur, err, tt.wantErr)
			continue
		}
		if err != nil {
			if got != (Amount{}) {
				t.Errorf("Parse(%q, %s) returned %v with an error", tt.in, tt.cur, got)
			}
			continue
		}
		if want := (Amount{Minor: tt.want, Currency: tt.cur}); got != want {
			t.Errorf("Parse(%q, %s) = %#v, want %#v", tt.in, tt.cur, got, want)
		}
	}
}

// The error messages are what a handler logs or shows; they must say what
// is wrong and not echo a long input back.
func TestParseErrorMessages(t *testing.T) {
	tests := []struct {
		in, cur, contains string
	}{
		{"12a", "EUR", `'a'`},
		{"1,234.50", "EUR", "more than one decimal separator"},
		{"12.505", "EUR", "EUR has at most 2 decimals"},
		{"12.5", "JPY", "JPY has no decimals"},
		{"-1", "EUR", "no sign"},
		{"12.", "EUR", "followed by digits"},
		{"", "EUR", "empty"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in, tt.cur)
		if err == nil || !strings.Contains(err.Error(), tt.contains) {
			t.Errorf("Parse(%q, %s) error = %v, want it to mention %q", tt.in, tt.cur, err, tt.contains)
		}
	}
	long := strings.Repeat("x", 10000)
	if _, err := Parse(long, "EUR"); err == nil || len(err.Error()) > 200 {
		t.Errorf("error for a long input is %d bytes long", len(err.Error()))
	}
}

// Round trips with the formats this package writes.
func TestParseReadsOwnFormats(t *testing.T) {
	amounts := []Amount{
		eur(0), eur(1), eur(99), eur(123450), eur(100000000), eur(math.MaxInt64),
		MustNew(1234567, "JPY"), MustNew(1234567, "KWD"), MustNew(1200, "USD"), MustNew(5, "CHF"),
	}
	for _, a := range amounts {
		if got, err := Parse(FormatPlain(a), a.Currency); err != nil || got != a {
			t.Errorf("Parse(FormatPlain(%v)) = %v, %v", a, got, err)
		}
		fr := frenchNumber(a)
		if got, err := Parse(fr, a.Currency); err != nil || got != a {
			t.Errorf("Parse(%q) (French format of %v) = %v, %v", fr, a, got, err)
		}
	}
}

// frenchNumber is Format(a, "fr") without the currency sign: what a person
// copies from a French page into a form.
func frenchNumber(a Amount) string {
	s := Format(a, "fr")
	if i := strings.LastIndex(s, nbs); i >= 0 {
		s = s[:i]
	}
	return s
}
