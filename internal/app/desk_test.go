package app_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"comptoir/internal/apptest"
	"comptoir/internal/config"
	"comptoir/internal/testwait"
)

func signup(email string) url.Values {
	return url.Values{
		"name": {"Léa Petit"}, "email": {email}, "password": {"correct horse battery"},
		"password_confirm": {"correct horse battery"}, "customer_type": {"consumer"},
		"country": {"FR"}, "region": {"Bretagne"}, "city": {"Rennes"}, "language": {"en"},
	}
}

// A guest's tickets reach their portal once they prove the address by a
// reset link, not at sign-up: whoever signs up with someone's email must
// not read that person's tickets.
func TestGuestTicketsLinkedOnceTheEmailIsProven(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	guest := h.NewClient(t)
	for _, email := range []string{"lea@example.fr", "LEA@Example.fr"} {
		r := guest.PostForm("/contact", url.Values{"name": {"Léa"}, "email": {email}, "topic": {"question"}, "message": {"Is it compatible?"}})
		if r.Status != http.StatusSeeOther || r.Location != "/contact/sent" {
			t.Fatalf("contact: %d %s", r.Status, r.Body)
		}
	}
	guest.PostForm("/contact", url.Values{"name": {"Other"}, "email": {"other@example.fr"}, "topic": {"question"}, "message": {"Hi"}})
	var refs []string
	rows, err := h.App.DB.Read.QueryContext(ctx, `SELECT reference FROM tickets WHERE lower(customer_email) = 'lea@example.fr'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ref string
		rows.Scan(&ref)
		refs = append(refs, ref)
	}
	rows.Close()
	if len(refs) != 2 {
		t.Fatalf("guest tickets %v", refs)
	}
	// Léa confirms both from the links mailed to her (a guest's Contact
	// ticket counts as the address's only then); Other does not.
	for _, m := range h.Mails(t, "ticket_ack", 3) {
		if !strings.EqualFold(m.To, "lea@example.fr") {
			continue
		}
		tok := regexp.MustCompile(`/support/t/([A-Za-z0-9_-]+)`).FindStringSubmatch(m.Text)
		if tok == nil {
			t.Fatalf("no guest link in %q", m.Text)
		}
		if r := guest.PostForm("/support/t/"+tok[1]+"/confirm", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("confirm: %d %s", r.Status, r.Body)
		}
	}

	c := h.NewClient(t)
	if r := c.PostForm("/signup", signup("lea@example.fr")); r.Status != http.StatusSeeOther {
		t.Fatalf("signup: %d %s", r.Status, r.Body)
	}
	page := c.Get("/support/tickets")
	if page.Status != http.StatusOK {
		t.Fatalf("portal after sign-up: %d", page.Status)
	}
	for _, ref := range refs {
		if strings.Contains(page.Body, ref) {
			t.Fatalf("ticket %s shown at sign-up, before the address was proven", ref)
		}
	}

	c.PostForm("/signout", nil)
	if r := c.PostForm("/reset", url.Values{"email": {"lea@example.fr"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("reset request: %d", r.Status)
	}
	msgs := h.Mails(t, "password_reset", 1)
	link := regexp.MustCompile(`http://[^\s]+/reset/[A-Za-z0-9_-]+`).FindString(msgs[0].Text)
	path := strings.TrimPrefix(link, h.URL)
	if r := c.PostForm(path, url.Values{"password": {"a brand new secret"}, "password_confirm": {"a brand new secret"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	if r := c.PostForm("/signin", url.Values{"email": {"lea@example.fr"}, "password": {"a brand new secret"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("signin: %d", r.Status)
	}
	page = c.Get("/support/tickets")
	for _, ref := range refs {
		if !strings.Contains(page.Body, ref) {
			t.Errorf("ticket %s missing from the portal after the reset:\n%s", ref, page.Body)
		}
	}
	var others int
	h.App.DB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM tickets WHERE customer_id IS NOT NULL`).Scan(&others)
	if others != 2 {
		t.Errorf("%d tickets linked, want Léa's 2 only", others)
	}
}

// --imap-url wires the poller into the jobs: a message in the mailbox
// becomes a ticket without anyone calling Poll.
func TestIMAPPollingRunsAsAJob(t *testing.T) {
	user := imapmemserver.NewUser("desk", "mailbox-secret")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem := imapmemserver.New()
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps: imap.CapSet{imap.CapIMAP4rev1: {}}, InsecureAuth: true, Logger: log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("desk", "mailbox-secret").Wait(); err != nil {
		t.Fatal(err)
	}
	raw := "Return-Path: <max@example.org>\r\nFrom: Max <max@example.org>\r\nTo: support@shop.test\r\n" +
		"Subject: Invoice please\r\nMessage-ID: <imap-app-1@example.org>\r\n\r\nCould I have an invoice?\r\n"
	app := c.Append("INBOX", int64(len(raw)), nil)
	io.WriteString(app, raw)
	app.Close()
	if _, err := app.Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()

	h := apptest.StartWith(t, func(cfg *config.Config) {
		cfg.IMAPURL = "imap+insecure://desk@" + ln.Addr().String() + "/INBOX"
		cfg.IMAPPassword = "mailbox-secret"
		cfg.IMAPPollInterval = time.Second
	})
	var subject string
	testwait.Until(t, "the polled message to become a ticket", func() bool {
		err := h.App.DB.Read.QueryRow(`SELECT subject FROM ticket_messages WHERE message_id = '<imap-app-1@example.org>'`).Scan(&subject)
		return err == nil
	})
	if subject != "Invoice please" {
		t.Errorf("subject %q", subject)
	}
}
