package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/desk"
)

// A closed ticket's page left its customer nowhere to go: no reply form,
// no word of what to do, though the desk takes their message and reopens
// the ticket (as it does for a reply by email). The page now says so and
// keeps the form, in the portal and on a guest link.
func TestClosedTicketPageLetsTheCustomerWriteAgain(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	agentUser, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	_, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	guest := h.NewClient(t)
	guest.PostForm("/contact", url.Values{"name": {"Gus"}, "email": {"gus@example.fr"}, "topic": {"question"}, "message": {"Hi"}})
	mine, gus := ticketOf(t, h, "ana@example.fr"), ticketOf(t, h, "gus@example.fr")
	for _, tk := range []desk.Ticket{mine, gus} {
		if _, err := h.App.Desk.Close(ctx, agentUser.Actor(), tk.ID); err != nil {
			t.Fatal(err)
		}
	}
	token := guestToken(t, h, "ticket_ack", "gus@example.fr")
	for _, c := range []struct {
		client *apptest.Client
		path   string
		ticket string
	}{
		{customer, "/support/tickets/" + mine.ID, mine.ID},
		{guest, desk.GuestLinkPath + token, gus.ID},
	} {
		page := c.client.Get(c.path)
		mustContain(t, page, `id="closed-note"`, "Cette demande est close", `id="customer-reply"`)
		if r := postReply(c.client, h, c.path, "It still does not work."); r.Status != http.StatusSeeOther {
			t.Fatalf("%s: reply %d %s", c.path, r.Status, r.Body)
		}
		tk, err := h.App.Desk.Get(ctx, c.ticket)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Status != desk.StatusOpen || tk.PromiseAt.IsZero() {
			t.Errorf("%s after the customer wrote again: %s, promise %v; want open with an answer due", c.path, tk.Status, tk.PromiseAt)
		}
	}
}
