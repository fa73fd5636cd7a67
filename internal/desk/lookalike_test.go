package desk_test

import (
	"context"
	"database/sql"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/desk"
	"comptoir/internal/id"
)

// An address that reads as a customer's is not theirs. The Kelvin sign K
// lowers to "k", and the desk compared addresses by their lowered form:
// a guest writing from "\u212Aate@example.net" named Kate's order as one
// of theirs (the console showed it as their ticket's order), and a mail
// from that address, vouched for by its server, was filed on Kate's
// account as hers, and on PostgreSQL its ticket joined her account once she
// proved her address. Now the Contact form refuses an address that reads
// as another (email: confusable, the Kelvin sign as a Cyrillic "а"), and
// an inbound mail from it is taken as from an unverified sender: it joins
// no account, then or later.
func TestLookalikeAddressIsNotTheCustomers(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	kate, err := e.accounts.CreateUser(ctx, account.CreateUserInput{Email: "kate@example.net", Role: account.RoleCustomer,
		Language: "en", Name: "Kate", Password: "0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	e.proveAddress(t, kate)
	orderID := id.New("ord")
	if _, err := e.db.Write.ExecContext(ctx, `INSERT INTO orders (id, customer_id, status, currency, total, paid, payment_method,
		policy_version, lang, placed_at, paid_at, updated_at) VALUES ($1, $2, 'paid', 'EUR', 100, 100, 'balance', 'default@1', 'en', $3, $3, $3)`,
		orderID, kate.ID, t0); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		t.Helper()
		if err := e.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM tickets`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	for _, in := range []desk.ContactInput{
		{Email: "\u212Aate@example.net", OrderRef: orderID},
		{Email: "\u212Aate@example.net"},
		{Email: "k\u0430te@example.net"},
	} {
		in.Name, in.Topic, in.Message, in.Lang = "Mallory", desk.TopicOrder, "Refund it to me.", "en"
		_, err := e.desk.OpenFromContact(ctx, in)
		wantField(t, err, "email", "confusable")
	}
	if n := count(); n != before {
		t.Fatalf("%d tickets, want %d: a refused ticket was stored", n, before)
	}
	tk, _, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<lookalike@example.net>", From: mailAddr("Kate", "\u212Aate@example.net"),
		Subject: "my order", Text: "Refund it to my new card."})
	if err != nil {
		t.Fatal(err)
	}
	if tk.CustomerID != "" || !tk.SenderUnverified {
		t.Fatalf("a mail from a look-alike address was filed on %q's account (Kate is %s), sender unverified: %v", tk.CustomerID, kate.ID, tk.SenderUnverified)
	}
	// Nor does its ticket join Kate's account once she proves her address
	// (PostgreSQL's lower() turns the Kelvin sign into "k").
	err = e.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := desk.LinkGuestTicketsTx(ctx, tx, kate, t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, tk.ID); got.CustomerID != "" {
		t.Fatalf("the look-alike's ticket joined %s's account", got.CustomerID)
	}
	// Kate herself, in any case, still names her order and is known by mail.
	own, err := e.desk.OpenFromContact(ctx, desk.ContactInput{Email: "KATE@example.net", OrderRef: orderID, Name: "Kate",
		Topic: desk.TopicOrder, Message: "Where is it?", Lang: "en"})
	if err != nil || own.OrderID != orderID {
		t.Fatalf("Kate's ticket: %+v %v", own, err)
	}
	mine, _, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<kate@example.net>", From: mailAddr("Kate", "Kate@Example.net"),
		Subject: "my order", Text: "Where is it?"})
	if err != nil || mine.CustomerID != kate.ID {
		t.Fatalf("Kate's mail: %+v %v", mine, err)
	}
}
