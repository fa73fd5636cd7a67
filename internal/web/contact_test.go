package web_test

import (
	"context"
	"net/http"
	"net/url"
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
