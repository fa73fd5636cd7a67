package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

var shortNote = regexp.MustCompile(`(?s)<p class="flash warning" role="status" id="checkout-short">(.*?)</p>`)

// TestCheckoutSaysTheBalanceIsShortBeforePaying: with card payment off
// and a balance below the cart, the checkout offered only "Pay", to be
// refused, with no way on. The cart says before paying what the balance
// lacks and how to get credit (a message to the store, its subject
// chosen), and offers no Pay button; with enough balance, or with card
// payment on, the button is there as before.
func TestCheckoutSaysTheBalanceIsShortBeforePaying(t *testing.T) {
	for _, tc := range []struct{ lang, short, link string }{
		{"fr", "il manque 20,00", "Nous écrire pour créditer mon solde"},
		{"en", "it is short by €20.00", "Write to us to add credit"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			h := apptest.Start(t)
			p := newService(t, h, "posts", 25)
			u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
			credit(t, h, u, 500)
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
			r := c.Get("/cart")
			m := shortNote.FindStringSubmatch(r.Body)
			if m == nil || !strings.Contains(m[1], tc.short) || !strings.Contains(m[1], `<a href="/contact?topic=billing" id="checkout-get-credit">`+tc.link+`</a>`) {
				t.Fatalf("the shortfall is not said before paying:\n%s", r.Body)
			}
			if strings.Contains(r.Body, `id="checkout-submit"`) {
				t.Fatal("a Pay button that can only be refused is offered")
			}
			mustContain(t, c.Get("/contact?topic=billing"), `<option value="billing" selected>`)
			// Credited enough, the button is back and the note gone.
			credit(t, h, u, 2000)
			r = c.Get("/cart")
			mustContain(t, r, `id="checkout-submit"`)
			if strings.Contains(r.Body, `id="checkout-short"`) {
				t.Fatal("the shortfall is said of a balance that covers the cart")
			}
		})
	}
	// Card payment on: the card pays what the balance does not.
	h := startWithStripe(t)
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 500)
	c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
	r := c.Get("/cart")
	mustContain(t, r, `id="checkout-submit"`)
	if strings.Contains(r.Body, `id="checkout-short"`) {
		t.Fatal("with card payment on, the balance's shortfall closes the checkout")
	}
}
