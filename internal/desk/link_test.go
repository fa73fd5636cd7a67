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
