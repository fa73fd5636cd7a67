package web

import (
	"errors"

	"comptoir/internal/cardpay"
	"comptoir/internal/money"
)

// belowCardMinimum words, in lang, the refusal of a card payment smaller
// than the smallest one Stripe takes (cardpay.CheckMinimum), naming that
// smallest amount and pointing to the balance, which pays any amount; ok
// is false when err is not such a refusal.
func (s *Server) belowCardMinimum(lang string, err error) (msg string, ok bool) {
	var below *cardpay.BelowMinimumError
	if !errors.As(err, &below) {
		return "", false
	}
	return s.Messages.T(lang, "card.below_minimum", map[string]any{
		"Amount": money.Format(below.Amount, lang), "Min": money.Format(below.Minimum, lang),
	}), true
}
