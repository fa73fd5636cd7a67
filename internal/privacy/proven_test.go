package privacy_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
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

// writeAsGuest opens a ticket from the contact form as a guest writing from
// email, waits for its acknowledgement to be stored, and has the guest
// confirm it from its link.
func writeAsGuest(t *testing.T, h *apptest.Harness, email, message string) {
	t.Helper()
	ctx := context.Background()
	if _, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{Name: "Guest", Email: email, Topic: desk.Topics[0],
		Message: message, Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "acknowledgement stored", func() bool {
		return count(t, h.App.DB, `SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'ticket_ack' AND to_addr = $1`, email) == 1
	})
	confirmGuest(t, h, email)
}

// confirmGuest has the guest who wrote from email on the Contact page
// confirm it from the link of the acknowledgement mailed there: their
// ticket then counts as the address's (desk.ConfirmAsGuest).
func confirmGuest(t *testing.T, h *apptest.Harness, email string) {
	t.Helper()
	var text string
	testwait.Until(t, "acknowledgement stored", func() bool {
		err := h.App.DB.Read.QueryRowContext(context.Background(), `SELECT text_body FROM outgoing_mail m JOIN outgoing_mail_content c ON c.content_id = m.content_id
			WHERE kind = 'ticket_ack' AND to_addr = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, email).Scan(&text)
		return err == nil
	})
	m := regexp.MustCompile(`/support/t/([A-Za-z0-9_-]+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no guest link in %q", text)
	}
	if r := h.NewClient(t).PostForm("/support/t/"+m[1]+"/confirm", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
}

// impostor signs up with someone else's address, proving nothing.
func impostor(t *testing.T, h *apptest.Harness, email string) account.User {
	t.Helper()
	u, err := h.App.Accounts.SignUp(context.Background(), account.SignUpInput{Email: email, Password: apptest.Password, Name: "Impostor",
		Language: "en", Country: "FR", Region: "Bretagne", City: "Brest"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Anyone can sign up with someone else's address. The export then holds
// none of what that person wrote as a guest, nor the mail sent to them
// (whose acknowledgement carries the link that opens and answers their
// ticket) until the account proves the address with a reset link, as the
// desk waits for that proof before joining guest tickets to an account.
// Before, the export matched guest tickets and mail by the address alone.
func TestExportHoldsGuestDataOnlyOnceTheAddressIsProven(t *testing.T) {
	h := apptest.Start(t)
	const victim = "victim.quarn@example.org"
	const said = "QuarnPrivateWords"
	writeAsGuest(t, h, victim, said)
	u := impostor(t, h, victim)
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
	writeAsGuest(t, h, victim, said)
	u := impostor(t, h, victim)
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

// Someone who only ever wrote as a guest has the same rights: an admin,
// on their request, exports and erases what the store holds about their
// address (tickets, mail sent to it), and nothing of anyone else's. The
// guest path refuses an address that has an account, whose data goes
// through the account. Before, the store had no way to do either.
func TestGuestDataExportedAndErasedByAnAdmin(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB
	const guest, other = "guest.plox@example.org", "other.plox@example.org"
	const said, kept = "PloxGuestWords", "PloxOtherWords"
	writeAsGuest(t, h, guest, said)
	writeAsGuest(t, h, other, kept)
	g, err := h.App.Privacy.Guest(ctx, "GUEST.plox@example.org")
	if err != nil || g.Tickets != 1 || g.Mails != 1 {
		t.Fatalf("guest data: %+v, %v", g, err)
	}
	e, err := h.App.Privacy.ExportGuest(ctx, guest, admin)
	if err != nil || len(e.Tickets) != 1 || len(e.Messages) == 0 || len(e.Mail) != 1 || e.Messages[0]["body_text"] != said {
		t.Fatalf("guest export: %d tickets, %d messages, %d mails, %v", len(e.Tickets), len(e.Messages), len(e.Mail), err)
	}
	for _, m := range e.Messages {
		if m["body_text"] == kept {
			t.Fatal("the guest export holds another guest's message")
		}
	}
	if _, err := h.App.Privacy.EraseGuest(ctx, guest, admin); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT COUNT(*) FROM ticket_messages WHERE body_text LIKE '%PloxGuestWords%'`,
		`SELECT COUNT(*) FROM tickets WHERE lower(customer_email) = 'guest.plox@example.org'`,
		`SELECT COUNT(*) FROM outgoing_mail WHERE lower(to_addr) = 'guest.plox@example.org'`,
	} {
		if n := count(t, d, q); n != 0 {
			t.Errorf("after the guest's erasure, %s: %d", q, n)
		}
	}
	if n := count(t, d, `SELECT COUNT(*) FROM ticket_messages WHERE body_text LIKE '%PloxOtherWords%'`); n != 1 {
		t.Errorf("another guest's message: %d left, want 1", n)
	}
	if g, _ := h.App.Privacy.Guest(ctx, guest); !g.Empty() {
		t.Errorf("guest data after erasure: %+v", g)
	}
	if _, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: other, Password: apptest.Password, Name: "Other",
		Language: "en", Country: "FR", Region: "Bretagne", City: "Brest"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Privacy.EraseGuest(ctx, other, admin); !errors.Is(err, privacy.ErrHasAccount) {
		t.Fatalf("guest erasure of an account's address: %v", err)
	}
	if _, err := h.App.Privacy.ExportGuest(ctx, other, admin); !errors.Is(err, privacy.ErrHasAccount) {
		t.Fatalf("guest export of an account's address: %v", err)
	}
}

// A ticket a mail opened under the address without the trusted mail
// server vouching for its From may be anyone's words: the export of the
// account that proved the address leaves it out (its own verified mail
// is in). Before, every guest ticket of the address was exported.
func TestExportLeavesOutUnverifiedTicketsOfTheAddress(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	const addr = "ana.vorl@example.org"
	u := impostor(t, h, addr)
	proveAddress(t, h, addr)
	intake := desk.MailIntake{Desk: h.App.Desk, Blobs: h.App.Blobs, Support: "support@shop.test", TrustedAuthservIDs: []string{"mx.shop.test"}}
	send := func(msgID, result, text string) {
		t.Helper()
		raw := "Authentication-Results: mx.shop.test; " + result + "\r\nFrom: <" + addr + ">\r\nTo: support@shop.test\r\n" +
			"Subject: " + text + "\r\nMessage-ID: " + msgID + "\r\n\r\n" + text + "\r\n"
		if err := intake.Deliver(ctx, []byte(raw), addr, []string{"support@shop.test"}); err != nil {
			t.Fatal(err)
		}
	}
	send("<own@example.org>", "dmarc=pass header.from=example.org", "VorlOwnWords")
	send("<forged@attacker.example>", "dmarc=fail header.from=example.org", "VorlStrangerWords")
	r := h.NewClient(t).Send(http.MethodGet, "/api/v1/me/export", "", nil, h.Bearer(t, u.ID))
	if r.Status != http.StatusOK {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(r.Body, "VorlOwnWords") {
		t.Error("the export lacks the account's own verified mail")
	}
	if strings.Contains(r.Body, "VorlStrangerWords") {
		t.Errorf("the export holds the words of a mail no trusted server vouched for:\n%s", r.Body)
	}
}

// A signed-out visitor types the address of an account that proved it on
// the Contact page: until someone who reads the mailbox confirms it from
// the acknowledgement's link, the ticket is marked sender_unverified, its
// words perhaps a stranger's. The account's export, from the API and from
// the page alike, leaves it out (the acknowledgement mailed to the address
// stays: it went to them); confirmed from the mailbox, it is the
// account's, and the export holds it.
func TestExportLeavesOutUnconfirmedContactTicketsOfTheAddress(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	const addr = "lio.brask@example.org"
	const said = "BraskStrangerContactWords"
	u := impostor(t, h, addr)
	proveAddress(t, h, addr)
	if _, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{Name: "Not Lio", Email: addr, Topic: desk.Topics[0],
		Message: said, Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "acknowledgement stored", func() bool {
		return count(t, h.App.DB, `SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'ticket_ack' AND to_addr = $1`, addr) == 1
	})
	page := h.NewClient(t)
	if r := page.PostForm("/signin", url.Values{"email": {addr}, "password": {apptest.Password}}); r.Status != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", r.Status, r.Body)
	}
	exports := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for where, r := range map[string]apptest.Response{
			"API":  h.NewClient(t).Send(http.MethodGet, "/api/v1/me/export", "", nil, h.Bearer(t, u.ID)),
			"page": page.Get("/account/export"),
		} {
			if r.Status != http.StatusOK {
				t.Fatalf("%s export: %d %s", where, r.Status, r.Body)
			}
			out[where] = r.Body
		}
		return out
	}
	for where, body := range exports() {
		if strings.Contains(body, said) || strings.Contains(body, "Not Lio") {
			t.Errorf("the %s export holds a Contact ticket nobody confirmed from the address:\n%s", where, body)
		}
		if !strings.Contains(body, "ticket_ack") {
			t.Errorf("the %s export lacks the acknowledgement mailed to the address", where)
		}
	}
	confirmGuest(t, h, addr)
	for where, body := range exports() {
		if !strings.Contains(body, said) {
			t.Errorf("the %s export lacks the Contact ticket confirmed from the address", where)
		}
	}
}

// A guest's export, taken by an admin on a request received from the
// address, holds the guest's Contact tickets whether or not they were
// confirmed from the mailbox (most guests never click the link), and
// marks those that were not, and their messages, sender_unverified:
// perhaps a stranger's words under the address, for the admin to see
// before sending it. Before, nothing told them apart.
func TestGuestExportMarksUnconfirmedTickets(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	const guest = "guest.vells@example.org"
	writeAsGuest(t, h, guest, "VellsConfirmedWords") // confirmed from the mailbox
	if _, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{Name: "Guest", Email: guest, Topic: desk.Topics[0],
		Message: "VellsUnconfirmedWords", Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	e, err := h.App.Privacy.ExportGuest(ctx, guest, admin)
	if err != nil || len(e.Tickets) != 2 {
		t.Fatalf("guest export: %d tickets, %v", len(e.Tickets), err)
	}
	marked := func(r privacy.Record) bool {
		switch v := r["sender_unverified"].(type) {
		case bool:
			return v
		case int64:
			return v != 0
		}
		t.Fatalf("sender_unverified %#v (%T) in %v", r["sender_unverified"], r["sender_unverified"], r)
		return false
	}
	unverified := map[string]bool{}
	for _, tk := range e.Tickets {
		unverified[tk["id"].(string)] = marked(tk)
	}
	var words []string
	for _, m := range e.Messages {
		if m["direction"] != "in" {
			continue
		}
		body, _ := m["body_text"].(string)
		want := strings.Contains(body, "VellsUnconfirmedWords")
		if marked(m) != want || unverified[m["ticket_id"].(string)] != want {
			t.Errorf("message %q: marked %v, its ticket %v; want %v", body, marked(m), unverified[m["ticket_id"].(string)], want)
		}
		words = append(words, body)
	}
	if len(words) != 2 {
		t.Fatalf("the guest's messages: %q, want both", words)
	}
}
