package desk_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/desk"
)

func TestLinkGuestTickets(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	mine := e.contact(t, "Newbie@Example.com", "en")
	e.confirm(t, mine) // the guest shows they read the address
	byMail, _, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<n1@example.com>", From: mailAddr("", "newbie@example.com"),
		Subject: "Hello", Text: "By email."})
	if err != nil {
		t.Fatal(err)
	}
	stranger := e.contact(t, "someone@example.com", "en")
	// A ticket by a signed-in customer stays theirs.
	zoe, err := e.desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: e.customer.ID, Name: "Zoé", Email: "newbie@example.com",
		Topic: desk.TopicQuestion, Message: "Mine.", Lang: "fr"})
	if err != nil {
		t.Fatal(err)
	}

	link := func(u account.User) []string {
		t.Helper()
		var ids []string
		err := e.db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			ids, err = desk.LinkGuestTicketsTx(ctx, tx, u, e.clock.Now())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		return ids
	}
	// Staff proving the same address get nothing.
	if ids := link(account.User{ID: e.agent.ID, Email: "newbie@example.com", Role: account.RoleAgent}); len(ids) != 0 {
		t.Fatalf("staff got %v", ids)
	}
	u, err := e.accounts.CreateUser(ctx, account.CreateUserInput{Email: "NEWBIE@example.com", Role: account.RoleCustomer,
		Language: "en", Password: "0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{mine.ID, byMail.ID}
	slices.Sort(want)
	if ids := link(u); !slices.Equal(ids, want) {
		t.Fatalf("linked %v, want %v", ids, want)
	}
	if ids := link(u); len(ids) != 0 {
		t.Fatalf("linked again %v", ids)
	}
	list, _, err := e.desk.ListForCustomer(ctx, u.ID, "", 0)
	if err != nil || len(list) != 2 {
		t.Fatalf("portal list %d, %v", len(list), err)
	}
	if e.get(t, stranger.ID).CustomerID != "" || e.get(t, zoe.ID).CustomerID != e.customer.ID {
		t.Error("another person's ticket changed hands")
	}
	if _, err := e.desk.GetForCustomer(ctx, u.ID, mine.ID); err != nil {
		t.Errorf("linked ticket not readable by its customer: %v", err)
	}
}

// An address with a capital letter outside ASCII is the same address in
// any case: the guest ticket from "ÉMILE@…" joins the account "émile@…".
// Before, SQLite's lower() (ASCII only) left É as it was and the ticket
// stayed a guest's.
func TestLinkGuestTicketsWithAccentedCapitals(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	mine := e.contact(t, "ÉMILE@Example.com", "fr")
	e.confirm(t, mine)
	u, err := e.accounts.CreateUser(ctx, account.CreateUserInput{Email: "émile@example.com", Role: account.RoleCustomer,
		Language: "fr", Password: "0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		ids, err = desk.LinkGuestTicketsTx(ctx, tx, u, e.clock.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{mine.ID}) || e.get(t, mine.ID).CustomerID != u.ID {
		t.Fatalf("linked %v, want the guest ticket %s", ids, mine.ID)
	}
}

// A signed-out visitor types any address on the Contact page: their ticket
// is marked unverified, like a mail no trusted server vouched for, and
// joins no account of that address, not even once the account proves it,
// until the guest confirms it from the link mailed to the address. Then
// the form's message is the address's (a claim, evidence), while a mail
// that came unverified on the same ticket stays flagged; and the proof
// links it as any guest ticket. Confirming a ticket a mail opened
// unverified changes nothing: the trusted server's word was all there was.
// Before, the stranger's ticket joined the account at the proof and an
// agent could turn its message into the owner's claim.
func TestContactGuestTicketJoinsNoAccountUntilConfirmed(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "owner@example.com", "en")
	if !tk.SenderUnverified || !tk.AwaitsConfirmation() {
		t.Errorf("a guest's Contact ticket: unverified=%v, want true", tk.SenderUnverified)
	}
	first := func(id string) desk.Message {
		t.Helper()
		return e.thread(t, id, true)[0]
	}
	if m := first(tk.ID); !m.FromUnverified {
		t.Error("the guest's message is not marked unverified")
	}
	intake := desk.MailIntake{Desk: e.desk, Support: "support@shop.test", TrustedAuthservIDs: []string{"mx.shop.test"}}
	forged := "Authentication-Results: mx.shop.test; dmarc=fail header.from=example.com\r\nFrom: <owner@example.com>\r\n" +
		"To: support@shop.test\r\nSubject: Re: [#" + tk.Reference + "] question\r\nMessage-ID: <forged@attacker.example>\r\n\r\nforged\r\n"
	if err := intake.Deliver(ctx, []byte(forged), "owner@example.com", []string{"support@shop.test"}); err != nil {
		t.Fatal(err)
	}
	byMail := "Authentication-Results: mx.shop.test; dmarc=fail header.from=example.com\r\nFrom: <owner@example.com>\r\n" +
		"To: support@shop.test\r\nSubject: new\r\nMessage-ID: <bymail@attacker.example>\r\n\r\nby mail\r\n"
	if err := intake.Deliver(ctx, []byte(byMail), "owner@example.com", []string{"support@shop.test"}); err != nil {
		t.Fatal(err)
	}
	var mailTicket string
	if err := e.db.Read.QueryRow(`SELECT ticket_id FROM ticket_messages WHERE message_id = '<bymail@attacker.example>'`).Scan(&mailTicket); err != nil {
		t.Fatal(err)
	}

	u, err := e.accounts.CreateUser(ctx, account.CreateUserInput{Email: "owner@example.com", Role: account.RoleCustomer,
		Language: "en", Password: "0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	link := func() []string {
		t.Helper()
		var ids []string
		if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
			ids, err = desk.LinkGuestTicketsTx(ctx, tx, u, e.clock.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if ids := link(); len(ids) != 0 {
		t.Fatalf("the proof linked %v: an unconfirmed guest's ticket joined the account of the address they typed", ids)
	}

	if got := e.confirm(t, e.get(t, mailTicket)); !got.SenderUnverified {
		t.Error("a ticket a mail opened unverified was confirmed through its link")
	}
	got := e.confirm(t, tk)
	if got.SenderUnverified || first(tk.ID).FromUnverified {
		t.Fatalf("confirmed: ticket unverified=%v, message unverified=%v", got.SenderUnverified, first(tk.ID).FromUnverified)
	}
	for _, m := range e.thread(t, tk.ID, true) {
		if m.MessageID == "<forged@attacker.example>" && (!m.FromUnverified || !m.Flagged) {
			t.Error("the confirmation vouched for a mail that came unverified on the ticket")
		}
	}
	if ids := link(); !slices.Equal(ids, []string{tk.ID}) {
		t.Fatalf("after the confirmation the proof linked %v, want %s", ids, tk.ID)
	}
}
