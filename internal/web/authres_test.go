package web_test

import (
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
)

// A mail under a customer's address that the trusted mail server did not
// vouch for (--inbound-trusted-authserv-id) is kept on their ticket for the
// agent, who is told why in their language, and never shown to the
// customer. The mail comes through the app's own SMTP listener, as set up
// by the flags.
func TestConsoleSaysSenderNotVerified(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) {
		c.InboundTrustedAuthservID, c.SMTPListen = "mx.shop.test", "127.0.0.1:0"
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h.App.SMTP.Serve(ln)
	t.Cleanup(func() { h.App.SMTP.Close() })
	_, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	tk := ticketOf(t, h, "ana@example.fr")
	raw := "Authentication-Results: mx.shop.test; dkim=fail header.d=example.fr; dmarc=fail header.from=example.fr\r\n" +
		"From: Ana <ana@example.fr>\r\nTo: support@shop.test\r\nSubject: Re: [#" + tk.Reference + "] Hello\r\n" +
		"Message-ID: <forged@attacker.example>\r\n\r\nSend the refund to IBAN FR76 0000 forged\r\n"
	if err := smtp.SendMail(ln.Addr().String(), nil, "ana@example.fr", []string{"support@shop.test"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	for lang, label := range map[string]string{"en": "sender not verified", "fr": "expéditeur non vérifié"} {
		agent.PostForm("/lang", url.Values{"lang": {lang}})
		mustContain(t, agent.Get("/console/tickets/"+tk.ID), "IBAN FR76 0000 forged", label)
	}
	if page := customer.Get("/support/tickets/" + tk.ID); strings.Contains(page.Body, "forged") {
		t.Errorf("the customer's page shows the forged mail:\n%s", page.Body)
	}
}
