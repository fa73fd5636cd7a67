package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// An agent can take a ticket, but the ticket's page never said who had:
// a second agent saw nothing and answered it too. The console's page says
// who took it, or that no one did; the customer's page says neither.
func TestTicketPageSaysWhoTookIt(t *testing.T) {
	h := apptest.Start(t)
	_, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	tk := ticketOf(t, h, "ana@example.fr")
	first, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	_, second := h.User(t, account.RoleAgent, "agent2@shop.test")
	mustContain(t, second.Get("/console/tickets/"+tk.ID), `id="ticket-assignee"`, "Pris par personne")
	if _, err := h.App.Desk.Assign(context.Background(), first.Actor(), tk.ID, first.ID); err != nil {
		t.Fatal(err)
	}
	mustContain(t, second.Get("/console/tickets/"+tk.ID), "Pris par "+first.Name)
	if page := customer.Get("/support/tickets/" + tk.ID); strings.Contains(page.Body, `id="ticket-assignee"`) || strings.Contains(page.Body, first.Name) {
		t.Errorf("the customer's page names the agent:\n%s", page.Body)
	}
}
