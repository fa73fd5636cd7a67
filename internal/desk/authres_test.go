package desk_test

import (
	"context"
	"database/sql"
	"errors"
	"net/smtp"
	"slices"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/desk"
	"comptoir/internal/mail"
)

// authMail is a mail from zoe@example.net, the setup's customer, as the
// trusted server mx.shop.test hands it on: result is what that server
// wrote of it, and a sender's forged field with the same id sits below.
func authMail(msgID, subject, inReplyTo, result string) []byte {
	raw := "Authentication-Results: mx.shop.test; " + result + "\r\n" +
		"Received: from attacker.example by mx.shop.test\r\n" +
		"Authentication-Results: mx.shop.test; dkim=pass header.d=example.net; dmarc=pass header.from=example.net\r\n" +
		"From: Zoé <zoe@example.net>\r\nTo: support@shop.test\r\nSubject: " + subject + "\r\nMessage-ID: " + msgID + "\r\n"
	if inReplyTo != "" {
		raw += "In-Reply-To: " + inReplyTo + "\r\n"
	}
	return []byte(raw + "Content-Type: text/plain; charset=utf-8\r\n\r\nplease refund to my new card\r\n")
}

// With --inbound-trusted-authserv-id, a mail under a customer's address
// that the trusted server did not vouch for (dkim=fail, whatever the
// sender wrote below) is kept but is not the customer's: on their ticket
// it is flagged, hidden from them and marked "sender not verified" for
// the agent; on its own it opens a ticket linked to no account. The same
// mail with dmarc=pass threads as the customer's. Before, From alone
// decided: the forged mail showed in the customer's thread and account.
func TestUnverifiedSenderIsNotTheCustomer(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	intake := desk.MailIntake{Desk: e.desk, Support: "support@shop.test", TrustedAuthservIDs: []string{"mx.shop.test"}}
	deliver := func(raw []byte) {
		t.Helper()
		if err := intake.Deliver(ctx, raw, "zoe@example.net", []string{"support@shop.test"}); err != nil {
			t.Fatal(err)
		}
	}
	ticketOf := func(msgID string) desk.Ticket {
		t.Helper()
		var id string
		if err := e.db.Read.QueryRow(`SELECT ticket_id FROM ticket_messages WHERE message_id = $1`, msgID).Scan(&id); err != nil {
			t.Fatalf("%s: %v", msgID, err)
		}
		return e.get(t, id)
	}

	// The customer's own mail, vouched for: their ticket, in their account.
	deliver(authMail("<own@example.net>", "my order", "", "dkim=pass header.d=example.net; dmarc=pass header.from=example.net"))
	tk := ticketOf("<own@example.net>")
	if tk.CustomerID != e.customer.ID {
		t.Fatalf("the customer's verified mail opened a ticket of %q, want their account %q", tk.CustomerID, e.customer.ID)
	}

	// A forged one on that ticket.
	deliver(authMail("<forged@attacker.example>", "Re: my order", "<own@example.net>",
		"dkim=fail reason=\"bad signature\" header.d=example.net; dmarc=fail header.from=example.net"))
	if got := ticketOf("<forged@attacker.example>"); got.ID != tk.ID {
		t.Fatalf("the forged mail went to %s, want the ticket it answers %s (kept for an agent)", got.ID, tk.ID)
	}
	for _, m := range e.thread(t, tk.ID, false) {
		if m.MessageID == "<forged@attacker.example>" {
			t.Fatal("the customer sees the forged mail as their own")
		}
	}
	var forged *desk.Message
	all := e.thread(t, tk.ID, true)
	for i := range all {
		if all[i].MessageID == "<forged@attacker.example>" {
			forged = &all[i]
		}
	}
	if forged == nil || !forged.Flagged || !forged.SenderUnverified(tk) {
		t.Fatalf("the forged mail in the agent's thread: %+v, want flagged as sender not verified", forged)
	}
	if all[0].SenderUnverified(tk) {
		t.Error("the customer's verified mail is marked sender not verified")
	}

	// The same with dmarc=pass is the customer's.
	deliver(authMail("<own2@example.net>", "Re: my order", "<own@example.net>", "dkim=pass header.i=@example.net; dmarc=pass header.from=example.net"))
	shown := false
	for _, m := range e.thread(t, tk.ID, false) {
		if m.MessageID == "<own2@example.net>" {
			shown = !m.Flagged
		}
	}
	if !shown {
		t.Fatal("the customer's verified reply is not shown as theirs")
	}

	// A forged mail that threads nowhere opens a ticket of no account.
	deliver(authMail("<forged2@attacker.example>", "change my address", "", "dkim=none; dmarc=none"))
	if other := ticketOf("<forged2@attacker.example>"); other.CustomerID != "" {
		t.Fatalf("the forged mail opened a ticket in the customer's account %q", other.CustomerID)
	}
}

// Without --inbound-trusted-authserv-id nothing changes: From decides.
func TestWithoutTrustedAuthservIDFromDecides(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	intake := desk.MailIntake{Desk: e.desk, Support: "support@shop.test"}
	if err := intake.Deliver(ctx, authMail("<plain@example.net>", "my order", "", "dkim=fail; dmarc=fail"), "zoe@example.net", []string{"support@shop.test"}); err != nil {
		t.Fatal(err)
	}
	var linked bool
	if err := e.db.Read.QueryRow(`SELECT t.customer_id = $1 FROM tickets t JOIN ticket_messages m ON m.ticket_id = t.id
		WHERE m.message_id = '<plain@example.net>'`, e.customer.ID).Scan(&linked); err != nil || !linked {
		t.Fatalf("without the flag, the customer's mail is not in their account (%v)", err)
	}
}

// A ticket a mail opened under an address the trusted server did not
// vouch for is marked (ticket and message) and never joins the account of
// that address: not when the account later proves it reads the address
// (LinkGuestTicketsTx, which gives it the address's guest tickets), nor
// by any later write, the database refusing it a customer. Before, it was
// a guest ticket like any other, linked on that proof: the forger's words
// then stood in the customer's portal as theirs, and an agent could turn
// them into the customer's claim (a refund, a subscription stopped).
func TestUnverifiedTicketNeverJoinsTheAccount(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	addr := e.listenerWith(t, 0, []string{"mx.shop.test"})
	// An account nobody proved yet: mail under its address opens guest
	// tickets, given to it once it proves the address.
	u, err := e.accounts.CreateUser(ctx, account.CreateUserInput{Email: "lea@example.org", Role: account.RoleCustomer,
		Language: "fr", Name: "Léa", Password: "0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	send := func(msgID, result string) desk.Ticket {
		t.Helper()
		raw := "Authentication-Results: mx.shop.test; " + result + "\r\n" +
			"From: Léa <lea@example.org>\r\nTo: support@shop.test\r\nSubject: stop my subscription\r\nMessage-ID: " + msgID + "\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\n\r\nStop it now and refund the month.\r\n"
		if err := smtp.SendMail(addr, nil, "lea@example.org", []string{"support@shop.test"}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
		var id string
		if err := e.db.Read.QueryRow(`SELECT ticket_id FROM ticket_messages WHERE message_id = $1`, msgID).Scan(&id); err != nil {
			t.Fatalf("%s: %v", msgID, err)
		}
		return e.get(t, id)
	}
	forged := send("<forged@attacker.example>", "dkim=fail header.d=example.org; dmarc=fail header.from=example.org")
	own := send("<own@example.org>", "dkim=pass header.d=example.org; dmarc=pass header.from=example.org")
	if !forged.SenderUnverified || own.SenderUnverified {
		t.Fatalf("sender unverified: forged ticket %v, verified one %v; want true, false", forged.SenderUnverified, own.SenderUnverified)
	}
	msgs := e.thread(t, forged.ID, true)
	if len(msgs) == 0 || !msgs[0].SenderUnverified(forged) || e.thread(t, own.ID, true)[0].SenderUnverified(own) {
		t.Fatal("the opening message of the forged ticket is not marked sender not verified (or the verified one is)")
	}

	var linked []string
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		linked, err = desk.LinkGuestTicketsTx(ctx, tx, u, e.clock.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(linked, []string{own.ID}) {
		t.Fatalf("proving the address linked %v, want only the verified ticket %s", linked, own.ID)
	}
	if got := e.get(t, forged.ID).CustomerID; got != "" {
		t.Fatalf("the forged ticket joined the account %q", got)
	}
	if _, err := e.db.Write.Exec(`UPDATE tickets SET customer_id = $1 WHERE id = $2`, u.ID, forged.ID); err == nil {
		t.Fatal("the database let the forged ticket join the account")
	}
	if _, _, err := e.desk.CustomerMessage(ctx, msgs[0].ID); !errors.Is(err, desk.ErrNotFound) {
		t.Fatalf("the forged message can source a claim of the account: %v", err)
	}
}

// A From that is not one mailbox is vouched for by no one: the trusted
// server checked one of its domains, which need not be the customer's.
// Here the sender lists the customer first and themselves second, signs
// with their own domain, and the server writes dmarc=pass without naming
// header.from. Before, the desk read the customer's address, took the
// pass for it, and filed the mail as the customer's on their ticket and
// in their account.
func TestFromOfTwoMailboxesIsNotVerified(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	addr := e.listenerWith(t, 0, []string{"mx.shop.test"})
	send := func(msgID, inReplyTo string) desk.Ticket {
		t.Helper()
		raw := "Authentication-Results: mx.shop.test; dkim=pass header.d=evil.example; dmarc=pass\r\n" +
			"From: Zoé <zoe@example.net>, Eve <eve@evil.example>\r\nTo: support@shop.test\r\nSubject: my order\r\nMessage-ID: " + msgID + "\r\n"
		if inReplyTo != "" {
			raw += "In-Reply-To: " + inReplyTo + "\r\n"
		}
		raw += "Content-Type: text/plain; charset=utf-8\r\n\r\nRefund it to my new card.\r\n"
		if err := smtp.SendMail(addr, nil, "eve@evil.example", []string{"support@shop.test"}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
		var id string
		if err := e.db.Read.QueryRow(`SELECT ticket_id FROM ticket_messages WHERE message_id = $1`, msgID).Scan(&id); err != nil {
			t.Fatalf("%s: %v", msgID, err)
		}
		return e.get(t, id)
	}
	// A new ticket: in no account, marked.
	if tk := send("<two-from@evil.example>", ""); tk.CustomerID != "" || !tk.SenderUnverified {
		t.Fatalf("the mail opened a ticket of %q (sender unverified: %v), want no account and marked", tk.CustomerID, tk.SenderUnverified)
	}
	// On the customer's ticket: flagged, hidden from them.
	own, _, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<own@example.net>", From: mailAddr("Zoé", "zoe@example.net"),
		Subject: "my order", Text: "Where is it?"})
	if err != nil || own.CustomerID != e.customer.ID {
		t.Fatalf("the customer's ticket: %+v, %v", own, err)
	}
	if tk := send("<two-from-2@evil.example>", "<own@example.net>"); tk.ID != own.ID {
		t.Fatalf("the reply went to %s, want the ticket it answers %s", tk.ID, own.ID)
	}
	for _, m := range e.thread(t, own.ID, false) {
		if m.MessageID == "<two-from-2@evil.example>" {
			t.Fatal("the customer's thread shows the mail as theirs")
		}
	}
}

// The name in the From of a mail the trusted server did not vouch for is
// whatever its writer chose: the store's answers and the survey sent when
// an agent closes the ticket it opened greet and address the address's
// owner without it. Before, "Hello <that name>," went out under the
// store's name to the person whose address was forged.
func TestUnverifiedSendersNameIsNotMailed(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	addr := e.listenerWith(t, 0, []string{"mx.shop.test"})
	const lure = "Your account is locked call 0800 000 000"
	raw := "Authentication-Results: mx.shop.test; dkim=fail header.d=example.net; dmarc=fail header.from=example.net\r\n" +
		"From: " + lure + " <zoe@example.net>\r\nTo: support@shop.test\r\nSubject: hello\r\nMessage-ID: <lure@attacker.example>\r\n" +
		"Content-Language: en\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello.\r\n"
	if err := smtp.SendMail(addr, nil, "zoe@example.net", []string{"support@shop.test"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	var id string
	if err := e.db.Read.QueryRow(`SELECT ticket_id FROM ticket_messages WHERE message_id = '<lure@attacker.example>'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if tk := e.get(t, id); !tk.SenderUnverified || tk.CustomerName != lure {
		t.Fatalf("the ticket: %+v, want marked, the name kept for the agent", tk)
	}
	if _, err := e.desk.Reply(ctx, e.agent, id, "We never asked you for anything."); err != nil {
		t.Fatal(err)
	}
	_, reply := e.lastOut(t, id)
	if _, err := e.desk.Close(ctx, e.agent, id); err != nil {
		t.Fatal(err)
	}
	_, survey := e.lastOut(t, id)
	if survey.Kind != "ticket_survey" {
		t.Fatalf("the last mail is a %s, want the survey", survey.Kind)
	}
	for _, m := range []mail.Stored{reply, survey} {
		if m.ToName != "" || strings.Contains(m.Text, "locked") {
			t.Errorf("the %s to %s names them %q:\n%s", m.Kind, m.To, m.ToName, m.Text)
		}
	}
}
