package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/config"
	"comptoir/internal/id"
	"comptoir/internal/mail"
	"comptoir/internal/subscriptions"
	"comptoir/internal/testwait"
)

// scaStore is a store with card payments against stripe-mock, behind a
// recorder the test reads and steers.
func scaStore(t *testing.T) (*apptest.Harness, *cardpaytest.Recorder) {
	t.Helper()
	return scaStoreAt(t, "https://checkout.stripe.com/c/pay/")
}

// scaStoreAt is scaStore whose Checkout pages are at checkoutBase + id.
func scaStoreAt(t *testing.T, checkoutBase string) (*apptest.Harness, *cardpaytest.Recorder) {
	t.Helper()
	rec := cardpaytest.NewRecorder(t, cardpaytest.StripeURL(t))
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/checkout/sessions"), func(m map[string]any) {
		m["id"] = "cs_test_" + id.New("s")
		m["url"] = checkoutBase + m["id"].(string)
		m["payment_intent"] = nil
	})
	h := apptest.StartWith(t, func(c *config.Config) {
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_comptoir", webhookSecret, rec.URL()
		if u, err := url.Parse(checkoutBase); err == nil {
			c.StripeCheckoutOrigin = u.Scheme + "://" + u.Host
		}
	})
	return h, rec
}

func mailsOf(t *testing.T, h *apptest.Harness, u account.User, kind string) []mail.Stored {
	t.Helper()
	ms, err := h.App.Outbox.List(context.Background(), mail.Filter{UserID: u.ID, Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// paidSession is the checkout.session.completed object of a Checkout
// payment, with its PaymentIntent expanded so the card is saved.
func paidSession(p cardpay.Payment, pi string) map[string]any {
	s := completed(p)
	s["payment_intent"] = map[string]any{"id": pi, "object": "payment_intent", "status": "succeeded",
		"amount": p.Amount.Minor, "currency": strings.ToLower(p.Amount.Currency), "customer": "cus_sca", "payment_method": "pm_sca"}
	s["customer"] = "cus_sca"
	return s
}

// scaSubscription subscribes a customer by card and pays the first
// period, so that the card is saved for renewals.
func scaSubscription(t *testing.T, h *apptest.Harness, u account.User, c *apptest.Client) subscriptions.Subscription {
	t.Helper()
	plan := newPlan(t, h, "sca", 990, 0)
	r := c.PostForm("/subscriptions", url.Values{"plan_id": {plan.ID}, "payment": {"card"}, "accept_policy": {"default@1"},
		"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "http") {
		t.Fatalf("card subscription: %d %q", r.Status, r.Location)
	}
	ctx := context.Background()
	subs, _, err := h.App.Subscriptions.List(ctx, subscriptions.ListFilter{CustomerID: u.ID})
	if err != nil || len(subs) != 1 {
		t.Fatalf("subscriptions %v %v", subs, err)
	}
	periods, _ := h.App.Subscriptions.Periods(ctx, subs[0].ID)
	first, ok, err := h.App.Card.Pending(ctx, cardpay.PurposeRenewal, periods[0].ID)
	if err != nil || !ok {
		t.Fatalf("first payment: %v %v", ok, err)
	}
	payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, paidSession(first, "pi_first"))
	if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
		t.Fatalf("first payment webhook: %d", got)
	}
	sub, _ := h.App.Subscriptions.Get(ctx, subs[0].ID)
	if sub.Status != subscriptions.StatusActive {
		t.Fatalf("after the first payment: %s", sub.Status)
	}
	return sub
}

// authenticationRequired makes the bank ask for 3-D Secure on every
// off-session charge.
func authenticationRequired(rec *cardpaytest.Recorder) {
	rec.Respond(cardpaytest.To(http.MethodPost, "/v1/payment_intents"), http.StatusPaymentRequired,
		cardpaytest.StripeError("card_error", "authentication_required", "This payment requires authentication.",
			map[string]any{"decline_code": "authentication_required",
				"payment_intent": map[string]any{"id": "pi_held", "object": "payment_intent", "status": "requires_action"}}))
}

// A renewal the bank wants the customer to authenticate: the email links
// to a page that opens one Checkout page for exactly the period's amount,
// releases the held charge, holds the retries off, and the webhook settles
// the period once.
func TestRenewalNeedingAuthenticationIsPaidThroughTheEmailLink(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	sub := scaSubscription(t, h, u, c)

	authenticationRequired(rec)
	h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the payment-failed email", func() bool { return len(mailsOf(t, h, u, subscriptions.MailPaymentFailed)) == 1 })
	link := h.URL + "/subscriptions/" + sub.ID + "/authenticate"
	m := mailsOf(t, h, u, subscriptions.MailPaymentFailed)[0]
	if !strings.Contains(m.Text, link) || !strings.Contains(m.Text, "3-D Secure") {
		t.Fatalf("the email does not carry the authentication link %s:\n%s", link, m.Text)
	}
	periods, _ := h.App.Subscriptions.Periods(ctx, sub.ID)
	period := periods[len(periods)-1]
	held, _ := h.App.Card.ForReference(ctx, h.App.DB.Read, cardpay.PurposeRenewal, period.ID)
	if period.Status != subscriptions.PeriodFailed || len(held) != 1 || held[0].Status != cardpay.StatusRequiresAction {
		t.Fatalf("period %+v, payments %+v", period, held)
	}
	offSession := len(rec.Requests(http.MethodPost, "/v1/payment_intents"))
	c = signInAgain(t, h, "ana@example.fr") // a month later: a fresh session
	c.PostForm("/lang", url.Values{"lang": {"en"}})

	// Another customer gets a 404, on the page and on its form.
	_, other := h.User(t, account.RoleCustomer, "ben@example.fr")
	path := "/subscriptions/" + sub.ID + "/authenticate"
	if r := other.Get(path); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's link: %d", r.Status)
	}
	if r := other.PostForm(path, nil); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's form: %d", r.Status)
	}
	if n := len(rec.Requests(http.MethodPost, "/v1/checkout/sessions")); n != 1 {
		t.Fatalf("another customer opened a payment page: %d sessions", n)
	}

	// The subscription's page points there too.
	mustContain(t, c.Get("/subscriptions/"+sub.ID), `id="authenticate-link"`, path)
	// Following the link shows the amount; the form opens Stripe's page.
	mustContain(t, c.Get(path), `id="authenticate-submit"`, "€9.90")
	checkoutURL := followToCheckout(t, c, path)
	// Twice: the same page, no second payable session.
	if again := followToCheckout(t, c, path); again != checkoutURL {
		t.Fatalf("second visit reached %q, want %q", again, checkoutURL)
	}
	pays, _ := h.App.Card.ForReference(ctx, h.App.DB.Read, cardpay.PurposeRenewal, period.ID)
	if len(pays) != 2 || pays[0].Status != cardpay.StatusCanceled || pays[1].Status != cardpay.StatusAwaitingCustomer {
		t.Fatalf("payments of the period: %+v", pays)
	}
	pay := pays[1]
	if checkoutURL != pay.CheckoutURL {
		t.Fatalf("sent to %q, the payment's page is %q", checkoutURL, pay.CheckoutURL)
	}
	// Another customer cannot reach that page through the link either.
	if r := other.Get(path + "/checkout?payment=" + pay.ID); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's checkout step: %d", r.Status)
	}
	sessions := rec.Requests(http.MethodPost, "/v1/checkout/sessions")
	if len(sessions) != 2 {
		t.Fatalf("%d checkout sessions, want 2 (first period, authentication)", len(sessions))
	}
	q := sessions[1]
	for field, want := range map[string]string{
		"line_items[0][price_data][unit_amount]": "990", "line_items[0][price_data][currency]": "eur",
		"metadata[payment_id]": pay.ID, "metadata[reference_id]": period.ID, "metadata[purpose]": "renewal", "mode": "payment",
	} {
		if got := q.Form.Get(field); got != want {
			t.Errorf("checkout %s = %q, want %q", field, got, want)
		}
	}
	if q.IdempotencyKey() != "checkout-"+pay.ID {
		t.Errorf("checkout Idempotency-Key %q, want checkout-%s", q.IdempotencyKey(), pay.ID)
	}
	// The held PaymentIntent is canceled at Stripe, so it can never charge.
	testwait.Until(t, "the held intent's cancellation", func() bool {
		return len(rec.Requests(http.MethodPost, "/v1/payment_intents/pi_held/cancel")) == 1
	})
	if k := rec.Requests(http.MethodPost, "/v1/payment_intents/pi_held/cancel")[0].IdempotencyKey(); k != "cancel-"+pays[0].ID {
		t.Errorf("cancel Idempotency-Key %q", k)
	}

	// The retry comes due while the customer is on the page: no off-session
	// charge, the attempt counts, the email is sent again with the link.
	period, _ = periodByID(t, h, sub.ID, period.ID)
	h.Clock.Set(period.NextAttemptAt.Add(time.Minute))
	if err := h.App.Subscriptions.Retry(ctx, period.ID, period.Attempts); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Requests(http.MethodPost, "/v1/payment_intents")); n != offSession {
		t.Fatalf("a retry charged off-session while the authentication was pending (%d → %d)", offSession, n)
	}
	after, _ := periodByID(t, h, sub.ID, period.ID)
	if after.Status != subscriptions.PeriodFailed || after.Attempts != 2 || after.NextAttemptAt.IsZero() {
		t.Fatalf("period after a retry during authentication: %+v", after)
	}
	if ms := mailsOf(t, h, u, subscriptions.MailPaymentFailed); len(ms) != 2 || !strings.Contains(ms[0].Text, link) {
		t.Fatalf("%d payment-failed emails after the retry", len(ms))
	}

	// Stripe reports the payment; a replay changes nothing.
	payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, paidSession(pay, "pi_sca"))
	for range 2 {
		if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
			t.Fatalf("webhook: %d", got)
		}
	}
	// The same outcome under another event id (Stripe's own retry of a
	// different delivery) changes nothing either.
	payload2, sig2 := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, paidSession(pay, "pi_sca"))
	if got := deliverEvent(t, h, payload2, sig2); got != http.StatusOK {
		t.Fatalf("second event: %d", got)
	}
	// Stripe confirms the held intent's cancellation: nothing changes.
	canceled := map[string]any{"id": "pi_held", "object": "payment_intent", "status": "canceled", "amount": 990, "currency": "eur",
		"metadata": map[string]any{"payment_id": pays[0].ID}}
	payload3, sig3 := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypePaymentIntentCanceled, canceled)
	if got := deliverEvent(t, h, payload3, sig3); got != http.StatusOK {
		t.Fatalf("payment_intent.canceled: %d", got)
	}
	paid, _ := periodByID(t, h, sub.ID, period.ID)
	got, _ := h.App.Subscriptions.Get(ctx, sub.ID)
	if paid.Status != subscriptions.PeriodPaid || paid.PaymentReference != pay.ID || got.Status != subscriptions.StatusActive ||
		!got.CurrentPeriodEnd.Equal(period.End) {
		t.Fatalf("after payment: period %+v, subscription %s until %v", paid, got.Status, got.CurrentPeriodEnd)
	}
	if ms := mailsOf(t, h, u, subscriptions.MailRenewed); len(ms) != 1 {
		t.Fatalf("%d renewal confirmations, want 1", len(ms))
	}
	var succeeded int
	if err := h.App.DB.Read.QueryRow(`SELECT COUNT(*) FROM card_payments WHERE reference_id = $1 AND status = 'succeeded'`, period.ID).Scan(&succeeded); err != nil || succeeded != 1 {
		t.Fatalf("%d payments succeeded for the period (%v)", succeeded, err)
	}
	// Nothing is left to pay: the link is a 404 now.
	if r := c.Get(path); r.Status != http.StatusNotFound {
		t.Fatalf("link after payment: %d", r.Status)
	}
}

// The link expires when the retry schedule ends the subscription, and the
// payment page it opened is closed at Stripe.
func TestAuthenticationLinkExpiresWithTheSubscription(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	sub := scaSubscription(t, h, u, c)
	authenticationRequired(rec)
	h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the payment-failed email", func() bool { return len(mailsOf(t, h, u, subscriptions.MailPaymentFailed)) == 1 })
	path := "/subscriptions/" + sub.ID + "/authenticate"
	c = signInAgain(t, h, "ana@example.fr")
	followToCheckout(t, c, path) // the page exists at Stripe
	periods, _ := h.App.Subscriptions.Periods(ctx, sub.ID)
	periodID := periods[len(periods)-1].ID
	for range subscriptions.RetrySchedule {
		p, _ := periodByID(t, h, sub.ID, periodID)
		h.Clock.Set(p.NextAttemptAt.Add(time.Minute))
		if err := h.App.Subscriptions.Retry(ctx, p.ID, p.Attempts); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := h.App.Subscriptions.Get(ctx, sub.ID)
	if got.Status != subscriptions.StatusCanceled {
		t.Fatalf("after the last retry: %s", got.Status)
	}
	c = signInAgain(t, h, "ana@example.fr")
	if r := c.Get(path); r.Status != http.StatusNotFound {
		t.Fatalf("link after the subscription ended: %d", r.Status)
	}
	if r := c.PostForm(path, nil); r.Status != http.StatusNotFound {
		t.Fatalf("form after the subscription ended: %d", r.Status)
	}
	pays, _ := h.App.Card.ForReference(ctx, h.App.DB.Read, cardpay.PurposeRenewal, periodID)
	for _, p := range pays {
		if p.Status != cardpay.StatusCanceled {
			t.Fatalf("payment %s still %s after the subscription ended", p.ID, p.Status)
		}
	}
	session := pays[len(pays)-1].CheckoutSessionID
	testwait.Until(t, "the Checkout page's expiry", func() bool {
		return len(rec.Requests(http.MethodPost, "/v1/checkout/sessions/"+session+"/expire")) == 1
	})
}

func periodByID(t *testing.T, h *apptest.Harness, subID, periodID string) (subscriptions.Period, bool) {
	t.Helper()
	ps, err := h.App.Subscriptions.Periods(context.Background(), subID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.ID == periodID {
			return p, true
		}
	}
	t.Fatalf("no period %s", periodID)
	return subscriptions.Period{}, false
}

// signInAgain signs an existing user in on a fresh client (after the clock has
// moved past the earlier session's life).
func signInAgain(t *testing.T, h *apptest.Harness, email string) *apptest.Client {
	t.Helper()
	c := h.NewClient(t)
	if r := c.PostForm("/signin", url.Values{"email": {email}, "password": {apptest.Password}}); r.Status != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d", email, r.Status)
	}
	return c
}

// A customer who cancels while the payment page is open cannot be charged
// by it any more.
func TestCancelingDuringAuthenticationClosesThePaymentPage(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	sub := scaSubscription(t, h, u, c)
	authenticationRequired(rec)
	h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the payment-failed email", func() bool { return len(mailsOf(t, h, u, subscriptions.MailPaymentFailed)) == 1 })
	path := "/subscriptions/" + sub.ID + "/authenticate"
	c = signInAgain(t, h, "ana@example.fr")
	followToCheckout(t, c, path) // the page exists at Stripe
	if r := c.PostForm("/subscriptions/"+sub.ID+"/cancel", url.Values{"mode": {"now"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("cancel now: %d %s", r.Status, r.Body)
	}
	if got, _ := h.App.Subscriptions.Get(ctx, sub.ID); got.Status != subscriptions.StatusCanceled {
		t.Fatalf("after cancel: %s", got.Status)
	}
	periods, _ := h.App.Subscriptions.Periods(ctx, sub.ID)
	pays, _ := h.App.Card.ForReference(ctx, h.App.DB.Read, cardpay.PurposeRenewal, periods[len(periods)-1].ID)
	if len(pays) != 2 || pays[1].Status != cardpay.StatusCanceled {
		t.Fatalf("payments after the customer canceled: %+v", pays)
	}
	testwait.Until(t, "the Checkout page's expiry", func() bool {
		return len(rec.Requests(http.MethodPost, "/v1/checkout/sessions/"+pays[1].CheckoutSessionID+"/expire")) == 1
	})
	if r := c.Get(path); r.Status != http.StatusNotFound {
		t.Fatalf("link after cancel: %d", r.Status)
	}
	// Paid all the same, a moment before the expiry reached Stripe: the
	// money is recorded, once, and given back in full (the subscription
	// ended before this payment). Before, it was only logged.
	deliver := webhookDeliverer(t, h)
	for range 2 {
		deliver(stripe.EventTypeCheckoutSessionCompleted, paidSession(pays[1], "pi_late"))
	}
	late, _ := h.App.Card.Get(ctx, pays[1].ID)
	refunds, err := h.App.Card.Refunds(ctx, h.App.DB.Read, late.ID)
	if err != nil || late.Status != cardpay.StatusSucceeded || len(refunds) != 1 || refunds[0].Amount != late.Amount {
		t.Fatalf("page paid after the cancel: %+v, refunds %+v %v", late, refunds, err)
	}
	if got, _ := h.App.Subscriptions.Get(ctx, sub.ID); got.Status != subscriptions.StatusCanceled {
		t.Fatalf("paid after the cancel: %s", got.Status)
	}
}

// followToCheckout presses the page's button and follows our own steps to
// the Checkout page's address, which it returns.
func followToCheckout(t *testing.T, c *apptest.Client, path string) string {
	t.Helper()
	r := c.PostForm(path, nil)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, path+"/checkout?payment=pay_") {
		t.Fatalf("authenticate: %d %q %s", r.Status, r.Location, r.Body)
	}
	page := c.Get(r.Location)
	if page.Status != http.StatusSeeOther || !strings.HasPrefix(page.Location, "http") {
		t.Fatalf("checkout step: %d %q %s", page.Status, page.Location, page.Body)
	}
	return page.Location
}

// Stripe cannot be reached when the customer opens the payment page of a
// renewal waiting for their authentication: they are told so, in their
// language, and that nothing was charged, as at checkout and on a top-up.
// Before, they got a page that reloaded itself for as long as the job
// retried.
func TestAuthenticationPageSaysWhenStripeIsUnreachable(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	sub := scaSubscription(t, h, u, c)
	authenticationRequired(rec)
	h.Clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the payment-failed email", func() bool { return len(mailsOf(t, h, u, subscriptions.MailPaymentFailed)) == 1 })
	// Stripe refuses every new Checkout page for now, in a way worth
	// retrying (a key being fixed, an outage).
	rec.ClearRules()
	rec.Respond(cardpaytest.To(http.MethodPost, "/v1/checkout/sessions"), http.StatusUnauthorized,
		cardpaytest.StripeError("invalid_request_error", "", "Invalid API Key provided.", nil))
	c = signInAgain(t, h, "ana@example.fr") // a month later: a fresh session
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	path := "/subscriptions/" + sub.ID + "/authenticate"
	r := c.PostForm(path, nil)
	if r.Status != http.StatusSeeOther || !strings.Contains(r.Location, path+"/checkout?payment=") {
		t.Fatalf("authenticate: %d %q", r.Status, r.Location)
	}
	// The failed attempt recorded (not only sent: the page says
	// "unreachable" from what the payment records), the page gives up
	// waiting for Stripe after the customer's few seconds, not the
	// test's.
	loc, _ := url.Parse(r.Location)
	payID := loc.Query().Get("payment")
	testwait.Until(t, "the failed attempt to make the page recorded", func() bool {
		p, err := h.App.Card.Get(ctx, payID)
		return err == nil && p.LastError != ""
	})
	h.App.Web.CheckoutWait = time.Second // no request in flight
	r = c.Get(r.Location)
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, `id="pay-unreachable"`) || !strings.Contains(r.Body, "Nothing has been charged") {
		t.Fatalf("checkout step while Stripe is unreachable: %d\n%s", r.Status, r.Body)
	}
}
