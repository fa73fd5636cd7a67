package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/browsertest"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/config"
	"comptoir/internal/id"
)

// checkoutStandIn is a page standing for Stripe Checkout, and a store whose
// Checkout Sessions (from stripe-mock) point at it, with the stand-in's
// origin configured as the Checkout origin, as checkout.stripe.com is in
// production.
func checkoutStandIn(t *testing.T) (*apptest.Harness, string) {
	t.Helper()
	stripePage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><title>Checkout</title><h1 id="stripe-checkout">Stripe Checkout</h1>`)
	}))
	t.Cleanup(stripePage.Close)
	rec := cardpaytest.NewRecorder(t, cardpaytest.StripeURL(t))
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/checkout/sessions"), func(m map[string]any) {
		m["id"] = "cs_test_" + id.New("s")
		m["url"] = stripePage.URL + "/c/pay/" + m["id"].(string)
		m["payment_intent"] = nil
	})
	h := apptest.StartWith(t, func(c *config.Config) {
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_comptoir", webhookSecret, rec.URL()
		c.StripeCheckoutOrigin = stripePage.URL
	})
	return h, stripePage.URL
}

// The CSP's form-action names the Checkout origin when card payments are
// on (Chromium applies form-action to the redirect answering a form), and
// only 'self' otherwise.
func TestCSPFormActionAllowsCheckoutOnlyWithCards(t *testing.T) {
	h := startWithStripe(t)
	r := h.NewClient(t).Get("/")
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://checkout.stripe.com;") {
		t.Fatalf("CSP with cards: %q", csp)
	}
	plain := apptest.Start(t)
	r = plain.NewClient(t).Get("/")
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self';") {
		t.Fatalf("CSP without cards: %q", csp)
	}
}

// In a real browser, the cart's card checkout (POST /checkout, then
// /orders/{id}/pay, then Checkout) and the balance top-up form both land on
// the Checkout page.
func TestBrowserCardCheckoutFormReachesCheckout(t *testing.T) {
	h, origin := checkoutStandIn(t)
	p := newService(t, h, "csp", 25)
	h.User(t, account.RoleCustomer, "ines@example.fr")

	b := browsertest.New(t, 90*time.Second)
	if err := chromedp.Do(b, signIn(h, "ines@example.fr"),
		chromedp.Navigate(h.URL+"/shop/"+p.Slug),
		chromedp.WaitVisible(css("#add-to-cart")),
		chromedp.Click(css("#add-to-cart")), // answers with the cart
		chromedp.WaitVisible(css("#checkout-submit")),
		chromedp.Click(css("#pay-card")),
		chromedp.Click(css("#immediate_performance")),
		chromedp.Click(css("#withdrawal_waiver")),
		chromedp.Click(css("#accept_policy")),
		chromedp.Click(css("#checkout-submit")),
		chromedp.WaitVisible(css("#stripe-checkout"))); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(b, chromedp.Evaluate[string](`location.href`))
	if err != nil || !strings.HasPrefix(loc, origin+"/c/pay/cs_test_") {
		t.Fatalf("cart checkout landed on %q (%v)", loc, err)
	}

	if err := chromedp.Do(b, chromedp.Navigate(h.URL+"/balance"),
		chromedp.WaitVisible(css("#topup-submit")),
		chromedp.SendKeys(css("#topup-amount"), "20"),
		chromedp.Click(css("#topup-submit")),
		chromedp.WaitVisible(css("#stripe-checkout"))); err != nil {
		t.Fatal(err)
	}
	loc, err = chromedp.Run(b, chromedp.Evaluate[string](`location.href`))
	if err != nil || !strings.HasPrefix(loc, origin+"/c/pay/cs_test_") {
		t.Fatalf("top-up landed on %q (%v)", loc, err)
	}
}
