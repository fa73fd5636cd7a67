package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/cardpay"
	"comptoir/internal/catalog"
	"comptoir/internal/config"
	"comptoir/internal/jobs"
	"comptoir/internal/money"
	"comptoir/internal/testport"
	"comptoir/internal/testwait"
)

// closedPort is a local port nothing listens on (testport: never one the
// kernel may hand to another listener before the relay comes back on it).
func closedPort(t *testing.T) int {
	t.Helper()
	return testport.Free(t)
}

// TestStripeUnreachable places a card order while Stripe cannot be reached:
// the order is kept unpaid with its payment retried, the pay page says
// plainly that the card service is unreachable and nothing was charged,
// and no money or invoice was written.
func TestStripeUnreachable(t *testing.T) {
	port := closedPort(t)
	// No page ever comes: the requests give up waiting for it after the
	// customer's few seconds, not the test's.
	h := apptest.StartWith(t, func(c *config.Config) {
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_comptoir", "whsec_test", fmt.Sprintf("http://127.0.0.1:%d", port)
	}, apptest.CheckoutWait(time.Second))
	ctx := context.Background()
	d := h.App.DB
	p, err := h.App.Catalog.Create(ctx, faultAdmin, catalog.ProductInput{
		Slug: "posts", Kind: catalog.KindService, NameFR: "Publications", NameEN: "Posts", DescriptionFR: "Des publications.",
		DescriptionEN: "Some posts.", UnitPrice: money.MustNew(100, "EUR"), MinQuantity: 1, MaxQuantity: 10, ProcessingTime: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":1}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`
	r := c.Send(http.MethodPost, "/api/v1/orders", "application/json", strings.NewReader(body), h.Bearer(t, u.ID))
	var o struct{ ID, Status, CheckoutURL string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &o) != nil || o.Status != "pending_payment" || strings.Contains(r.Body, "checkout_url") {
		t.Fatalf("card checkout with Stripe unreachable: %d %s", r.Status, r.Body)
	}
	// The page says "unreachable" from the failed attempt the payment
	// records.
	testwait.Until(t, "the failed attempt to make the page recorded", func() bool {
		p, ok, err := h.App.Card.Pending(ctx, cardpay.PurposeOrder, o.ID)
		return err == nil && ok && p.LastError != ""
	})
	pg := c.Get("/orders/" + o.ID + "/pay")
	if pg.Status != http.StatusServiceUnavailable || !strings.Contains(pg.Body, `id="pay-unreachable"`) || !strings.Contains(pg.Body, "Rien n’a été débité") {
		t.Fatalf("pay page with Stripe unreachable: %d %s", pg.Status, pg.Body)
	}
	var paid, entries, invoices, live int
	d.Read.QueryRow(`SELECT paid FROM orders WHERE id = $1`, o.ID).Scan(&paid)
	d.Read.QueryRow(`SELECT COUNT(*) FROM balance_entries WHERE customer_id = $1`, u.ID).Scan(&entries)
	d.Read.QueryRow(`SELECT COUNT(*) FROM invoices WHERE source_id = $1`, o.ID).Scan(&invoices)
	d.Read.QueryRow(`SELECT COUNT(*) FROM card_payments WHERE reference_id = $1 AND status = 'creating' AND last_error <> ''`, o.ID).Scan(&live)
	if paid != 0 || entries != 0 || invoices != 0 || live != 1 {
		t.Fatalf("after the failed attempt: paid %d, %d ledger entries, %d invoices, %d payments waiting for a retry", paid, entries, invoices, live)
	}
}

// testRelay is an SMTP relay on loopback that keeps what it receives.
type testRelay struct {
	mu  sync.Mutex
	got [][]byte
}

func (r *testRelay) NewSession(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: r}, nil }

type relaySession struct{ r *testRelay }

func (s *relaySession) Reset()                               {}
func (s *relaySession) Logout() error                        { return nil }
func (s *relaySession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *relaySession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.got = append(s.r.got, b)
	s.r.mu.Unlock()
	return nil
}

// TestRelayDownMailWaitsAndGoesOut queues an email while the SMTP relay is
// down: it stays queued with the reason, and goes out once, with the
// Message-ID it was queued with, when the relay comes back.
func TestRelayDownMailWaitsAndGoesOut(t *testing.T) {
	port := closedPort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	h := apptest.StartWith(t, func(c *config.Config) { c.SMTPRelay = "smtp+plain://" + addr })
	d := h.App.DB
	c := h.NewClient(t)
	r := c.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"order"}, "message": {"Where is my order?"}})
	if r.Status >= 400 {
		t.Fatalf("contact: %d %s", r.Status, r.Body)
	}
	var msgID string
	testwait.For(t, 20*time.Second, "a failed attempt recorded", func() bool {
		var attempts int
		var status, lastError string
		d.Read.QueryRow(`SELECT message_id, status, attempts, last_error FROM outgoing_mail WHERE to_addr = 'ana@example.fr'`).
			Scan(&msgID, &status, &attempts, &lastError)
		if status != "" && status != "queued" {
			t.Fatalf("with the relay down the message is %s", status)
		}
		return attempts >= 1 && strings.Contains(lastError, strconv.Itoa(port))
	})

	relay := &testRelay{}
	srv := smtp.NewServer(relay)
	srv.Domain, srv.AllowInsecureAuth = "relay.test", true
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	testwait.For(t, 60*time.Second, "the message sent once the relay is back", func() bool {
		var status string
		d.Read.QueryRow(`SELECT status FROM outgoing_mail WHERE message_id = $1`, msgID).Scan(&status)
		return status == "sent"
	})
	relay.mu.Lock()
	defer relay.mu.Unlock()
	if len(relay.got) != 1 || !strings.Contains(string(relay.got[0]), "Message-ID: "+msgID) {
		t.Fatalf("relay received %d messages; want one with Message-ID %s", len(relay.got), msgID)
	}
}

// TestPasswordResetMailGoesOutOverSMTP: the reset link, now made and mailed
// by the request's job rather than by the form, still reaches the person,
// once, through a real SMTP relay on loopback; a request for an address
// with no account sends nothing. The link then sets the password.
func TestPasswordResetMailGoesOutOverSMTP(t *testing.T) {
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
	h.User(t, account.RoleCustomer, "ana@example.fr")
	c := h.NewClient(t)
	for _, email := range []string{"nobody@example.fr", "ANA@example.fr"} {
		if r := c.PostForm("/reset", url.Values{"email": {email}}); r.Status != http.StatusSeeOther {
			t.Fatalf("reset request for %s: %d", email, r.Status)
		}
	}
	testwait.For(t, 60*time.Second, "the reset mail at the relay", func() bool {
		var sent int
		h.App.DB.Read.QueryRow(`SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'password_reset' AND status = 'sent'`).Scan(&sent)
		return sent == 1
	})
	kind := account.ResetRequestArgs{}.Kind()
	testwait.Until(t, "both reset jobs done", func() bool {
		left, err := jobs.StillToRun(context.Background(), h.App.DB, kind, "request_id")
		return err == nil && len(left) == 0
	})
	relay.mu.Lock()
	got := slices.Clone(relay.got)
	relay.mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("relay received %d messages, want the one reset mail", len(got))
	}
	// The body is quoted-printable: undo its soft line breaks.
	body := strings.ReplaceAll(string(got[0]), "=\r\n", "")
	if !strings.Contains(body, "ana@example.fr") {
		t.Fatalf("reset mail not to ana@example.fr:\n%s", body)
	}
	link := regexp.MustCompile(regexp.QuoteMeta(h.URL) + `/reset/[A-Za-z0-9_-]+`).FindString(body)
	if link == "" {
		t.Fatalf("no reset link in the mail the relay received:\n%s", body)
	}
	path := strings.TrimPrefix(link, h.URL)
	if r := c.PostForm(path, url.Values{"password": {"a brand new secret"}, "password_confirm": {"a brand new secret"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("reset with the mailed link: %d %s", r.Status, r.Body)
	}
	if r := c.PostForm("/signin", url.Values{"email": {"ana@example.fr"}, "password": {"a brand new secret"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("sign in with the new password: %d", r.Status)
	}
}
