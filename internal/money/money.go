// Package money holds amounts of money as integers in the currency's minor
// unit (cents for EUR) plus the ISO 4217 currency code, and the few
// operations the store needs on them: checked arithmetic, the pro-rata used
// by the refund policy, display formatting in French and English, and
// parsing of what a person types in a form.
//
// Why integers: a refund must add up to exactly what was paid, cent for
// cent, on both database engines and in every language; binary floating
// point cannot promise that. Why the currency travels with the number: two
// amounts in different currencies must never be added or compared by
// accident, so every operation that combines two amounts checks it and
// returns an error instead.
//
// The package is pure (no I/O, no clock, no global state) and never panics
// on its inputs, except MustNew, which is for constants.
package money

import (
	"errors"
	"fmt"
	"math"
)

// Errors returned by this package, wrapped with details; test with
// errors.Is. Handlers can map them to localized messages or API error codes.
var (
	// ErrInvalidCurrency: a currency code that is not 3 upper-case letters.
	ErrInvalidCurrency = errors.New("money: invalid currency")
	// ErrCurrencyMismatch: an operation combined amounts in two currencies.
	ErrCurrencyMismatch = errors.New("money: currency mismatch")
	// ErrOverflow: the result does not fit in an int64 number of minor units.
	ErrOverflow = errors.New("money: amount out of range")
	// ErrInvalidRatio: ProRata called with a negative amount or a ratio
	// outside 0..1.
	ErrInvalidRatio = errors.New("money: invalid pro-rata")
	// ErrInvalidJSON: a JSON amount that is not exactly
	// {"amount": <integer>, "currency": "<ISO code>"}.
	ErrInvalidJSON = errors.New("money: invalid JSON amount")
	// ErrEmpty: Parse was given nothing but spaces.
	ErrEmpty = errors.New("money: empty amount")
	// ErrSyntax: Parse met something other than digits, spaces and a
	// single decimal separator.
	ErrSyntax = errors.New("money: malformed amount")
	// ErrTooManyDecimals: Parse met more decimals than the currency has.
	ErrTooManyDecimals = errors.New("money: too many decimals")
)

// Amount is a sum of money: Minor units of the currency's minor unit (600
// EUR-minor is 6.00 EUR; 600 JPY-minor is 600 yen) and an ISO 4217 code in
// upper case. The zero value has no currency and is not a valid amount; use
// Zero or New.
//
// In JSON an Amount is {"amount": 600, "currency": "EUR"} (see MarshalJSON).
type Amount struct {
	Minor    int64
	Currency string
}

// New returns minor units of currency, refusing a malformed currency code.
func New(minor int64, currency string) (Amount, error) {
	if err := CheckCurrency(currency); err != nil {
		return Amount{}, err
	}
	return Amount{Minor: minor, Currency: currency}, nil
}

// MustNew is New for constants in tests and fixtures; it panics on a
// malformed currency code, which is a programming error there.
func MustNew(minor int64, currency string) Amount {
	a, err := New(minor, currency)
	if err != nil {
		panic(err)
	}
	return a
}

// Zero returns no money in currency. A malformed code is kept as given (it
// is a programming error that the first Add, Sub or MarshalJSON reports);
// call CheckCurrency first on codes that come from outside.
func Zero(currency string) Amount {
	return Amount{Currency: currency}
}

// sameCurrency is the guard of every operation that combines two amounts.
func sameCurrency(op string, a, b Amount) error {
	if err := CheckCurrency(a.Currency); err != nil {
		return err
	}
	if a.Currency != b.Currency {
		return fmt.Errorf("%w: %s %s and %s", ErrCurrencyMismatch, op, a.Currency, b.Currency)
	}
	return nil
}

// Add returns a+b, refusing different currencies and int64 overflow.
func (a Amount) Add(b Amount) (Amount, error) {
	if err := sameCurrency("add", a, b); err != nil {
		return Amount{}, err
	}
	s, ok := addInt64(a.Minor, b.Minor)
	if !ok {
		return Amount{}, fmt.Errorf("%w: %d + %d %s", ErrOverflow, a.Minor, b.Minor, a.Currency)
	}
	return Amount{Minor: s, Currency: a.Currency}, nil
}

// Sub returns a-b, refusing different currencies and int64 overflow. The
// result may be negative (a debit); callers that must not go below zero
// check IsNegative, or better, let the database enforce it.
func (a Amount) Sub(b Amount) (Amount, error) {
	if err := sameCurrency("subtract", a, b); err != nil {
		return Amount{}, err
	}
	d, ok := subInt64(a.Minor, b.Minor)
	if !ok {
		return Amount{}, fmt.Errorf("%w: %d - %d %s", ErrOverflow, a.Minor, b.Minor, a.Currency)
	}
	return Amount{Minor: d, Currency: a.Currency}, nil
}

// Mul returns a×n (a unit price times a quantity), refusing int64
// overflow. A negative n is allowed and flips the sign.
func (a Amount) Mul(n int64) (Amount, error) {
	if err := CheckCurrency(a.Currency); err != nil {
		return Amount{}, err
	}
	p, ok := mulInt64(a.Minor, n)
	if !ok {
		return Amount{}, fmt.Errorf("%w: %d × %d %s", ErrOverflow, a.Minor, n, a.Currency)
	}
	return Amount{Minor: p, Currency: a.Currency}, nil
}

// Cmp compares a and b: -1 if a < b, 0 if equal, +1 if a > b. Amounts in
// different currencies have no order, so that is an error, not a guess.
func (a Amount) Cmp(b Amount) (int, error) {
	if err := sameCurrency("compare", a, b); err != nil {
		return 0, err
	}
	switch {
	case a.Minor < b.Minor:
		return -1, nil
	case a.Minor > b.Minor:
		return 1, nil
	}
	return 0, nil
}

// IsZero reports whether a is no money, whatever its currency.
//
// Beware: encoding/json's omitzero option calls IsZero, so an Amount field
// tagged json:"refund,omitzero" is left out for an amount of 0 EUR, not
// only for the zero Amount. Use a *Amount with omitempty when "absent" and
// "zero" must be told apart.
func (a Amount) IsZero() bool { return a.Minor == 0 }

// IsPositive reports whether a is more than zero.
func (a Amount) IsPositive() bool { return a.Minor > 0 }

// IsNegative reports whether a is less than zero (a debit).
func (a Amount) IsNegative() bool { return a.Minor < 0 }

// String renders a for logs and error messages, the same in every language:
// "1234.50 EUR". Use Format for anything a person reads on a page.
func (a Amount) String() string {
	return FormatPlain(a) + " " + a.Currency
}

// Checked int64 arithmetic. Overflow must be an error, never a silent
// wrap-around that turns a large credit into a large debit.

func addInt64(a, b int64) (int64, bool) {
	s := a + b
	// Overflow iff both operands have the same sign and the sum's differs.
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, false
	}
	return s, true
}

func subInt64(a, b int64) (int64, bool) {
	d := a - b
	// Overflow iff the operands have different signs and the result's
	// sign differs from a's.
	if (a >= 0) != (b >= 0) && (d >= 0) != (a >= 0) {
		return 0, false
	}
	return d, true
}

func mulInt64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	// MinInt64 × -1 is the one product that a division check misses.
	if (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	p := a * b
	if p/b != a {
		return 0, false
	}
	return p, true
}
