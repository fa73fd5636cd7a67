package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/claims"
	"comptoir/internal/db"
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

// The claim lists name each claim's subject with one statement for the
// page: they read each claim's order, or its subscription then its plan,
// one at a time, a page of 20 claims on as many orders costing 20
// statements more than a page of one. The statements of a list (counted
// by db.CountRoundTrips: round trips on PostgreSQL, statements on SQLite)
// stay the same as its claims grow, and every row still names its
// subject.
func TestClaimListsNameSubjectsInStatementsThatDoNotGrow(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	credit(t, h, u, 100000)
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	ag.PostForm("/lang", url.Values{"lang": {"en"}})
	auth := h.Bearer(t, u.ID)
	subjects := map[string]string{} // claim id → its subject's name
	n := 0
	addClaims := func(onOrders, onSubscriptions int) {
		t.Helper()
		for range onOrders {
			n++
			p := newService(t, h, fmt.Sprintf("posts-%d", n), 25)
			o, err := h.App.Orders.Place(ctx, orders.PlaceInput{
				CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 10}},
				Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en", IP: "192.0.2.1", UserAgent: "test",
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := h.App.Claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o.ID,
				LineID: o.Lines[0].ID, Actor: u.Actor()})
			if err != nil {
				t.Fatal(err)
			}
			subjects[cl.ID] = p.NameEN
		}
		for range onSubscriptions {
			n++
			plan := newPlan(t, h, fmt.Sprintf("pro-%d", n), 990, 0)
			subID := subscribeWithBalance(t, c, auth, plan.ID)
			r := c.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"cancel_key": {fmt.Sprintf("cck_%d", n)}, "mode": {"now"}})
			if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/claims/clm_") {
				t.Fatalf("cancel: %d %q", r.Status, r.Location)
			}
			subjects[strings.TrimPrefix(r.Location, "/claims/")] = plan.NameEN
		}
	}
	handler := h.App.Web.Handler()
	// list gets path as client's user, and counts its statements.
	list := func(client *apptest.Client, path string) (string, int64) {
		t.Helper()
		var rt db.RoundTrips
		req := httptest.NewRequestWithContext(db.CountRoundTrips(ctx, &rt), http.MethodGet, h.URL+path, nil)
		base, _ := url.Parse(h.URL)
		for _, ck := range client.Jar.Cookies(base) {
			req.AddCookie(ck)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		return rec.Body.String(), rt.Load()
	}
	check := func(path, body, link string) {
		t.Helper()
		for claimID, name := range subjects {
			i := strings.Index(body, link+claimID+`"`)
			if i < 0 {
				continue // not in this list (the console's lists open claims)
			}
			if row := body[i : i+strings.Index(body[i:], "</tr>")]; !strings.Contains(row, name) {
				t.Errorf("%s: the row of %s lacks %q: %s", path, claimID, name, row)
			}
		}
	}
	pages := []struct {
		client     *apptest.Client
		path, link string
	}{{c, "/claims", "/claims/"}, {ag, "/console/claims", "/console/claims/"}, {ag, "/console/claims?status=decided", "/console/claims/"}}
	addClaims(1, 1)
	// Once to warm what a first request reads (the session's use, caches).
	for _, p := range pages {
		list(p.client, p.path)
	}
	first := make([]int64, len(pages))
	for i, p := range pages {
		var body string
		body, first[i] = list(p.client, p.path)
		check(p.path, body, p.link)
		if first[i] == 0 {
			t.Fatalf("%s: no statement counted", p.path)
		}
	}
	addClaims(5, 3)
	for i, p := range pages {
		body, got := list(p.client, p.path)
		check(p.path, body, p.link)
		if rows := strings.Count(body, `href="`+p.link+`clm_`); got != first[i] {
			t.Errorf("%s: %d statements for %d claims, %d before with fewer", p.path, got, rows, first[i])
		}
	}
	if rows := strings.Count(func() string { b, _ := list(c, "/claims"); return b }(), `href="/claims/clm_`); rows != len(subjects) {
		t.Errorf("/claims lists %d claims, want %d", rows, len(subjects))
	}
}
