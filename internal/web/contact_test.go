package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/mail"
)

func TestContactFormOpensATicketAndPromisesAnAnswerTime(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.Lang = "en"
	mustContain(t, c.Get("/contact"), `id="contact-submit"`, "within 48 hours")
	r := c.PostForm("/contact", url.Values{"name": {"Ana\r\nBcc: x@evil.test"}, "email": {"ana@example.fr"}, "topic": {"order"}, "message": {"Where is my order?"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="name-error"`) {
		t.Fatalf("header injection in the name: %d", r.Status)
	}
	r = c.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"order"}, "message": {"Where is my order?"}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `id="contact-sent"`) {
		t.Fatalf("contact: %d %s", r.Status, r.Body)
	}
	// 48 hours after the manual clock's start.
	mustContain(t, r, "T-", "2026-03-10 10:00 UTC")
	acks, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "ticket_ack"})
	if len(acks) != 1 || acks[0].To != "ana@example.fr" || !strings.Contains(acks[0].ReplyTo, "support+") {
		t.Fatalf("acknowledgements %+v", acks)
	}
}

func TestAgentAnswersFromTheConsoleAndTheCustomerSeesIt(t *testing.T) {
	h := apptest.Start(t)
	_, customer := h.User(t, "customer", "ana@example.fr")
	customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"order"}, "message": {"Where is my order?"}})
	_, agent := h.User(t, "agent", "agent@shop.test")
	queue := agent.Get("/console/tickets")
	id := regexp.MustCompile(`/console/tickets/(tkt_[0-9A-Z]+)`).FindStringSubmatch(queue.Body)
	if id == nil {
		t.Fatalf("the ticket is not in the queue:\n%s", queue.Body)
	}
	if r := agent.PostForm("/console/tickets/"+id[1], url.Values{"action": {"note"}, "text": {"Customer is a regular."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("note: %d", r.Status)
	}
	if r := agent.PostForm("/console/tickets/"+id[1], url.Values{"action": {"reply"}, "text": {"It ships tomorrow."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("reply: %d", r.Status)
	}
	page := customer.Get("/support/tickets/" + id[1])
	mustContain(t, page, "It ships tomorrow.", "Where is my order?")
	if strings.Contains(page.Body, "Customer is a regular.") {
		t.Fatal("an internal note is shown to the customer")
	}
	replies, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "ticket_reply"})
	if len(replies) != 1 || !strings.Contains(replies[0].Subject, "T-") || !strings.Contains(replies[0].ReplyTo, "support+") {
		t.Fatalf("reply emails %+v", replies)
	}
	// Customers do not reach the console, nor other customers' tickets.
	if r := customer.Get("/console/tickets"); r.Status != http.StatusNotFound {
		t.Fatalf("a customer on the console: %d", r.Status)
	}
	_, other := h.User(t, "customer", "ben@example.fr")
	if r := other.Get("/support/tickets/" + id[1]); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's ticket: %d", r.Status)
	}
}
