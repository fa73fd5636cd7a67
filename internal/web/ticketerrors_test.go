package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/desk"
	"comptoir/internal/mail"
)

// An agent's reply that cannot go out says why, and keeps its words in the
// box (and so does a customer's): to a ticket opened by a
// mail without a usable sender address, or too long. Both said "Please
// write a message" to an agent who had written one.
func TestRefusedReplySaysWhyAndKeepsItsWords(t *testing.T) {
	h := apptest.Start(t)
	agentUser, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	ctx := context.Background()
	noAddress, _, err := h.App.Desk.Receive(ctx, desk.InboundMessage{MessageID: "<x1@mail.example>", Subject: "Help",
		From: mail.Address{Name: "Someone"}, Text: "My order never came."})
	if err != nil {
		t.Fatal(err)
	}
	// The page comes back with the reason and the agent's words still in
	// the box: redirected, the refused reply was lost with it.
	r := agent.PostForm("/console/tickets/"+noAddress.ID, url.Values{"action": {"reply"}, "text": {"We are on it."}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("reply: %d", r.Status)
	}
	mustContain(t, r, "Ce ticket n’a pas d’adresse e-mail à laquelle répondre", ">We are on it.</textarea>")

	guest := h.NewClient(t)
	guest.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	q, err := h.App.Desk.Queue(ctx, desk.QueueFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var tk desk.Ticket
	for _, x := range q {
		if x.CustomerEmail == "ana@example.fr" {
			tk = x
		}
	}
	long := strings.Repeat("a", desk.MaxMessageLen+1)
	r = agent.PostForm("/console/tickets/"+tk.ID, url.Values{"action": {"reply"}, "text": {long}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("too long a reply: %d", r.Status)
	}
	mustContain(t, r, "Ce message est trop long (20 000 caractères au plus)", ">"+long+"</textarea>")

	// The customer's own message, from the portal, is kept the same way.
	_, customer := h.User(t, account.RoleCustomer, "ben@example.fr")
	customer.PostForm("/contact", url.Values{"name": {"Ben"}, "email": {"ben@example.fr"}, "topic": {"question"}, "message": {"Hi"}})
	ben := ticketOf(t, h, "ben@example.fr")
	r = postReply(customer, h, "/support/tickets/"+ben.ID, long+"é")
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("too long a customer message: %d", r.Status)
	}
	mustContain(t, r, "Ce message est trop long", ">"+long+"é</textarea>")

	// The API names the same reasons, in the agent's language.
	auth := h.Bearer(t, agentUser.ID)
	c := h.NewClient(t)
	r = postJSON(c, "/api/v1/tickets/"+noAddress.ID+"/messages", `{"message":"We are on it."}`, auth)
	if e := decodeAs[apiErr](t, r); r.Status != http.StatusUnprocessableEntity || !strings.Contains(e.Error.Fields["customer_email"], "n’a pas d’adresse e-mail à laquelle répondre") {
		t.Errorf("reply to no address: %d %s", r.Status, r.Body)
	}
	r = postJSON(c, "/api/v1/tickets/"+tk.ID+"/messages", `{"message":"`+long+`"}`, auth)
	if e := decodeAs[apiErr](t, r); r.Status != http.StatusUnprocessableEntity || !strings.Contains(e.Error.Fields["message"], "trop long") {
		t.Errorf("too long a reply: %d %s", r.Status, r.Body)
	}
	if msgs, _ := h.App.Desk.Thread(ctx, tk.ID, true); len(msgs) != 2 { // the message and its acknowledgement
		t.Errorf("refused replies stored: %d messages", len(msgs))
	}
}

// A message over the limit on the Contact page (a browser that ignores
// maxlength, a script) was answered "Please write your message".
func TestContactTooLongSaysSo(t *testing.T) {
	h := apptest.Start(t)
	guest := h.NewClient(t)
	r := guest.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"},
		"message": {strings.Repeat("é", desk.MaxMessageLen+1)}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("too long a message: %d", r.Status)
	}
	mustContain(t, r, "Ce message est trop long (20 000 caractères au plus)")
	if ts, _ := h.App.Desk.Queue(context.Background(), desk.QueueFilter{}); len(ts) != 0 {
		t.Errorf("%d tickets opened by a refused message", len(ts))
	}
}
