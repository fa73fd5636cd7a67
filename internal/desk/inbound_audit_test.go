package desk_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/smtp"
	"net/textproto"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/blob"
	"comptoir/internal/desk"
	"comptoir/internal/inbound"
)

// proveAddress records what setting a password through a reset link sent
// to u's address records (account.ResetPassword): the proof that the
// account's owner reads the address.
func (e *env) proveAddress(t *testing.T, u account.User) {
	t.Helper()
	err := e.db.Tx(context.Background(), func(tx *sql.Tx) error {
		return audit.Record(context.Background(), tx, audit.Entry{At: e.clock.Now(), Actor: u.Actor(),
			SubjectType: "user", SubjectID: u.ID, Action: "password_reset"})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sendMail sends raw over a real SMTP conversation on loopback.
func sendMail(t *testing.T, addr, from, raw string) {
	t.Helper()
	if err := smtp.SendMail(addr, nil, from, []string{"support@shop.test"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
}

// Anyone can sign up with someone else's address. Mail its owner then
// sends the desk joined that account at once, so whoever signed up read
// the owner's message and the store's answers in their portal (and could
// erase them with "their" account). A ticket opened by email joins an
// account only once the account has shown it reads the address, like the
// tickets of a guest; until then it is the address's, followed by the
// link in its emails. The account's language is still the one used.
func TestMailFromAnUnprovenAccountsAddressStaysAGuestTicket(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	addr := e.listener(t)
	squatter, err := e.accounts.CreateUser(ctx, account.CreateUserInput{Email: "nina@example.org", Role: account.RoleCustomer,
		Language: "en", Name: "Not Nina", Password: "0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	sendMail(t, addr, "nina@example.org", "From: Nina <Nina@Example.org>\r\nTo: support@shop.test\r\nSubject: my refund\r\n"+
		"Message-ID: <nina-1@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMy IBAN is FR76...\r\n")
	list, _, err := e.desk.ListForCustomer(ctx, squatter.ID, "", 0)
	if err != nil || len(list) != 0 {
		t.Fatalf("the account that signed up with the address sees %d tickets (%v)", len(list), err)
	}
	var tk struct{ id, lang string }
	if err := e.db.Read.QueryRow(`SELECT id, lang FROM tickets WHERE customer_id IS NULL`).Scan(&tk.id, &tk.lang); err != nil {
		t.Fatalf("no guest ticket: %v", err)
	}
	if tk.lang != "en" {
		t.Errorf("ticket in %q, want the account's language", tk.lang)
	}
	if _, m := e.lastOut(t, tk.id); m.To != "Nina@Example.org" || m.Lang != "en" {
		t.Errorf("acknowledgement to %q in %q", m.To, m.Lang)
	}

	// Once the owner proves the address, their mail joins their account.
	e.proveAddress(t, squatter)
	sendMail(t, addr, "nina@example.org", "From: Nina <nina@example.org>\r\nTo: support@shop.test\r\nSubject: another question\r\n"+
		"Message-ID: <nina-2@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAnd my invoice?\r\n")
	if list, _, err := e.desk.ListForCustomer(ctx, squatter.ID, "", 0); err != nil || len(list) != 1 {
		t.Fatalf("the proven account sees %d tickets (%v), want the new one", len(list), err)
	}
}

// An autoresponder that does not say it is one (no Auto-Submitted, no
// Precedence) and answers with a fresh subject and no In-Reply-To threads
// nowhere: each of its answers opened a ticket that the desk acknowledged,
// which it answered again, without end. Mail sent in bulk under someone
// else's address had the store write to that person as many times. Every
// message is still filed; an address gets MaxAcksPerHour acknowledgements
// an hour.
func TestAcknowledgementsToOneAddressAreLimited(t *testing.T) {
	e := setup(t)
	addr := e.listener(t)
	acks := func() int {
		return e.count(t, "outgoing_mail WHERE kind = 'ticket_ack' AND lower(to_addr) = 'bot@example.org'")
	}
	for i := range desk.MaxAcksPerHour + 3 {
		n := strconv.Itoa(i)
		// The case of the address changes nothing.
		from := "bot@example.org"
		if i%2 == 1 {
			from = "Bot@Example.ORG"
		}
		sendMail(t, addr, from, "From: "+from+"\r\nTo: support@shop.test\r\nSubject: Notification "+n+"\r\n"+
			"Message-ID: <bot-"+n+"@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThank you for your message.\r\n")
		e.clock.Advance(time.Minute)
	}
	if n := e.count(t, "tickets"); n != desk.MaxAcksPerHour+3 {
		t.Fatalf("%d tickets, want every message filed", n)
	}
	if n := acks(); n != desk.MaxAcksPerHour {
		t.Fatalf("%d acknowledgements sent to one address in minutes, want %d", n, desk.MaxAcksPerHour)
	}
	// Another sender is answered meanwhile, and this one again an hour on.
	sendMail(t, addr, "gus@example.org", "From: gus@example.org\r\nTo: support@shop.test\r\nSubject: hello\r\n"+
		"Message-ID: <gus-1@example.org>\r\n\r\nWhere is my order?\r\n")
	if n := e.count(t, "outgoing_mail WHERE kind = 'ticket_ack' AND to_addr = 'gus@example.org'"); n != 1 {
		t.Errorf("%d acknowledgements to another sender", n)
	}
	e.clock.Advance(time.Hour)
	sendMail(t, addr, "bot@example.org", "From: bot@example.org\r\nTo: support@shop.test\r\nSubject: Notification later\r\n"+
		"Message-ID: <bot-later@example.org>\r\n\r\nThank you for your message.\r\n")
	if n := acks(); n != desk.MaxAcksPerHour+1 {
		t.Errorf("%d acknowledgements, want one more an hour later", n)
	}
}

// A newsletter or a service's notification sent to the support address
// (the store subscribed to something with it) carries List-* fields but
// often no Precedence: it was acknowledged like a customer's mail, and the
// acknowledgement went to the list or to a no-reply robot. RFC 3834: no
// automatic answer to list mail. It is filed, unanswered, with nothing due.
func TestListMailIsFiledUnanswered(t *testing.T) {
	e := setup(t)
	addr := e.listener(t)
	sendMail(t, addr, "bounces+123@mailer.example", "From: Supplier News <news@supplier.example>\r\nTo: support@shop.test\r\n"+
		"Subject: Our spring catalogue\r\nMessage-ID: <news-1@mailer.example>\r\nList-Id: <news.supplier.example>\r\n"+
		"List-Unsubscribe: <https://mailer.example/u/123>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNew products!\r\n")
	var id string
	if err := e.db.Read.QueryRow(`SELECT id FROM tickets`).Scan(&id); err != nil {
		t.Fatalf("not filed: %v", err)
	}
	if n := e.count(t, "outgoing_mail"); n != 0 {
		t.Errorf("%d mails sent in answer to list mail", n)
	}
	if tk := e.get(t, id); !tk.PromiseAt.IsZero() {
		t.Errorf("an answer is due on list mail by %v", tk.PromiseAt)
	}
}

// converse holds an SMTP conversation on loopback line by line, as a
// sending MTA does: each command with the reply code it expects.
func converse(t *testing.T, addr string, steps ...[2]string) {
	t.Helper()
	c, err := textproto.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, _, err := c.ReadResponse(220); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	for _, s := range steps {
		if err := c.PrintfLine("%s", s[0]); err != nil {
			t.Fatal(err)
		}
		code, _ := strconv.Atoi(s[1])
		if _, msg, err := c.ReadResponse(code); err != nil {
			t.Fatalf("%q: %v (%s)", s[0], err, msg)
		}
	}
}

// A customer whose address is internationalized (RFC 6531: élodie@…) can
// only be relayed to a server that offers SMTPUTF8; the listener did not,
// so their mail was refused (504 to MAIL … SMTPUTF8, or never sent: the
// relaying MTA bounces it) and never reached the desk. It is offered, and
// such mail opens a ticket under the address as written.
func TestSMTPInternationalizedAddressIsAccepted(t *testing.T) {
	e := setup(t)
	addr := e.listener(t)
	body := "From: Élodie <élodie@exemple.fr>\r\nTo: support@shop.test\r\nSubject: Où est ma commande ?\r\n" +
		"Message-ID: <utf8-1@exemple.fr>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour, toujours rien.\r\n.\r\n"
	converse(t, addr,
		[2]string{"EHLO mx.exemple.fr", "250"},
		[2]string{"MAIL FROM:<élodie@exemple.fr> BODY=8BITMIME SMTPUTF8", "250"},
		[2]string{"RCPT TO:<support@shop.test>", "250"},
		[2]string{"DATA", "354"},
		[2]string{strings.TrimSuffix(body, "\r\n"), "250"},
		[2]string{"QUIT", "221"})
	var email string
	if err := e.db.Read.QueryRow(`SELECT customer_email FROM tickets`).Scan(&email); err != nil || email != "élodie@exemple.fr" {
		t.Fatalf("ticket of %q (%v)", email, err)
	}
}

// A bounce (a delivery status report, RFC 3464) names the mail that
// bounced only inside it: the desk's answer to a mistyped address came
// back as a new ticket from MAILER-DAEMON, which nothing tied to the
// customer's, so nobody learnt the customer never got the answer. It is
// filed on the answer's ticket, for the agent only, and answered by
// nobody.
func TestSMTPBounceOfAnAnswerLandsOnItsTicket(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	addr := e.listener(t)
	tk := e.contact(t, "gus@exmaple.org", "en")
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Here is your key."); err != nil {
		t.Fatal(err)
	}
	_, reply := e.lastOut(t, tk.ID)
	mails := e.count(t, "outgoing_mail")
	raw := "From: Mail Delivery System <MAILER-DAEMON@mx.shop.test>\r\nTo: support@shop.test\r\n" +
		"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.shop.test>\r\nAuto-Submitted: auto-replied\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\n<gus@exmaple.org>: Host or domain name not found\r\n" +
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.shop.test\r\n\r\n" +
		"Final-Recipient: rfc822; gus@exmaple.org\r\nAction: failed\r\nStatus: 5.4.4\r\n" +
		"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: Shop <shop@shop.test>\r\nTo: gus@exmaple.org\r\n" +
		"Subject: " + reply.Subject + "\r\nMessage-ID: " + reply.MessageID + "\r\n\r\n--b--\r\n"
	if err := smtp.SendMail(addr, nil, "", []string{"support@shop.test"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "tickets"); n != 1 {
		t.Fatalf("%d tickets: the bounce is not on %s", n, tk.Reference)
	}
	msgs := e.thread(t, tk.ID, true)
	if last := msgs[len(msgs)-1]; last.MessageID != "<dsn-1@mx.shop.test>" || !last.AutoReply || !last.Flagged {
		t.Fatalf("bounce stored as %+v", last)
	}
	if e.count(t, "outgoing_mail") != mails {
		t.Error("a bounce was answered")
	}
	if e.customerSees(t, tk.ID, "Host or domain name not found") {
		t.Error("the customer's page shows the bounce")
	}
}

// customerSees reports whether the thread the customer is shown holds text.
func (e *env) customerSees(t *testing.T, ticketID, text string) bool {
	t.Helper()
	for _, m := range e.thread(t, ticketID, false) {
		if strings.Contains(m.Text, text) {
			return true
		}
	}
	return false
}

// A guest who wrote from the English Contact page, then by email about
// something else, got the acknowledgement and every answer in the store's
// default language (French), as did anyone whose mail says it is English:
// a ticket opened by email from an address without an account takes the
// language of the address's last ticket, else the mail's Content-Language,
// else the default.
func TestMailFromAGuestIsAnsweredInTheirLanguage(t *testing.T) {
	e := setup(t)
	addr := e.listener(t)
	e.contact(t, "gus@example.org", "en")
	ticketOf := func(id string) (lang, ack string) {
		t.Helper()
		var tid string
		if err := e.db.Read.QueryRow(`SELECT ticket_id FROM ticket_messages WHERE message_id = $1`, id).Scan(&tid); err != nil {
			t.Fatalf("%s not filed: %v", id, err)
		}
		_, m := e.lastOut(t, tid)
		return e.get(t, tid).Lang, m.Lang
	}
	sendMail(t, addr, "gus@example.org", "From: Gus <GUS@example.org>\r\nTo: support@shop.test\r\nSubject: another thing\r\n"+
		"Message-ID: <lang-1@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAnd my invoice?\r\n")
	if lang, ack := ticketOf("<lang-1@example.org>"); lang != "en" || ack != "en" {
		t.Errorf("the English guest's mail: ticket in %q, acknowledged in %q", lang, ack)
	}
	sendMail(t, addr, "ann@example.co.uk", "From: ann@example.co.uk\r\nTo: support@shop.test\r\nSubject: hello\r\n"+
		"Message-ID: <lang-2@example.co.uk>\r\nContent-Language: en-GB\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello?\r\n")
	if lang, ack := ticketOf("<lang-2@example.co.uk>"); lang != "en" || ack != "en" {
		t.Errorf("mail in en-GB: ticket in %q, acknowledged in %q", lang, ack)
	}
	sendMail(t, addr, "luc@example.fr", "From: luc@example.fr\r\nTo: support@shop.test\r\nSubject: bonjour\r\n"+
		"Message-ID: <lang-3@example.fr>\r\nContent-Language: de\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHallo?\r\n")
	if lang, _ := ticketOf("<lang-3@example.fr>"); lang != "fr" {
		t.Errorf("mail in a language the store does not write: ticket in %q, want the default", lang)
	}
}

// A message over the size limit is refused but its header is filed
// (TestSMTPTooLargeIsRefusedButRecorded), whatever way its sender's
// server sends it. A relay such as Postfix announces the size (MAIL FROM
// … SIZE=) and Exchange sends in BDAT chunks (CHUNKING): the listener
// announced its limit in EHLO (a relay then bounces the mail without
// sending it), refused SIZE= above it at MAIL, and cut BDAT off before
// the session saw it, so in practice the desk never learnt the customer
// wrote.
func TestSMTPTooLargeIsRecordedWhenSizeIsAnnouncedOrChunked(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	addr := e.listenerLimited(t, 4096)
	tk := e.contact(t, "gus@example.org", "en")
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Send us the screenshots."); err != nil {
		t.Fatal(err)
	}
	_, reply := e.lastOut(t, tk.ID)
	header := func(id string) string {
		return "From: Gus <gus@example.org>\r\nTo: " + reply.ReplyTo + "\r\nSubject: Re: " + reply.Subject +
			"\r\nMessage-ID: " + id + "\r\nIn-Reply-To: " + reply.MessageID + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	}
	recorded := func(id string) {
		t.Helper()
		msgs := e.thread(t, tk.ID, true)
		last := msgs[len(msgs)-1]
		if last.MessageID != id || !last.Unparsed || !strings.Contains(last.Text, "over the 4\u00a0KB limit") {
			t.Fatalf("last message on the ticket %+v, want the header of %s", last, id)
		}
		if n := e.count(t, "tickets"); n != 1 {
			t.Fatalf("%d tickets", n)
		}
	}

	// SIZE announced, as a relay does when the server offers SIZE.
	data := header("<big-size@example.org>") + strings.Repeat("screenshot bytes\r\n", 1000)
	converse(t, addr,
		[2]string{"EHLO mx.example.org", "250"},
		[2]string{"MAIL FROM:<gus@example.org> SIZE=" + strconv.Itoa(len(data)), "250"},
		[2]string{"RCPT TO:<support@shop.test>", "250"},
		[2]string{"DATA", "354"},
		[2]string{strings.TrimSuffix(data, "\r\n") + "\r\n.", "552"},
		[2]string{"QUIT", "221"})
	recorded("<big-size@example.org>")

	// BDAT chunks: the second takes the message over the limit.
	c, err := textproto.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	expect := func(code int) {
		t.Helper()
		if _, msg, err := c.ReadResponse(code); err != nil {
			t.Fatalf("want %d: %v (%s)", code, err, msg)
		}
	}
	expect(220)
	for _, cmd := range []string{"EHLO mx.example.org", "MAIL FROM:<gus@example.org>", "RCPT TO:<support@shop.test>"} {
		c.PrintfLine("%s", cmd)
		expect(250)
	}
	first := header("<big-bdat@example.org>") + strings.Repeat("screenshot bytes\r\n", 100)
	second := strings.Repeat("screenshot bytes\r\n", 300)
	fmt.Fprintf(c.W, "BDAT %d\r\n%s", len(first), first)
	c.W.Flush()
	expect(250)
	fmt.Fprintf(c.W, "BDAT %d LAST\r\n%s", len(second), second)
	c.W.Flush()
	expect(552)
	recorded("<big-bdat@example.org>")
}

// flakyBlobs is a blob store whose Put fails once its budget of puts is
// spent (budget < 0: never).
type flakyBlobs struct {
	blob.Store
	mu     sync.Mutex
	budget int
}

func (f *flakyBlobs) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	f.mu.Lock()
	if f.budget == 0 {
		f.mu.Unlock()
		return errors.New("disk full")
	}
	f.budget--
	f.mu.Unlock()
	return f.Store.Put(ctx, key, r, size)
}

// files lists the files under dir.
func files(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// A delivery that fails after some of its files are stored (the store
// fills up, the database is unreachable) is answered 451 and the sender
// delivers the mail again, as it should; but the files of each failed
// attempt stayed in the store, named by no ticket: copies of the
// customer's documents that retention and erasure never reach, up to a
// few a day for the days an MTA retries. They are removed.
func TestSMTPFailedDeliveryLeavesNoAttachmentBehind(t *testing.T) {
	e := setup(t)
	dir := t.TempDir()
	dirStore, err := blob.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	blobs := &flakyBlobs{Store: dirStore, budget: 1}
	srv, err := inbound.NewServer(inbound.Config{Domain: "shop.test", SupportAddresses: []string{"support@shop.test"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, desk.MailIntake{Desk: e.desk, Blobs: blobs, Support: "support@shop.test"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	raw := "From: Gus <gus@example.org>\r\nTo: support@shop.test\r\nSubject: my papers\r\nMessage-ID: <papers-1@example.org>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n" +
		"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nmy ID card and my bill\r\n" +
		"--XX\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\"id.jpg\"\r\n\r\nIDCARD\r\n" +
		"--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"bill.pdf\"\r\n\r\nBILL\r\n--XX--\r\n"
	err = smtp.SendMail(ln.Addr().String(), nil, "gus@example.org", []string{"support@shop.test"}, []byte(raw))
	if err == nil || !strings.Contains(err.Error(), "451") {
		t.Fatalf("delivery with the store failing: %v, want 451", err)
	}
	if left := files(dir); len(left) != 0 || e.count(t, "tickets") != 0 {
		t.Fatalf("after a failed delivery: files %v, %d tickets", left, e.count(t, "tickets"))
	}
	// The sender's retry is stored, with its two files and no others.
	blobs.mu.Lock()
	blobs.budget = -1
	blobs.mu.Unlock()
	if err := smtp.SendMail(ln.Addr().String(), nil, "gus@example.org", []string{"support@shop.test"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	if left := files(dir); len(left) != 2 || e.count(t, "ticket_attachments") != 2 {
		t.Fatalf("after the retry: files %v, %d attachment rows", left, e.count(t, "ticket_attachments"))
	}
}

// The note filed for a message refused for its size is read by the
// customer on their ticket's page as well as by agents: it was always in
// English. It is in the ticket's language.
func TestTooLargeNoteIsInTheTicketsLanguage(t *testing.T) {
	e := setup(t)
	addr := e.listenerLimited(t, 4096)
	raw := "From: Zoé <zoe@example.net>\r\nTo: support@shop.test\r\nSubject: mes photos\r\nMessage-ID: <big-fr@example.net>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + strings.Repeat("photo photo photo\r\n", 1000)
	err := smtp.SendMail(addr, nil, "zoe@example.net", []string{"support@shop.test"}, []byte(raw))
	if err == nil || !strings.Contains(err.Error(), "552") {
		t.Fatalf("%v, want 552", err)
	}
	list, _, err := e.desk.ListForCustomer(context.Background(), e.customer.ID, "", 0)
	if err != nil || len(list) != 1 || list[0].Lang != "fr" {
		t.Fatalf("Zoé's tickets %+v (%v)", list, err)
	}
	msgs := e.thread(t, list[0].ID, false)
	if text := msgs[0].Text; !strings.Contains(text, "dépasse la limite de 4\u00a0Ko\u00a0:") || strings.Contains(text, "header") {
		t.Fatalf("note on a French ticket: %q", text)
	}
	// The acknowledgement said "we received your message" alone, though
	// only its header came: it says so, and how to send it again.
	if _, ack := e.lastOut(t, list[0].ID); ack.Kind != "ticket_ack" ||
		!strings.Contains(ack.Text, "Votre message dépassait la limite de 4\u00a0Ko de cette adresse\u00a0: seuls son expéditeur et son objet") ||
		!strings.Contains(ack.Text, "sous forme de liens") {
		t.Errorf("acknowledgement of a message too large: %s %q", ack.Kind, ack.Text)
	}
}

// Some mail programs give every mail the same Message-ID (<1@localhost>).
// The second customer's mail under an id already stored was taken for a
// duplicate delivery and dropped, though the listener answered 250: lost.
// Mail from another sender under a stored id is its own mail, filed under
// an id of its own, once however often it is delivered; the same mail
// delivered again, and the desk's own mail come back, stay duplicates.
func TestSameMessageIDFromAnotherSenderIsNotADuplicate(t *testing.T) {
	e := setup(t)
	addr := e.listener(t)
	mailFrom := func(from, text string) string {
		return "From: " + from + "\r\nTo: support@shop.test\r\nSubject: question\r\nMessage-ID: <1@localhost>\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n"
	}
	sendMail(t, addr, "ann@example.org", mailFrom("ann@example.org", "Ann's question"))
	for range 2 { // delivered twice
		sendMail(t, addr, "bob@example.net", mailFrom("bob@example.net", "Bob's question"))
	}
	sendMail(t, addr, "ann@example.org", mailFrom("Ann@Example.org", "Ann's question"))
	if n := e.count(t, "ticket_messages WHERE direction = 'in'"); n != 2 {
		t.Fatalf("%d messages stored for two mails sharing an id", n)
	}
	var bobTicket string
	if err := e.db.Read.QueryRow(`SELECT id FROM tickets WHERE customer_email = 'bob@example.net'`).Scan(&bobTicket); err != nil {
		t.Fatalf("Bob's mail was dropped: %v", err)
	}
	if msgs := e.thread(t, bobTicket, false); len(msgs) == 0 || !strings.Contains(msgs[0].Text, "Bob's question") {
		t.Fatalf("Bob's ticket holds %+v", msgs)
	}
	// The desk's own answer, come back (a forward rule), stays one.
	if _, err := e.desk.Reply(context.Background(), e.agent, bobTicket, "Here is the answer."); err != nil {
		t.Fatal(err)
	}
	_, reply := e.lastOut(t, bobTicket)
	before := e.count(t, "ticket_messages")
	sendMail(t, addr, "shop@shop.test", "From: Shop <shop@shop.test>\r\nTo: bob@example.net\r\nSubject: "+reply.Subject+
		"\r\nMessage-ID: "+reply.MessageID+"\r\n\r\nHere is the answer.\r\n")
	if n := e.count(t, "ticket_messages"); n != before {
		t.Errorf("the desk's own mail come back was stored again (%d messages, was %d)", n, before)
	}
}

// The note filed for a message too large said its sizes in raw bytes
// ("26214400-byte limit"). They are said as people read them, in the
// ticket's language; and when the message and the limit would read the
// same once rounded ("25 MB, over the 25 MB limit"), in bytes, grouped.
func TestTooLargeNoteSaysSizesAsPeopleReadThem(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	intake := desk.MailIntake{Desk: e.desk, Support: "support@shop.test"}
	const limit = 25 << 20
	for _, tc := range []struct {
		from, lang string
		size       int64
		want       string
	}{
		{"una@example.org", "en", 40 << 20, "[This message is 40\u00a0MB, over the 25\u00a0MB limit: only its header was stored."},
		{"ugo@example.org", "fr", 3 * limit, "[Ce message fait 75\u00a0Mo, au-delà de la limite de 25\u00a0Mo\u00a0: seul son en-tête"},
		{"uma@example.org", "en", limit + 300000, "[This message is 26,514,400\u00a0bytes, over the 26,214,400\u00a0bytes limit"},
		{"ulf@example.org", "fr", limit + 300000, "[Ce message fait 26\u202f514\u202f400\u00a0octets, au-delà de la limite de 26\u202f214\u202f400\u00a0octets\u00a0:"},
	} {
		header := "From: <" + tc.from + ">\r\nTo: support@shop.test\r\nSubject: big\r\nMessage-ID: <big-" + tc.from + ">\r\n" +
			"Content-Language: " + tc.lang + "\r\n"
		if err := intake.DeliverTooLarge(ctx, []byte(header), tc.size, limit, "INBOX UID 9"); err != nil {
			t.Fatal(err)
		}
		var text, lang string
		if err := e.db.Read.QueryRow(`SELECT m.body_text, t.lang FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id
			WHERE m.message_id = $1`, "<big-"+tc.from+">").Scan(&text, &lang); err != nil {
			t.Fatal(err)
		}
		if lang != tc.lang || !strings.HasPrefix(text, tc.want) {
			t.Errorf("%d bytes over %d, ticket in %s: %q, want it to begin %q in %s", tc.size, limit, lang, text, tc.want, tc.lang)
		}
	}
}
