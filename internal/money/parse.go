package money

import (
	"fmt"
)

// Parse reads an amount of currency as a person types it in a form. The
// rules are few so that they can be stated on the page:
//
//   - digits 0-9, with at most one decimal separator, '.' or ',' (both are
//     accepted because French readers type "12,50" and English readers
//     "12.50");
//   - after the separator, 1 up to Exponent(currency) digits: "12.5" is
//     12.50 EUR, "12.505" is refused; a currency without minor unit (JPY)
//     takes no separator at all;
//   - spaces anywhere are ignored: ASCII space and tab, U+00A0 NO-BREAK
//     SPACE, U+202F NARROW NO-BREAK SPACE and U+2009 THIN SPACE, so "1 234,50"
//     pasted from a French page parses;
//   - a leading separator is fine (".5" is 0.50);
//   - nothing else: no sign (a form that allows a debit takes the sign
//     separately), no currency symbol, no letters.
//
// Grouped English input such as "1,234.50" is refused (two separators)
// rather than guessed at; and "1,234" in EUR is refused for having three
// decimals, never silently read as 1.23 or 1234. The error names the rule
// that failed and wraps ErrEmpty, ErrSyntax, ErrTooManyDecimals,
// ErrOverflow or ErrInvalidCurrency, so a handler can show a localized
// message. The error text never echoes the whole input.
func Parse(s string, currency string) (Amount, error) {
	if err := CheckCurrency(currency); err != nil {
		return Amount{}, err
	}
	exp := Exponent(currency)

	var (
		units, frac int64 // the value before and after the separator
		nInt, nFrac int   // digits seen on each side
		sep         rune  // the separator seen, 0 if none
		// overflow is reported after the loop, so that a malformed
		// input is called malformed however long its digits run.
		overflow bool
	)
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			d := int64(r - '0')
			if sep == 0 {
				v, ok := mulInt64(units, 10)
				if ok {
					v, ok = addInt64(v, d)
				}
				units, overflow = v, overflow || !ok
				nInt++
				continue
			}
			// Too many decimals is reported after the loop, so that
			// "1,234.50" is called out for its two separators rather
			// than for its third decimal.
			nFrac++
			if nFrac <= exp {
				frac = frac*10 + d // at most exp ≤ 4 digits: no overflow
			}
		case r == '.' || r == ',':
			if sep != 0 {
				return Amount{}, fmt.Errorf("%w: more than one decimal separator; write 1234.50 or 1234,50 without thousands separators", ErrSyntax)
			}
			sep = r
		case isSpace(r):
			// Ignored: thousands separators and stray spaces.
		case r == '-' || r == '+':
			return Amount{}, fmt.Errorf("%w: no sign allowed, only digits", ErrSyntax)
		default:
			return Amount{}, fmt.Errorf("%w: unexpected character %q; only digits and one decimal separator are allowed", ErrSyntax, r)
		}
	}
	switch {
	case nInt == 0 && nFrac == 0 && sep == 0:
		return Amount{}, fmt.Errorf("%w: nothing to read", ErrEmpty)
	case sep != 0 && exp == 0, nFrac > exp:
		return Amount{}, tooManyDecimals(currency, exp)
	case sep != 0 && nFrac == 0:
		return Amount{}, fmt.Errorf("%w: the decimal separator %q must be followed by digits", ErrSyntax, sep)
	}

	// Scale: "12.5" in EUR is 12×100 + 5×10 = 1250 minor units.
	for i := nFrac; i < exp; i++ {
		frac *= 10
	}
	minor, ok := mulInt64(units, pow10(exp))
	if ok && !overflow {
		minor, ok = addInt64(minor, frac)
	}
	if !ok || overflow {
		return Amount{}, fmt.Errorf("%w: the number is too large", ErrOverflow)
	}
	return Amount{Minor: minor, Currency: currency}, nil
}

func tooManyDecimals(currency string, exp int) error {
	if exp == 0 {
		return fmt.Errorf("%w: %s has no decimals", ErrTooManyDecimals, currency)
	}
	return fmt.Errorf("%w: %s has at most %d decimals", ErrTooManyDecimals, currency, exp)
}

// isSpace lists the spaces Parse ignores: those people type and those our
// own French format puts in numbers.
func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\u00a0', '\u202f', '\u2009':
		return true
	}
	return false
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
