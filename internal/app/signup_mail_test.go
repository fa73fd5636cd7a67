package app_test

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"comptoir/internal/apptest"
	"comptoir/internal/config"
	"comptoir/internal/testwait"
)

// Anyone can sign up with someone else's address and any name, then ask
// for a password reset: the mails that go to that address (the welcome
// text, the reset link) carried the name typed, so anyone could have the
// store mail their words to anyone. What reaches the relay, headers and
// body, holds none of it.
func TestTypedNameIsNotMailedToAnUnprovenAddress(t *testing.T) {
	relay := &testRelay{}
	srv := smtp.NewServer(relay)
	srv.Domain, srv.AllowInsecureAuth = "relay.test", true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	h := apptest.StartWith(t, func(c *config.Config) { c.SMTPRelay = "smtp+plain://" + l.Addr().String() })
	const bait = "Claim your prize at evil.example"
	for i, lang := range []string{"fr", "en"} {
		email := []string{"victime@example.fr", "victim@example.com"}[i]
		c := h.NewClient(t)
		r := c.PostForm("/signup", url.Values{"name": {bait}, "email": {email}, "password": {"correct horse battery"},
			"password_confirm": {"correct horse battery"}, "customer_type": {"consumer"}, "country": {"FR"}, "city": {"Lyon"}, "language": {lang}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("sign-up: %d %s", r.Status, r.Body)
		}
		if r := h.NewClient(t).PostForm("/reset", url.Values{"email": {email}}); r.Status != http.StatusSeeOther {
			t.Fatalf("reset request: %d", r.Status)
		}
	}
	testwait.For(t, 60*time.Second, "both reset mails at the relay", func() bool {
		var sent, waiting int
		h.App.DB.Read.QueryRow(`SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'password_reset' AND status = 'sent'`).Scan(&sent)
		h.App.DB.Read.QueryRow(`SELECT COUNT(*) FROM outgoing_mail WHERE status <> 'sent'`).Scan(&waiting)
		return sent == 2 && waiting == 0
	})
	relay.mu.Lock()
	got := slices.Clone(relay.got)
	relay.mu.Unlock()
	if len(got) < 2 {
		t.Fatalf("relay received %d messages, want the two reset mails", len(got))
	}
	for _, m := range got {
		// Undo quoted-printable's soft line breaks before looking.
		text := strings.ReplaceAll(string(m), "=\r\n", "")
		if strings.Contains(text, "evil.example") || strings.Contains(text, "prize") {
			t.Errorf("a mail carries the name typed at sign-up:\n%s", text)
		}
	}
}
