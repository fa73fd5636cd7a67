package desk_test

import (
	"context"
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
