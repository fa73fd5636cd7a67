package desk_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"comptoir/internal/desk"
)

// A ticket erased by the retention (or a GDPR erasure) keeps its reference,
// reply token and our Message-IDs, so an answer to one of its old emails
// still threads to it. Filed there, the message would be flagged (nobody
// is the erased ticket's customer) on a closed ticket that no queue shows:
// lost. It opens a new ticket instead, like mail from an unknown sender,
// with a reply due and an acknowledgement.
func TestMailToAnErasedTicketOpensANewOne(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	old := e.contact(t, "gus@example.org", "en")
	_, ack := e.lastOut(t, old.ID)
	if _, err := e.desk.Close(ctx, e.agent, old.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(3 * 365 * 24 * time.Hour)
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		n, _, err := desk.EraseClosedBeforeTx(ctx, tx, e.clock.Now().Add(-time.Hour))
		if err == nil && n != 1 {
			t.Errorf("erased %d tickets, want 1", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for i, in := range []desk.InboundMessage{
		{MessageID: "<back-1@example.org>", InReplyTo: ack.MessageID, References: []string{ack.MessageID}},
		{MessageID: "<back-2@example.org>", Subject: "Re: [#" + old.Reference + "]"},
		{MessageID: "<back-3@example.org>", ReplyToken: old.ReplyToken},
	} {
		in.From = mailAddr("Gus", "gus@example.org")
		in.Text = "Hello again"
		mails := e.count(t, "outgoing_mail")
		got, res, err := e.desk.Receive(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != desk.OutcomeCreated || got.ID == old.ID || got.CustomerEmail != "gus@example.org" || got.PromiseAt.IsZero() {
			t.Errorf("message %d: %+v on %s (%s), due %v; want a new ticket", i, res, got.ID, got.CustomerEmail, got.PromiseAt)
		}
		if e.count(t, "outgoing_mail") != mails+1 {
			t.Errorf("message %d: no acknowledgement", i)
		}
	}
	if msgs := e.thread(t, old.ID, true); len(msgs) != 3 { // the message, the ack and the survey, blanked
		t.Errorf("the erased ticket has %d messages, want its 3 blanked ones", len(msgs))
	}
}

// Someone else than the customer answering a closed ticket's email (a
// colleague, the customer from another address) was filed flagged on the
// closed ticket, which no queue shows and nothing reopens: lost. It opens
// a new ticket for its sender, with a reply due. An automatic message from
// a stranger stays where it threads (nothing to answer).
func TestStrangerOnAClosedTicketOpensANewOne(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "gus@example.org", "en")
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Here is your key."); err != nil {
		t.Fatal(err)
	}
	_, reply := e.lastOut(t, tk.ID)
	if _, err := e.desk.Close(ctx, e.agent, tk.ID); err != nil {
		t.Fatal(err)
	}
	got, res, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<colleague@example.org>", InReplyTo: reply.MessageID,
		From: mailAddr("Ida", "ida@example.org"), Subject: "Re: " + reply.Subject, Text: "The key does not work for me either."})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != desk.OutcomeCreated || got.ID == tk.ID || got.CustomerEmail != "ida@example.org" || got.PromiseAt.IsZero() || res.Flagged {
		t.Fatalf("%+v on %s (%s, due %v); want a new ticket for Ida", res, got.ID, got.CustomerEmail, got.PromiseAt)
	}
	if _, ack := e.lastOut(t, got.ID); ack.Kind != "ticket_ack" || ack.To != "ida@example.org" {
		t.Errorf("acknowledgement %+v", ack)
	}
	if closed := e.get(t, tk.ID); closed.Status != desk.StatusClosed {
		t.Errorf("the closed ticket moved: %+v", closed)
	}
	tickets := e.count(t, "tickets")
	_, res, err = e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<ooo@example.org>", InReplyTo: reply.MessageID,
		From: mailAddr("", "ooo@example.org"), Subject: "Out of office", Text: "Away", AutoReply: true})
	if err != nil || res.Outcome != desk.OutcomeThreaded || !res.Flagged || e.count(t, "tickets") != tickets {
		t.Fatalf("auto-reply from a stranger: %+v, %v", res, err)
	}
}

// A message a person must read makes its ticket need an answer, whoever
// wrote it. Someone else than the customer (a colleague sending what the
// agent asked for, the customer from another address) writing on an
// answered or waiting ticket was filed flagged and changed nothing: no
// deadline, the ticket still answered, the message unread. It now reopens
// the ticket and starts its clock, still hidden from the customer and
// unanswered by mail; an automatic message still changes nothing.
func TestFlaggedMessageMakesTheTicketDue(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	for _, waiting := range []bool{false, true} {
		tk := e.contact(t, "gus@example.org", "en")
		if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Could you send the invoice number?"); err != nil {
			t.Fatal(err)
		}
		want := desk.StatusAnswered
		if waiting {
			if _, err := e.desk.WaitOnCustomer(ctx, e.agent, tk.ID); err != nil {
				t.Fatal(err)
			}
			want = desk.StatusWaitingCustomer
		}
		_, reply := e.lastOut(t, tk.ID)
		e.clock.Advance(time.Hour)
		// An out-of-office from a stranger: nothing to answer.
		got, res, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<ooo-" + tk.ID + "@example.org>", InReplyTo: reply.MessageID,
			From: mailAddr("", "ooo@example.org"), Subject: "Out of office", Text: "Away", AutoReply: true})
		if err != nil || !res.Flagged || got.Status != want || !got.PromiseAt.IsZero() {
			t.Fatalf("waiting %v: an auto-reply moved the ticket: %+v, status %s, due %v, %v", waiting, res, got.Status, got.PromiseAt, err)
		}
		mails := e.count(t, "outgoing_mail")
		got, res, err = e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<colleague-" + tk.ID + "@example.org>", InReplyTo: reply.MessageID,
			From: mailAddr("Ida", "ida@example.org"), Subject: "Re: " + reply.Subject, Text: "The invoice is F-2026-0042."})
		if err != nil || !res.Flagged || got.ID != tk.ID {
			t.Fatalf("waiting %v: %+v on %s, %v", waiting, res, got.ID, err)
		}
		if got.Status != desk.StatusOpen || !got.PromiseAt.Equal(e.clock.Now().Add(desk.DefaultPromise)) || !got.TargetAt.Equal(e.clock.Now().Add(desk.DefaultTarget)) {
			t.Errorf("waiting %v: after a colleague's message the ticket is %s, due %v / %v; want open, due from now", waiting, got.Status, got.TargetAt, got.PromiseAt)
		}
		if e.count(t, "outgoing_mail") != mails {
			t.Errorf("waiting %v: mail sent to the stranger", waiting)
		}
		for _, m := range e.thread(t, tk.ID, false) {
			if m.Flagged {
				t.Errorf("waiting %v: the customer sees the flagged message", waiting)
			}
		}
	}
}
