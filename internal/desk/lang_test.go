package desk_test

import (
	"context"
	"testing"

	"comptoir/internal/desk"
)

// Emails go out in the recipient's language: for a customer with an
// account, the language saved on it now, not the one the ticket was opened
// in (the customer may have switched since; guests keep the ticket's).
func TestTicketMailFollowsTheCustomersLanguage(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk, err := e.desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: e.customer.ID, Name: "Zoé", Email: "zoe@example.net",
		Topic: desk.TopicQuestion, Message: "Bonjour", Lang: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ack := e.lastOut(t, tk.ID); ack.Lang != "fr" {
		t.Fatalf("acknowledgement in %q", ack.Lang)
	}
	if err := e.accounts.SetLanguage(ctx, e.customer.ID, "en"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Here you are."); err != nil {
		t.Fatal(err)
	}
	if _, reply := e.lastOut(t, tk.ID); reply.Lang != "en" || reply.Subject[:3] != "Re:" {
		t.Errorf("reply in %q (%q), want English", reply.Lang, reply.Subject)
	}
	if _, err := e.desk.Close(ctx, e.agent, tk.ID); err != nil {
		t.Fatal(err)
	}
	if _, survey := e.lastOut(t, tk.ID); survey.Lang != "en" {
		t.Errorf("survey in %q, want English", survey.Lang)
	}
	// A guest's ticket keeps its language.
	g := e.contact(t, "guest@example.org", "fr")
	if _, err := e.desk.Reply(ctx, e.agent, g.ID, "Voici."); err != nil {
		t.Fatal(err)
	}
	if _, reply := e.lastOut(t, g.ID); reply.Lang != "fr" {
		t.Errorf("guest reply in %q, want French", reply.Lang)
	}
}
