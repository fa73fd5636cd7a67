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
)

// cartQuantityBox is a cart line's quantity box, with its value.
func cartQuantityBox(productID string) *regexp.Regexp {
	return regexp.MustCompile(`<input id="quantity-` + regexp.QuoteMeta(productID) + `" name="quantity" type="number" min="0" max="(\d+)" value="([^"]*)"`)
}

// The cart could not change a line's quantity: the buyer removed the line
// and added it again from the product's page. Each line now has a box and
// "Update" (a form, no script), by the rules of adding: a quantity in the
// product's bounds, else the cart shown again unchanged with the reason
// beside the line's box, in the visitor's language; 0 removes the line.
// A product bought in one quantity only (a digital one) has no box. The
// checkout buys the quantity set.
func TestCartChangesALinesQuantity(t *testing.T) {
	for _, tc := range []struct{ lang, total, update, refused, gone, unavailable string }{
		{"fr", "62,50\u00a0€", "Mettre à jour", "Choisissez une quantité entre 10 et 1\u202f000, ou 0 pour retirer ce produit.", "n’est plus dans votre panier", "Ce produit n’est pas en vente."},
		{"en", "€62.50", "Update", "Choose a quantity between 10 and 1,000, or 0 to remove this product.", "no longer in your cart", "This product is not for sale."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			h := apptest.Start(t)
			ctx := context.Background()
			p := newService(t, h, "posts", 25)
			other := newService(t, h, "stories", 40)
			guide := newLicence(t, h, adminActor, "KEY-1")
			u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
			credit(t, h, u, 100_000)
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
			c.PostForm("/cart", url.Values{"product_id": {other.ID}, "quantity": {"10"}})
			c.PostForm("/cart", url.Values{"product_id": {guide.ID}, "quantity": {"1"}})
			box := cartQuantityBox(p.ID)
			shown := func() string {
				t.Helper()
				m := box.FindStringSubmatch(c.Get("/cart").Body)
				if m == nil {
					t.Fatalf("the cart line has no quantity box:\n%s", c.Get("/cart").Body)
				}
				return m[2]
			}
			cart := c.Get("/cart")
			mustContain(t, cart, `action="/cart/quantity"`, `id="quantity-`+p.ID+`-update">`+tc.update+`</button>`)
			if m := box.FindStringSubmatch(cart.Body); m == nil || m[1] != "1000" || m[2] != "100" {
				t.Fatalf("the line's box is %q, want max 1000 and value 100:\n%s", m, cart.Body)
			}
			if strings.Contains(cart.Body, `id="quantity-`+guide.ID+`"`) {
				t.Fatal("a product sold one at a time has a quantity box")
			}

			r := c.PostForm("/cart/quantity", url.Values{"product_id": {p.ID}, "quantity": {"250"}})
			if r.Status != http.StatusSeeOther || r.Location != "/cart" {
				t.Fatalf("update: %d %q", r.Status, r.Location)
			}
			if got := shown(); got != "250" {
				t.Fatalf("after the update the line holds %s, want 250", got)
			}
			// Refused: out of bounds or no number. The cart is unchanged,
			// the reason beside the line's box, what was typed kept there.
			for _, typed := range []string{"5", "1001", "-3", "beaucoup"} {
				r := c.PostForm("/cart/quantity", url.Values{"product_id": {p.ID}, "quantity": {typed}})
				if r.Status != http.StatusUnprocessableEntity {
					t.Fatalf("quantity %q: %d, want 422", typed, r.Status)
				}
				mustContain(t, r, `id="quantity-`+p.ID+`-error">`+tc.refused)
				mustMarkRefused(t, "quantity "+typed, r.Body, map[string]string{"quantity": "quantity-" + p.ID})
				if m := box.FindStringSubmatch(r.Body); m == nil || m[2] != typed {
					t.Fatalf("quantity %q: the refused box shows %q", typed, m)
				}
				if got := shown(); got != "250" {
					t.Fatalf("quantity %q refused, yet the line holds %s", typed, got)
				}
			}
			// A line no longer in the cart is not put back.
			c.PostForm("/cart/remove", url.Values{"product_id": {other.ID}})
			r = c.PostForm("/cart/quantity", url.Values{"product_id": {other.ID}, "quantity": {"20"}})
			if r.Status != http.StatusConflict || !strings.Contains(r.Body, tc.gone) || strings.Contains(r.Body, `id="quantity-`+other.ID+`"`) {
				t.Fatalf("updating a line removed meanwhile: %d\n%s", r.Status, r.Body)
			}

			// A product withdrawn from sale meanwhile: said, and the line
			// left out of the cart shown, as adding it would be refused.
			gone := newService(t, h, "reels", 10)
			c.PostForm("/cart", url.Values{"product_id": {gone.ID}, "quantity": {"10"}})
			if err := h.App.Catalog.Archive(ctx, adminActor, gone.ID); err != nil {
				t.Fatal(err)
			}
			r = c.PostForm("/cart/quantity", url.Values{"product_id": {gone.ID}, "quantity": {"20"}})
			if r.Status != http.StatusConflict || !strings.Contains(r.Body, `id="form-error">`+tc.unavailable) || strings.Contains(r.Body, `id="quantity-`+gone.ID+`"`) {
				t.Fatalf("updating a line withdrawn from sale: %d\n%s", r.Status, r.Body)
			}

			// The checkout buys the quantity set.
			c.PostForm("/cart/remove", url.Values{"product_id": {guide.ID}})
			cart = c.Get("/cart")
			mustContain(t, cart, `<th id="cart-total">`+tc.total+`</th>`)
			r = c.PostForm("/checkout", checkoutForm(t, cart))
			if r.Status != http.StatusSeeOther {
				t.Fatalf("checkout: %d\n%s", r.Status, r.Body)
			}
			o, err := h.App.Orders.Get(ctx, strings.TrimPrefix(r.Location, "/orders/"))
			if err != nil || len(o.Lines) != 1 || o.Lines[0].Quantity != 250 {
				t.Fatalf("the order bought %+v, %v; want 250 posts", o.Lines, err)
			}

			// 0 removes the line.
			c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
			if r := c.PostForm("/cart/quantity", url.Values{"product_id": {p.ID}, "quantity": {"0"}}); r.Status != http.StatusSeeOther {
				t.Fatalf("quantity 0: %d", r.Status)
			}
			mustContain(t, c.Get("/cart"), `id="cart-empty"`)
		})
	}
}
