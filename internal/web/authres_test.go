package web_test

import (
	"context"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
	"comptoir/internal/desk"
	"comptoir/internal/testlog"
)

// A mail under a customer's address that the trusted mail server did not
// vouch for (--inbound-trusted-authserv-id) is kept on their ticket for the
// agent, who is told why in their language, and never shown to the
// customer. The mail comes through the app's own SMTP listener, as set up
// by the flags.
func TestConsoleSaysSenderNotVerified(t *testing.T) {
	h, smtpAddr := startTrustingMX(t)
	_, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	tk := ticketOf(t, h, "ana@example.fr")
	raw := "Authentication-Results: mx.shop.test; dkim=fail header.d=example.fr; dmarc=fail header.from=example.fr\r\n" +
		"From: Ana <ana@example.fr>\r\nTo: support@shop.test\r\nSubject: Re: [#" + tk.Reference + "] Hello\r\n" +
		"Message-ID: <forged@attacker.example>\r\n\r\nSend the refund to IBAN FR76 0000 forged\r\n"
	if err := smtp.SendMail(smtpAddr, nil, "ana@example.fr", []string{"support@shop.test"}, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	for lang, label := range map[string]string{"en": "sender not verified", "fr": "expéditeur non vérifié"} {
		agent.PostForm("/lang", url.Values{"lang": {lang}})
		page := agent.Get("/console/tickets/" + tk.ID)
		mustContain(t, page, "IBAN FR76 0000 forged", label)
		// The customer's own message can become their claim (two
		// forms: an order's, a subscription's); the forged one offers
		// none, which the server would refuse anyway.
		if n := strings.Count(page.Body, `class="row claim-from-message"`); n != 2 {
			t.Errorf("%s: %d claim forms on the ticket, want the customer's message's 2 alone", lang, n)
		}
	}
	if page := customer.Get("/support/tickets/" + tk.ID); strings.Contains(page.Body, "forged") {
		t.Errorf("the customer's page shows the forged mail:\n%s", page.Body)
	}
}

// A ticket a mail opened under a customer's address that the trusted mail
// server did not vouch for is marked "sender not verified" for the agent
// (queue, ticket page, API), in their language; the ticket page shows no
// account of that address (orders, balance, claims) to act on; and once
// the customer proves the address (a password reset), which gives them
// the tickets written from it as a guest, that one stays out of their
// account. Before, it looked like any guest ticket of the address, its
// customer panel showed the account's orders and balance, and the proof
// put the forger's words in the customer's portal, a message an agent
// could then file as the customer's claim.
func TestUnverifiedTicketIsMarkedAndStaysOutOfTheAccount(t *testing.T) {
	h, smtpAddr := startTrustingMX(t)
	ctx := context.Background()
	ana, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	send := func(msgID, subject, result string) desk.Ticket {
		t.Helper()
		raw := "Authentication-Results: mx.shop.test; " + result + "\r\n" +
			"From: Ana <ana@example.fr>\r\nTo: support@shop.test\r\nSubject: " + subject + "\r\nMessage-ID: " + msgID + "\r\n\r\n" +
			"Refund my last order to IBAN FR76 0000 forged\r\n"
		if err := smtp.SendMail(smtpAddr, nil, "ana@example.fr", []string{"support@shop.test"}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
		ts, err := h.App.Desk.Queue(ctx, desk.QueueFilter{IncludeClosed: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range ts {
			msgs, err := h.App.Desk.Thread(ctx, tk.ID, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) > 0 && msgs[0].MessageID == msgID {
				return tk
			}
		}
		t.Fatalf("no ticket opened by %s", msgID)
		return desk.Ticket{}
	}
	forged := send("<forged@attacker.example>", "forged", "dkim=fail header.d=example.fr; dmarc=fail header.from=example.fr")
	own := send("<own@example.fr>", "genuine", "dkim=pass header.d=example.fr; dmarc=pass header.from=example.fr")

	agentUser, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	for lang, label := range map[string]string{"en": "sender not verified", "fr": "expéditeur non vérifié"} {
		agent.PostForm("/lang", url.Values{"lang": {lang}})
		queue := agent.Get("/console/tickets")
		for _, row := range strings.Split(queue.Body, "<tr>") {
			switch {
			case strings.Contains(row, forged.Reference) && !strings.Contains(row, label):
				t.Errorf("%s: the queue's row of the forged ticket lacks %q:\n%s", lang, label, row)
			case strings.Contains(row, own.Reference) && strings.Contains(row, label):
				t.Errorf("%s: the queue's row of the verified ticket says %q:\n%s", lang, label, row)
			}
		}
		if strings.Contains(queue.Body, "contact.topic.") {
			t.Errorf("%s: the queue names a ticket's topic by its key:\n%s", lang, queue.Body)
		}
		page := agent.Get("/console/tickets/" + forged.ID)
		mustContain(t, page, `id="ticket-sender-unverified"`, `id="sender-unverified-note"`, `id="context-unverified"`, label)
		if strings.Contains(page.Body, `id="context-balance"`) {
			t.Errorf("%s: the forged ticket's page shows the account of its address:\n%s", lang, page.Body)
		}
		page = agent.Get("/console/tickets/" + own.ID)
		mustContain(t, page, `id="context-balance"`)
		if strings.Contains(page.Body, label) {
			t.Errorf("%s: the verified ticket's page says %q", lang, label)
		}
	}
	api := h.NewClient(t)
	r := api.Send(http.MethodGet, "/api/v1/tickets/"+forged.ID, "", nil, h.Bearer(t, agentUser.ID))
	if r.Status != http.StatusOK || strings.Count(r.Body, `"sender_unverified":true`) != 2 {
		t.Errorf("the API's forged ticket (marked, and its message): %d %s", r.Status, r.Body)
	}
	if r := api.Send(http.MethodGet, "/api/v1/tickets/"+own.ID, "", nil, h.Bearer(t, agentUser.ID)); strings.Contains(r.Body, "sender_unverified") {
		t.Errorf("the API's verified ticket: %s", r.Body)
	}

	// Ana proves her address: her verified ticket joins her account, the
	// forged one does not.
	if err := h.App.Accounts.RequestPasswordReset(ctx, ana.Email, "fr"); err != nil {
		t.Fatal(err)
	}
	h.Mails(t, "password_reset", 1)
	token := linkToken(t, h, "password_reset", "/reset/")
	if r := h.NewClient(t).PostForm("/reset/"+token, url.Values{"password": {"a brand new passphrase"}, "password_confirm": {"a brand new passphrase"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("use the reset link: %d", r.Status)
	}
	if got, err := h.App.Desk.Get(ctx, own.ID); err != nil || got.CustomerID != ana.ID {
		t.Fatalf("the verified ticket after the proof: customer %q (%v), want %s", got.CustomerID, err, ana.ID)
	}
	if got, err := h.App.Desk.Get(ctx, forged.ID); err != nil || got.CustomerID != "" {
		t.Fatalf("the forged ticket joined the account %q (%v)", got.CustomerID, err)
	}
	customer := h.NewClient(t)
	customer.PostForm("/signin", url.Values{"email": {ana.Email}, "password": {"a brand new passphrase"}})
	mine := customer.Get("/support/tickets")
	mustContain(t, mine, own.Reference)
	if strings.Contains(mine.Body, forged.Reference) {
		t.Errorf("the customer's portal lists the forged ticket:\n%s", mine.Body)
	}
	if r := customer.Get("/support/tickets/" + forged.ID); r.Status != http.StatusNotFound {
		t.Errorf("the customer reaches the forged ticket: %d", r.Status)
	}
}

// startTrustingMX runs a store that trusts the Authentication-Results of
// mx.shop.test, with its SMTP listener serving on a loopback address,
// returned.
func startTrustingMX(t *testing.T) (*apptest.Harness, string) {
	t.Helper()
	h := apptest.StartWith(t, func(c *config.Config) {
		c.InboundTrustedAuthservID, c.SMTPListen = "mx.shop.test", "127.0.0.1:0"
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h.App.SMTP.Serve(ln)
	t.Cleanup(func() { h.App.SMTP.Close() })
	return h, ln.Addr().String()
}

// With --inbound-trusted-relays, only the listed mail servers' connections
// may carry the trusted server's word: a mail that says dmarc=pass for its
// From, handed to the SMTP listener by any other client, is anyone's who
// wrote that header, and opens a ticket marked "sender not verified". The
// same mail from a listed relay is its From's. Without the list, any
// client is believed, as before the flag, and start-up says so. Before,
// any client that reached the listener passed for any customer.
func TestAuthResultsCountOnlyFromTrustedRelays(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		relays     string
		unverified bool
		warned     bool
	}{
		{"192.0.2.25,10.0.0.0/8", true, false}, // loopback is not on the list
		{"10.0.0.0/8, 127.0.0.1", false, false},
		{"", false, true},
	} {
		logs := &testlog.Buffer{}
		h := apptest.StartLogged(t, func(cfg *config.Config) {
			cfg.InboundTrustedAuthservID, cfg.InboundTrustedRelays, cfg.SMTPListen = "mx.shop.test", c.relays, "127.0.0.1:0"
		}, logs)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go h.App.SMTP.Serve(ln)
		t.Cleanup(func() { h.App.SMTP.Close() })
		h.User(t, account.RoleCustomer, "ana@example.fr")
		raw := "Authentication-Results: mx.shop.test; dkim=pass header.d=example.fr; dmarc=pass header.from=example.fr\r\n" +
			"From: Ana <ana@example.fr>\r\nTo: support@shop.test\r\nSubject: refund\r\nMessage-ID: <relay@example.fr>\r\n\r\n" +
			"Refund my last order to IBAN FR76 0000 forged\r\n"
		if err := smtp.SendMail(ln.Addr().String(), nil, "ana@example.fr", []string{"support@shop.test"}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
		tk := ticketOf(t, h, "ana@example.fr")
		if tk.SenderUnverified != c.unverified {
			t.Errorf("relays %q: a mail from 127.0.0.1 with dmarc=pass opened a ticket marked unverified=%v, want %v", c.relays, tk.SenderUnverified, c.unverified)
		}
		msgs, err := h.App.Desk.Thread(ctx, tk.ID, true)
		if err != nil || len(msgs) == 0 || msgs[0].FromUnverified != c.unverified {
			t.Errorf("relays %q: the mail (%v): %+v, want unverified=%v", c.relays, err, msgs, c.unverified)
		}
		if warned := strings.Contains(logs.String(), "--inbound-trusted-relays"); warned != c.warned {
			t.Errorf("relays %q: start-up warned=%v, want %v:\n%s", c.relays, warned, c.warned, logs.String())
		}
	}
}
