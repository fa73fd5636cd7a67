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

// TestCheckoutClosesTheShortBalanceWithCardOn: with card payment on and a
// balance below the cart, the balance choice was offered, chosen by
// default, and refused only once submitted. The page says beside it by how
// much it is short, with a link to top up, and closes it: the card is
// chosen. With enough balance, the balance is open and chosen as before.
func TestCheckoutClosesTheShortBalanceWithCardOn(t *testing.T) {
	balanceRadio := regexp.MustCompile(`<input type="radio" name="payment" value="balance" id="pay-balance"[^>]*>`)
	cardRadio := regexp.MustCompile(`<input type="radio" name="payment" value="card" id="pay-card"[^>]*>`)
	shortBeside := regexp.MustCompile(`(?s)<small class="note" id="pay-balance-short">(.*?)</small>`)
	h := startWithStripe(t)
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 500)
	c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
	for _, tc := range []struct{ lang, short, link string }{
		{"fr", "il manque 20,00", "Recharger votre solde"},
		{"en", "it is short by €20.00", "Top up your balance"},
	} {
		c.PostForm("/lang", url.Values{"lang": {tc.lang}})
		r := c.Get("/cart")
		m := shortBeside.FindStringSubmatch(r.Body)
		if m == nil || !strings.Contains(m[1], tc.short) || !strings.Contains(m[1], `<a href="/balance" id="pay-balance-top-up">`+tc.link+`</a>`) {
			t.Fatalf("%s: the shortfall is not said beside the balance choice:\n%s", tc.lang, r.Body)
		}
		b, k := balanceRadio.FindString(r.Body), cardRadio.FindString(r.Body)
		if !strings.Contains(b, "disabled") || strings.Contains(b, "checked") || !strings.Contains(b, `aria-describedby="pay-balance-short"`) {
			t.Errorf("%s: the short balance can still be chosen: %s", tc.lang, b)
		}
		if !strings.Contains(k, "checked") {
			t.Errorf("%s: the card is not chosen: %s", tc.lang, k)
		}
		mustContain(t, r, `id="checkout-submit"`)
		if strings.Contains(r.Body, `id="checkout-short"`) {
			t.Fatalf("%s: with card payment on, the balance's shortfall closes the checkout", tc.lang)
		}
	}
	// Credited enough: the balance is open and chosen, nothing said.
	credit(t, h, u, 2000)
	r := c.Get("/cart")
	b, k := balanceRadio.FindString(r.Body), cardRadio.FindString(r.Body)
	if strings.Contains(b, "disabled") || !strings.Contains(b, "checked") || strings.Contains(k, "checked") {
		t.Errorf("a balance that covers the cart is not the choice: %s %s", b, k)
	}
	if strings.Contains(r.Body, `id="pay-balance-short"`) {
		t.Error("the shortfall is said of a balance that covers the cart")
	}
}
