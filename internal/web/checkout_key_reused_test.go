package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/orders"
)

// The checkout form's key placed an order, and the form comes back changed
// (the page the browser kept, a box ticked since): the key is reused for
// another request, which was a 500 "an error on our side" however often
// sent. The cart says the form placed an order already, with a new key; the
// form sent with it places the order the buyer now asks for.
func TestCheckoutFormSentAgainChangedSaysItPlacedAnOrder(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 10000)
	for _, lang := range []string{"fr", "en"} {
		c.PostForm("/lang", url.Values{"lang": {lang}})
		c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
		cart := c.Get("/cart")
		form := checkoutForm(t, cart)
		key := form.Get("checkout_key")
		if r := c.PostForm("/checkout", form); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/orders/ord_") {
			t.Fatalf("%s: checkout: %d %s", lang, r.Status, r.Body)
		}
		c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
		form.Set("proof_opt_out", "yes")
		r := c.PostForm("/checkout", form)
		want := map[string]string{"fr": "Ce formulaire a déjà servi à passer une commande\u00a0: consultez vos commandes avant de recommencer.",
			"en": "This form was already used to place an order: check your orders before trying again."}[lang]
		if r.Status != http.StatusConflict || !strings.Contains(r.Body, want) {
			t.Fatalf("%s: the form sent again changed: %d, want 409 saying %q:\n%.2000s", lang, r.Status, want, r.Body)
		}
		again := checkoutKey.FindStringSubmatch(r.Body)
		if again == nil || again[1] == key {
			t.Fatalf("%s: the page comes back with key %v, want a new one (was %s)", lang, again, key)
		}
		form.Set("checkout_key", again[1])
		if r := c.PostForm("/checkout", form); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/orders/ord_") {
			t.Fatalf("%s: the form sent with the new key: %d %s", lang, r.Status, r.Body)
		}
	}
	list, _, err := h.App.Orders.List(ctx, orders.ListFilter{CustomerID: u.ID})
	if err != nil || len(list) != 4 || balanceOf(t, h, u) != 10000-4*2500 {
		t.Fatalf("%d orders (%v), balance %d: want 4, %d", len(list), err, balanceOf(t, h, u), 10000-4*2500)
	}
}
