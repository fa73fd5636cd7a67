package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/catalog"
	"comptoir/internal/config"
	"comptoir/internal/id"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/privacy"
)

const webhookSecret = "whsec_test_comptoir"

func startWithStripe(t *testing.T) *apptest.Harness {
	// stripe-mock keeps no state and answers every Checkout Session with
	// the same fixture ids; real Stripe makes a new session each time, so
	// the proxy gives each answer ids of its own.
	rec := cardpaytest.NewRecorder(t, cardpaytest.StripeURL(t))
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/checkout/sessions"), func(m map[string]any) {
		m["id"] = "cs_test_" + id.New("s")
		m["url"] = "https://checkout.stripe.com/c/pay/" + m["id"].(string)
		m["payment_intent"] = nil
	})
	return apptest.StartWith(t, func(c *config.Config) {
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_comptoir", webhookSecret, rec.URL()
	})
}

// deliverEvent posts a signed Stripe event to the store's webhook.
func deliverEvent(t *testing.T, h *apptest.Harness, payload []byte, sig string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/v1/webhooks/stripe", bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", sig)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// webhookDeliverer sends Stripe events of the given type and object to h,
// signed, and fails the test unless each is taken (200).
func webhookDeliverer(t *testing.T, h *apptest.Harness) func(typ stripe.EventType, obj map[string]any) {
	return func(typ stripe.EventType, obj map[string]any) {
		t.Helper()
		payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), typ, obj)
		if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
			t.Fatalf("%s webhook: %d", typ, got)
		}
	}
}

func completed(p cardpay.Payment) map[string]any {
	return map[string]any{
		"id": p.CheckoutSessionID, "object": "checkout.session", "mode": "payment", "status": "complete", "payment_status": "paid",
		"amount_total": p.Amount.Minor, "currency": strings.ToLower(p.Amount.Currency), "customer": "cus_test", "payment_intent": "pi_" + p.ID,
		"metadata": map[string]any{"payment_id": p.ID, "purpose": string(p.Purpose), "reference_id": p.ReferenceID},
	}
}

func TestCardOrderPaidByWebhook(t *testing.T) {
	h := startWithStripe(t)
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	auth := h.Bearer(t, u.ID)
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, auth)
	if r.Status != http.StatusCreated {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	var o struct {
		CheckoutURL string `json:"checkout_url"`
	}
	json.Unmarshal([]byte(r.Body), &o)
	var created struct{ ID, Status string }
	json.Unmarshal([]byte(r.Body), &created)
	if created.Status != "pending_payment" || o.CheckoutURL == "" {
		t.Fatalf("card order answer: %s", r.Body)
	}
	pay, ok, err := h.App.Card.Pending(context.Background(), cardpay.PurposeOrder, created.ID)
	if err != nil || !ok || pay.Amount.Minor != 2500 {
		t.Fatalf("pending payment %+v %v %v", pay, ok, err)
	}
	// A forged event changes nothing.
	payload, _ := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	if got := deliverEvent(t, h, payload, cardpaytest.Sign("whsec_wrong", payload, time.Now())); got != http.StatusBadRequest {
		t.Fatalf("forged webhook: %d", got)
	}
	if got, _ := h.App.Orders.Get(context.Background(), created.ID); got.Status != "pending_payment" {
		t.Fatalf("a forged event moved the order to %s", got.Status)
	}
	payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
		t.Fatalf("webhook: %d", got)
	}
	if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
		t.Fatalf("replayed webhook: %d", got)
	}
	got, _ := h.App.Orders.Get(context.Background(), created.ID)
	if got.Status != "processing" || got.Paid.Minor != 2500 || got.PaidAt.IsZero() {
		t.Fatalf("after payment: %+v", got)
	}
	mails, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "order_confirmation"})
	if len(mails) != 1 {
		t.Fatalf("%d confirmations after a replayed event", len(mails))
	}
	// The payment's transaction invoiced the order, once, and the
	// confirmation carries the invoice: no second email announces it.
	docs, err := h.App.Invoices.ForOrder(context.Background(), created.ID)
	if err != nil || len(docs) != 1 || docs[0].Total.Minor != 2500 {
		t.Fatalf("invoices of the card order: %d %v", len(docs), err)
	}
	full, err := h.App.Outbox.Get(context.Background(), mails[0].ID)
	if err != nil || len(full.Attachments) != 1 || full.Attachments[0].Source != "invoice:"+docs[0].ID || !strings.Contains(full.Text, "/invoices/"+docs[0].ID) {
		t.Fatalf("card order confirmation: %+v, %v", full.Attachments, err)
	}
	if others, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "invoice_issued"}); len(others) != 0 {
		t.Fatalf("%d invoice emails beside the confirmation", len(others))
	}
	// The page flow sends the customer to Stripe's hosted page.
	c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"10"}})
	key := checkoutKey.FindStringSubmatch(c.Get("/cart").Body)[1]
	r = c.PostForm("/checkout", url.Values{"checkout_key": {key}, "payment": {"card"}, "accept_policy": {"default@1"},
		"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}})
	if r.Status != http.StatusSeeOther || !strings.HasSuffix(r.Location, "/pay") {
		t.Fatalf("card checkout page: %d %q", r.Status, r.Location)
	}
	r = c.Get(r.Location)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "http") {
		t.Fatalf("pay page: %d %q", r.Status, r.Location)
	}
}

func TestTopUpByCard(t *testing.T) {
	h := startWithStripe(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	r := c.PostForm("/balance/topup", url.Values{"amount": {"0,50"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="amount-error"`) {
		t.Fatalf("too small a top-up: %d", r.Status)
	}
	mustMarkRefused(t, "top-up", r.Body, map[string]string{"amount": "amount"})
	auth := h.Bearer(t, u.ID)
	hd := auth.Clone()
	hd.Set("Idempotency-Key", "topup-1")
	r = postJSON(c, "/api/v1/balance/topups", `{"amount":{"amount":2000,"currency":"EUR"}}`, hd)
	if r.Status != http.StatusCreated || !strings.Contains(r.Body, `"checkout_url"`) {
		t.Fatalf("top-up: %d %s", r.Status, r.Body)
	}
	var out struct{ ID string }
	json.Unmarshal([]byte(r.Body), &out)
	if again := postJSON(c, "/api/v1/balance/topups", `{"amount":{"amount":2000,"currency":"EUR"}}`, hd); !strings.Contains(again.Body, out.ID) {
		t.Fatalf("retried top-up made another payment: %s", again.Body)
	}
	pay, err := h.App.Card.Get(context.Background(), out.ID)
	if err != nil {
		t.Fatal(err)
	}
	payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
		t.Fatalf("webhook: %d", got)
	}
	if balanceOf(t, h, u) != 2000 {
		t.Fatalf("balance after a paid top-up: %d", balanceOf(t, h, u))
	}
	if docs, err := h.App.Invoices.ForOrder(context.Background(), pay.ID); err != nil || len(docs) != 1 || docs[0].VAT.Minor != 0 || docs[0].Total.Minor != 2000 {
		t.Fatalf("top-up document: %d %v", len(docs), err)
	}
}

// API.md: a repeat of a keyed POST returns the first answer, and every keyed
// route marks it Idempotent-Replayed. The top-up found the same payment again
// but did not say it was a replay, and once that payment was paid a retry of
// the same request was refused as a reused key.
func TestTopUpReplayIsMarked(t *testing.T) {
	h := startWithStripe(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	hd := h.Bearer(t, u.ID)
	hd.Set("Idempotency-Key", "topup-replay")
	body := `{"amount":{"amount":2000,"currency":"EUR"}}`
	first := postJSON(c, "/api/v1/balance/topups", body, hd)
	if first.Status != http.StatusCreated || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("top-up: %d %s (replayed %q)", first.Status, first.Body, first.Header.Get("Idempotent-Replayed"))
	}
	var out struct {
		ID          string `json:"id"`
		CheckoutURL string `json:"checkout_url"`
	}
	json.Unmarshal([]byte(first.Body), &out)
	again := postJSON(c, "/api/v1/balance/topups", body, hd)
	if again.Status != http.StatusCreated || !strings.Contains(again.Body, `"id":"`+out.ID+`"`) ||
		!strings.Contains(again.Body, out.CheckoutURL) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeat: %d %s (replayed %q), want the first answer %s", again.Status, again.Body, again.Header.Get("Idempotent-Replayed"), first.Body)
	}
	if other := postJSON(c, "/api/v1/balance/topups", `{"amount":{"amount":3000,"currency":"EUR"}}`, hd); other.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(other.Body, `"code":"idempotency_key_reused"`) {
		t.Fatalf("same key, another amount: %d %s", other.Status, other.Body)
	}
	pay, err := h.App.Card.Get(context.Background(), out.ID)
	if err != nil {
		t.Fatal(err)
	}
	payload, sig := cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	if got := deliverEvent(t, h, payload, sig); got != http.StatusOK {
		t.Fatalf("webhook: %d", got)
	}
	late := postJSON(c, "/api/v1/balance/topups", body, hd)
	if late.Status != http.StatusCreated || !strings.Contains(late.Body, `"id":"`+out.ID+`"`) || late.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeat after payment: %d %s (replayed %q)", late.Status, late.Body, late.Header.Get("Idempotent-Replayed"))
	}
	if balanceOf(t, h, u) != 2000 {
		t.Fatalf("balance after a paid top-up and its repeats: %d", balanceOf(t, h, u))
	}
}

// An erasure releases the customer's open top-up pages, but one may be paid
// before its expiry reaches Stripe. The money is recorded and given back in
// full to the card: no balance nobody can sign in to use, no voucher
// document for an erased account. Before, the payment stayed canceled and
// the money at Stripe was only logged.
func TestTopUpPaidAfterTheErasureIsRefunded(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	u, pay := topUpThenErase(t, h, "topup-erased")
	if got, _ := h.App.Card.Get(ctx, pay.ID); got.Status != cardpay.StatusCanceled {
		t.Fatalf("top-up of an erased account is %s, want released", got.Status)
	}
	deliver := webhookDeliverer(t, h)
	for range 2 { // Stripe may deliver it twice
		deliver(stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	}
	if got, _ := h.App.Card.Get(ctx, pay.ID); got.Status != cardpay.StatusSucceeded || got.Refunded.Minor != 2000 {
		t.Fatalf("top-up paid after the erasure: %s, %v refunded", got.Status, got.Refunded)
	}
	refunds, err := h.App.Card.Refunds(ctx, h.App.DB.Read, pay.ID)
	if err != nil || len(refunds) != 1 || refunds[0].Amount.Minor != 2000 {
		t.Fatalf("refunds %+v %v, want one of 2000", refunds, err)
	}
	if b := balanceOf(t, h, u); b != 0 {
		t.Fatalf("erased account's balance %d, want 0", b)
	}
	if docs, err := h.App.Invoices.ForOrder(ctx, pay.ID); err != nil || len(docs) != 0 {
		t.Fatalf("%d top-up documents for an erased account (%v), want none", len(docs), err)
	}
}

// A card top-up the customer disputes with their bank: while the bank holds
// the money, what is left of it on the balance is taken back (it cannot be
// both returned by the bank and spent here); an inquiry takes nothing; a
// replayed or updated event takes nothing more; a won dispute gives back
// what was taken. Before, the balance kept the whole top-up through the
// dispute, and a lost one left the store paying twice.
func TestDisputedTopUpIsTakenBackFromTheBalance(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	u, c, pay := cardTopUp(t, h, "topup-dispute")
	deliver := webhookDeliverer(t, h)
	deliver(stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	// 5.00 of it spent already.
	if _, err := h.App.Ledger.AdminDebit(ctx, audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}, u.ID, money.MustNew(500, "EUR"), "spent"); err != nil {
		t.Fatal(err)
	}
	want := func(balance int64, when string) {
		t.Helper()
		if got := balanceOf(t, h, u); got != balance {
			t.Fatalf("%s: balance %d, want %d", when, got, balance)
		}
		if m, err := h.App.Ledger.Reconcile(ctx); err != nil || len(m) != 0 {
			t.Fatalf("%s: ledger mismatches %+v %v", when, m, err)
		}
	}
	want(1500, "before the dispute")

	dispute := map[string]any{"id": "dp_topup", "object": "dispute", "amount": 2000, "currency": "eur", "charge": "ch_topup",
		"payment_intent": pay.PaymentIntentID, "reason": "fraudulent", "status": "warning_needs_response"}
	if dispute["payment_intent"] == "" {
		dispute["payment_intent"] = "pi_" + pay.ID
	}
	deliver(stripe.EventTypeChargeDisputeCreated, dispute)
	want(1500, "after an inquiry")
	dispute["status"] = "needs_response"
	deliver(stripe.EventTypeChargeDisputeUpdated, dispute)
	want(0, "while the bank holds the money")
	dispute["status"] = "under_review"
	deliver(stripe.EventTypeChargeDisputeUpdated, dispute)
	want(0, "after an update")
	dispute["status"] = "won"
	deliver(stripe.EventTypeChargeDisputeClosed, dispute)
	want(1500, "after the store won")
	if r := c.Get("/balance"); r.Status != http.StatusOK || strings.Count(r.Body, "<tr>") < 5 {
		t.Fatalf("balance page: %d", r.Status)
	}
}

// A dispute event about an earlier state of the case, delivered after the
// store won (Stripe redelivers what failed, in any order), changes nothing:
// here the top-up was spent when the dispute opened, so nothing was taken
// then; the balance filled again since, and the late "under_review" took
// it, after the win, for good.
func TestLateDisputeEventAfterTheStoreWonTakesNothing(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	u, _, pay := cardTopUp(t, h, "topup-late-dispute")
	deliver := webhookDeliverer(t, h)
	deliver(stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	admin := audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}
	if _, err := h.App.Ledger.AdminDebit(ctx, admin, u.ID, money.MustNew(2000, "EUR"), "spent"); err != nil {
		t.Fatal(err)
	}
	dispute := map[string]any{"id": "dp_late", "object": "dispute", "amount": 2000, "currency": "eur", "charge": "ch_late",
		"payment_intent": "pi_" + pay.ID, "reason": "fraudulent", "status": "needs_response"}
	deliver(stripe.EventTypeChargeDisputeCreated, dispute)
	if _, err := h.App.Ledger.AdminCredit(ctx, admin, u.ID, money.MustNew(700, "EUR"), "goodwill"); err != nil {
		t.Fatal(err)
	}
	won := maps.Clone(dispute)
	won["status"] = "won"
	deliver(stripe.EventTypeChargeDisputeClosed, won)
	if got := balanceOf(t, h, u); got != 700 {
		t.Fatalf("balance after the store won: %d, want 700", got)
	}
	late := maps.Clone(dispute)
	late["status"] = "under_review"
	deliver(stripe.EventTypeChargeDisputeUpdated, late)
	if got := balanceOf(t, h, u); got != 700 {
		t.Fatalf("balance after a late event of the won dispute: %d, want 700", got)
	}
	var held bool
	if err := h.App.DB.Read.QueryRow(`SELECT dispute_hold FROM card_payments WHERE id = $1`, pay.ID).Scan(&held); err != nil || held {
		t.Fatalf("refunds held after the store won and a late event: %v %v", held, err)
	}
}

// newLicence makes a licence-key product whose pool holds keys.
func newLicence(t *testing.T, h *apptest.Harness, admin audit.Actor, keys ...string) catalog.Product {
	t.Helper()
	ctx := context.Background()
	p, err := h.App.Catalog.Create(ctx, admin, catalog.ProductInput{
		Slug: "licence", Kind: catalog.KindDigital, NameFR: "Logiciel", NameEN: "Software", DescriptionFR: "Une licence.", DescriptionEN: "One licence.",
		UnitPrice: money.MustNew(500, "EUR"), MinQuantity: 1, MaxQuantity: 1, DigitalDelivery: catalog.DeliveryLicenceKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Catalog.AddLicenceKeys(ctx, admin, p.ID, keys); err != nil {
		t.Fatal(err)
	}
	return p
}

// cardOrderOf places a card order of one unit of productID through the
// API and returns its pending payment.
func cardOrderOf(t *testing.T, h *apptest.Harness, email, productID string) cardpay.Payment {
	t.Helper()
	u, c := h.User(t, account.RoleCustomer, email)
	body := `{"lines":[{"product_id":"` + productID + `","quantity":1}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
	if r.Status != http.StatusCreated {
		t.Fatalf("card order of %s: %d %s", email, r.Status, r.Body)
	}
	var created struct{ ID string }
	json.Unmarshal([]byte(r.Body), &created)
	pay, ok, err := h.App.Card.Pending(context.Background(), cardpay.PurposeOrder, created.ID)
	if err != nil || !ok {
		t.Fatalf("pending payment of %s: %v %v", email, ok, err)
	}
	return pay
}

// A card order reserves its licence key at checkout (issue #3). Two
// customers ordering the last key by card were both sent to pay, and the
// second paid for nothing. Now the second is refused out_of_stock, through
// the API and the cart page (in the visitor's language), while the first
// order awaits payment; the payment delivers the reserved key, and the
// admins hear once that the pool is empty.
func TestCardOrderReservesTheLastKey(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	admin, adminClient := h.User(t, account.RoleAdmin, "admin@shop.test")
	p := newLicence(t, h, audit.Actor{ID: admin.ID, Role: account.RoleAdmin}, "K-LAST")
	pay := cardOrderOf(t, h, "ana@example.fr", p.ID)
	if empty, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "alert_licence_pool_empty"}); len(empty) != 1 {
		t.Fatalf("%d pool-empty alerts once the last key is reserved", len(empty))
	}
	for _, page := range []string{"/admin/products", "/admin/products/" + p.ID} {
		if body := adminClient.Get(page).Body; !strings.Contains(body, "0\u00a0clé restante") {
			t.Errorf("%s does not count the reserved key as taken", page)
		}
	}
	ben, c := h.User(t, account.RoleCustomer, "ben@example.fr")
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":1}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, ben.ID))
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"code":"out_of_stock"`) {
		t.Fatalf("a second card order for the reserved last key: %d %s", r.Status, r.Body)
	}
	c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"1"}})
	key := checkoutKey.FindStringSubmatch(c.Get("/cart").Body)[1]
	r = c.PostForm("/checkout", url.Values{"checkout_key": {key}, "payment": {"card"}, "accept_policy": {"default@1"},
		"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "Ce produit vient d’être épuisé") {
		t.Fatalf("card checkout page for the reserved last key: %d", r.Status)
	}
	var n int
	if err := h.App.DB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders WHERE customer_id = $1`, ben.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d orders of the refused buyer (%v)", n, err)
	}
	if left, _ := h.App.Catalog.AvailableKeys(ctx, p.ID); left != 0 {
		t.Fatalf("the admin's pool count says %d keys while the last is reserved", left)
	}
	webhookDeliverer(t, h)(stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	paid, _ := h.App.Orders.Get(ctx, pay.ReferenceID)
	if paid.Lines[0].LicenceKey != "K-LAST" || paid.Lines[0].Delivered != 1 {
		t.Fatalf("paid line: %+v", paid.Lines[0])
	}
	if empty, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "alert_licence_pool_empty"}); len(empty) != 1 {
		t.Fatalf("%d pool-empty alerts after the reserved key was sold", len(empty))
	}
	if missing, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "alert_licence_key_missing"}); len(missing) != 0 {
		t.Fatalf("key-missing alerts: %+v", missing)
	}
}

// A card order whose Checkout page expires unpaid is canceled and its
// reserved key goes back to the pool in the same transaction: the next
// buyer gets it.
func TestExpiredCardOrderReleasesItsKey(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	p := newLicence(t, h, audit.Actor{ID: admin.ID, Role: account.RoleAdmin}, "K-ONE")
	first := cardOrderOf(t, h, "ana@example.fr", p.ID)
	if left, _ := h.App.Catalog.AvailableKeys(ctx, p.ID); left != 0 {
		t.Fatalf("%d keys available while the only one is reserved", left)
	}
	expireCheckout(t, h, first.ReferenceID)
	if left, _ := h.App.Catalog.AvailableKeys(ctx, p.ID); left != 1 {
		t.Fatalf("%d keys available once the order expired, want 1", left)
	}
	next := cardOrderOf(t, h, "ben@example.fr", p.ID)
	webhookDeliverer(t, h)(stripe.EventTypeCheckoutSessionCompleted, completed(next))
	if o, _ := h.App.Orders.Get(ctx, next.ReferenceID); o.Lines[0].LicenceKey != "K-ONE" {
		t.Fatalf("the next buyer's line: %+v", o.Lines[0])
	}
}

// A card order placed before keys were reserved at checkout (migration
// 0037) may be paid after the pool ran dry: the line stays undelivered and
// the admins are told, with the order. Before, only a log line said it.
func TestCardOrderPaidWithoutItsKeyAlertsTheAdmins(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	p := newLicence(t, h, audit.Actor{ID: admin.ID, Role: account.RoleAdmin}, "K-LAST")
	pay := cardOrderOf(t, h, "ana@example.fr", p.ID)
	// As if placed before 0037: no reservation.
	if _, err := h.App.DB.Write.ExecContext(ctx, `UPDATE licence_keys SET reserved_order_line_id = NULL, reserved_at = NULL`); err != nil {
		t.Fatal(err)
	}
	ben, c := h.User(t, account.RoleCustomer, "ben@example.fr")
	credit(t, h, ben, 500)
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":1}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	if r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, ben.ID)); r.Status != http.StatusCreated {
		t.Fatalf("the last key from the balance: %d %s", r.Status, r.Body)
	}
	webhookDeliverer(t, h)(stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	o, _ := h.App.Orders.Get(ctx, pay.ReferenceID)
	if o.Lines[0].LicenceKey != "" || o.Lines[0].Delivered != 0 {
		t.Fatalf("line paid without a key: %+v", o.Lines[0])
	}
	missing, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "alert_licence_key_missing"})
	if len(missing) != 1 || missing[0].To != admin.Email || !strings.Contains(missing[0].Text, "/console/orders/"+o.ID) {
		t.Fatalf("key-missing alerts: %+v", missing)
	}
	// The order as the admin finds it: its reference and who paid.
	buyer, _ := h.App.Accounts.UserByID(ctx, o.CustomerID)
	if want := "Une commande payée n’a pas de clé de licence (commande " + o.ID + ", " + buyer.Name + ")"; missing[0].Subject != want {
		t.Errorf("the key-missing alert's subject is %q, want %q", missing[0].Subject, want)
	}
	if want := "plus de clé de licence pour «\u00a0Logiciel\u00a0»"; !strings.Contains(missing[0].Text, want) {
		t.Errorf("the key-missing alert lacks %q:\n%s", want, missing[0].Text)
	}
}

// The refund of a top-up paid after its account was erased fails at the
// bank (the card was closed): the store keeps money nobody can spend or
// claim, so the admins are alerted, once, however often Stripe tells.
// Before, the failure was only in the refund's record.
func TestFailedRefundOfAnErasedAccountsTopUpAlertsTheAdmins(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	_, pay := topUpThenErase(t, h, "topup-erased-refund-fails")
	deliver := webhookDeliverer(t, h)
	deliver(stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	refunds, err := h.App.Card.Refunds(ctx, h.App.DB.Read, pay.ID)
	if err != nil || len(refunds) != 1 {
		t.Fatalf("refunds %+v %v, want one", refunds, err)
	}
	failed := map[string]any{
		"id": "re_" + id.New("x"), "object": "refund", "status": "failed", "failure_reason": "expired_or_canceled_card",
		"amount": 2000, "currency": "eur", "payment_intent": "pi_" + pay.ID,
		"metadata": map[string]any{"refund_id": refunds[0].ID, "payment_id": pay.ID},
	}
	for range 2 { // Stripe may tell twice (refund.failed, then charge.refund.updated)
		deliver(stripe.EventTypeRefundFailed, failed)
	}
	if got, _ := h.App.Card.GetRefund(ctx, refunds[0].ID); got.Status != cardpay.RefundFailed {
		t.Fatalf("refund is %s, want failed", got.Status)
	}
	alerts, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "alert_topup_refund_failed"})
	if len(alerts) != 1 || alerts[0].To != admin.Email || !strings.Contains(alerts[0].Text, "expired_or_canceled_card") {
		t.Fatalf("top-up refund alerts: %+v", alerts)
	}
	// What a person can find in Stripe's dashboard: a top-up, its amount,
	// the erased account's placeholder; not the payment's own id.
	if want := "Une recharge d’un compte effacé n’a pas été remboursée (20,00\u00a0€, " + account.ErasedName(pay.CustomerID) + ")"; alerts[0].Subject != want {
		t.Errorf("the top-up alert's subject is %q, want %q", alerts[0].Subject, want)
	}
	// The admin reads French: the amount and the words in it.
	if want := "20,00\u00a0€, client effacé "; !strings.Contains(alerts[0].Text, want) ||
		!strings.Contains(alerts[0].Text, "\u00a0: le remboursement par carte "+refunds[0].ID+" a échoué (") {
		t.Errorf("the French alert lacks %q or the failure:\n%s", want, alerts[0].Text)
	}
}

// cardTopUp signs a customer in and starts a 20.00 EUR card top-up for
// them through the API under the idempotency key key; the payment awaits
// its Checkout page's webhook. It returns the customer, their client and
// the payment.
func cardTopUp(t *testing.T, h *apptest.Harness, key string) (account.User, *apptest.Client, cardpay.Payment) {
	t.Helper()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	hd := h.Bearer(t, u.ID).Clone()
	hd.Set("Idempotency-Key", key)
	r := postJSON(c, "/api/v1/balance/topups", `{"amount":{"amount":2000,"currency":"EUR"}}`, hd)
	if r.Status != http.StatusCreated {
		t.Fatalf("top-up: %d %s", r.Status, r.Body)
	}
	var out struct{ ID string }
	json.Unmarshal([]byte(r.Body), &out)
	pay, err := h.App.Card.Get(context.Background(), out.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u, c, pay
}

// topUpThenErase starts a 20 EUR card top-up for a new customer, whose
// Checkout page is still open when the customer's account is erased.
func topUpThenErase(t *testing.T, h *apptest.Harness, key string) (account.User, cardpay.Payment) {
	t.Helper()
	ctx := context.Background()
	u, _, pay := cardTopUp(t, h, key)
	if _, err := h.App.Privacy.Erase(ctx, u.ID, audit.Actor{ID: u.ID, Role: account.RoleCustomer}, privacy.ReasonCustomerRequest); err != nil {
		t.Fatal(err)
	}
	return u, pay
}

// A card top-up of an erased account, disputed after the erasure (a bank
// takes disputes for months; the erasure waits only for those already
// open): what is left of it on the balance given up with the account is
// taken back while the bank holds the money, and a dispute the store wins
// gives exactly that back, so the erased balance is again what the
// customer gave up. Right as it is, not a defect: the balance was given up
// with the account and nobody can use it (AdminCredit still refuses it),
// but it is the ledger's record of what was given up; the dispute's two
// entries (card_dispute, card_dispute_won) undo each other as the bank's
// two movements did, and the top-up's invoice stands without a credit note.
// Keeping the take-back would say the cardholder got that money back from
// the bank, which only a lost dispute does (it stays taken, with its credit
// note).
func TestWonDisputeOfAnErasedAccountsTopUpRestoresWhatWasGivenUp(t *testing.T) {
	for _, closing := range []string{"won", "lost"} {
		t.Run(closing, func(t *testing.T) {
			h := startWithStripe(t)
			ctx := context.Background()
			u, _, pay := cardTopUp(t, h, "topup-erased-"+closing)
			deliver := webhookDeliverer(t, h)
			deliver(stripe.EventTypeCheckoutSessionCompleted, completed(pay))
			admin := audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}
			if _, err := h.App.Ledger.AdminDebit(ctx, admin, u.ID, money.MustNew(500, "EUR"), "spent"); err != nil {
				t.Fatal(err)
			}
			if _, err := h.App.Privacy.EraseGivingUp(ctx, u.ID, audit.Actor{ID: u.ID, Role: account.RoleCustomer}, privacy.ReasonCustomerRequest,
				money.MustNew(1500, "EUR")); err != nil {
				t.Fatal(err)
			}
			want := func(balance int64, when string) {
				t.Helper()
				if got := balanceOf(t, h, u); got != balance {
					t.Fatalf("%s: erased balance %d, want %d", when, got, balance)
				}
				if m, err := h.App.Ledger.Reconcile(ctx); err != nil || len(m) != 0 {
					t.Fatalf("%s: ledger mismatches %+v %v", when, m, err)
				}
			}
			want(1500, "given up")
			dispute := map[string]any{"id": "dp_erased_" + closing, "object": "dispute", "amount": 2000, "currency": "eur",
				"charge": "ch_erased", "payment_intent": "pi_" + pay.ID, "reason": "fraudulent", "status": "needs_response"}
			deliver(stripe.EventTypeChargeDisputeCreated, dispute)
			want(0, "while the bank holds the money")
			dispute["status"] = closing
			deliver(stripe.EventTypeChargeDisputeClosed, dispute)
			if closing == "lost" {
				want(0, "after the store lost")
				return
			}
			want(1500, "after the store won")
			var net, entries int64
			if err := h.App.DB.Read.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM balance_entries
				WHERE customer_id = $1 AND reference_id = $2 AND reference_type IN ('card_dispute', 'card_dispute_won')`, u.ID, pay.ID).Scan(&net, &entries); err != nil {
				t.Fatal(err)
			}
			if net != 0 || entries != 2 {
				t.Fatalf("the dispute's entries: %d of them adding up to %d, want 2 adding up to 0", entries, net)
			}
			if _, err := h.App.Ledger.AdminCredit(ctx, admin, u.ID, money.MustNew(100, "EUR"), "goodwill"); !errors.Is(err, billing.ErrAccountErased) {
				t.Fatalf("credit by hand to the erased balance: %v, want refused", err)
			}
		})
	}
}
