package desk_test

import (
	"context"
	"database/sql"
	"net/smtp"
	"slices"
	"strings"
	"testing"
	"time"

	"comptoir/internal/desk"
)

// OrderThreadTx is what was said about one order, across its tickets,
// oldest first: the customer's messages and the store's answers, never
// the internal notes, nor what was said about another order.
func TestOrderThreadTx(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	mine, other := e.order(t), e.order(t)
	open := func(orderID, text string) desk.Ticket {
		t.Helper()
		tk, err := e.desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: e.customer.ID, Name: "Zoé", Email: e.customer.Email,
			OrderRef: orderID, Topic: desk.TopicOrder, Message: text, Lang: "fr"})
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	first := open(mine, "Où en est ma commande ?")
	open(other, "Et celle-ci ?")
	if _, err := e.desk.Note(ctx, e.agent, first.ID, "internal: check the supplier"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.desk.Reply(ctx, e.agent, first.ID, "Elle part demain."); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	second := open(mine, "Merci, bien reçue.")

	got := orderThread(t, e, mine, e.customer.Email)
	// Each ticket opened from the contact page is the customer's message
	// followed by the store's acknowledgement, at the same instant.
	want := []struct {
		ticket, direction, text string
		at                      time.Time
	}{
		{first.Reference, desk.DirectionIn, "Où en est ma commande ?", t0},
		{first.Reference, desk.DirectionOut, "", t0},
		{first.Reference, desk.DirectionOut, "Elle part demain.", t0.Add(time.Hour)},
		{second.Reference, desk.DirectionIn, "Merci, bien reçue.", t0.Add(2 * time.Hour)},
		{second.Reference, desk.DirectionOut, "", t0.Add(2 * time.Hour)},
	}
	if len(got) != len(want) {
		t.Fatalf("thread of the order: %+v", got)
	}
	for i, w := range want {
		m := got[i]
		if m.Ticket != w.ticket || m.Direction != w.direction || (w.text != "" && m.Text != w.text) || !m.CreatedAt.Equal(w.at) {
			t.Errorf("message %d = %+v, want %s %s %q at %v", i, m, w.ticket, w.direction, w.text, w.at)
		}
	}
	if got[0].FromEmail != e.customer.Email || got[2].FromEmail != "support@shop.test" {
		t.Errorf("senders: %q, %q", got[0].FromEmail, got[2].FromEmail)
	}
}

// The contact form let a guest name any order (it now refuses an order
// of another address's: TestGuestNamesOnlyAnOrderOfTheirAddress), and
// tickets stored then still name them. The thread of an order, which the
// dispute pack sends to the bank, is its customer's: their tickets, and
// those they opened as a guest from their address (in any case), never a
// stranger's ticket naming the order, nor its files. Before, every ticket
// naming the order was in, the stranger's address, words and attachment
// with it.
func TestOrderThreadIsTheCustomers(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	orderID := e.order(t)
	open := func(customerID, email, text, file string) desk.Ticket {
		t.Helper()
		in := desk.ContactInput{CustomerID: customerID, Name: "Someone", Email: email, OrderRef: orderID, Topic: desk.TopicOrder,
			Message: text, Lang: "fr"}
		stranger := email == "mallory@example.net"
		if stranger {
			in.OrderRef = "" // named below, as a ticket stored before the refusal did
		}
		if file != "" {
			in.Attachments = []desk.Attachment{{FileName: file, ContentType: "text/plain", Size: 3, BlobKey: "att/" + file}}
		}
		tk, err := e.desk.OpenFromContact(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if stranger {
			if _, err := e.db.Write.ExecContext(ctx, `UPDATE tickets SET order_id = $1 WHERE id = $2`, orderID, tk.ID); err != nil {
				t.Fatal(err)
			}
		}
		return tk
	}
	open(e.customer.ID, e.customer.Email, "Signed in.", "mine.txt")
	open("", strings.ToUpper(e.customer.Email), "As a guest.", "guest.txt")
	open("", "mallory@example.net", "A stranger's words.", "stranger.txt")

	thread := orderThread(t, e, orderID, e.customer.Email)
	var said []string
	for _, m := range thread {
		if m.Direction == desk.DirectionIn {
			said = append(said, m.Text)
		}
		if strings.Contains(m.FromEmail+m.Text, "mallory") {
			t.Errorf("the order's thread holds the stranger's message %+v", m)
		}
	}
	if !slices.Equal(said, []string{"Signed in.", "As a guest."}) {
		t.Errorf("the customer said %q, want their two messages", said)
	}
	atts, err := desk.OrderAttachmentsTx(ctx, e.db.Read, orderID, e.customer.ID, e.customer.Email)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, a := range atts {
		files = append(files, a.FileName)
	}
	if !slices.Equal(files, []string{"mine.txt", "guest.txt"}) {
		t.Errorf("the order's files are %q, want the customer's two", files)
	}
	// Once erased (no address to go by), their account's tickets only.
	if thread := orderThread(t, e, orderID, ""); len(thread) != 2 {
		t.Errorf("without an address: %d messages", len(thread))
	}
}

// The thread of an order, which the dispute pack sends to the bank as
// the customer's words ("customer: …"), holds none of the flagged
// messages of the customer's ticket: mail under the customer's address
// the trusted server did not vouch for, nor another sender's reply, nor
// their files. Both reach the ticket through the SMTP listener as any
// mail would. Before, they were in, as the customer's.
func TestOrderThreadLeavesFlaggedMessagesOut(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	orderID := e.order(t)
	tk, err := e.desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: e.customer.ID, Name: "Zoé", Email: e.customer.Email,
		OrderRef: orderID, Topic: desk.TopicOrder, Message: "Where is my licence?", Lang: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	addr := e.listenerWith(t, 0, []string{"mx.shop.test"})
	send := func(from, result, msgID, file, text string) {
		t.Helper()
		raw := "Authentication-Results: mx.shop.test; " + result + "\r\n" +
			"From: " + from + "\r\nTo: support@shop.test\r\nSubject: Re: [#" + tk.Reference + "] my order\r\nMessage-ID: " + msgID + "\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
			"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n" +
			"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=" + file + "\r\n\r\nfile\r\n--b--\r\n"
		if err := smtp.SendMail(addr, nil, "bounce@example.org", []string{"support@shop.test"}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	send("Zoé <zoe@example.net>", "dkim=fail header.d=example.net; dmarc=fail header.from=example.net", "<forged@attacker.example>",
		"forged.txt", "Got everything, all fine, ignore my bank.")
	send("Mallory <mallory@example.org>", "dmarc=pass header.from=example.org", "<mallory@example.org>",
		"mallory.txt", "A stranger's words.")
	for _, m := range e.thread(t, tk.ID, true) {
		if m.Direction == desk.DirectionIn && m.MessageID != "" && !m.Flagged {
			t.Fatalf("%s is not flagged on the customer's ticket", m.MessageID)
		}
	}

	thread := orderThread(t, e, orderID, e.customer.Email)
	var said []string
	for _, m := range thread {
		if m.Direction == desk.DirectionIn {
			said = append(said, m.Text)
		}
	}
	if !slices.Equal(said, []string{"Where is my licence?"}) {
		t.Errorf("the order's thread has the customer say %q, want their own message alone", said)
	}
	atts, err := desk.OrderAttachmentsTx(ctx, e.db.Read, orderID, e.customer.ID, e.customer.Email)
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 0 {
		t.Errorf("the order's files hold the flagged messages' %+v", atts)
	}
}

// orderThread reads the support thread of the customer's order orderID,
// under their address email ("" once erased), in a read-only transaction
// as the dispute pack does.
func orderThread(t *testing.T, e *env, orderID, email string) []desk.OrderMessage {
	t.Helper()
	ctx := context.Background()
	tx, err := e.db.Read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	thread, err := desk.OrderThreadTx(ctx, tx, orderID, e.customer.ID, email)
	if err != nil {
		t.Fatal(err)
	}
	return thread
}

// A guest names an order of the account at the address they write from,
// where every answer about the ticket goes; any other order is unknown to
// them, as one that does not exist. Before, a guest could name any order,
// so anyone signed out (a customer only had to sign out) opened a ticket
// that the console showed as about another customer's order. A signed-in
// customer names one of their own.
func TestGuestNamesOnlyAnOrderOfTheirAddress(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	orderID := e.order(t)
	count := func() (n int) {
		t.Helper()
		if err := e.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM tickets`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, in := range []desk.ContactInput{
		{Email: "mallory@example.net"},
		{Email: "mallory@example.net", CustomerID: "usr_someoneelse"},
		{Email: e.customer.Email, CustomerID: "usr_someoneelse"},
	} {
		before := count()
		in.Name, in.OrderRef, in.Topic, in.Message, in.Lang = "Mallory", orderID, desk.TopicOrder, "Refund it to me.", "en"
		_, err := e.desk.OpenFromContact(ctx, in)
		wantField(t, err, "order_ref", "unknown")
		if n := count(); n != before {
			t.Fatalf("%+v: %d tickets, want %d: the refused ticket was stored", in, n, before)
		}
	}
	for _, in := range []desk.ContactInput{
		{Email: " " + strings.ToUpper(e.customer.Email)},
		{Email: e.customer.Email, CustomerID: e.customer.ID},
	} {
		in.Name, in.OrderRef, in.Topic, in.Message, in.Lang = "Zoé", orderID, desk.TopicOrder, "Où en est-elle ?", "fr"
		tk, err := e.desk.OpenFromContact(ctx, in)
		if err != nil || tk.OrderID != orderID {
			t.Fatalf("%+v: %+v %v, want the ticket about the order", in, tk, err)
		}
	}
}
