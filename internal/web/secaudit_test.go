package web_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/config"
	"comptoir/internal/desk"
	"comptoir/internal/mail"
)

// A Unicode line or paragraph separator in the Contact form's name or topic
// is a line break as far as mail headers go: the form refuses it as it
// refuses CR and LF, in the visitor's language, and stores nothing (before,
// the acknowledgement was refused when queued and the visitor got a 500).
func TestContactRefusesUnicodeLineSeparators(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.Lang = "en"
	for _, sep := range []string{"\u2028", "\u2029"} {
		r := c.PostForm("/contact", url.Values{"name": {"Ana" + sep + "Bcc: x@evil.test"}, "email": {"ana@example.fr"},
			"topic": {"order"}, "message": {"Where is my order?"}})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="name-error"`) {
			t.Fatalf("form, name with %U: %d", []rune(sep)[0], r.Status)
		}
		r = c.Send(http.MethodPost, "/api/v1/tickets", "application/json",
			strings.NewReader(`{"name":"Ana`+sep+`Bcc: x@evil.test","email":"ana@example.fr","topic":"order","message":"Where?"}`), nil)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"name"`) {
			t.Fatalf("API, name with %U: %d %s", []rune(sep)[0], r.Status, r.Body)
		}
	}
	if acks, _ := h.App.Outbox.List(context.Background(), mail.Filter{Kind: "ticket_ack"}); len(acks) != 0 {
		t.Fatalf("%d acknowledgements queued", len(acks))
	}
	var tickets int
	if err := h.App.DB.Read.QueryRow(`SELECT COUNT(*) FROM tickets`).Scan(&tickets); err != nil || tickets != 0 {
		t.Fatalf("%d tickets stored (%v)", tickets, err)
	}
}

// The personal-data export lists the mail sent to the account, but not
// the text of a password reset: its link is a credential, and the proof
// that the account's holder reads the address. Before, someone who signed
// up with another person's address asked for a reset, read its link in
// their own export (page or API, without ever reading the mailbox), used
// it, and the account counted as proven: the address's guest tickets, and
// their links, became theirs.
func TestExportDoesNotHandOverAResetLink(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	guest := h.NewClient(t)
	if r := guest.PostForm("/contact", url.Values{"name": {"Vic"}, "email": {"vic@example.org"}, "topic": {"order"},
		"message": {"My private question"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("guest contact: %d", r.Status)
	}
	impostor, c := h.User(t, account.RoleCustomer, "vic@example.org")
	if r := h.NewClient(t).PostForm("/reset", url.Values{"email": {"vic@example.org"}}); r.Status >= 400 {
		t.Fatalf("reset request: %d", r.Status)
	}
	h.Mails(t, "password_reset", 1)
	token := linkToken(t, h, "password_reset", "/reset/")
	for _, r := range []apptest.Response{c.Get("/account/export"), c.Send(http.MethodGet, "/api/v1/me/export", "", nil, h.Bearer(t, impostor.ID))} {
		if r.Status != http.StatusOK {
			t.Fatalf("export: %d", r.Status)
		}
		if strings.Contains(r.Body, token) {
			t.Fatal("the export holds the reset link")
		}
		if !strings.Contains(r.Body, `"password_reset"`) {
			t.Fatal("the reset mail is not listed at all")
		}
	}
	if proven, err := account.AddressProvenTx(ctx, h.App.DB.Read, impostor.ID); err != nil || proven {
		t.Fatalf("address proven: %v %v", proven, err)
	}
}

// POST /api/v1/orders/{id}/delivery is open to anyone at the router (a
// fulfilment service signs instead of signing in), so the required second
// factor was never asked there: staff who had only typed their password
// recorded deliveries with the browser's cookie. Now refused as on every
// other staff route; an operator's token still works.
func TestRequiredSecondFactorGuardsDeliveryReports(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.RequireStaffTOTP = true })
	u, agent := h.User(t, account.RoleAgent, "agent@example.fr")
	body := `{"line_id":"oln_01M8G2P63KS7TB9AD01358R0AF","delivered":1}`
	r := agent.Send(http.MethodPost, "/api/v1/orders/ord_01M8G2P63KS7TB9AD01358R0AF/delivery", "application/json", strings.NewReader(body), nil)
	if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "second_factor_required") {
		t.Errorf("with the cookie of a password sign-in: %d %s", r.Status, r.Body)
	}
	r = h.NewClient(t).Send(http.MethodPost, "/api/v1/orders/ord_01M8G2P63KS7TB9AD01358R0AF/delivery", "application/json",
		strings.NewReader(body), h.Bearer(t, u.ID))
	if r.Status != http.StatusNotFound {
		t.Errorf("operator's token, unknown order: %d %s", r.Status, r.Body)
	}
}

// A reset link proves that its user reads the address, and links the
// address's guest tickets to the account. Anyone can sign up with another
// person's address and make an API token; a reset used to end the
// sessions only, so that token went on working and, once the address's
// owner reset the password to take the account over, read their guest
// tickets. The first reset, the one that proves the address, now revokes
// the account's tokens too.
func TestResetRevokesTheAPITokensMadeBeforeTheProof(t *testing.T) {
	h := apptest.Start(t)
	guest := h.NewClient(t)
	if r := guest.PostForm("/contact", url.Values{"name": {"Vic"}, "email": {"vic@example.org"}, "topic": {"order"},
		"message": {"My private question"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("guest contact: %d", r.Status)
	}
	impostor, _ := h.User(t, account.RoleCustomer, "vic@example.org")
	bearer := h.Bearer(t, impostor.ID)
	if r := h.NewClient(t).Send(http.MethodGet, "/api/v1/tickets", "", nil, bearer); r.Status != http.StatusOK || strings.Contains(r.Body, "tkt_") {
		t.Fatalf("before the reset: %d %s", r.Status, r.Body)
	}
	owner := h.NewClient(t)
	if r := owner.PostForm("/reset", url.Values{"email": {"vic@example.org"}}); r.Status >= 400 {
		t.Fatalf("reset request: %d", r.Status)
	}
	h.Mails(t, "password_reset", 1)
	token := linkToken(t, h, "password_reset", "/reset/")
	if r := owner.PostForm("/reset/"+token, url.Values{"password": {"the owner's own passphrase"}, "password_confirm": {"the owner's own passphrase"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("reset: %d", r.Status)
	}
	if r := h.NewClient(t).Send(http.MethodGet, "/api/v1/tickets", "", nil, bearer); r.Status != http.StatusUnauthorized {
		t.Fatalf("the token made before the reset: %d %s", r.Status, r.Body)
	}
	toks, err := h.App.Accounts.ListTokens(context.Background(), impostor.ID)
	if err != nil || len(toks) != 1 || !toks[0].Revoked() {
		t.Fatalf("tokens after the reset: %+v %v", toks, err)
	}
}

// The acknowledgement of a guest's message goes out at once to the address
// the sender gave (the Contact form's field, or a From anyone can forge),
// which nobody proved: it greets without the name the sender typed, so
// that the store does not mail anyone's words to anyone ("Hello <visit
// this link>,"). Before, it echoed up to 200 characters of it.
func TestGuestAcknowledgementDoesNotEchoTheSendersName(t *testing.T) {
	h := apptest.Start(t)
	lure := "Your account is locked, unlock it at https://evil.example/unlock"
	raw := "From: \"" + lure + "\" <vic@example.org>\r\nTo: support@shop.test\r\nSubject: hi\r\nMessage-ID: <lure1@example.org>\r\n\r\nhello\r\n"
	if err := (desk.MailIntake{Desk: h.App.Desk, Blobs: h.App.Blobs, Support: "support@shop.test"}).Deliver(context.Background(),
		[]byte(raw), "vic@example.org", []string{"support@shop.test"}); err != nil {
		t.Fatal(err)
	}
	c := h.NewClient(t)
	if r := c.PostForm("/contact", url.Values{"name": {lure}, "email": {"bob@example.org"}, "topic": {"order"},
		"message": {"hello"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("contact: %d", r.Status)
	}
	acks := h.Mails(t, "ticket_ack", 2)
	for _, m := range acks {
		if strings.Contains(m.Text, "evil.example") || strings.Contains(m.ToName, "evil.example") {
			t.Errorf("the acknowledgement to %s echoes the name:\n%s", m.To, m.Text)
		}
	}
	// Nor a signed-in customer's whose account never showed it reads its
	// address: anyone can sign up with someone else's, under any name.
	squatter, c := h.User(t, account.RoleCustomer, "vic@example.net")
	if _, err := h.App.DB.Write.Exec(`UPDATE users SET name = $1 WHERE id = $2`, lure, squatter.ID); err != nil {
		t.Fatal(err)
	}
	if r := c.PostForm("/contact", url.Values{"name": {lure}, "email": {"vic@example.net"}, "topic": {"order"},
		"message": {"hello"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("unproven customer contact: %d", r.Status)
	}
	if acks = h.Mails(t, "ticket_ack", 3); strings.Contains(acks[0].Text, "evil.example") || strings.Contains(acks[0].ToName, "evil.example") {
		t.Errorf("the acknowledgement to an unproven account's address echoes its name:\n%s", acks[0].Text)
	}
	// A customer who proved their address is still greeted by name.
	ana, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	if err := h.App.DB.Tx(context.Background(), func(tx *sql.Tx) error {
		return audit.Record(context.Background(), tx, audit.Entry{At: h.Clock.Now(), Actor: ana.Actor(),
			SubjectType: "user", SubjectID: ana.ID, Action: "password_reset"})
	}); err != nil {
		t.Fatal(err)
	}
	if r := customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"order"},
		"message": {"hello"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("customer contact: %d", r.Status)
	}
	if acks = h.Mails(t, "ticket_ack", 4); !strings.Contains(acks[0].Text, "Ana,") {
		t.Errorf("customer's acknowledgement:\n%s", acks[0].Text)
	}
}

// A signed-in customer's ticket is their account's: its mail goes to the
// account's address. Before, the Contact form (and POST /api/v1/tickets)
// took whatever address was typed, so a customer could have the store
// write to anyone about a ticket of theirs, and that person's answers,
// threaded by the reply address, showed in the customer's portal.
func TestSignedInContactWritesToTheAccountsAddress(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "mallory@example.org")
	if r := c.PostForm("/contact", url.Values{"name": {"Support"}, "email": {"vic@example.org"}, "topic": {"order"},
		"message": {"hello"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("contact: %d", r.Status)
	}
	if r := h.NewClient(t).Send(http.MethodPost, "/api/v1/tickets", "application/json",
		strings.NewReader(`{"name":"Support","email":"vic@example.org","topic":"order","message":"hello"}`), h.Bearer(t, u.ID)); r.Status >= 300 {
		t.Fatalf("API: %d %s", r.Status, r.Body)
	}
	for _, m := range h.Mails(t, "ticket_ack", 2) {
		if m.To != "mallory@example.org" {
			t.Errorf("acknowledgement sent to %s", m.To)
		}
	}
	var n int
	if err := h.App.DB.Read.QueryRow(`SELECT COUNT(*) FROM tickets WHERE customer_email <> 'mallory@example.org'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d tickets at another address (%v)", n, err)
	}
}

// An address that names its host by IP ("eve@[10.0.0.5]") is nobody's
// mailbox: written to, the relay would deliver to whatever host it says,
// inside the network included. Sign-up and the Contact form refuse it in
// the visitor's language, and a message from one (From is anyone's to
// forge) opens its ticket without an acknowledgement.
func TestNoMailToAnAddressLiteral(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.Lang = "en"
	if r := c.PostForm("/contact", url.Values{"name": {"Eve"}, "email": {"eve@[127.0.0.1]"}, "topic": {"order"},
		"message": {"hello"}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="email-error"`) {
		t.Fatalf("contact: %d", r.Status)
	}
	if r := c.PostForm("/signup", url.Values{"name": {"Eve"}, "email": {"eve@[10.0.0.5]"}, "password": {"a long enough password"},
		"password_confirm": {"a long enough password"}, "country": {"FR"}, "city": {"Lyon"}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("sign-up: %d", r.Status)
	}
	raw := "From: Eve <eve@[10.0.0.5]>\r\nTo: support@shop.test\r\nSubject: hi\r\nMessage-ID: <lit1@example.org>\r\n\r\nhello\r\n"
	if err := (desk.MailIntake{Desk: h.App.Desk, Blobs: h.App.Blobs, Support: "support@shop.test"}).Deliver(context.Background(),
		[]byte(raw), "eve@example.org", []string{"support@shop.test"}); err != nil {
		t.Fatal(err)
	}
	var tickets, mails int
	if err := h.App.DB.Read.QueryRow(`SELECT COUNT(*) FROM tickets`).Scan(&tickets); err != nil {
		t.Fatal(err)
	}
	if err := h.App.DB.Read.QueryRow(`SELECT COUNT(*) FROM outgoing_mail WHERE to_addr LIKE '%[%'`).Scan(&mails); err != nil {
		t.Fatal(err)
	}
	if tickets != 1 || mails != 0 {
		t.Fatalf("%d tickets (want the mailed one), %d mails to an address literal", tickets, mails)
	}
}
