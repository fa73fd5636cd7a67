package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// A product archived while it sits in a cart disappears from the cart page
// (it is no longer for sale) but stayed in the cart cookie: every checkout
// then failed with "A product in your cart is no longer for sale", and the
// cart offered no way to remove a line it did not show. The checkout now
// buys what the cart shows.
func TestCartWithAnArchivedProductCanStillBeBought(t *testing.T) {
	h := apptest.Start(t)
	kept, gone := newService(t, h, "posts", 25), newService(t, h, "stories", 40)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 10000)
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	c.PostForm("/cart", url.Values{"product_id": {kept.ID}, "quantity": {"100"}})
	c.PostForm("/cart", url.Values{"product_id": {gone.ID}, "quantity": {"100"}})
	if err := h.App.Catalog.Archive(context.Background(), adminActor, gone.ID); err != nil {
		t.Fatal(err)
	}
	cart := c.Get("/cart")
	mustContain(t, cart, "Pay €25.00")
	if strings.Contains(cart.Body, "Posts stories") {
		t.Fatal("the cart shows an archived product")
	}
	r := c.PostForm("/checkout", checkoutForm(t, cart))
	if r.Status != http.StatusSeeOther || balanceOf(t, h, u) != 7500 {
		t.Fatalf("checkout of the cart as shown: %d, balance %d", r.Status, balanceOf(t, h, u))
	}

	// Archived between the cart page and the click: refused once, with
	// the cart shown again as it now is, which can be bought.
	other := newService(t, h, "reels", 10)
	c.PostForm("/cart", url.Values{"product_id": {kept.ID}, "quantity": {"100"}})
	c.PostForm("/cart", url.Values{"product_id": {other.ID}, "quantity": {"100"}})
	cart = c.Get("/cart")
	if err := h.App.Catalog.Archive(context.Background(), adminActor, other.ID); err != nil {
		t.Fatal(err)
	}
	r = c.PostForm("/checkout", checkoutForm(t, cart))
	if r.Status != http.StatusUnprocessableEntity || balanceOf(t, h, u) != 7500 {
		t.Fatalf("checkout of a product archived meanwhile: %d, balance %d", r.Status, balanceOf(t, h, u))
	}
	mustContain(t, r, "no longer for sale", "Pay €25.00")
	if r := c.PostForm("/checkout", checkoutForm(t, r)); r.Status != http.StatusSeeOther || balanceOf(t, h, u) != 5000 {
		t.Fatalf("checkout of the cart shown after the refusal: %d, balance %d", r.Status, balanceOf(t, h, u))
	}
}
