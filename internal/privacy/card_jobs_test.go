package privacy_test

import (
	"context"
	"database/sql"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/config"
	"comptoir/internal/money"
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
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		_, err := h.App.Card.StartCheckoutTx(ctx, tx, cardpay.StartInput{Purpose: cardpay.PurposeTopUp, ReferenceID: "top_zorglub",
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
}
