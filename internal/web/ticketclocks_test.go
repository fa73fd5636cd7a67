package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"comptoir/internal/apptest"
)

// Both clocks of the customer service promise (a first answer aimed for
// within 24 hours, promised within 48) are shown wherever a ticket is: the
// Contact page's confirmation, the customer's ticket page and the agent's.
// A late ticket still says when the answer was due.
func TestTicketPagesShowTargetAndPromise(t *testing.T) {
	h := apptest.Start(t)
	_, customer := h.User(t, "customer", "ana@example.fr")
	customer.Lang = "en"
	customer.PostForm("/lang", url.Values{"lang": {"en"}})
	const target, promise = "9 March 2026 at 10:00 UTC", "10 March 2026 at 10:00 UTC"
	sent := followSeeOther(t, customer, customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}}))
	mustContain(t, sent, `id="contact-target"`, target, `id="contact-promise"`, promise)

	_, agent := h.User(t, "agent", "agent@shop.test")
	agent.PostForm("/lang", url.Values{"lang": {"en"}})
	id := regexp.MustCompile(`/console/tickets/(tkt_[0-9A-Z]+)`).FindStringSubmatch(agent.Get("/console/tickets").Body)[1]
	for who, page := range map[string]apptest.Response{
		"customer": customer.Get("/support/tickets/" + id),
		"agent":    agent.Get("/console/tickets/" + id),
	} {
		if !strings.Contains(page.Body, `id="ticket-target"`) || !strings.Contains(page.Body, target) ||
			!strings.Contains(page.Body, `id="ticket-promise"`) || !strings.Contains(page.Body, promise) {
			t.Errorf("%s's ticket page lacks a clock:\n%s", who, page.Body)
		}
	}
	h.Clock.Advance(49 * time.Hour)
	if _, err := h.App.Desk.MarkBreaches(context.Background(), h.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	mustContain(t, agent.Get("/console/tickets/"+id), `class="badge bad"`, target, promise)
}
