package cardpay

import (
	"fmt"

	"comptoir/internal/money"
)

// minimumCharges is the smallest amount Stripe charges a card in each
// currency, in the currency's minor units (Stripe's "Supported currencies"
// page, "Minimum and maximum charge amounts"): below it Stripe refuses the
// Checkout Session or PaymentIntent, and the customer would only learn,
// after the call, that something went wrong. The limit is about the
// processing fee, so Stripe states it for the settlement currency too; a
// store that settles in another currency may meet a higher one, which
// Stripe then refuses as before. Currencies missing here get no limit of
// ours: add a line when a store sells in one.
var minimumCharges = map[string]int64{
	"USD": 50, "EUR": 50, "GBP": 30, "CHF": 50, "CAD": 50, "AUD": 50, "NZD": 50, "SGD": 50,
	"BRL": 50, "INR": 50, "BGN": 100, "AED": 200, "MYR": 200, "PLN": 200, "RON": 200,
	"DKK": 250, "NOK": 300, "SEK": 300, "HKD": 400, "MXN": 1000, "THB": 1000,
	"CZK": 1500, "HUF": 17500, "JPY": 50,
}

// MinimumCharge is the smallest card payment Stripe takes in currency: 0.50
// EUR, 0.30 GBP, 50 JPY… For a currency without a known limit it is one
// minor unit (any positive amount).
func MinimumCharge(currency string) money.Amount {
	if m, ok := minimumCharges[currency]; ok {
		return money.Amount{Minor: m, Currency: currency}
	}
	return money.Amount{Minor: 1, Currency: currency}
}

// BelowMinimumError refuses a card payment smaller than Stripe's smallest
// charge in its currency (MinimumCharge), before anything is stored or
// asked of Stripe. It is an ErrInvalid.
type BelowMinimumError struct {
	Amount, Minimum money.Amount
}

func (e *BelowMinimumError) Error() string {
	return fmt.Sprintf("cardpay: %v is below the smallest card payment, %v", e.Amount, e.Minimum)
}

// Unwrap makes it an ErrInvalid for callers that make no difference.
func (e *BelowMinimumError) Unwrap() error { return ErrInvalid }

// CheckMinimum returns a *BelowMinimumError when a is below the smallest
// card payment of its currency: the domains check it before they write an
// order or a subscription that only a card payment Stripe refuses would
// pay. Paying such an amount from the balance stays possible.
func CheckMinimum(a money.Amount) error {
	if m := MinimumCharge(a.Currency); a.Minor < m.Minor {
		return &BelowMinimumError{Amount: a, Minimum: m}
	}
	return nil
}
