package money

import (
	"fmt"
	"math/bits"
)

// ProRata returns whole × num / den rounded to the nearest minor unit, half
// up. It is the refund policy's "refundable × (ordered − delivered) /
// ordered": the share of what was paid that matches what was not
// delivered.
//
// Guarantees, for every accepted input:
//   - 0 ≤ result ≤ whole, so a refund can never exceed what was paid;
//   - num = 0 gives 0 and num = den gives exactly whole;
//   - exact: the product is computed on 128 bits, so whole up to
//     MaxInt64 minor units times any num ≤ den is right, with no float.
//
// Half up can never push the result above whole: with r the remainder,
// whole×num = q×den + r and num ≤ den give q ≤ whole, and q = whole only
// when r = 0, in which case nothing is rounded.
//
// It refuses (ErrInvalidRatio) a negative whole, den ≤ 0, and num outside
// 0..den; and a malformed currency (ErrInvalidCurrency).
func ProRata(whole Amount, num, den int64) (Amount, error) {
	if err := CheckCurrency(whole.Currency); err != nil {
		return Amount{}, err
	}
	if whole.Minor < 0 {
		return Amount{}, fmt.Errorf("%w: pro-rata of a negative amount %s", ErrInvalidRatio, whole)
	}
	if den <= 0 {
		return Amount{}, fmt.Errorf("%w: denominator %d must be positive", ErrInvalidRatio, den)
	}
	if num < 0 || num > den {
		return Amount{}, fmt.Errorf("%w: numerator %d must be between 0 and %d", ErrInvalidRatio, num, den)
	}

	// whole, num and den are now non-negative, so their uint64 forms are
	// exact. hi:lo = whole × num on 128 bits. Div64 requires hi < den,
	// which holds because the quotient, at most whole, fits in 64 bits.
	d := uint64(den)
	hi, lo := bits.Mul64(uint64(whole.Minor), uint64(num))
	q, r := bits.Div64(hi, lo, d)
	// Half up: round up when r/den ≥ 1/2, i.e. r ≥ den − r (no overflow,
	// since r < den).
	if r >= d-r {
		q++
	}
	return Amount{Minor: int64(q), Currency: whole.Currency}, nil
}
