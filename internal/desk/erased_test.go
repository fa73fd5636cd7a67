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
