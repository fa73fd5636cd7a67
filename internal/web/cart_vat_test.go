package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
)

// With catalog prices excluding VAT (--prices-include-vat=false), the
// checkout charges each line with the buyer's VAT added; the cart page
// showed the catalog amounts and a button "Pay €25.00" for an order that
// took €30.00 from the balance. The page now shows what it charges.
func TestCartShowsWhatTheCheckoutChargesWhenPricesExcludeVAT(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.PricesExcludeVAT = true })
	p := newService(t, h, "posts", 25) // 0.25 € a post, VAT excluded
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 10000)
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
	cart := c.Get("/cart")
	mustContain(t, cart, "Pay €30.00")
	if strings.Contains(cart.Body, "€25.00") {
		t.Error("the cart shows the amount without VAT beside a checkout that charges it with VAT")
	}
	r := c.PostForm("/checkout", checkoutForm(t, cart))
	if r.Status != http.StatusSeeOther || balanceOf(t, h, u) != 7000 {
		t.Fatalf("checkout: %d, balance %d (want 70.00 €: 25.00 € + 20 %% VAT)", r.Status, balanceOf(t, h, u))
	}
}
