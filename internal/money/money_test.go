package money

import (
	"errors"
	"math"
	"testing"
)

func eur(m int64) Amount { return MustNew(m, "EUR") }

func TestCheckCurrency(t *testing.T) {
	tests := []struct {
		code string
		ok   bool
	}{
		{"EUR", true},
		{"USD", true},
		{"JPY", true},
		{"XYZ", true}, // well-formed but unassigned: allowed, exponent 2
		{"", false},
		{"eur", false},
		{"Eur", false},
		{"EU", false},
		{"EURO", false},
		{"E1R", false},
		{"EU ", false},
		{" EUR", false},
		{"ÉUR", false}, // non-ASCII letter
		{"€", false},
	}
	for _, tt := range tests {
		err := CheckCurrency(tt.code)
		if (err == nil) != tt.ok {
			t.Errorf("CheckCurrency(%q) = %v, want ok=%v", tt.code, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidCurrency) {
			t.Errorf("CheckCurrency(%q) error %v does not wrap ErrInvalidCurrency", tt.code, err)
		}
	}
}

func TestExponent(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		{"EUR", 2}, {"USD", 2}, {"GBP", 2}, {"CHF", 2}, {"SEK", 2},
		{"JPY", 0}, {"KRW", 0}, {"ISK", 0}, {"XOF", 0},
		{"KWD", 3}, {"BHD", 3}, {"TND", 3},
		{"CLF", 4},
		{"XYZ", 2}, // unknown: default
		{"", 2},    // malformed: default, so formatting never fails
	}
	for _, tt := range tests {
		if got := Exponent(tt.code); got != tt.want {
			t.Errorf("Exponent(%q) = %d, want %d", tt.code, got, tt.want)
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		minor   int64
		cur     string
		wantErr error
	}{
		{600, "EUR", nil},
		{0, "JPY", nil},
		{-5, "USD", nil}, // negative amounts exist (debits)
		{math.MaxInt64, "EUR", nil},
		{math.MinInt64, "EUR", nil},
		{600, "eur", ErrInvalidCurrency},
		{600, "", ErrInvalidCurrency},
		{600, "EURO", ErrInvalidCurrency},
	}
	for _, tt := range tests {
		got, err := New(tt.minor, tt.cur)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("New(%d, %q) error = %v, want %v", tt.minor, tt.cur, err, tt.wantErr)
			continue
		}
		if tt.wantErr != nil {
			if got != (Amount{}) {
				t.Errorf("New(%d, %q) returned %#v with an error", tt.minor, tt.cur, got)
			}
			continue
		}
		if want := (Amount{Minor: tt.minor, Currency: tt.cur}); got != want {
			t.Errorf("New(%d, %q) = %#v, want %#v", tt.minor, tt.cur, got, want)
		}
	}
}

func TestMustNew(t *testing.T) {
	if got := MustNew(600, "EUR"); got != (Amount{600, "EUR"}) {
		t.Errorf("MustNew(600, EUR) = %#v", got)
	}
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !errors.Is(err, ErrInvalidCurrency) {
			t.Errorf("MustNew with a bad currency: recovered %v, want an ErrInvalidCurrency panic", r)
		}
	}()
	MustNew(600, "eur")
}

func TestZero(t *testing.T) {
	z := Zero("EUR")
	if z != (Amount{0, "EUR"}) || !z.IsZero() || z.IsPositive() || z.IsNegative() {
		t.Errorf("Zero(EUR) = %#v", z)
	}
	if got, err := z.Add(eur(5)); err != nil || got != eur(5) {
		t.Errorf("Zero(EUR).Add(5) = %v, %v", got, err)
	}
}

func TestAddSub(t *testing.T) {
	tests := []struct {
		name    string
		a, b    Amount
		sum     Amount
		sumErr  error
		diff    Amount
		diffErr error
	}{
		{name: "simple", a: eur(600), b: eur(400), sum: eur(1000), diff: eur(200)},
		{name: "zero", a: eur(0), b: eur(0), sum: eur(0), diff: eur(0)},
		{name: "to negative", a: eur(100), b: eur(250), sum: eur(350), diff: eur(-150)},
		{name: "negatives", a: eur(-100), b: eur(-250), sum: eur(-350), diff: eur(150)},
		{name: "JPY", a: MustNew(1000, "JPY"), b: MustNew(1, "JPY"), sum: MustNew(1001, "JPY"), diff: MustNew(999, "JPY")},
		{name: "max plus zero", a: eur(math.MaxInt64), b: eur(0), sum: eur(math.MaxInt64), diff: eur(math.MaxInt64)},
		{name: "max plus one overflows", a: eur(math.MaxInt64), b: eur(1), sumErr: ErrOverflow, diff: eur(math.MaxInt64 - 1)},
		{name: "min minus one overflows", a: eur(math.MinInt64), b: eur(1), sum: eur(math.MinInt64 + 1), diffErr: ErrOverflow},
		{name: "min plus min overflows", a: eur(math.MinInt64), b: eur(math.MinInt64), sumErr: ErrOverflow, diff: eur(0)},
		{name: "zero minus min overflows", a: eur(0), b: eur(math.MinInt64), sum: eur(math.MinInt64), diffErr: ErrOverflow},
		{name: "minus one minus min", a: eur(-1), b: eur(math.MinInt64), sumErr: ErrOverflow, diff: eur(math.MaxInt64)},
		{name: "max minus min overflows", a: eur(math.MaxInt64), b: eur(math.MinInt64), sum: eur(-1), diffErr: ErrOverflow},
		{name: "min minus max overflows", a: eur(math.MinInt64), b: eur(math.MaxInt64), sum: eur(-1), diffErr: ErrOverflow},
		{name: "currency mismatch", a: eur(1), b: MustNew(1, "USD"), sumErr: ErrCurrencyMismatch, diffErr: ErrCurrencyMismatch},
		{name: "mismatch even at zero", a: eur(0), b: MustNew(0, "JPY"), sumErr: ErrCurrencyMismatch, diffErr: ErrCurrencyMismatch},
		{name: "zero values have no currency", a: Amount{}, b: Amount{}, sumErr: ErrInvalidCurrency, diffErr: ErrInvalidCurrency},
		{name: "lower-case pair", a: Amount{1, "eur"}, b: Amount{1, "eur"}, sumErr: ErrInvalidCurrency, diffErr: ErrInvalidCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := tt.a.Add(tt.b)
			if !errors.Is(err, tt.sumErr) {
				t.Errorf("%v.Add(%v) error = %v, want %v", tt.a, tt.b, err, tt.sumErr)
			} else if err == nil && sum != tt.sum {
				t.Errorf("%v.Add(%v) = %v, want %v", tt.a, tt.b, sum, tt.sum)
			} else if err != nil && sum != (Amount{}) {
				t.Errorf("%v.Add(%v) returned %v with an error", tt.a, tt.b, sum)
			}
			diff, err := tt.a.Sub(tt.b)
			if !errors.Is(err, tt.diffErr) {
				t.Errorf("%v.Sub(%v) error = %v, want %v", tt.a, tt.b, err, tt.diffErr)
			} else if err == nil && diff != tt.diff {
				t.Errorf("%v.Sub(%v) = %v, want %v", tt.a, tt.b, diff, tt.diff)
			} else if err != nil && diff != (Amount{}) {
				t.Errorf("%v.Sub(%v) returned %v with an error", tt.a, tt.b, diff)
			}
		})
	}
}

func TestMul(t *testing.T) {
	tests := []struct {
		a       Amount
		n       int64
		want    Amount
		wantErr error
	}{
		{eur(600), 3, eur(1800), nil},
		{eur(600), 0, eur(0), nil},
		{eur(0), math.MaxInt64, eur(0), nil},
		{eur(600), -1, eur(-600), nil},
		{eur(-600), -2, eur(1200), nil},
		{eur(1_000_000_000_000_000), 9, eur(9_000_000_000_000_000), nil},
		{eur(1_000_000_000_000_000_000), 10, Amount{}, ErrOverflow},
		{eur(1_000_000_000_000_000), 1_000_000_000, Amount{}, ErrOverflow},
		{eur(1_000_000_000), 1_000_000_000, eur(1_000_000_000_000_000_000), nil},
		{eur(math.MaxInt64), 1, eur(math.MaxInt64), nil},
		{eur(math.MaxInt64), 2, Amount{}, ErrOverflow},
		{eur(math.MaxInt64), -1, eur(-math.MaxInt64), nil},
		{eur(math.MinInt64), 1, eur(math.MinInt64), nil},
		{eur(math.MinInt64), -1, Amount{}, ErrOverflow},
		{eur(-1), math.MinInt64, Amount{}, ErrOverflow},
		{eur(2), math.MinInt64 / 2, eur(math.MinInt64), nil},
		{Amount{5, ""}, 2, Amount{}, ErrInvalidCurrency},
	}
	for _, tt := range tests {
		got, err := tt.a.Mul(tt.n)
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Errorf("%v.Mul(%d) = %v, %v; want %v, %v", tt.a, tt.n, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCmp(t *testing.T) {
	tests := []struct {
		a, b    Amount
		want    int
		wantErr error
	}{
		{eur(1), eur(2), -1, nil},
		{eur(2), eur(1), 1, nil},
		{eur(2), eur(2), 0, nil},
		{eur(-5), eur(0), -1, nil},
		{eur(math.MinInt64), eur(math.MaxInt64), -1, nil},
		{eur(math.MaxInt64), eur(math.MinInt64), 1, nil},
		{eur(1), MustNew(1, "USD"), 0, ErrCurrencyMismatch},
		{MustNew(100, "JPY"), eur(1), 0, ErrCurrencyMismatch},
		{Amount{}, Amount{}, 0, ErrInvalidCurrency},
	}
	for _, tt := range tests {
		got, err := tt.a.Cmp(tt.b)
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Errorf("%v.Cmp(%v) = %d, %v; want %d, %v", tt.a, tt.b, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSigns(t *testing.T) {
	tests := []struct {
		a                  Amount
		zero, pos, negativ bool
	}{
		{eur(0), true, false, false},
		{eur(1), false, true, false},
		{eur(-1), false, false, true},
		{eur(math.MaxInt64), false, true, false},
		{eur(math.MinInt64), false, false, true},
		{Amount{}, true, false, false},
	}
	for _, tt := range tests {
		if got := tt.a.IsZero(); got != tt.zero {
			t.Errorf("%#v.IsZero() = %v", tt.a, got)
		}
		if got := tt.a.IsPositive(); got != tt.pos {
			t.Errorf("%#v.IsPositive() = %v", tt.a, got)
		}
		if got := tt.a.IsNegative(); got != tt.negativ {
			t.Errorf("%#v.IsNegative() = %v", tt.a, got)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		a    Amount
		want string
	}{
		{eur(123450), "1234.50 EUR"},
		{eur(5), "0.05 EUR"},
		{eur(-5), "-0.05 EUR"},
		{eur(0), "0.00 EUR"},
		{MustNew(1234, "JPY"), "1234 JPY"},
		{MustNew(1234, "KWD"), "1.234 KWD"},
		{Amount{}, "0.00 "},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.a, got, tt.want)
		}
	}
}
