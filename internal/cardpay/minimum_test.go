package cardpay

import (
	"database/sql"
	"errors"
	"testing"

	"comptoir/internal/money"
)

// Below Stripe's smallest charge, neither a Checkout payment nor an
// off-session charge is stored or scheduled: the caller gets a
// *BelowMinimumError (an ErrInvalid) naming the minimum, and Stripe is
// never called. At the minimum, the payment starts.
func TestPaymentsBelowTheMinimumChargeAreRefusedBeforeStripe(t *testing.T) {
	e := newEnv(t, envOpts{})
	card := SavedCard{StripeCustomerID: "cus_1", PaymentMethodID: "pm_1"}
	for _, c := range []struct {
		amount money.Amount
		min    int64
	}{{eur(49), 50}, {money.MustNew(29, "GBP"), 30}, {money.MustNew(49, "JPY"), 50}, {money.MustNew(1499, "CZK"), 1500}} {
		err := e.d.Tx(e.ctx, func(tx *sql.Tx) error {
			in := e.startInput("ord_small", 1)
			in.Amount = c.amount
			_, err := e.svc.StartCheckoutTx(e.ctx, tx, in)
			return err
		})
		var below *BelowMinimumError
		if !errors.As(err, &below) || !errors.Is(err, ErrInvalid) || below.Minimum != (money.Amount{Minor: c.min, Currency: c.amount.Currency}) {
			t.Fatalf("checkout of %v: %v, want below the minimum of %d", c.amount, err, c.min)
		}
		err = e.d.Tx(e.ctx, func(tx *sql.Tx) error {
			_, err := e.svc.ChargeSavedCardTx(e.ctx, tx, ChargeInput{Purpose: PurposeRenewal, ReferenceID: "spd_small",
				CustomerID: "usr_1", Amount: c.amount, Description: "Plan", Card: card})
			return err
		})
		if !errors.As(err, &below) {
			t.Fatalf("charge of %v: %v, want below the minimum", c.amount, err)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM card_payments`); n != 0 {
		t.Fatalf("%d payments stored below the minimum", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM river_job`); n != 0 {
		t.Fatalf("%d jobs scheduled below the minimum", n)
	}
	if p := e.start(e.startInput("ord_min", 50)); p.Status != StatusCreating {
		t.Fatalf("checkout at the minimum: %+v", p)
	}
	// A currency without a known minimum takes any positive amount.
	if m := MinimumCharge("XYZ"); m.Minor != 1 {
		t.Fatalf("minimum of an unlisted currency: %v", m)
	}
}
