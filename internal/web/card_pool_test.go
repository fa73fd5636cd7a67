package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/catalog"
	"comptoir/internal/money"
)

// An empty licence-key pool stops the sale (issue #3), by card as from the
// balance. A card order did not look at the pool at checkout: once the last
// key was sold, the next buyer was sent to pay by card for a key that did
// not exist (and the admins told after the payment). It is refused with
// out_of_stock, no order and no payment, as the balance checkout is.
func TestCardOrderOfAnEmptyPoolIsRefused(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	admin := audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}
	p, err := h.App.Catalog.Create(ctx, admin, catalog.ProductInput{
		Slug: "licence", Kind: catalog.KindDigital, NameFR: "Logiciel", NameEN: "Software", DescriptionFR: "Une licence.", DescriptionEN: "One licence.",
		UnitPrice: money.MustNew(500, "EUR"), MinQuantity: 1, MaxQuantity: 1, DigitalDelivery: catalog.DeliveryLicenceKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Catalog.AddLicenceKeys(ctx, admin, p.ID, []string{"K-LAST"}); err != nil {
		t.Fatal(err)
	}
	// Built per payment: replacing a placeholder could also hit the
	// product's id, whose letters are random.
	body := func(payment string) string {
		return `{"lines":[{"product_id":"` + p.ID + `","quantity":1}],"payment":"` + payment + `","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	}
	first, c1 := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, first, 500)
	if r := postJSON(c1, "/api/v1/orders", body("balance"), h.Bearer(t, first.ID)); r.Status != http.StatusCreated {
		t.Fatalf("the last key: %d %s", r.Status, r.Body)
	}
	second, c2 := h.User(t, account.RoleCustomer, "ben@example.fr")
	r := postJSON(c2, "/api/v1/orders", body("card"), h.Bearer(t, second.ID))
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"code":"out_of_stock"`) {
		t.Fatalf("a card order once the pool is empty: %d %s", r.Status, r.Body)
	}
	var n int
	if err := h.App.DB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM card_payments WHERE purpose = $1`, string(cardpay.PurposeOrder)).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d card payments started (%v)", n, err)
	}
	if err := h.App.DB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders WHERE customer_id = $1`, second.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d orders left (%v)", n, err)
	}
}
