package desk_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/smtp"
	"path/filepath"
	"strings"
	"testing"

	"comptoir/internal/blob"
	"comptoir/internal/desk"
	"comptoir/internal/inbound"
)

// listener runs the inbound SMTP listener on loopback, filing mail on e's
// desk, and returns its address.
func (e *env) listener(t *testing.T) string {
	t.Helper()
	return e.listenerLimited(t, 0)
}

// listenerLimited is listener with a message size limit (0: the default).
func (e *env) listenerLimited(t *testing.T, maxBytes int64) string {
	t.Helper()
	return e.listenerWith(t, maxBytes, nil)
}

// listenerWith is listenerLimited with the listener trusting the
// Authentication-Results of the mail servers named trusted
// (--inbound-trusted-authserv-id).
func (e *env) listenerWith(t *testing.T, maxBytes int64, trusted []string) string {
	t.Helper()
	blobs, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := inbound.NewServer(inbound.Config{Domain: "shop.test", SupportAddresses: []string{"support@shop.test"}, MaxMessageBytes: maxBytes,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, desk.MailIntake{Desk: e.desk, Blobs: blobs, Support: "support@shop.test", TrustedAuthservIDs: trusted})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// The reply token is in the address the mail was delivered to: the SMTP
// envelope's recipient. A customer who sends to the ticket's reply address
// in Bcc, or an MTA that forwards mail addressed to the plus address while
// the header says the plain one, still reaches the ticket.
func TestSMTPEnvelopeRecipientThreadsByReplyToken(t *testing.T) {
	e := setup(t)
	addr := e.listener(t)
	tk := e.contact(t, "gus@example.org", "en")
	raw := "From: Gus <gus@example.org>\r\nTo: Shop <support@shop.test>\r\nSubject: one more thing\r\n" +
		"Message-ID: <bcc-1@example.org>\r\nDate: Sun, 08 Mar 2026 11:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"And the invoice, please.\r\n"
	rcpt := "support+" + tk.ReplyToken + "@shop.test"
	// Delivered twice, as an MTA retries after a lost answer: stored once.
	for range 2 {
		if err := smtp.SendMail(addr, nil, "gus@example.org", []string{rcpt}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.count(t, "tickets"); n != 1 {
		t.Fatalf("%d tickets, want the mail on %s", n, tk.Reference)
	}
	var texts []string
	for _, m := range e.thread(t, tk.ID, true) {
		if m.Direction == desk.DirectionIn {
			texts = append(texts, strings.TrimSpace(m.Text))
		}
	}
	if strings.Join(texts, "|") != "Hello,\nwhere is my licence?|And the invoice, please." {
		t.Fatalf("messages of the ticket: %q", texts)
	}
}

// Whatever bytes a body holds, the message is stored: a NUL or bytes that
// are not the UTF-8 the header announces (PostgreSQL refuses both in text
// columns) would otherwise make every delivery fail with 451 until the
// sending MTA gives up and the message is lost. The raw bytes stay as
// received.
func TestSMTPBodyWithNULAndBadUTF8IsStored(t *testing.T) {
	e := setup(t)
	addr := e.listener(t)
	for i, body := range []string{
		"Content-Type: text/plain; charset=utf-8\r\n\r\nmy key\x00 is broken \xff\xfe here\r\n",
		"Content-Type: text/html; charset=utf-8\r\n\r\n<p>my key\x00 is \xc3 broken</p>\r\n",
		"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nma cl\xe9\x00 ne marche pas\r\n",
		"References: <r\xff\x00@example.org>\r\nIn-Reply-To: <\xc3x@example.org>\r\n\r\nids broken\r\n",
	} {
		raw := "From: Gus <gus@example.org>\r\nTo: support@shop.test\r\nSubject: binary " + string(rune('a'+i)) +
			"\r\nMessage-ID: <nul-" + string(rune('a'+i)) + "@example.org>\r\n" + body
		if err := smtp.SendMail(addr, nil, "gus@example.org", []string{"support@shop.test"}, []byte(raw)); err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
	}
	if n := e.count(t, "tickets"); n != 4 {
		t.Fatalf("%d tickets, want 4", n)
	}
	rows, err := e.db.Read.Query(`SELECT body_text, body_html, raw FROM ticket_messages WHERE direction = 'in' ORDER BY message_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var text, html string
		var raw []byte
		if err := rows.Scan(&text, &html, &raw); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "broken") && !strings.Contains(text, "marche") || strings.Contains(text+html, "\x00") {
			t.Errorf("stored text %q, html %q", text, html)
		}
		if !strings.Contains(string(raw), "\x00") {
			t.Errorf("raw bytes not kept as received: %q", raw)
		}
	}
}

// A read receipt (an MDN, multipart/report of disposition notifications)
// is sent by the customer's mail program, not written by the customer: it
// is stored with the ticket but does not reopen it nor make an answer due,
// like any automatic message. Mail programs send it from the customer's
// address with a normal envelope sender.
func TestSMTPReadReceiptDoesNotReopenTheTicket(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	addr := e.listener(t)
	tk := e.contact(t, "gus@example.org", "en")
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Here is your key."); err != nil {
		t.Fatal(err)
	}
	_, reply := e.lastOut(t, tk.ID)
	raw := "From: Gus <gus@example.org>\r\nTo: " + reply.ReplyTo + "\r\nSubject: Read: " + reply.Subject +
		"\r\nMessage-ID: <mdn-1@example.org>\r\nIn-Reply-To: " + reply.MessageID + "\r\nReferences: " + reply.MessageID +
		"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=disposition-notification; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThis is a return receipt for the mail you sent.\r\n" +
		"--b\r\nContent-Type: message/disposition-notification\r\n\r\nFinal-Recipient: rfc822;gus@example.org\r\n" +
		"Original-Message-ID: " + reply.MessageID + "\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n--b--\r\n"
	mails := e.count(t, "outgoing_mail")
	if err := smtp.SendMail(addr, nil, "gus@example.org", []string{"support@shop.test"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	got := e.get(t, tk.ID)
	if got.Status != desk.StatusAnswered || !got.PromiseAt.IsZero() || e.count(t, "outgoing_mail") != mails {
		t.Fatalf("a read receipt moved the ticket: %s, due %v", got.Status, got.PromiseAt)
	}
	msgs := e.thread(t, tk.ID, true)
	if last := msgs[len(msgs)-1]; last.MessageID != "<mdn-1@example.org>" || !last.AutoReply {
		t.Fatalf("read receipt stored as %+v", last)
	}
}

// A message over the listener's size limit is refused (552: the sender's
// server tells them), but not without a trace: its header is filed like
// any message, here on the ticket it answers, with a note for the agent,
// and the customer's message makes an answer due.
func TestSMTPTooLargeIsRefusedButRecorded(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	addr := e.listenerLimited(t, 4096)
	tk := e.contact(t, "gus@example.org", "en")
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Send us the screenshots."); err != nil {
		t.Fatal(err)
	}
	_, reply := e.lastOut(t, tk.ID)
	raw := "From: Gus <gus@example.org>\r\nTo: " + reply.ReplyTo + "\r\nSubject: Re: " + reply.Subject +
		"\r\nMessage-ID: <big-1@example.org>\r\nIn-Reply-To: " + reply.MessageID +
		"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + strings.Repeat("screenshot bytes\r\n", 1000)
	err := smtp.SendMail(addr, nil, "gus@example.org", []string{"support@shop.test"}, []byte(raw))
	// The refusal the sender's server quotes in its bounce says the limit
	// as people read it, and what to do, in English and French.
	if err == nil || !strings.Contains(err.Error(), "552") || !strings.Contains(err.Error(), "messages of 4 KB at most; send large files as links") ||
		!strings.Contains(err.Error(), "messages de 4 Ko au plus ; envoyez les gros fichiers sous forme de liens") {
		t.Fatalf("sending %d bytes over a 4096-byte limit: %v, want 552 saying the limit", len(raw), err)
	}
	if n := e.count(t, "tickets"); n != 1 {
		t.Fatalf("%d tickets, want the message on %s", n, tk.Reference)
	}
	msgs := e.thread(t, tk.ID, true)
	last := msgs[len(msgs)-1]
	if last.MessageID != "<big-1@example.org>" || !last.Unparsed || last.Flagged ||
		!strings.Contains(last.Text, "over the 4\u00a0KB limit") || strings.Contains(last.Text, "screenshot bytes") {
		t.Fatalf("recorded as %+v", last)
	}
	if got := e.get(t, tk.ID); got.Status != desk.StatusOpen || got.PromiseAt.IsZero() {
		t.Errorf("the customer wrote but nothing is due: %s, %v", got.Status, got.PromiseAt)
	}
}

// A From address longer than any deliverable one (RFC 5321: 254
// characters) is no address: kept, PostgreSQL could not index it on a
// guest ticket and the message would be refused on every delivery or
// poll, lost. The message is stored, its sender without an address, the
// raw bytes as received.
func TestOverlongFromAddressIsStoredWithoutIt(t *testing.T) {
	e := setup(t)
	// Letters that do not compress, as PostgreSQL would compress a
	// repeated one below its index's row limit.
	var b strings.Builder
	for sum := sha256.Sum256(nil); b.Len() < 3000; sum = sha256.Sum256(sum[:]) {
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	long := b.String() + "@example.org"
	raw := "From: Spoof <" + long + ">\r\nTo: support@shop.test\r\nSubject: long sender\r\nMessage-ID: <long-from@example.org>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nplease help\r\n"
	intake := desk.MailIntake{Desk: e.desk, Blobs: nil, Support: "support@shop.test"}
	if err := intake.Deliver(context.Background(), []byte(raw), "bounce@example.org", []string{"support@shop.test"}); err != nil {
		t.Fatal(err)
	}
	var email string
	var stored []byte
	if err := e.db.Read.QueryRow(`SELECT t.customer_email, m.raw FROM tickets t JOIN ticket_messages m ON m.ticket_id = t.id
		WHERE m.message_id = '<long-from@example.org>'`).Scan(&email, &stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(email, long[:40]) || !strings.Contains(string(stored), long) {
		t.Fatalf("ticket's address %.40q…, raw kept: %v", email, strings.Contains(string(stored), long))
	}
}

// RFC 5322 wants lines under 1,000 characters, but mail arrives with
// longer ones (Postfix, forwarding to the listener, only splits lines past
// 2,048). Refused with a temporary error, such a message would be retried
// by the sending MTA until it gives up: lost.
func TestSMTPLongLinesAreAccepted(t *testing.T) {
	e := setup(t)
	addr := e.listener(t)
	line := strings.Repeat("<td>cell</td>", 20000/13)
	raw := "From: Gus <gus@example.org>\r\nTo: support@shop.test\r\nSubject: a wide table\r\nMessage-ID: <long-line@example.org>\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n\r\n<table><tr>" + line + "</tr></table>\r\n"
	if err := smtp.SendMail(addr, nil, "gus@example.org", []string{"support@shop.test"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "ticket_messages WHERE message_id = '<long-line@example.org>'"); n != 1 {
		t.Fatalf("%d messages stored", n)
	}
}

// The same mail delivered twice keeps one copy of its attachments: the
// second delivery's files, stored before it was known for a duplicate,
// are removed, or every retry of an MTA would leave a copy behind.
func TestDuplicateDeliveryLeavesNoAttachmentBehind(t *testing.T) {
	e := setup(t)
	dir := t.TempDir()
	blobs, err := blob.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	intake := desk.MailIntake{Desk: e.desk, Blobs: blobs, Support: "support@shop.test"}
	raw := "From: Gus <gus@example.org>\r\nTo: support@shop.test\r\nSubject: my screenshot\r\nMessage-ID: <twice-att@example.org>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n" +
		"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attached\r\n" +
		"--XX\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"s.png\"\r\n\r\nPNGDATA\r\n--XX--\r\n"
	for range 3 {
		if err := intake.Deliver(context.Background(), []byte(raw), "gus@example.org", []string{"support@shop.test"}); err != nil {
			t.Fatal(err)
		}
	}
	var files []string
	filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if n := e.count(t, "ticket_attachments"); n != 1 || len(files) != 1 {
		t.Fatalf("%d attachment rows, files %v: want one of each", n, files)
	}
	var key string
	if err := e.db.Read.QueryRow(`SELECT blob_key FROM ticket_attachments`).Scan(&key); err != nil || !strings.Contains(files[0], key) {
		t.Fatalf("the file kept %s is not the attachment's %s (%v)", files[0], key, err)
	}
}

// A mail without Message-ID gets an id made up from what its author sent,
// not from the bytes as received: the same mail reached the desk by the
// listener and by the mailbox poll with other transport headers
// (Received, Return-Path, Delivered-To) and was stored twice. Two mails
// that differ in what the author wrote are still two.
func TestMailWithoutMessageIDByTwoRoutesIsStoredOnce(t *testing.T) {
	e := setup(t)
	intake := desk.MailIntake{Desk: e.desk, Blobs: nil, Support: "support@shop.test"}
	mailOf := func(body string) string {
		return "From: Gus <gus@example.org>\r\nTo: support@shop.test\r\nSubject: no id here\r\n" +
			"Date: Wed, 25 Nov 2026 14:30:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
	}
	bySMTP := "Received: from mx.example.org by shop.test with ESMTP; Wed, 25 Nov 2026 14:30:02 +0000\r\n" + mailOf("my order never came\r\n")
	byIMAP := "Return-Path: <gus@example.org>\r\nDelivered-To: support@shop.test\r\n" +
		"Received: from relay.example.net by imap.shop.test with LMTP; Wed, 25 Nov 2026 14:30:05 +0000\r\n" +
		"Received: from mx.example.org by relay.example.net with ESMTPS; Wed, 25 Nov 2026 14:30:03 +0000\r\n" + mailOf("my order never came\r\n")
	for _, raw := range []string{bySMTP, byIMAP} {
		if err := intake.Deliver(context.Background(), []byte(raw), "gus@example.org", []string{"support@shop.test"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.count(t, "ticket_messages WHERE direction = 'in'"); n != 1 {
		t.Fatalf("%d messages stored for one mail received by two routes", n)
	}
	if err := intake.Deliver(context.Background(), []byte(mailOf("and it still has not\r\n")), "gus@example.org", []string{"support@shop.test"}); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "ticket_messages WHERE direction = 'in'"); n != 2 {
		t.Fatalf("%d messages stored for two mails without Message-ID, want 2", n)
	}
}
