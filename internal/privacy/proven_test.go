package privacy_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/desk"
	"comptoir/internal/mail"
	"comptoir/internal/privacy"
	"comptoir/internal/testwait"
)

// proveAddress has the customer set their password through a reset link
// sent to addr, which proves they read it.
func proveAddress(t *testing.T, h *apptest.Harness, addr string) {
	t.Helper()
	ctx := context.Background()
	before, err := h.App.Outbox.List(ctx, mail.Filter{Kind: "password_reset"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.App.Accounts.RequestPasswordReset(ctx, addr, "en"); err != nil {
		t.Fatal(err)
	}
	msgs := h.Mails(t, "password_reset", len(before)+1) // newest first
	m := regexp.MustCompile(`/reset/([A-Za-z0-9_-]+)`).FindStringSubmatch(msgs[0].Text)
	if m == nil {
		t.Fatalf("no reset link in %q", msgs[0].Text)
	}
	if err := h.App.Accounts.ResetPassword(ctx, m[1], apptest.Password); err != nil {
		t.Fatal(err)
	}
}

// Anyone can sign up with someone else's address. The export then holds
// none of what that person wrote as a guest, nor the mail sent to them
// (whose acknowledgement carries the link that opens and answers their
// ticket) until the account proves the address with a reset link, as the
// desk waits for that proof before joining guest tickets to an account.
// Before, the export matched guest tickets and mail by the address alone.
func TestExportHoldsGuestDataOnlyOnceTheAddressIsProven(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB
	const victim = "victim.quarn@example.org"
	const said = "QuarnPrivateWords"
	if _, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{Name: "Victim", Email: victim, Topic: desk.Topics[0],
		Message: said, Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "acknowledgement stored", func() bool {
		return count(t, d, `SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'ticket_ack'`) == 1
	})
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: victim, Password: apptest.Password, Name: "Impostor",
		Language: "en", Country: "FR", Region: "Bretagne", City: "Brest"})
	if err != nil {
		t.Fatal(err)
	}
	export := func() string {
		t.Helper()
		r := h.NewClient(t).Send(http.MethodGet, "/api/v1/me/export", "", nil, h.Bearer(t, u.ID))
		if r.Status != http.StatusOK {
			t.Fatalf("export: %d %s", r.Status, r.Body)
		}
		return r.Body
	}
	body := export()
	for _, leak := range []string{said, "/support/t/", "ticket_ack"} {
		if strings.Contains(body, leak) {
			t.Errorf("the export of an account that never proved its address holds the guest's %q", leak)
		}
	}

	proveAddress(t, h, victim)
	body = export()
	for _, want := range []string{said, "ticket_ack"} {
		if !strings.Contains(body, want) {
			t.Errorf("once the address is proven, the export lacks %q", want)
		}
	}
}

// Nor can such an account erase them: deleting an account that never proved
// its address leaves what the owner of the address wrote as a guest, and
// the mail sent to them, as they were, while the account's own mail goes.
// Before, the erasure matched guest tickets and mail by the address alone,
// so signing up with someone's address and deleting the account erased
// their tickets.
func TestErasureOfAnUnprovenAccountLeavesTheAddresssGuestTickets(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB
	const victim = "victim.zirp@example.org"
	const said = "ZirpPrivateWords"
	if _, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{Name: "Victim", Email: victim, Topic: desk.Topics[0],
		Message: said, Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "acknowledgement stored", func() bool {
		return count(t, d, `SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'ticket_ack'`) == 1
	})
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: victim, Password: apptest.Password, Name: "Impostor",
		Language: "en", Country: "FR", Region: "Bretagne", City: "Brest"})
	if err != nil {
		t.Fatal(err)
	}
	// Mail of the account itself, which the erasure must take.
	if err := h.App.Accounts.RequestPasswordReset(ctx, victim, "en"); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the account's own mail stored", func() bool {
		return count(t, d, `SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'password_reset'`) == 1
	})
	if _, err := h.App.Privacy.Erase(ctx, u.ID, audit.Actor{ID: u.ID, Role: account.RoleCustomer}, privacy.ReasonCustomerRequest); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM ticket_messages WHERE body_text LIKE $1`, "%"+said+"%"); n != 1 {
		t.Errorf("the guest's message: %d left, want 1", n)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM tickets WHERE customer_email = $1`, victim); n != 1 {
		t.Errorf("the guest's ticket: %d keep the address, want 1", n)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'ticket_ack' AND to_addr = $1`, victim); n != 1 {
		t.Errorf("the guest's acknowledgement: %d left, want 1", n)
	}
	if n := count(t, d, `SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'password_reset' AND to_addr = $1`, victim); n != 0 {
		t.Errorf("the account's own mail survived the erasure: %d", n)
	}
}
