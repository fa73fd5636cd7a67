package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/claims"
	"comptoir/internal/desk"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

// An agent turns a customer's message about an order of two products into
// a claim about one of them, and a written withdrawal into a withdrawal.
// Before, the console's form had no product list: the claims service needs
// the line of an order of several lines, so every such claim was refused
// with "Some of the claim's details are not valid", whatever the agent
// did; and withdrawal, which a customer may state in any words (the
// Contact form even has its topic), was not among the kinds offered.
func TestClaimFromAMessageOnAnOrderOfSeveralProducts(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	a := newService(t, h, "posts-a", 25)
	b := newService(t, h, "posts-b", 40)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 10000)
	o, err := h.App.Orders.Place(ctx, orders.PlaceInput{
		CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: a.ID, Quantity: 10}, {ProductID: b.ID, Quantity: 20}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en", IP: "192.0.2.1", UserAgent: "test",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: u.ID, Name: "Ana", Email: u.Email, OrderRef: o.ID,
		Topic: desk.TopicOrder, Message: "The second batch of posts never came. I withdraw from it.", Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	thread, _ := h.App.Desk.Thread(ctx, tk.ID, false)
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	ag.PostForm("/lang", url.Values{"lang": {"en"}})

	page := ag.Get("/console/tickets/" + tk.ID)
	mustContain(t, page, `<select name="line_id"`, `<option value="`+o.Lines[1].ID+`">Posts posts-b</option>`,
		`<option value="withdrawal">Withdrawal</option>`)

	form := url.Values{"claim_key": {formKey(t, page, "claim_key")}, "message_id": {thread[0].ID},
		"kind": {"non_delivery"}, "order_id": {o.ID}}
	// Without a product: the reason, beside the list, and nothing filed.
	r := ag.PostForm("/console/tickets/"+tk.ID+"/claim", form)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="line_id-error"`) ||
		!strings.Contains(r.Body, "choose the one the claim is about") {
		t.Fatalf("claim without a product: %d %s", r.Status, r.Body)
	}
	mustMarkRefused(t, "line_id", r.Body, map[string]string{"line_id": "line_id"})
	if cs := claimsOfOrder(t, h, o.ID); len(cs) != 0 {
		t.Fatalf("%d claims filed without a product", len(cs))
	}

	form.Set("line_id", o.Lines[1].ID)
	r = ag.PostForm("/console/tickets/"+tk.ID+"/claim", form)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/console/claims/clm_") {
		t.Fatalf("claim about the second product: %d %q %s", r.Status, r.Location, r.Body)
	}
	cs := claimsOfOrder(t, h, o.ID)
	if len(cs) != 1 || cs[0].LineID != o.Lines[1].ID || cs[0].Kind != policy.NonDelivery || cs[0].SourceMessageID != thread[0].ID {
		t.Fatalf("claims: %+v", cs)
	}

	// The withdrawal the message states, dated from it.
	w := url.Values{"claim_key": {formKey(t, ag.Get("/console/tickets/"+tk.ID), "claim_key")}, "message_id": {thread[0].ID},
		"kind": {"withdrawal"}, "order_id": {o.ID}, "line_id": {o.Lines[1].ID}}
	if r := ag.PostForm("/console/tickets/"+tk.ID+"/claim", w); r.Status != http.StatusSeeOther {
		t.Fatalf("withdrawal from the message: %d %s", r.Status, r.Body)
	}
	var withdrawal bool
	for _, c := range claimsOfOrder(t, h, o.ID) {
		if c.Kind == policy.Withdrawal {
			withdrawal = c.LineID == o.Lines[1].ID && c.FiledAt.Equal(thread[0].CreatedAt)
		}
	}
	if !withdrawal {
		t.Fatalf("no withdrawal of the second product dated from the message: %+v", claimsOfOrder(t, h, o.ID))
	}
}

func claimsOfOrder(t *testing.T, h *apptest.Harness, orderID string) []claims.Claim {
	t.Helper()
	cs, _, err := h.App.Claims.List(context.Background(), claims.ListFilter{OrderID: orderID})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
