package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/desk"
)

// openMine opens n tickets on the customer's account, one a minute, the
// last one the most recently active.
func openMine(t *testing.T, h *apptest.Harness, customerID string, n int) []desk.Ticket {
	t.Helper()
	var out []desk.Ticket
	for i := range n {
		h.Clock.Advance(time.Minute)
		tk, err := h.App.Desk.OpenFromContact(context.Background(), desk.ContactInput{Name: "C", Email: "mine@example.fr",
			CustomerID: customerID, Topic: "question", Message: fmt.Sprintf("Question %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tk)
	}
	return out
}

// A customer's tickets stopped at 200, in the API and on their page, with
// no way to the others. Both page now: every ticket is reached once, most
// recently active first, and another customer's never.
func TestCustomerTicketsPageToEveryTicket(t *testing.T) {
	h := apptest.Start(t)
	cus, page := h.User(t, account.RoleCustomer, "mine@example.fr")
	other, _ := h.User(t, account.RoleCustomer, "other@example.fr")
	mine := openMine(t, h, cus.ID, 203)
	theirs := openMine(t, h, other.ID, 1)[0]

	// The API, walked by its next cursor.
	auth := h.Bearer(t, cus.ID)
	c := h.NewClient(t)
	type apiPage struct {
		Items []apiTicket `json:"items"`
		Next  *string     `json:"next"`
	}
	seen := map[string]int{}
	var order []string
	path := "/api/v1/tickets"
	for pages := 0; path != ""; pages++ {
		if pages > 10 {
			t.Fatal("the API's pages never end")
		}
		r := c.Send(http.MethodGet, path, "", nil, auth)
		p := decodeAs[apiPage](t, r)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		for _, it := range p.Items {
			seen[it.ID]++
			order = append(order, it.ID)
		}
		path = ""
		if p.Next != nil {
			if *p.Next == "" {
				t.Fatalf("next is present but empty on %s", r.Body)
			}
			path = "/api/v1/tickets?after=" + url.QueryEscape(*p.Next)
		}
	}
	if len(order) != len(mine) || seen[theirs.ID] != 0 {
		t.Fatalf("the API's pages gave %d tickets (another customer's: %d), want the customer's %d", len(order), seen[theirs.ID], len(mine))
	}
	for i, tk := range mine {
		if got := order[len(mine)-1-i]; got != tk.ID || seen[tk.ID] != 1 {
			t.Fatalf("ticket %d of the pages is %s (seen %d times), want %s, most recent first", len(mine)-1-i, got, seen[tk.ID], tk.ID)
		}
	}
	if r := c.Send(http.MethodGet, "/api/v1/tickets?after=garbage", "", nil, auth); r.Status != http.StatusBadRequest {
		t.Errorf("a cursor the API never gave: %d %s", r.Status, r.Body)
	}

	// The page, walked by its "next page" link, without script.
	nextLink := regexp.MustCompile(`<a href="(/support/tickets\?after=[^"]*)" rel="next">`)
	ref := map[string]int{}
	url := "/support/tickets"
	for pages := 0; url != ""; pages++ {
		if pages > 10 {
			t.Fatal("the page's next links never end")
		}
		r := page.Get(url)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d", url, r.Status)
		}
		for _, tk := range append(mine, theirs) {
			if regexp.MustCompile(`>` + regexp.QuoteMeta(tk.Reference) + `<`).MatchString(r.Body) {
				ref[tk.ID]++
			}
		}
		url = ""
		if m := nextLink.FindStringSubmatch(r.Body); m != nil {
			url = html.UnescapeString(m[1])
		}
	}
	for i, tk := range mine {
		if ref[tk.ID] != 1 {
			t.Fatalf("ticket %d (%s) shown %d times over the pages, want once", i, tk.Reference, ref[tk.ID])
		}
	}
	if ref[theirs.ID] != 0 {
		t.Error("another customer's ticket is listed")
	}
	if r := page.Get("/support/tickets?after=garbage"); r.Status != http.StatusBadRequest {
		t.Errorf("a cursor the page never gave: %d", r.Status)
	}
}
