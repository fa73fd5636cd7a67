package desk_test

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"testing"
	"time"

	"comptoir/internal/desk"
	"comptoir/internal/mail"
)

var guestLink = regexp.MustCompile(`http://shop\.test/support/t/([A-Za-z0-9_-]+)`)

// guestTokenIn is the guest link token of a mail, or "".
func guestTokenIn(m mail.Stored) string {
	if g := guestLink.FindStringSubmatch(m.Text); g != nil {
		return g[1]
	}
	return ""
}

func TestGuestLinksOpenTheirTicketOnly(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "guest@example.org", "en")
	other := e.contact(t, "zed@example.org", "fr")
	_, ack := e.lastOut(t, tk.ID)
	tok := guestTokenIn(ack)
	if len(tok) != 43 {
		t.Fatalf("acknowledgement without a 256-bit guest link:\n%s", ack.Text)
	}
	got, err := e.desk.GuestTicket(ctx, tok)
	if err != nil || got.ID != tk.ID {
		t.Fatalf("the link opens %q (%v), want %s", got.ID, err, tk.ID)
	}
	_, otherAck := e.lastOut(t, other.ID)
	if o := guestTokenIn(otherAck); o == "" || o == tok {
		t.Fatalf("tokens %q and %q", tok, o)
	}
	for _, bad := range []string{"", tok[:42], tok + "x", strings.Repeat("A", 43), "not base64 at all, forty-three characters!", tk.ID} {
		_, err := e.desk.GuestTicket(ctx, bad)
		wantCode(t, err, "not_found")
	}

	// A customer's ticket is followed in the portal: no guest link.
	mine, err := e.desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: e.customer.ID, Name: "Zoé", Email: "zoe@example.net",
		Topic: desk.TopicBilling, Message: "Bonjour", Lang: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	if _, m := e.lastOut(t, mine.ID); guestTokenIn(m) != "" || !strings.Contains(m.Text, "http://shop.test/support/tickets/"+mine.ID) {
		t.Fatalf("a customer's acknowledgement:\n%s", m.Text)
	}

	// Each answer to a guest carries a fresh link to the same ticket.
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Here it is."); err != nil {
		t.Fatal(err)
	}
	_, answer := e.lastOut(t, tk.ID)
	tok2 := guestTokenIn(answer)
	if tok2 == "" || tok2 == tok {
		t.Fatalf("the answer's link %q (acknowledgement's %q)", tok2, tok)
	}
	if got, err := e.desk.GuestTicket(ctx, tok2); err != nil || got.ID != tk.ID {
		t.Fatalf("the answer's link opens %q (%v)", got.ID, err)
	}
}

func TestGuestReplyThreadsAndRestartsTheClock(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "guest@example.org", "en")
	_, ack := e.lastOut(t, tk.ID)
	tok := guestTokenIn(ack)
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Which licence?"); err != nil {
		t.Fatal(err)
	}
	messages := e.count(t, "ticket_messages")
	_, err := e.desk.ReplyAsGuest(ctx, tok, "  ", nil)
	wantField(t, err, "message", "required")
	_, err = e.desk.ReplyAsGuest(ctx, strings.Repeat("A", 43), "Hello", nil)
	wantCode(t, err, "not_found")
	if e.count(t, "ticket_messages") != messages {
		t.Fatal("a refused reply was stored")
	}

	now := e.clock.Advance(2 * time.Hour)
	att := desk.Attachment{FileName: "licence.txt", ContentType: "text/plain; charset=utf-8", Size: 5, BlobKey: "att_test"}
	got, err := e.desk.ReplyAsGuest(ctx, tok, "The pro one.", []desk.Attachment{att})
	if err != nil || got.ID != tk.ID || got.Status != desk.StatusOpen || !got.PromiseAt.Equal(now.Add(48*time.Hour)) {
		t.Fatalf("after the guest's reply: %+v %v", got, err)
	}
	msgs := e.thread(t, tk.ID, false)
	last := msgs[len(msgs)-1]
	if last.Direction != desk.DirectionIn || last.Text != "The pro one." || last.FromEmail != "guest@example.org" || last.Flagged ||
		len(last.Attachments) != 1 {
		t.Fatalf("the guest's message %+v", last)
	}
	// Its file is the guest's to download, like any customer-visible file.
	if a, err := e.desk.Attachment(ctx, tk.ID, last.Attachments[0].ID, true); err != nil || a.BlobKey != "att_test" {
		t.Fatalf("attachment %+v %v", a, err)
	}
	var via string
	if err := e.db.Read.QueryRow(`SELECT after_state FROM audit_log WHERE subject_id = $1 AND action = 'ticket.message_received'`, tk.ID).Scan(&via); err != nil ||
		!strings.Contains(via, "guest_link") {
		t.Fatalf("audit of the guest's reply: %q %v", via, err)
	}
}

// Erasing a guest's tickets (their address erased) deletes their links: the
// link then finds nothing, and an answer written later mints none.
func TestErasureEndsGuestLinks(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "Guest@Example.org", "en")
	kept := e.contact(t, "zed@example.org", "en")
	_, ack := e.lastOut(t, tk.ID)
	tok := guestTokenIn(ack)
	if got, err := e.desk.GuestTicket(ctx, tok); err != nil || got.ID != tk.ID {
		t.Fatalf("before erasure the link opens %q (%v)", got.ID, err)
	}
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := desk.EraseCustomerTx(ctx, tx, "usr_nobody", "guest@example.org", e.clock.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_, err := e.desk.GuestTicket(ctx, tok)
	wantCode(t, err, "not_found")
	// An erased ticket is closed and refuses answers today; were that to
	// change, no new link may be minted for it either.
	e.desk.Reply(ctx, e.agent, tk.ID, "Anyone there?")
	var n, others int
	if err := e.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM ticket_guest_links WHERE ticket_id = $1`, tk.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d guest links left on the erased ticket (%v)", n, err)
	}
	if err := e.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM ticket_guest_links WHERE ticket_id = $1`, kept.ID).Scan(&others); err != nil || others == 0 {
		t.Fatalf("another guest's links went too: %d (%v)", others, err)
	}
}
