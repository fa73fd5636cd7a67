package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/claims"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

// A claim's pages say what it is about, as its emails do ("order ord_…
// (Posts posts-b)"): the product of its order line, or its subscription's
// plan. Before, the customer's and the console's claim pages and lists,
// and an order page's list of its claims, showed only the kind: two claims
// on an order of two products ("Not delivered", "Not as described") could
// not be told apart, and an agent deciding whether a product matched its
// description was not told which product.
func TestClaimPagesNameTheirProduct(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	a := newService(t, h, "posts-a", 25)
	b := newService(t, h, "posts-b", 40)
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	credit(t, h, u, 10000)
	o, err := h.App.Orders.Place(ctx, orders.PlaceInput{
		CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: a.ID, Quantity: 10}, {ProductID: b.ID, Quantity: 20}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en", IP: "192.0.2.1", UserAgent: "test",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	file := func(kind policy.Kind, lineID string) string {
		t.Helper()
		cl, err := h.App.Claims.File(ctx, claims.FileInput{Kind: kind, CustomerID: u.ID, OrderID: o.ID, LineID: lineID,
			Actor: u.Actor()})
		if err != nil {
			t.Fatal(err)
		}
		return cl.ID
	}
	onA := file(policy.NonDelivery, o.Lines[0].ID)
	onB := file(policy.NotAsDescribed, o.Lines[1].ID)
	subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
	r := c.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"cancel_key": {"cck_subject"}, "mode": {"now"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/claims/clm_") {
		t.Fatalf("cancel: %d %q", r.Status, r.Location)
	}
	onSub := strings.TrimPrefix(r.Location, "/claims/")

	subject := regexp.MustCompile(`id="claim-subject">([^<]*)<`)
	for path, want := range map[string]string{"/claims/" + onA: "Posts posts-a", "/claims/" + onB: "Posts posts-b", "/claims/" + onSub: "Plan pro"} {
		if m := subject.FindStringSubmatch(c.Get(path).Body); m == nil || m[1] != want {
			t.Errorf("%s names %q, want %q", path, m, want)
		}
	}
	// The lists: each claim's row names its product.
	row := func(body, claimID string) string {
		i := strings.Index(body, claimID+`"`)
		if i < 0 {
			t.Fatalf("no row for %s", claimID)
		}
		end := strings.Index(body[i:], "</tr>")
		return body[i : i+end]
	}
	list := c.Get("/claims").Body
	for id, want := range map[string]string{onA: "Posts posts-a", onB: "Posts posts-b", onSub: "Plan pro"} {
		if !strings.Contains(row(list, id), want) {
			t.Errorf("/claims: the row of %s lacks %q: %s", id, want, row(list, id))
		}
	}
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	ag.PostForm("/lang", url.Values{"lang": {"en"}})
	console := ag.Get("/console/claims").Body
	if !strings.Contains(row(console, onB), "Posts posts-b") {
		t.Errorf("/console/claims: the row of %s lacks its product: %s", onB, row(console, onB))
	}
	if m := subject.FindStringSubmatch(ag.Get("/console/claims/" + onB).Body); m == nil || m[1] != "Posts posts-b" {
		t.Errorf("console claim page names %q", m)
	}
	// The order page's list of its claims.
	orderPage := c.Get("/orders/" + o.ID).Body
	if !regexp.MustCompile(`/claims/` + onB + `">Not as described</a> · <span[^>]*>Posts posts-b</span>`).MatchString(orderPage) {
		t.Errorf("the order page's claims do not name their product:\n%s", orderPage)
	}
}

// The console words a claim's outcome for the agent. It showed agents the
// customer's wording, addressed to the customer: "Un agent vous propose
// une solution", "En attente de vos justificatifs".
func TestConsoleWordsOutcomesForTheAgent(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"fr"}})
	o := twoProductOrder(t, h, u)
	cl, err := h.App.Claims.File(ctx, claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID, OrderID: o.ID,
		LineID: o.Lines[0].ID, Actor: u.Actor()})
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, c.Get("/claims/"+cl.ID), "Un agent vous propose une solution")
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	ag.PostForm("/lang", url.Values{"lang": {"fr"}})
	for _, path := range []string{"/console/claims", "/console/claims/" + cl.ID, "/console/orders/" + o.ID} {
		page := ag.Get(path)
		mustContain(t, page, "Solution à proposer au client")
		if strings.Contains(page.Body, "Un agent vous propose une solution") {
			t.Errorf("%s speaks to the customer", path)
		}
	}
}
