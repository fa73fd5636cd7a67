package web

import (
	"testing"

	"comptoir/internal/cardpay"
	"comptoir/internal/money"
)

// The cart closed its card choice by a copy of cardpay.CheckMinimum's rule
// (the total against CardMinimum, a field set apart from it), so the page
// and the refusal could disagree: with CardMinimum not set, the card was
// offered for a total the payment then refused. The cart now asks
// CheckMinimum: the card is too small exactly when the payment would be
// refused.
func TestCartCardTooSmallIsCheckMinimumsRule(t *testing.T) {
	for _, cur := range []string{"EUR", "USD", "JPY"} {
		m := cardpay.MinimumCharge(cur)
		for _, minor := range []int64{1, m.Minor - 1, m.Minor, m.Minor + 1} {
			total := money.Amount{Minor: minor, Currency: cur}
			refused := cardpay.CheckMinimum(total) != nil
			if got := (cartData{CardEnabled: true, Total: total}).CardTooSmall(); got != refused {
				t.Errorf("%v: CardTooSmall %v, CheckMinimum refuses %v", total, got, refused)
			}
			if got := (cartData{CardEnabled: true, Total: total, CardMinimum: m}).CardTooSmall(); got != refused {
				t.Errorf("%v with its minimum: CardTooSmall %v, CheckMinimum refuses %v", total, got, refused)
			}
			if (cartData{Total: total, CardMinimum: m}).CardTooSmall() {
				t.Errorf("%v: too small for a card that is off", total)
			}
		}
	}
}
