package money

import (
	"errors"
	"math"
	"math/big"
	"testing"
)

// bigProRata is the reference: the same definition, computed with
// arbitrary-precision integers, written independently of the 128-bit code.
// round half up of w·n/d for w, n ≥ 0, d > 0 is floor((2·w·n + d) / (2·d)).
func bigProRata(w, n, d int64) int64 {
	p := new(big.Int).Mul(big.NewInt(w), big.NewInt(n))
	p.Mul(p, big.NewInt(2))
	p.Add(p, big.NewInt(d))
	q := new(big.Int).Quo(p, new(big.Int).Mul(big.NewInt(d), big.NewInt(2)))
	return q.Int64()
}

func TestProRata(t *testing.T) {
	tests := []struct {
		name          string
		whole         Amount
		num, den      int64
		want          int64
		wantErr       error
		skipReference bool
	}{
		// The policy's examples: refundable × (ordered − delivered) / ordered.
		{name: "API example 1000 × 600/1000", whole: eur(1000), num: 600, den: 1000, want: 600},
		{name: "nothing delivered", whole: eur(1000), num: 1000, den: 1000, want: 1000},
		{name: "all delivered", whole: eur(1000), num: 0, den: 1000, want: 0},
		{name: "num = den is exactly whole", whole: eur(999), num: 7, den: 7, want: 999},
		{name: "zero whole", whole: eur(0), num: 1, den: 2, want: 0},

		// Rounding: nearest, half up.
		{name: "1/3 of 1 rounds down to 0", whole: eur(1), num: 1, den: 3, want: 0},
		{name: "2/3 of 1 rounds up to 1", whole: eur(1), num: 2, den: 3, want: 1},
		{name: "half of 1 is exactly .5: up", whole: eur(1), num: 1, den: 2, want: 1},
		{name: "half of 999 is 499.5: up to 500", whole: eur(999), num: 1, den: 2, want: 500},
		{name: "half of 1000 exact", whole: eur(1000), num: 1, den: 2, want: 500},
		{name: "1/3 of 1000 = 333.33 down", whole: eur(1000), num: 1, den: 3, want: 333},
		{name: "2/3 of 1000 = 666.67 up", whole: eur(1000), num: 2, den: 3, want: 667},
		{name: "just below half: 0.4999 down", whole: eur(4999), num: 1, den: 10000, want: 0},
		{name: "exactly half: 0.5 up", whole: eur(5000), num: 1, den: 10000, want: 1},
		{name: "just above half: 0.5001 up", whole: eur(5001), num: 1, den: 10000, want: 1},
		{name: "1.5 up to 2", whole: eur(3), num: 1, den: 2, want: 2},
		{name: "2.5 up to 3 (half up, not half even)", whole: eur(5), num: 1, den: 2, want: 3},
		{name: "half up never exceeds whole: 1 × 999/1000", whole: eur(1), num: 999, den: 1000, want: 1},
		{name: "half up never exceeds whole: 3 × 5/6 = 2.5", whole: eur(3), num: 5, den: 6, want: 3},
		{name: "odd den, largest num below den", whole: eur(1), num: math.MaxInt64 - 1, den: math.MaxInt64, want: 1},

		// Large values: amounts up to 1e15 minor units and quantities up
		// to 1e9 must be exact (the product needs more than 64 bits).
		{name: "1e15 × (1e9-1)/1e9", whole: eur(1_000_000_000_000_000), num: 999_999_999, den: 1_000_000_000, want: 999_999_999_000_000},
		{name: "1e15-1 × 1/3 (product above 2^63)", whole: eur(999_999_999_999_999), num: 333_333_333, den: 999_999_999, want: 333_333_333_333_333},
		{name: "1e15+1 × 1/2 half up", whole: eur(1_000_000_000_000_001), num: 500_000_000, den: 1_000_000_000, want: 500_000_000_000_001},
		{name: "max int64 whole, half", whole: eur(math.MaxInt64), num: 1, den: 2, want: math.MaxInt64/2 + 1},
		{name: "max int64 whole, max den, num = den-1", whole: eur(math.MaxInt64), num: math.MaxInt64 - 1, den: math.MaxInt64, want: math.MaxInt64 - 1},
		{name: "max int64 whole, all", whole: eur(math.MaxInt64), num: math.MaxInt64, den: math.MaxInt64, want: math.MaxInt64},
		{name: "max int64 whole, 1/max", whole: eur(math.MaxInt64), num: 1, den: math.MaxInt64, want: 1},
		{name: "JPY", whole: MustNew(1000, "JPY"), num: 1, den: 3, want: 333},

		// Refusals.
		{name: "negative whole", whole: eur(-1), num: 1, den: 2, wantErr: ErrInvalidRatio},
		{name: "zero den", whole: eur(100), num: 0, den: 0, wantErr: ErrInvalidRatio},
		{name: "negative den", whole: eur(100), num: -1, den: -2, wantErr: ErrInvalidRatio},
		{name: "negative num", whole: eur(100), num: -1, den: 2, wantErr: ErrInvalidRatio},
		{name: "num above den (delivered < 0)", whole: eur(100), num: 3, den: 2, wantErr: ErrInvalidRatio},
		{name: "min int64 whole", whole: eur(math.MinInt64), num: 1, den: 1, wantErr: ErrInvalidRatio},
		{name: "bad currency", whole: Amount{Minor: 100}, num: 1, den: 2, wantErr: ErrInvalidCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ProRata(tt.whole, tt.num, tt.den)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ProRata(%v, %d, %d) error = %v, want %v", tt.whole, tt.num, tt.den, err, tt.wantErr)
			}
			if err != nil {
				if got != (Amount{}) {
					t.Errorf("returned %v with an error", got)
				}
				return
			}
			if got.Currency != tt.whole.Currency {
				t.Errorf("currency = %q, want %q", got.Currency, tt.whole.Currency)
			}
			if got.Minor != tt.want {
				t.Errorf("ProRata(%v, %d, %d) = %d, want %d", tt.whole, tt.num, tt.den, got.Minor, tt.want)
			}
			if ref := bigProRata(tt.whole.Minor, tt.num, tt.den); got.Minor != ref {
				t.Errorf("ProRata(%v, %d, %d) = %d, big.Int reference says %d", tt.whole, tt.num, tt.den, got.Minor, ref)
			}
			if got.Minor < 0 || got.Minor > tt.whole.Minor {
				t.Errorf("ProRata(%v, %d, %d) = %d, outside 0..whole", tt.whole, tt.num, tt.den, got.Minor)
			}
		})
	}
}

// TestProRataSplitsAddUp checks, over every small case, the properties the
// refund policy relies on: never above whole, never negative, never
// smaller when more is undelivered, and equal to the big.Int reference.
func TestProRataSplitsAddUp(t *testing.T) {
	for whole := int64(0); whole <= 40; whole++ {
		for den := int64(1); den <= 40; den++ {
			prev := int64(-1)
			for num := int64(0); num <= den; num++ {
				got, err := ProRata(eur(whole), num, den)
				if err != nil {
					t.Fatalf("ProRata(%d, %d, %d): %v", whole, num, den, err)
				}
				if got.Minor < 0 || got.Minor > whole {
					t.Fatalf("ProRata(%d, %d, %d) = %d, outside 0..whole", whole, num, den, got.Minor)
				}
				if got.Minor < prev {
					t.Fatalf("ProRata(%d, %d, %d) = %d, less than for num-1 (%d)", whole, num, den, got.Minor, prev)
				}
				if ref := bigProRata(whole, num, den); got.Minor != ref {
					t.Fatalf("ProRata(%d, %d, %d) = %d, reference %d", whole, num, den, got.Minor, ref)
				}
				prev = got.Minor
			}
		}
	}
}
