package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"comptoir/internal/account"
	"comptoir/internal/browsertest"
	"comptoir/internal/cardpay"
	"comptoir/internal/subscriptions"
	"comptoir/internal/testwait"
)

// In a browser, without JavaScript of ours: the link's page shows the
// amount, and its button lands on the (stand-in) Checkout page.
func TestBrowserAuthenticationLinkOpensCheckout(t *testing.T) {
	stripePage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><title>Checkout</title><h1 id="stripe-checkout">Stripe Checkout</h1>`)
	}))
	t.Cleanup(stripePage.Close)
	h, rec := scaStoreAt(t, stripePage.URL+"/c/pay/")
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "lea@example.fr")
	sub := scaSubscription(t, h, u, c)
	authenticationRequired(rec)
	h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the payment-failed email", func() bool { return len(mailsOf(t, h, u, subscriptions.MailPaymentFailed)) == 1 })

	b := browsertest.New(t, 60*time.Second)
	if err := chromedp.Do(b, signIn(h, "lea@example.fr"),
		chromedp.Navigate(h.URL+"/subscriptions/"+sub.ID+"/authenticate"),
		chromedp.WaitVisible(css("#authenticate-submit"))); err != nil {
		t.Fatal(err)
	}
	amount, err := chromedp.Run(b, chromedp.Evaluate[string](`document.querySelector('#authenticate-amount').innerText`))
	if err != nil || !strings.Contains(amount, "9") || !strings.Contains(amount, "90") {
		t.Fatalf("amount shown %q (%v)", amount, err)
	}
	if err := chromedp.Do(b, chromedp.Click(css("#authenticate-submit")), chromedp.WaitVisible(css("#stripe-checkout"))); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(b, chromedp.Evaluate[string](`location.href`))
	if err != nil || !strings.HasPrefix(loc, stripePage.URL+"/c/pay/cs_test_") {
		t.Fatalf("landed on %q (%v)", loc, err)
	}
	periods, _ := h.App.Subscriptions.Periods(ctx, sub.ID)
	pays, _ := h.App.Card.ForReference(ctx, h.App.DB.Read, cardpay.PurposeRenewal, periods[len(periods)-1].ID)
	if len(pays) != 2 || pays[1].Status != cardpay.StatusAwaitingCustomer || !strings.HasSuffix(loc, pays[1].CheckoutSessionID) {
		t.Fatalf("payments after the browser flow: %+v", pays)
	}
}
