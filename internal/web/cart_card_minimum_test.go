package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/cardpay"
)

// cartTopUpValue is the amount the cart's top-up offer fills in.
var cartTopUpValue = regexp.MustCompile(`id="cart-topup-amount" name="amount" inputmode="decimal" required value="([^"]*)"`)

// A cart below the smallest card payment (0.30 EUR, the card starts at
// 0.50) with a balance too short to pay it: the card was offered, chosen
// and refused on submit ("pay it from your balance instead"), and the
// balance could not pay it, so nothing could. The cart now says why, closes
// the card choice, shows no Pay button, and offers a card top-up, filled in
// with what covers the shortfall and is at least the card minimum (and the
// smallest top-up), that brings the customer back to the cart: a plain
// form, no script. Once it is credited, the balance pays the cart. In
// French and in English.
func TestCartBelowCardMinimumWithShortBalanceOffersATopUp(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	small := newService(t, h, "tiny", 3) // at least 10: 0.30 EUR
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 10) // 0.10 EUR: short by 0.20
	c.PostForm("/cart", url.Values{"product_id": {small.ID}, "quantity": {"10"}})

	for _, tc := range []struct{ lang, why, value, help string }{
		{"fr", "Cette commande est de 0,30\u00a0€, moins que le plus petit paiement par carte (0,50\u00a0€), et il manque 0,20\u00a0€ sur votre solde.", "1,00", "1,00\u00a0€ ou plus"},
		{"en", "This order comes to €0.30, less than the smallest card payment (€0.50), and your balance is short by €0.20.", "1.00", "€1.00 or more"},
	} {
		c.PostForm("/lang", url.Values{"lang": {tc.lang}, "next": {"/cart"}})
		page := c.Get("/cart").Body
		if !strings.Contains(page, `id="cart-topup"`) || !strings.Contains(page, tc.why) || !strings.Contains(page, tc.help) {
			t.Fatalf("%s: the cart does not say why nothing pays it, nor offer a top-up:\n%s", tc.lang, page)
		}
		if m := cartTopUpValue.FindStringSubmatch(page); m == nil || m[1] != tc.value {
			t.Errorf("%s: top-up filled in with %q, want %q", tc.lang, m, tc.value)
		}
		if !strings.Contains(page, `<form method="post" action="/balance/topup" class="row">`) || !strings.Contains(page, `name="back" value="cart"`) {
			t.Errorf("%s: the top-up is not a plain form back to the cart", tc.lang)
		}
		if strings.Contains(page, `id="checkout-submit"`) {
			t.Errorf("%s: a Pay button that can only be refused", tc.lang)
		}
		if !regexp.MustCompile(`id="pay-card"[^>]* disabled>`).MatchString(page) || !regexp.MustCompile(`id="pay-balance"[^>]* disabled>`).MatchString(page) {
			t.Errorf("%s: the card or the balance is still offered", tc.lang)
		}
	}

	// A card checkout sent anyway (a page kept from before) says to top up,
	// not to pay from a balance that cannot.
	key := checkoutKey.FindStringSubmatch(c.Get("/cart").Body)[1]
	r := c.PostForm("/checkout", url.Values{"checkout_key": {key}, "payment": {"card"}, "accept_policy": {"default@1"},
		"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "your balance is short by €0.20. Nothing was charged: top up your balance below") ||
		!strings.Contains(r.Body, `id="cart-topup"`) {
		t.Fatalf("card checkout of 0.30 EUR with 0.10 EUR: %d %s", r.Status, r.Body)
	}

	// A wrong amount is said on the cart, the amount kept.
	r = c.PostForm("/balance/topup", url.Values{"back": {"cart"}, "amount": {"0,20"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="topup-error"`) || !strings.Contains(r.Body, `id="cart-total"`) {
		t.Fatalf("top-up of 0.20 from the cart: %d %s", r.Status, r.Body)
	}
	if m := cartTopUpValue.FindStringSubmatch(r.Body); m == nil || m[1] != "0,20" {
		t.Errorf("refused top-up shows %q, want what was typed", m)
	}
	mustMarkRefused(t, "cart top-up", r.Body, map[string]string{"amount": "topup"})

	// The offered top-up goes to Stripe, and comes back to the cart.
	r = c.PostForm("/balance/topup", url.Values{"back": {"cart"}, "amount": {"1.00"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "https://checkout.stripe.com/") {
		t.Fatalf("top-up from the cart: %d %q", r.Status, r.Location)
	}
	var args []byte
	if err := h.App.DB.Read.QueryRowContext(ctx, `SELECT args FROM river_job WHERE kind = 'cardpay.create_checkout'`).Scan(&args); err != nil {
		t.Fatal(err)
	}
	// Its success and cancel addresses (in the job's encoding, JSON or not).
	if !strings.Contains(string(args), h.URL+"/cart?topup=1") || strings.Count(string(args), h.URL+"/cart") != 2 || strings.Contains(string(args), "/balance") {
		t.Errorf("the top-up does not come back to the cart: %s", args)
	}
	waiting, err := h.App.Card.Waiting(ctx, u.ID, cardpay.PurposeTopUp, 10)
	if err != nil || len(waiting) != 1 || waiting[0].Amount.Minor != 100 {
		t.Fatalf("top-ups waiting: %v %v", waiting, err)
	}
	pay, err := h.App.Card.Get(ctx, waiting[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	webhookDeliverer(t, h)(stripe.EventTypeCheckoutSessionCompleted, completed(pay))

	page := c.Get("/cart?topup=1").Body
	if !strings.Contains(page, "then pay this order from it here") || strings.Contains(page, `id="cart-topup"`) || !strings.Contains(page, `id="checkout-submit"`) {
		t.Fatalf("the cart after the top-up:\n%s", page)
	}
	// The card stays closed (still too small), saying why; the balance pays.
	if !strings.Contains(page, "Card payments start at €0.50, and this order comes to €0.30: pay it from your balance.") ||
		!regexp.MustCompile(`id="pay-balance"[^>]* checked>`).MatchString(page) {
		t.Errorf("the payment choice after the top-up:\n%s", page)
	}
	key = checkoutKey.FindStringSubmatch(page)[1]
	r = c.PostForm("/checkout", url.Values{"checkout_key": {key}, "payment": {"balance"}, "accept_policy": {"default@1"},
		"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/orders/") {
		t.Fatalf("balance checkout after the top-up: %d %s", r.Status, r.Body)
	}
	if got := balanceOf(t, h, u); got != 80 {
		t.Errorf("balance after paying 0.30 from 1.10: %d", got)
	}
}
