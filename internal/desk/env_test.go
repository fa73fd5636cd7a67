package desk_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/desk"
	"comptoir/internal/id"
	"comptoir/internal/jobs"
	"comptoir/internal/mail"
)

var t0 = time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)

type env struct {
	db       *db.DB
	clock    *clock.Manual
	outbox   *mail.Outbox
	accounts *account.Service
	desk     *desk.Service
	agent    audit.Actor
	agent2   audit.Actor
	customer account.User
	other    account.User
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(t0)
	inserter, err := jobs.New(d, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	from, _ := mail.ParseAddress("shop@shop.test")
	outbox, err := mail.NewOutbox(d, inserter, clk, from)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: d, clock: clk, outbox: outbox,
		accounts: account.New(d, clk, outbox, account.Options{BaseURL: "http://shop.test", HashParams: &account.FastHashParams})}
	e.desk, err = desk.New(d, clk, outbox, desk.Options{SupportAddress: "support@shop.test", BaseURL: "http://shop.test/",
		StoreName: "Shop", Customers: e.accounts})
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range []account.CreateUserInput{
		{Email: "agent@shop.test", Role: account.RoleAgent, Language: "en"},
		{Email: "agent2@shop.test", Role: account.RoleAdmin, Language: "en"},
		{Email: "zoe@example.net", Role: account.RoleCustomer, Language: "fr", Name: "Zoé"},
		{Email: "other@example.net", Role: account.RoleCustomer, Language: "en", Name: "Other"},
	} {
		in.Password = "0123456789"
		u, err := e.accounts.CreateUser(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		switch i {
		case 0:
			e.agent = audit.Actor{ID: u.ID, Role: u.Role}
		case 1:
			e.agent2 = audit.Actor{ID: u.ID, Role: u.Role}
		case 2:
			e.customer = u
		case 3:
			e.other = u
		}
	}
	// The two customers read their addresses: mail from them joins their
	// accounts.
	e.proveAddress(t, e.customer)
	e.proveAddress(t, e.other)
	return e
}

// contact opens a guest ticket from the Contact page.
func (e *env) contact(t *testing.T, email, lang string) desk.Ticket {
	t.Helper()
	tk, err := e.desk.OpenFromContact(context.Background(), desk.ContactInput{Name: "Guest", Email: email,
		Topic: desk.TopicQuestion, Message: "Hello,\nwhere is my licence?", Lang: lang})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// confirm has the guest who opened tk on the Contact page confirm it from
// the link of its acknowledgement (desk.ConfirmAsGuest).
func (e *env) confirm(t *testing.T, tk desk.Ticket) desk.Ticket {
	t.Helper()
	_, ack := e.lastOut(t, tk.ID)
	token := guestTokenIn(ack)
	if token == "" {
		t.Fatalf("no guest link in %q", ack.Text)
	}
	got, err := e.desk.ConfirmAsGuest(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// lastOut is the last message sent on the ticket, and the mail that carried it.
func (e *env) lastOut(t *testing.T, ticketID string) (desk.Message, mail.Stored) {
	t.Helper()
	msgs, err := e.desk.Thread(context.Background(), ticketID, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Direction == desk.DirectionOut {
			m, err := e.outbox.Get(context.Background(), msgs[i].OutgoingMailID)
			if err != nil {
				t.Fatal(err)
			}
			if m.MessageID != msgs[i].MessageID {
				t.Fatalf("out message records %q, mail has %q", msgs[i].MessageID, m.MessageID)
			}
			return msgs[i], m
		}
	}
	t.Fatalf("no outgoing message on %s", ticketID)
	return desk.Message{}, mail.Stored{}
}

func (e *env) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := e.db.Read.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) thread(t *testing.T, ticketID string, notes bool) []desk.Message {
	t.Helper()
	msgs, err := e.desk.Thread(context.Background(), ticketID, notes)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func (e *env) get(t *testing.T, ticketID string) desk.Ticket {
	t.Helper()
	tk, err := e.desk.Get(context.Background(), ticketID)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := desk.Code(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

func wantField(t *testing.T, err error, field, code string) {
	t.Helper()
	var verr *desk.ValidationError
	if !errors.As(err, &verr) || verr.Fields[field] != code {
		t.Fatalf("error %v, want %s: %s", err, field, code)
	}
}

func contains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

func (e *env) customerActor() audit.Actor {
	return audit.Actor{ID: e.customer.ID, Role: account.RoleCustomer}
}

func mailAddr(name, email string) mail.Address { return mail.Address{Name: name, Email: email} }

// order stores a paid order of e.customer and returns its id. The orders
// table belongs to package orders; a bare row is enough for tickets to
// name it.
func (e *env) order(t *testing.T) string {
	t.Helper()
	orderID := id.New("ord")
	if _, err := e.db.Write.ExecContext(context.Background(), `INSERT INTO orders (id, customer_id, status, currency, total, paid, payment_method,
		policy_version, lang, placed_at, paid_at, updated_at) VALUES ($1, $2, 'paid', 'EUR', 100, 100, 'balance', 'default@1', 'fr', $3, $3, $3)`,
		orderID, e.customer.ID, t0); err != nil {
		t.Fatal(err)
	}
	return orderID
}
