package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/money"
)

var checkoutHidden = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// checkoutForm is the checkout form of a cart page as the buyer sends it:
// its hidden fields, balance payment, both boxes and the policy ticked.
func checkoutForm(t *testing.T, cart apptest.Response) url.Values {
	t.Helper()
	i := strings.Index(cart.Body, `id="checkout"`)
	if i < 0 {
		t.Fatalf("no checkout form: %s", cart.Body)
	}
	body := cart.Body[i:]
	body = body[:strings.Index(body, "</form>")]
	f := url.Values{"payment": {"balance"}, "immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}, "accept_policy": {"default@1"}}
	for _, m := range checkoutHidden.FindAllStringSubmatch(body, -1) {
		f.Set(m[1], m[2])
	}
	return f
}

// The checkout's button says "Pay 25,00 €". The order was priced from the
// cart cookie and the catalog as they were when it was pressed: a price
// raised while the buyer read the page, or the cart changed in another
// tab, was charged without being shown. It is refused, nothing charged,
// and the cart shown again with the new total; confirming that one pays it.
func TestCheckoutRefusesATotalThatChangedSinceTheCartWasShown(t *testing.T) {
	h := apptest.Start(t)
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 10000)
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
	cart := c.Get("/cart")
	mustContain(t, cart, "Pay €25.00")
	form := checkoutForm(t, cart)

	in := catalog.ProductInput{Slug: p.Slug, Kind: p.Kind, NameFR: p.NameFR, NameEN: p.NameEN, DescriptionFR: p.DescriptionFR, DescriptionEN: p.DescriptionEN,
		UnitPrice: money.MustNew(30, "EUR"), MinQuantity: p.MinQuantity, MaxQuantity: p.MaxQuantity, ProcessingTime: p.ProcessingTime}
	if _, err := h.App.Catalog.Update(context.Background(), adminActor, p.ID, in); err != nil {
		t.Fatal(err)
	}
	r := c.PostForm("/checkout", form)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "Your cart or its prices changed") {
		t.Fatalf("checkout at a price the buyer was not shown: %d %q", r.Status, r.Location)
	}
	mustContain(t, r, "Pay €30.00")
	if balanceOf(t, h, u) != 10000 {
		t.Fatalf("balance %d after a refused checkout", balanceOf(t, h, u))
	}

	// The cart changed in another tab: the same.
	cart = c.Get("/cart")
	form = checkoutForm(t, cart)
	c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"200"}})
	if r := c.PostForm("/checkout", form); r.Status != http.StatusUnprocessableEntity || balanceOf(t, h, u) != 10000 {
		t.Fatalf("checkout of a cart changed in another tab: %d, balance %d", r.Status, balanceOf(t, h, u))
	}

	r = c.PostForm("/checkout", checkoutForm(t, c.Get("/cart")))
	if r.Status != http.StatusSeeOther || balanceOf(t, h, u) != 4000 {
		t.Fatalf("checkout of the cart as shown: %d, balance %d", r.Status, balanceOf(t, h, u))
	}
}
