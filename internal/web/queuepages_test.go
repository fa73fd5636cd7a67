package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/desk"
)

// openQueue opens n guest tickets, one a minute, so that their deadlines
// (and the queue's order) follow the order they were opened in.
func openQueue(t *testing.T, h *apptest.Harness, n int) []desk.Ticket {
	t.Helper()
	var out []desk.Ticket
	for i := range n {
		h.Clock.Advance(time.Minute)
		tk, err := h.App.Desk.OpenFromContact(context.Background(), desk.ContactInput{Name: "G", Email: fmt.Sprintf("q%d@example.fr", i),
			Topic: "question", Message: "Hello"})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tk)
	}
	return out
}

var nextPageLink = regexp.MustCompile(`<a href="(/console/tickets\?[^"]*after=[^"]*)">`)

// The console's queue showed its first 50 tickets and no way to the
// others: the 51st open ticket was out of every agent's sight. It pages
// now, as the API does.
func TestConsoleQueuePagesToEveryTicket(t *testing.T) {
	h := apptest.Start(t)
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	tickets := openQueue(t, h, 52)
	first := agent.Get("/console/tickets")
	if first.Status != http.StatusOK || !strings.Contains(first.Body, tickets[49].Reference) || strings.Contains(first.Body, tickets[50].Reference) {
		t.Fatalf("first page: %d, want tickets 1 to 50", first.Status)
	}
	m := nextPageLink.FindStringSubmatch(first.Body)
	if m == nil {
		t.Fatalf("first page of a queue of 52 has no link to the next:\n%s", first.Body)
	}
	second := agent.Get(html.UnescapeString(m[1]))
	mustContain(t, second, tickets[50].Reference, tickets[51].Reference)
	if strings.Contains(second.Body, tickets[49].Reference) || nextPageLink.MatchString(second.Body) {
		t.Errorf("second page repeats the first or links further:\n%s", second.Body)
	}
	// Its rows refresh in place on the same page.
	mustContain(t, second, `data-fragment="/console/tickets?after=`)
	if r := agent.Get("/console/tickets?after=garbage"); r.Status != http.StatusBadRequest {
		t.Errorf("a cursor the page never gave: %d", r.Status)
	}
}

// The API's next page starts where the previous one ended, even when the
// ticket it ended on was answered meanwhile: the cursor named that ticket
// alone, and read from its new place (nothing due) the next page skipped
// every ticket still due.
func TestTicketsAPINextPageAfterItsLastTicketIsAnswered(t *testing.T) {
	h := apptest.Start(t)
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	auth := h.Bearer(t, agentUser.ID)
	c := h.NewClient(t)
	tickets := openQueue(t, h, 53)
	type page struct {
		Items []apiTicket `json:"items"`
		Next  string      `json:"next"`
	}
	r := c.Send(http.MethodGet, "/api/v1/tickets", "", nil, auth)
	p1 := decodeAs[page](t, r)
	if r.Status != http.StatusOK || len(p1.Items) != 50 || p1.Next == "" || p1.Items[49].ID != tickets[49].ID {
		t.Fatalf("first page: %d, %d items, next %q", r.Status, len(p1.Items), p1.Next)
	}
	if _, err := h.App.Desk.Reply(context.Background(), agentUser.Actor(), tickets[49].ID, "Done."); err != nil {
		t.Fatal(err)
	}
	r = c.Send(http.MethodGet, "/api/v1/tickets?after="+url.QueryEscape(p1.Next), "", nil, auth)
	p2 := decodeAs[page](t, r)
	var got []string
	for _, it := range p2.Items {
		got = append(got, it.Reference)
	}
	// Then the answered one, now among the tickets with nothing due.
	want := []string{tickets[50].Reference, tickets[51].Reference, tickets[52].Reference, tickets[49].Reference}
	if r.Status != http.StatusOK || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("second page %d %v, want the tickets still due, then the answered one %v", r.Status, got, want)
	}
}
