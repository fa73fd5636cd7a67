package desk_test

import (
	"io"
	"log/slog"
	"net"
	"net/smtp"
	"strings"
	"testing"

	"comptoir/internal/blob"
	"comptoir/internal/desk"
	"comptoir/internal/inbound"
)

// listener runs the inbound SMTP listener on loopback, filing mail on e's
// desk, and returns its address.
func (e *env) listener(t *testing.T) string {
	t.Helper()
	blobs, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := inbound.NewServer(inbound.Config{Domain: "shop.test", SupportAddresses: []string{"support@shop.test"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, desk.MailIntake{Desk: e.desk, Blobs: blobs, Support: "support@shop.test"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// The reply token is in the address the mail was delivered to: the SMTP
// envelope's recipient. A customer who sends to the ticket's reply address
// in Bcc, or an MTA that forwards mail addressed to the plus address while
// the header says the plain one, still reaches the ticket.
func TestSMTPEnvelopeRecipientThreadsByReplyToken(t *testing.T) {
	e := setup(t)
	addr := e.listener(t)
	tk := e.contact(t, "gus@example.org", "en")
	raw := "From: Gus <gus@example.org>\r\nTo: Shop <support@shop.test>\r\nSubject: one more thing\r\n" +
		"Message-ID: <bcc-1@example.org>\r\nDate: Sun, 08 Mar 2026 11:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"And the invoice, please.\r\n"
	rcpt := "support+" + tk.ReplyToken + "@shop.test"
	// Delivered twice, as an MTA retries after a lost answer: stored once.
	for range 2 {
		if err := smtp.SendMail(addr, nil, "gus@example.org", []string{rcpt}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.count(t, "tickets"); n != 1 {
		t.Fatalf("%d tickets, want the mail on %s", n, tk.Reference)
	}
	var texts []string
	for _, m := range e.thread(t, tk.ID, true) {
		if m.Direction == desk.DirectionIn {
			texts = append(texts, strings.TrimSpace(m.Text))
		}
	}
	if strings.Join(texts, "|") != "Hello,\nwhere is my licence?|And the invoice, please." {
		t.Fatalf("messages of the ticket: %q", texts)
	}
}
