package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/cardpay"
)

// Balances are in euros: GET /balance, the balance page and the checkout
// read the EUR balance alone (as POST /balance/credits already says). A
// card top-up in another currency charged the card and credited a balance
// that nothing shows or spends. It is refused, nothing started at Stripe.
func TestTopUpInAnotherCurrencyIsRefused(t *testing.T) {
	h := startWithStripe(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	auth := h.Bearer(t, u.ID)
	for _, cur := range []string{"USD", "GBP"} {
		r := postJSON(c, "/api/v1/balance/topups", `{"amount":{"amount":2000,"currency":"`+cur+`"}}`, auth)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"code":"invalid"`) || !strings.Contains(r.Body, `"currency"`) {
			t.Errorf("a top-up in %s: %d %s", cur, r.Status, r.Body)
		}
	}
	if r := postJSON(c, "/api/v1/balance/topups", `{"amount":{"amount":2000}}`, auth); r.Status != http.StatusBadRequest {
		t.Errorf("a top-up without currency: %d %s", r.Status, r.Body)
	}
	var started int
	if err := h.App.DB.Read.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM card_payments WHERE purpose = $1`, string(cardpay.PurposeTopUp)).Scan(&started); err != nil {
		t.Fatal(err)
	}
	if started != 0 {
		t.Fatalf("%d card payments started for top-ups in other currencies", started)
	}
	r := postJSON(c, "/api/v1/balance/topups", `{"amount":{"amount":2000,"currency":"EUR"}}`, auth)
	if r.Status != http.StatusCreated {
		t.Fatalf("a top-up in euros: %d %s", r.Status, r.Body)
	}
}
