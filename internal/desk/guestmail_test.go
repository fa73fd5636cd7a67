package desk_test

import (
	"context"
	netmail "net/mail"
	"net/smtp"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/desk"
)

// A guest who answers by mail the acknowledgement of the ticket they
// opened on the Contact page shows they read the address as surely as
// the guest link's button does: a reply to that mail (its Message-ID,
// its reply address), from the ticket's address and vouched for by the
// trusted mail server, confirms the ticket as the button does (the same
// change, the same audit line, the same linking to the address's
// account). A forged reply, an absence notice, or a fresh mail naming
// the reference the form's page showed (whoever typed the address saw
// it) confirms nothing. Before, only the button confirmed: the guest's
// reply left the ticket out of their account.
func TestGuestReplyByMailConfirmsItsTicket(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u, err := e.accounts.CreateUser(ctx, account.CreateUserInput{Email: "owner@example.com", Role: account.RoleCustomer,
		Language: "en", Password: "0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	e.proveAddress(t, u)
	tk := e.contact(t, "owner@example.com", "en")
	_, ack := e.lastOut(t, tk.ID)
	intake := desk.MailIntake{Desk: e.desk, Support: "support@shop.test", TrustedAuthservIDs: []string{"mx.shop.test"}}
	n := 0
	deliver := func(result, to, inReplyTo, subject, extra string) {
		t.Helper()
		n++
		raw := "Authentication-Results: mx.shop.test; " + result + "\r\nFrom: <owner@example.com>\r\nTo: " + to +
			"\r\nSubject: " + subject + "\r\nMessage-ID: <reply" + string(rune('0'+n)) + "@example.com>\r\n" + extra
		if inReplyTo != "" {
			raw += "In-Reply-To: " + inReplyTo + "\r\nReferences: " + inReplyTo + "\r\n"
		}
		raw += "\r\nYes, that was me.\r\n"
		if err := intake.Deliver(ctx, []byte(raw), "owner@example.com", []string{to}); err != nil {
			t.Fatal(err)
		}
		var on string
		if err := e.db.Read.QueryRow(`SELECT ticket_id FROM ticket_messages WHERE message_id = $1`,
			"<reply"+string(rune('0'+n))+"@example.com>").Scan(&on); err != nil || on != tk.ID {
			t.Fatalf("reply %d filed on %q (%v), want the ticket %s", n, on, err, tk.ID)
		}
	}
	confirmations := func() int {
		t.Helper()
		var c int
		if err := e.db.Read.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND action = 'ticket.sender_confirmed'`,
			tk.ID).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	unconfirmed := func(what string) {
		t.Helper()
		if got := e.get(t, tk.ID); !got.AwaitsConfirmation() || got.CustomerID != "" || confirmations() != 0 {
			t.Fatalf("%s confirmed the ticket: unverified=%v, customer %q, %d audit lines", what, got.SenderUnverified, got.CustomerID, confirmations())
		}
	}
	re := "Re: " + ack.Subject
	verified := "dkim=pass header.d=example.com; dmarc=pass header.from=example.com"

	deliver("dkim=fail header.d=example.com; dmarc=fail header.from=example.com", ack.ReplyTo, ack.MessageID, re, "")
	unconfirmed("a reply the trusted server did not vouch for")
	deliver(verified, ack.ReplyTo, ack.MessageID, re, "Auto-Submitted: auto-replied\r\n")
	unconfirmed("an automatic reply")
	deliver(verified, "support@shop.test", "", "About #"+tk.Reference, "")
	unconfirmed("a mail naming the ticket's reference only")

	deliver(verified, ack.ReplyTo, ack.MessageID, re, "")
	got := e.get(t, tk.ID)
	if got.SenderUnverified || got.CustomerID != u.ID {
		t.Fatalf("after the verified reply: unverified=%v, customer %q, want confirmed in the account %s", got.SenderUnverified, got.CustomerID, u.ID)
	}
	if m := e.thread(t, tk.ID, true)[0]; m.FromUnverified {
		t.Error("the form's message is still marked unverified")
	}
	var after string
	if err := e.db.Read.QueryRow(`SELECT after_state FROM audit_log WHERE subject_id = $1 AND action = 'ticket.sender_confirmed'`,
		tk.ID).Scan(&after); err != nil || !strings.Contains(after, `"email"`) {
		t.Fatalf("audit of the confirmation: %q (%v), want via email", after, err)
	}
	for _, m := range e.thread(t, tk.ID, true) {
		if m.MessageID == "<reply1@example.com>" && (!m.FromUnverified || !m.Flagged) {
			t.Error("the confirmation vouched for the forged reply")
		}
	}

	// Once confirmed, a second reply records nothing more.
	deliver(verified, ack.ReplyTo, ack.MessageID, re, "")
	if c := confirmations(); c != 1 {
		t.Errorf("%d confirmations recorded, want 1", c)
	}
}

// Without --inbound-trusted-authserv-id, From decides for every mail, so
// what shows a reply came from the mailbox is that it answers the mail
// sent there: whoever typed the address on the form knows the ticket's
// reference (the page showed it), not the acknowledgement's Message-ID
// nor the reply address. A mail under the address naming the reference
// leaves the ticket unconfirmed; a reply to the acknowledgement by its
// reply address alone confirms it.
func TestWithoutTrustedServerOnlyAReplyToTheMailConfirms(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "owner@example.com", "fr")
	_, ack := e.lastOut(t, tk.ID)
	intake := desk.MailIntake{Desk: e.desk, Support: "support@shop.test"}
	deliver := func(to, subject, msgID string) {
		t.Helper()
		raw := "From: <owner@example.com>\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: " + msgID + "\r\n\r\nc'est moi\r\n"
		if err := intake.Deliver(ctx, []byte(raw), "owner@example.com", []string{to}); err != nil {
			t.Fatal(err)
		}
	}
	deliver("support@shop.test", "Re: [#"+tk.Reference+"]", "<ref@attacker.example>")
	if got := e.get(t, tk.ID); !got.AwaitsConfirmation() {
		t.Fatal("a mail naming the reference the form's page showed confirmed the ticket")
	}
	deliver(ack.ReplyTo, "Re: merci", "<reply@example.com>")
	if got := e.get(t, tk.ID); got.SenderUnverified {
		t.Fatal("a reply to the acknowledgement's reply address left the ticket unconfirmed")
	}
}

// A reply to the acknowledgement of a Contact form ticket confirms it
// only if a person wrote it. An autoresponder that writes none of the
// fields that mark an automatic answer (Auto-Submitted, Precedence,
// X-Autoreply) but answers In-Reply-To the mail it got confirmed the
// ticket of whoever typed its address on the form. Sent from the null
// reverse-path (MAIL FROM:<>, as RFC 3834 asks of an automatic answer),
// it already did not; with Exchange's X-Auto-Response-Suppress or an
// autoresponder's subject, in English or French, it now does not either.
// Each is still filed on the ticket, as before; a person's reply then
// confirms it. Over a real SMTP conversation on loopback.
func TestAutoresponderReplyConfirmsNoTicket(t *testing.T) {
	e := setup(t)
	u, err := e.accounts.CreateUser(context.Background(), account.CreateUserInput{Email: "owner@example.com", Role: account.RoleCustomer,
		Language: "fr", Password: "0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	e.proveAddress(t, u)
	addr := e.listenerWith(t, 0, []string{"mx.shop.test"})
	tk := e.contact(t, "owner@example.com", "fr")
	_, ack := e.lastOut(t, tk.ID)
	n := 0
	deliver := func(envelopeFrom, subject, extra string) string {
		t.Helper()
		n++
		id := "<auto" + string(rune('0'+n)) + "@example.com>"
		raw := "Authentication-Results: mx.shop.test; dkim=pass header.d=example.com; dmarc=pass header.from=example.com\r\n" +
			"From: <owner@example.com>\r\nTo: " + ack.ReplyTo + "\r\nSubject: " + subject + "\r\nMessage-ID: " + id +
			"\r\nIn-Reply-To: " + ack.MessageID + "\r\nReferences: " + ack.MessageID + "\r\n" + extra +
			"Content-Type: text/plain; charset=utf-8\r\n\r\nJe suis absent jusqu'au 15.\r\n"
		rcpt, err := netmail.ParseAddress(ack.ReplyTo)
		if err != nil {
			t.Fatal(err)
		}
		if err := smtp.SendMail(addr, nil, envelopeFrom, []string{rcpt.Address}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
		return id
	}
	filed := func(id string) desk.Message {
		t.Helper()
		for _, m := range e.thread(t, tk.ID, true) {
			if m.MessageID == id {
				return m
			}
		}
		t.Fatalf("%s is not filed on the ticket", id)
		return desk.Message{}
	}
	re := "Re: " + ack.Subject
	for _, c := range []struct {
		what, envelopeFrom, subject, extra string
		autoReply                          bool
	}{
		{"an answer from the null reverse-path", "", re, "", true},
		{"an answer with X-Auto-Response-Suppress", "owner@example.com", re, "X-Auto-Response-Suppress: All\r\n", false},
		{"an answer whose subject says it is automatic", "owner@example.com", "Automatic reply: " + ack.Subject, "", false},
		{"an answer whose subject says so in French", "owner@example.com", "Réponse automatique : " + ack.Subject, "", false},
		{"an Out of Office answer", "owner@example.com", "Out of Office AutoReply: " + ack.Subject, "", false},
		{"an answer with Communigate's field", "owner@example.com", re, "X-Autogenerated: Reply\r\n", false},
	} {
		m := filed(deliver(c.envelopeFrom, c.subject, c.extra))
		if m.AutoReply != c.autoReply || m.Flagged {
			t.Errorf("%s: filed as auto-reply %v, flagged %v; want auto-reply %v, as before", c.what, m.AutoReply, m.Flagged, c.autoReply)
		}
		if got := e.get(t, tk.ID); !got.AwaitsConfirmation() || got.CustomerID != "" {
			t.Fatalf("%s confirmed the ticket (customer %q)", c.what, got.CustomerID)
		}
	}
	deliver("owner@example.com", re, "")
	if got := e.get(t, tk.ID); got.AwaitsConfirmation() || got.CustomerID != u.ID {
		t.Fatalf("a person's reply left the ticket unconfirmed: unverified=%v, customer %q", got.SenderUnverified, got.CustomerID)
	}
}

// A message the SMTP listener refuses for its size is filed from its
// header, and could confirm a ticket as any reply: sent from the null
// reverse-path, the envelope was not looked at (only a Return-Path in the
// header, which the listener's mail has not), and an autoresponder's
// answer quoting a large mail confirmed the ticket. It is now an
// automatic message, as Deliver makes one; a person's such reply still
// confirms it.
func TestTooLargeAnswerFromTheNullReversePathConfirmsNoTicket(t *testing.T) {
	e := setup(t)
	u, err := e.accounts.CreateUser(context.Background(), account.CreateUserInput{Email: "owner@example.com", Role: account.RoleCustomer,
		Language: "en", Password: "0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	e.proveAddress(t, u)
	addr := e.listenerWith(t, 4096, []string{"mx.shop.test"})
	tk := e.contact(t, "owner@example.com", "en")
	_, ack := e.lastOut(t, tk.ID)
	rcpt, err := netmail.ParseAddress(ack.ReplyTo)
	if err != nil {
		t.Fatal(err)
	}
	for i, envelopeFrom := range []string{"", "owner@example.com"} {
		id := "<big" + string(rune('0'+i)) + "@example.com>"
		raw := "Authentication-Results: mx.shop.test; dkim=pass header.d=example.com; dmarc=pass header.from=example.com\r\n" +
			"From: <owner@example.com>\r\nTo: " + ack.ReplyTo + "\r\nSubject: Re: " + ack.Subject + "\r\nMessage-ID: " + id +
			"\r\nIn-Reply-To: " + ack.MessageID + "\r\n\r\n" + strings.Repeat("quoted text of a large mail\r\n", 400)
		if err := smtp.SendMail(addr, nil, envelopeFrom, []string{rcpt.Address}, []byte(raw)); err == nil || !strings.Contains(err.Error(), "552") {
			t.Fatalf("a message over the limit: %v, want 552", err)
		}
		var on string
		var auto bool
		if err := e.db.Read.QueryRow(`SELECT ticket_id, auto_reply FROM ticket_messages WHERE message_id = $1`, id).Scan(&on, &auto); err != nil || on != tk.ID {
			t.Fatalf("%s filed on %q (%v), want the ticket %s", id, on, err, tk.ID)
		}
		got := e.get(t, tk.ID)
		if envelopeFrom == "" && (!auto || !got.AwaitsConfirmation() || got.CustomerID != "") {
			t.Fatalf("from the null reverse-path: auto-reply %v, ticket confirmed %v (customer %q); want an automatic message, nothing confirmed",
				auto, !got.AwaitsConfirmation(), got.CustomerID)
		}
		if envelopeFrom != "" && (auto || got.CustomerID != u.ID) {
			t.Fatalf("from the customer: auto-reply %v, customer %q; want a person's reply confirming the ticket", auto, got.CustomerID)
		}
	}
}
