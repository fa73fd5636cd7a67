package money

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzCurrencies covers every exponent in the table and the default.
var fuzzCurrencies = []string{"EUR", "JPY", "KWD", "CLF", "USD", "CHF", "XYZ"}

// parseOracle is the documented grammar of Parse, restated as regular
// expressions (one per exponent) applied after removing spaces.
var parseOracle = map[int]*regexp.Regexp{
	0: regexp.MustCompile(`^[0-9]+$`),
	2: regexp.MustCompile(`^(?:[0-9]+(?:[.,][0-9]{1,2})?|[.,][0-9]{1,2})$`),
	3: regexp.MustCompile(`^(?:[0-9]+(?:[.,][0-9]{1,3})?|[.,][0-9]{1,3})$`),
	4: regexp.MustCompile(`^(?:[0-9]+(?:[.,][0-9]{1,4})?|[.,][0-9]{1,4})$`),
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"12", "12.5", "12,50", "1 234,50", "1\u202f234,50", "1,234.50", ".5", "12.",
		"", " ", "-1", "1e3", "9223372036854775807", "92233720368547758.07",
		"92233720368547758.08", "１２", "\xff", "0000000000000000000000001",
	} {
		for i := range fuzzCurrencies {
			f.Add(s, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, s string, c uint8) {
		cur := fuzzCurrencies[int(c)%len(fuzzCurrencies)]
		exp := Exponent(cur)
		a, err := Parse(s, cur)

		cleaned := strings.Map(func(r rune) rune {
			if isSpace(r) {
				return -1
			}
			return r
		}, s)
		grammatical := utf8.ValidString(s) && parseOracle[exp].MatchString(cleaned)
		// For a well-formed input, the exact value in minor units.
		var want *big.Int
		if grammatical {
			r, ok := new(big.Rat).SetString(strings.ReplaceAll(cleaned, ",", "."))
			if !ok {
				t.Fatalf("big.Rat cannot read %q", cleaned)
			}
			r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
			if !r.IsInt() {
				t.Fatalf("%q × 10^%d is not an integer", cleaned, exp)
			}
			want = r.Num()
		}
		fits := want != nil && want.IsInt64()

		if err != nil {
			if a != (Amount{}) {
				t.Fatalf("Parse(%q, %s) returned %v with error %v", s, cur, a, err)
			}
			known := false
			for _, e := range []error{ErrEmpty, ErrSyntax, ErrTooManyDecimals, ErrOverflow} {
				known = known || errors.Is(err, e)
			}
			if !known {
				t.Fatalf("Parse(%q, %s) error %v wraps no documented sentinel", s, cur, err)
			}
			if len(err.Error()) > 200 {
				t.Fatalf("Parse(%q, %s) error is %d bytes long", s, cur, len(err.Error()))
			}
			if fits {
				t.Fatalf("Parse(%q, %s) refused a well-formed amount: %v", s, cur, err)
			}
			if errors.Is(err, ErrOverflow) && want == nil {
				t.Fatalf("Parse(%q, %s) says overflow for a malformed input", s, cur)
			}
			return
		}

		if !grammatical {
			t.Fatalf("Parse(%q, %s) = %v, but the input breaks the documented rules", s, cur, a)
		}
		if !fits || want.Int64() != a.Minor || a.Currency != cur || a.Minor < 0 {
			t.Fatalf("Parse(%q, %s) = %#v, want %s minor units", s, cur, a, want)
		}
		// What we write, we read back.
		if back, err := Parse(FormatPlain(a), cur); err != nil || back != a {
			t.Fatalf("Parse(FormatPlain(%v) = %q) = %v, %v", a, FormatPlain(a), back, err)
		}
		if back, err := Parse(frenchNumber(a), cur); err != nil || back != a {
			t.Fatalf("Parse(%q) (French format of %v) = %v, %v", frenchNumber(a), a, back, err)
		}
		for _, lang := range []string{"fr", "en"} {
			out := Format(a, lang)
			if !utf8.ValidString(out) || strings.HasPrefix(out, "-") {
				t.Fatalf("Format(%v, %s) = %q", a, lang, out)
			}
		}
	})
}

// bigProRataOK is the reference result, and whether the inputs are valid.
func bigProRataOK(w, n, d int64) (int64, bool) {
	if w < 0 || d <= 0 || n < 0 || n > d {
		return 0, false
	}
	return bigProRata(w, n, d), true
}

func abs64(v int64) int64 {
	if v == math.MinInt64 {
		return math.MaxInt64
	}
	if v < 0 {
		return -v
	}
	return v
}

func FuzzProRata(f *testing.F) {
	f.Add(int64(1000), int64(600), int64(1000))
	f.Add(int64(1), int64(1), int64(3))
	f.Add(int64(999), int64(1), int64(2))
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64-1), int64(math.MaxInt64))
	f.Add(int64(1_000_000_000_000_000), int64(999_999_999), int64(1_000_000_000))
	f.Add(int64(-1), int64(1), int64(2))
	f.Add(int64(5), int64(3), int64(2))
	f.Add(int64(5), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, whole, num, den int64) {
		check := func(w, n, d int64) {
			got, err := ProRata(eur(w), n, d)
			want, valid := bigProRataOK(w, n, d)
			if !valid {
				if !errors.Is(err, ErrInvalidRatio) || got != (Amount{}) {
					t.Fatalf("ProRata(%d, %d, %d) = %v, %v; want ErrInvalidRatio", w, n, d, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ProRata(%d, %d, %d): %v", w, n, d, err)
			}
			if got.Minor < 0 || got.Minor > w {
				t.Fatalf("ProRata(%d, %d, %d) = %d, outside 0..%d", w, n, d, got.Minor, w)
			}
			if got.Minor != want || got.Currency != "EUR" {
				t.Fatalf("ProRata(%d, %d, %d) = %v, want %d", w, n, d, got, want)
			}
			if n == d && got.Minor != w {
				t.Fatalf("ProRata(%d, %d, %d) = %d, want all of %d", w, n, d, got.Minor, w)
			}
		}
		// The raw inputs, mostly invalid...
		check(whole, num, den)
		// ...and the same bits folded into the valid domain, so that the
		// fuzzer spends its time where the arithmetic is.
		w, d := abs64(whole), abs64(den)
		if d == 0 {
			d = 1
		}
		n := abs64(num) % d
		if num == math.MaxInt64 || num == math.MinInt64 {
			n = d // also reach num = den
		}
		check(w, n, d)
	})
}

// FuzzUnmarshalJSON: never panics; what it accepts re-encodes to the
// canonical shape and decodes to the same value.
func FuzzUnmarshalJSON(f *testing.F) {
	for _, s := range []string{
		`{"amount":600,"currency":"EUR"}`, `{"amount": -1, "currency": "JPY"}`,
		`{"amount":6.5,"currency":"EUR"}`, `{"amount":600}`, `null`, `{}`,
		`{"amount":600,"currency":"EUR","x":1}`, `{"amount":9223372036854775808,"currency":"EUR"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var a Amount
		if err := a.UnmarshalJSON(data); err != nil {
			if !errors.Is(err, ErrInvalidJSON) {
				t.Fatalf("UnmarshalJSON(%q) error %v does not wrap ErrInvalidJSON", data, err)
			}
			return
		}
		if err := CheckCurrency(a.Currency); err != nil {
			t.Fatalf("UnmarshalJSON(%q) accepted currency %q", data, a.Currency)
		}
		if !json.Valid(data) {
			t.Fatalf("UnmarshalJSON accepted invalid JSON %q", data)
		}
		out, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("json.Marshal(%#v): %v", a, err)
		}
		var back Amount
		if err := json.Unmarshal(out, &back); err != nil || back != a {
			t.Fatalf("round trip of %#v via %s = %#v, %v", a, out, back, err)
		}
	})
}
