package desk_test

import (
	"context"
	"database/sql"
	"encoding/base64"
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

// A link's token is its whole credential, and it is mailed, never typed:
// a guest link's is 256 random bits (43 characters of base64url), a
// survey's 160 (32 of Crockford base32). Two thousand of each are all
// different, and every bit of them is set about half the time: a token
// drawn from a few random bytes padded to its length, or from a weak
// generator seeded alike, fails. The database keeps only its SHA-256, so
// that a look-up compares hashes, whose timing tells nothing of the token.
func TestLinkTokensAreUnguessable(t *testing.T) {
	const n = 2000
	check := func(what string, bits int, token func() []byte) {
		t.Helper()
		seen := map[string]bool{}
		ones := make([]int, bits)
		for range n {
			b := token()
			if len(b)*8 < bits || seen[string(b)] {
				t.Fatalf("%s: %x (%d bits, seen before: %v)", what, b, len(b)*8, seen[string(b)])
			}
			seen[string(b)] = true
			for i := range bits {
				ones[i] += int(b[i/8]>>(i%8)) & 1
			}
		}
		for i, k := range ones {
			if k < n*35/100 || k > n*65/100 {
				t.Errorf("%s: bit %d set in %d tokens of %d", what, i, k, n)
			}
		}
	}
	check("guest link", 256, func() []byte {
		tok := desk.NewGuestToken()
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if len(tok) != 43 || err != nil {
			t.Fatalf("guest token %q: %v", tok, err)
		}
		return b
	})
	const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	check("survey link", 160, func() []byte {
		tok := desk.RandomBase32(32)
		b := make([]byte, 20)
		for i, c := range tok {
			v := strings.IndexRune(crockford, c)
			if v < 0 {
				t.Fatalf("survey token %q", tok)
			}
			for j := range 5 {
				bit := i*5 + j
				b[bit/8] |= byte(v>>j&1) << (bit % 8)
			}
		}
		return b
	})

	// Stored: the hash alone.
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "guest@example.org", "en")
	_, ack := e.lastOut(t, tk.ID)
	tok := guestTokenIn(ack)
	var stored string
	if err := e.db.Read.QueryRowContext(ctx, `SELECT token_hash FROM ticket_guest_links WHERE ticket_id = $1`, tk.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != desk.HashToken(tok) || strings.Contains(stored, tok) {
		t.Fatalf("stored %q for token %q, want its SHA-256 alone", stored, tok)
	}
}

// The acknowledgement mailed to a guest carries their ticket's link, whose
// token is their whole credential; the copy of it recorded on the ticket
// does not. Before, the thread held the token, so every agent reading the
// ticket, every export of it and the dispute evidence sent to a bank could
// post on it, or confirm it, as the guest.
func TestThreadKeepsNoGuestToken(t *testing.T) {
	e := setup(t)
	tk := e.contact(t, "guest@example.fr", "fr")
	m, ack := e.lastOut(t, tk.ID)
	token := guestTokenIn(ack)
	if token == "" {
		t.Fatalf("the mail lacks the guest's link:\n%s", ack.Text)
	}
	if strings.Contains(m.Text, token) {
		t.Fatalf("the ticket's copy holds the guest's token:\n%s", m.Text)
	}
	if !strings.Contains(m.Text, desk.GuestLinkPath+"…") {
		t.Fatalf("the ticket's copy does not show where the link was:\n%s", m.Text)
	}
	if got := e.confirm(t, tk); got.SenderUnverified {
		t.Fatal("the mailed link no longer confirms")
	}
}
