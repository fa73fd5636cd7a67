package desk_test

import (
	"context"
	"testing"

	"comptoir/internal/desk"
)

// A ticket only a bounce or an auto-reply opened has no one to ask how the
// answer was: closing it sent the satisfaction survey to the mailer daemon
// or the autoresponder all the same. A ticket a person wrote still gets it.
func TestNoSurveyForATicketNoPersonWrote(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	bounce, _, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<b1@mx.example.org>", From: mailAddr("Mail Delivery System", "mailer-daemon@mx.example.org"),
		Subject: "Undelivered Mail Returned to Sender", Text: "550 no such user", AutoReply: true})
	if err != nil {
		t.Fatal(err)
	}
	mails := e.count(t, "outgoing_mail")
	if _, err := e.desk.Close(ctx, e.agent, bounce.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.count(t, "outgoing_mail"); got != mails {
		t.Errorf("closing a bounce's ticket sent %d mail(s)", got-mails)
	}
	if _, err := e.desk.SurveyFor(ctx, bounce.ID); desk.Code(err) != "not_found" {
		t.Errorf("a survey is recorded for a bounce's ticket: %v", err)
	}
	person := e.contact(t, "zoe@example.net", "fr")
	if _, err := e.desk.Close(ctx, e.agent, person.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.SurveyFor(ctx, person.ID); err != nil {
		t.Errorf("no survey for a ticket a person wrote: %v", err)
	}
}
