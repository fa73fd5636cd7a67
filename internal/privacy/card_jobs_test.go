package privacy_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/catalog"
	"comptoir/internal/config"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/privacy"
	"comptoir/internal/testwait"
)

// A card payment's Checkout job carries the address Stripe's page is
// pre-filled with, and River keeps the finished job (a day; a given-up
// one a week). Erasure deletes it: before, the address of the erased
// customer stayed in river_job.args.
func TestErasureForgetsTheCheckoutJobsEmail(t *testing.T) {
	stripeURL := cardpaytest.StripeURL(t)
	h := apptest.StartWith(t, func(c *config.Config) {
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_comptoir", "whsec_test_comptoir", stripeURL
	})
	ctx := context.Background()
	d := h.App.DB
	const addr = "checkout.zorglub@example.org"
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: addr, Password: apptest.Password, Name: "Zorglub Checkout",
		Language: "en", Country: "FR", Region: "Bretagne", City: "Brest"})
	if err != nil {
		t.Fatal(err)
	}
	var topUp cardpay.Payment
	if err := d.Tx(ctx, func(tx *sql.Tx) (err error) {
		topUp, err = h.App.Card.StartCheckoutTx(ctx, tx, cardpay.StartInput{Purpose: cardpay.PurposeTopUp, ReferenceID: "top_zorglub",
			CustomerID: u.ID, CustomerEmail: addr, Amount: money.MustNew(2000, "EUR"), Description: "Top-up",
			SuccessURL: "https://shop.test/balance", CancelURL: "https://shop.test/balance", Language: "en"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "checkout page made", func() bool {
		return count(t, d, `SELECT COUNT(*) FROM river_job WHERE kind = 'cardpay.create_checkout' AND state = 'completed'`) == 1
	})
	if len(scanTables(t, d, []string{addr})) == 0 {
		t.Fatal("no job names the address: the test would prove nothing")
	}
	if _, err := h.App.Privacy.Erase(ctx, u.ID, audit.Actor{ID: u.ID, Role: account.RoleCustomer}, privacy.ReasonCustomerRequest); err != nil {
		t.Fatal(err)
	}
	for _, hit := range scanTables(t, d, []string{addr}) {
		t.Errorf("the erased address is still in %s.%s", hit.table, hit.column)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM card_payments WHERE customer_id = $1`, u.ID); n != 1 {
		t.Errorf("the payment record went with the job: %d left", n)
	}
	// Nobody is left to pay the top-up, which would credit a balance
	// nobody can use: it is released, its page expired at Stripe.
	if got, err := h.App.Card.Get(ctx, topUp.ID); err != nil || got.Status != cardpay.StatusCanceled {
		t.Errorf("the waiting top-up after the erasure: %s, %v", got.Status, err)
	}
}

// Stripe keeps, in the Customer object a saved card made, the name, email
// and card the customer gave on its page; the store controls that data,
// so erasure deletes the Customer at Stripe. Before, it stayed there.
func TestErasureDeletesTheStripeCustomer(t *testing.T) {
	rec := cardpaytest.NewRecorder(t, cardpaytest.StripeURL(t))
	h := apptest.StartWith(t, func(c *config.Config) {
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_comptoir", cardpaytest.WebhookSecret, rec.URL()
	})
	ctx := context.Background()
	d := h.App.DB
	const addr = "saved.card@example.org"
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: addr, Password: apptest.Password, Name: "Saved Card",
		Language: "en", Country: "FR", Region: "Bretagne", City: "Brest"})
	if err != nil {
		t.Fatal(err)
	}
	var p cardpay.Payment
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		p, err = h.App.Card.StartCheckoutTx(ctx, tx, cardpay.StartInput{Purpose: cardpay.PurposeTopUp, ReferenceID: "top_saved",
			CustomerID: u.ID, CustomerEmail: addr, Amount: money.MustNew(2000, "EUR"), Description: "Top-up", SaveCard: true,
			SuccessURL: "https://shop.test/balance", CancelURL: "https://shop.test/balance", Language: "en"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	payload, sig := cardpaytest.Event(t, cardpaytest.WebhookSecret, cardpaytest.EventID(), stripe.EventTypeCheckoutSessionCompleted, map[string]any{
		"id": "cs_saved", "object": "checkout.session", "mode": "payment", "status": "complete", "payment_status": "paid",
		"amount_total": 2000, "currency": "eur", "customer": "cus_saved", "payment_intent": "pi_saved",
		"metadata": map[string]any{"payment_id": p.ID, "purpose": string(p.Purpose), "reference_id": p.ReferenceID},
	})
	if err := h.App.Card.HandleWebhook(ctx, payload, sig); err != nil {
		t.Fatal(err)
	}
	if got, err := h.App.Card.Get(ctx, p.ID); err != nil || got.StripeCustomerID != "cus_saved" {
		t.Fatalf("paid payment: %+v, %v: the test would prove nothing", got, err)
	}
	if _, err := h.App.Privacy.Erase(ctx, u.ID, audit.Actor{ID: u.ID, Role: account.RoleCustomer}, privacy.ReasonCustomerRequest); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the Stripe Customer deleted", func() bool {
		return count(t, d, `SELECT COUNT(*) FROM river_job WHERE kind = 'cardpay.delete_customer' AND state = 'completed'`) == 1
	})
	if got := rec.Requests("DELETE", "/v1/customers/cus_saved"); len(got) != 1 {
		t.Fatalf("%d deletions of cus_saved asked of Stripe, want 1", len(got))
	}
}

// An order still waiting for its card payment when the customer is erased
// is canceled with the erasure: the payment is released, its Checkout
// Session expired at Stripe (nobody may pay for an erased account), and the
// licence key the order reserved goes back to the pool. Before, the
// order stayed pending for ever, its key reserved, and the page open at
// Stripe could still take the money.
func TestErasureAbandonsTheOrdersWaitingForPayment(t *testing.T) {
	rec := cardpaytest.NewRecorder(t, cardpaytest.StripeURL(t))
	h := apptest.StartWith(t, func(c *config.Config) {
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_comptoir", cardpaytest.WebhookSecret, rec.URL()
	})
	ctx := context.Background()
	d := h.App.DB
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: "pending.card@example.org", Password: apptest.Password, Name: "Pending Card",
		Language: "en", Country: "FR", Region: "Bretagne", City: "Brest"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.App.Catalog.Create(ctx, admin, catalog.ProductInput{
		Slug: "licence", Kind: catalog.KindDigital, NameFR: "Logiciel", NameEN: "Software", DescriptionFR: "Une licence.", DescriptionEN: "One licence.",
		UnitPrice: money.MustNew(500, "EUR"), MinQuantity: 1, MaxQuantity: 1, DigitalDelivery: catalog.DeliveryLicenceKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Catalog.AddLicenceKeys(ctx, admin, p.ID, []string{"KEY-ONLY"}); err != nil {
		t.Fatal(err)
	}
	o, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 1}},
		Payment: orders.PayCard, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "checkout page made", func() bool {
		return count(t, d, `SELECT COUNT(*) FROM river_job WHERE kind = 'cardpay.create_checkout' AND state = 'completed'`) == 1
	})
	if n, _ := h.App.Catalog.AvailableKeys(ctx, p.ID); n != 0 {
		t.Fatalf("%d keys available while the order waits: the test would prove nothing", n)
	}
	if _, err := h.App.Privacy.Erase(ctx, u.ID, audit.Actor{ID: u.ID, Role: account.RoleCustomer}, privacy.ReasonCustomerRequest); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.App.Orders.Get(ctx, o.ID); got.Status != orders.StatusCanceled {
		t.Errorf("the unpaid order is %s after the erasure", got.Status)
	}
	pay, err := h.App.Card.Get(ctx, o.PaymentID)
	if err != nil || pay.Status != cardpay.StatusCanceled || pay.CheckoutSessionID == "" {
		t.Fatalf("its payment after the erasure: %+v, %v", pay, err)
	}
	if n, _ := h.App.Catalog.AvailableKeys(ctx, p.ID); n != 1 {
		t.Errorf("%d keys available after the erasure, want the reserved one back", n)
	}
	testwait.Until(t, "the Checkout Session expired at Stripe", func() bool {
		return len(rec.Requests("POST", "/v1/checkout/sessions/"+pay.CheckoutSessionID+"/expire")) == 1
	})
}
