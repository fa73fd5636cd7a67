package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/config"
	"comptoir/internal/mail"
)

// With --zone Europe/Paris, a ticket's times are Paris times wherever a
// person reads them, naming the zone: the customer's and the agent's ticket
// pages, in both languages, and the acknowledgement email. The test clock
// starts on 8 March 2026 at 10:00 UTC, 11:00 in Paris (CET, UTC+1).
func TestTicketTimesAreInTheStoresZone(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.Zone = "Europe/Paris" })
	u, customer := h.User(t, "customer", "ana@example.fr")
	customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Bonjour"}})
	_, agent := h.User(t, "agent", "agent@shop.test")
	agent.PostForm("/lang", url.Values{"lang": {"en"}})
	id := regexp.MustCompile(`/console/tickets/(tkt_[0-9A-Z]+)`).FindStringSubmatch(agent.Get("/console/tickets").Body)[1]

	mustContain(t, customer.Get("/support/tickets/"+id), "9 mars 2026 à 11:00 CET", "10 mars 2026 à 11:00 CET")
	page := agent.Get("/console/tickets/" + id)
	mustContain(t, page, "9 March 2026 at 11:00 CET", "10 March 2026 at 11:00 CET")
	if strings.Contains(page.Body, "10:00 UTC") {
		t.Errorf("the agent's page still shows UTC:\n%s", page.Body)
	}

	sent, err := h.App.Outbox.List(context.Background(), mail.Filter{UserID: u.ID, Kind: "ticket_ack"})
	if err != nil || len(sent) != 1 {
		t.Fatalf("%d acknowledgements, %v", len(sent), err)
	}
	full, err := h.App.Outbox.Get(context.Background(), sent[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(full.Text, "10 mars 2026 à 11:00 CET") {
		t.Fatalf("acknowledgement without the Paris time:\n%s", full.Text)
	}
}
