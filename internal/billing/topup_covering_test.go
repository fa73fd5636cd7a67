package billing_test

import (
	"testing"

	"comptoir/internal/billing"
	"comptoir/internal/money"
)

// The top-up a short balance is offered covers what it lacks, never below
// the smallest top-up or card payment, and is none when no top-up can.
func TestTopUpCovering(t *testing.T) {
	cur := billing.BalanceCurrency
	for _, c := range []struct {
		short money.Amount
		want  money.Amount
	}{
		{money.Amount{Minor: 10, Currency: cur}, money.Amount{Minor: billing.MinTopUp, Currency: cur}},
		{money.Amount{Minor: billing.MinTopUp + 1, Currency: cur}, money.Amount{Minor: billing.MinTopUp + 1, Currency: cur}},
		{money.Amount{Minor: billing.MaxTopUp, Currency: cur}, money.Amount{Minor: billing.MaxTopUp, Currency: cur}},
		{money.Amount{Minor: billing.MaxTopUp + 1, Currency: cur}, money.Amount{}},
		{money.Amount{Minor: 10, Currency: "JPY"}, money.Amount{}},
	} {
		if got := billing.TopUpCovering(c.short); got != c.want {
			t.Errorf("TopUpCovering(%v) = %v, want %v", c.short, got, c.want)
		}
	}
}
