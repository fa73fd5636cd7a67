package web_test

import (
	"context"
	"net/url"
	"regexp"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/orders"
)

// twoProductOrder places, paid from the balance, an order of 10 of one
// service and 20 of another for u.
func twoProductOrder(t *testing.T, h *apptest.Harness, u account.User) orders.Order {
	t.Helper()
	a := newService(t, h, "posts-a", 25)
	b := newService(t, h, "posts-b", 40)
	credit(t, h, u, 10000)
	o, err := h.App.Orders.Place(context.Background(), orders.PlaceInput{
		CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: a.ID, Quantity: 10}, {ProductID: b.ID, Quantity: 20}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en", IP: "192.0.2.1", UserAgent: "test",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// An order's delivery record says which product each delivery was of.
// Before, it read "delivered 0 → 5", "delivered 0 → 3": on an order of
// two products neither the customer nor the agent could tell which.
func TestDeliveryRecordNamesTheProduct(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	o := twoProductOrder(t, h, u)
	for _, d := range []orders.DeliveryInput{deliveryOf(o.ID, o.Lines[1].ID, 5), deliveryOf(o.ID, o.Lines[0].ID, 3)} {
		if _, err := h.App.Orders.RecordDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	ag.PostForm("/lang", url.Values{"lang": {"en"}})
	for _, page := range []string{c.Get("/orders/" + o.ID).Body, ag.Get("/console/orders/" + o.ID).Body} {
		for _, want := range []string{`Posts posts-b</span> — delivered 0 → 5`, `Posts posts-a</span> — delivered 0 → 3`} {
			if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(page) {
				t.Fatalf("the delivery record lacks %q:\n%s", want, page)
			}
		}
	}
}
