package inbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/testlog"
	"comptoir/internal/testwait"
)

type delivery struct {
	raw   []byte
	from  string
	rcpts []string
}

// recorder is a Handler that keeps what it is given, or fails while fail is set.
type recorder struct {
	mu   sync.Mutex
	got  []delivery
	fail error
}

func (r *recorder) Deliver(ctx context.Context, raw []byte, from string, rcpts []string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.got = append(r.got, delivery{append([]byte(nil), raw...), from, rcpts})
	return nil
}

func (r *recorder) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

func (r *recorder) setFail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = err
}

// startServer runs a Server on a loopback port until the test ends.
func startServer(t *testing.T, cfg Config) (addr string, rec *recorder, logs *testlog.Buffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startServerOn(t, cfg, ln)
}

// startServerOn is startServer serving ln.
func startServerOn(t *testing.T, cfg Config, ln net.Listener) (addr string, rec *recorder, logs *testlog.Buffer) {
	t.Helper()
	rec = &recorder{}
	logs = &testlog.Buffer{}
	cfg.Domain = "mx.shop.example"
	if cfg.SupportAddresses == nil {
		cfg.SupportAddresses = []string{"support@shop.example"}
	}
	cfg.ReadTimeout, cfg.WriteTimeout = 10*time.Second, 10*time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	srv, err := NewServer(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testwait.Default)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		select {
		case <-done:
		case <-time.After(testwait.Default):
			t.Error("Serve did not return after Shutdown")
		}
	})
	return ln.Addr().String(), rec, logs
}

// dial opens a net/smtp client with a deadline on the whole conversation.
func dial(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	return dialFrom(t, addr, "")
}

// dialFrom is dial from the loopback address fromIP (127.0.0.2…), another
// client for the server; "" lets the system choose.
func dialFrom(t *testing.T, addr, fromIP string) *smtp.Client {
	t.Helper()
	conn, err := loopbackDialer(fromIP).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Hello("relay.example.org"); err != nil {
		t.Fatal(err)
	}
	return c
}

// loopbackDialer dials from fromIP, one of the loopback addresses
// (127.0.0.2…) that stand for distinct clients; "" lets the system choose.
func loopbackDialer(fromIP string) *net.Dialer {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if fromIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(fromIP)}
	}
	return d
}

// send runs one transaction and returns the error of the first step that fails.
func send(c *smtp.Client, from string, rcpts []string, body []byte) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	return w.Close()
}

func smtpCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

const secretBody = "Mon code client est 4242-SECRET, merci de ne pas le divulguer."

var sampleMessage = []byte("From: Claire Martin <claire.martin@example.fr>\r\n" +
	"To: support+Ab12Cd34Ef@shop.example\r\n" +
	"Subject: =?UTF-8?Q?Re:_[#T-7K3P9Q]_O=C3=B9_est_mon_colis_=3F?=\r\n" +
	"Message-ID: <smtp-1@example.fr>\r\n" +
	"In-Reply-To: <msg_01JD2S7@shop.example>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Bonjour,\r\n" +
	".une ligne qui commence par un point\r\n" +
	"..et deux points\r\n" +
	secretBody + "\r\n")

func TestSMTPDeliversIntact(t *testing.T) {
	addr, rec, logs := startServer(t, Config{})
	c := dial(t, addr)
	// Also through smtp.SendMail, the simplest client a relay could be.
	if err := send(c, "claire.martin@example.fr", []string{"support+Ab12Cd34Ef@shop.example", "SUPPORT@shop.example"}, sampleMessage); err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := smtp.SendMail(addr, nil, "", []string{"support@shop.example"}, sampleMessage); err != nil {
		t.Fatalf("SendMail (null sender): %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	got := rec.deliveries()
	if len(got) != 2 {
		t.Fatalf("got %d deliveries, want 2", len(got))
	}
	if !bytes.Equal(got[0].raw, sampleMessage) {
		t.Errorf("raw differs:\n got %q\nwant %q", got[0].raw, sampleMessage)
	}
	wantEq(t, "from", got[0].from, "claire.martin@example.fr")
	wantEq(t, "rcpts", got[0].rcpts, []string{"support+Ab12Cd34Ef@shop.example", "SUPPORT@shop.example"})
	wantEq(t, "bounce sender", got[1].from, "")
	if !bytes.Equal(got[1].raw, sampleMessage) {
		t.Error("SendMail raw differs")
	}

	m, err := Parse(got[0].raw)
	if err != nil {
		t.Fatal(err)
	}
	wantEq(t, "subject", m.Subject, "Re: [#T-7K3P9Q] Où est mon colis ?")
	wantContains(t, m.Text, ".une ligne qui commence par un point\r\n..et deux points")
	if strings.Contains(logs.String(), "4242-SECRET") {
		t.Errorf("a message body reached the log:\n%s", logs.String())
	}
}

func TestSMTPOversizedRejected(t *testing.T) {
	addr, rec, _ := startServer(t, Config{MaxMessageBytes: 64 << 10})
	c := dial(t, addr)
	big := append([]byte("From: a@example.com\r\nSubject: big\r\n\r\n"),
		bytes.Repeat([]byte(strings.Repeat("x", 78)+"\r\n"), 1000)...) // ~80 KiB
	err := send(c, "a@example.com", []string{"support@shop.example"}, big)
	if smtpCode(err) != 552 || !strings.Contains(err.Error(), "Message too large: this address takes messages of 64 KB at most") ||
		!strings.Contains(err.Error(), "Message trop volumineux : cette adresse prend les messages de 64 Ko au plus") {
		t.Fatalf("oversized: err = %v, want 552 saying the limit", err)
	}
	if n := len(rec.deliveries()); n != 0 {
		t.Fatalf("handler saw %d messages after a 552", n)
	}
	// The connection is still usable, for a message under the limit.
	if err := send(c, "a@example.com", []string{"support@shop.example"}, sampleMessage); err != nil {
		t.Fatalf("after 552: %v", err)
	}
	if n := len(rec.deliveries()); n != 1 {
		t.Fatalf("got %d deliveries, want 1", n)
	}
}

func TestSMTPRecipientLimit(t *testing.T) {
	addr, rec, _ := startServer(t, Config{})
	c := dial(t, addr)
	rcpts := make([]string, 1000)
	for i := range rcpts {
		rcpts[i] = fmt.Sprintf("support+r%07d@shop.example", i)
	}
	rcptAll := func() (accepted int) {
		t.Helper()
		if err := c.Mail("spammer@example.net"); err != nil {
			t.Fatal(err)
		}
		for i, r := range rcpts {
			err := c.Rcpt(r)
			switch {
			case err == nil:
				accepted++
			case smtpCode(err) == 452 && strings.Contains(err.Error(), "too many recipients"):
			default:
				t.Fatalf("RCPT %d: %v", i, err)
			}
		}
		return accepted
	}

	if n := rcptAll(); n != DefaultMaxRecipients {
		t.Fatalf("accepted %d recipients, want %d", n, DefaultMaxRecipients)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.deliveries()); n != 0 {
		t.Fatalf("delivered %d messages without DATA", n)
	}

	// DATA after the refused ones goes to the accepted recipients only.
	if n := rcptAll(); n != DefaultMaxRecipients {
		t.Fatalf("second transaction accepted %d", n)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(sampleMessage); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := rec.deliveries()
	if len(got) != 1 || len(got[0].rcpts) != DefaultMaxRecipients {
		t.Fatalf("deliveries = %d, rcpts = %v", len(got), got)
	}
	wantEq(t, "last rcpt", got[0].rcpts[DefaultMaxRecipients-1], rcpts[DefaultMaxRecipients-1])
}

func TestSMTPRecipientLimitConfigured(t *testing.T) {
	addr, _, _ := startServer(t, Config{MaxRecipients: 2})
	c := dial(t, addr)
	if err := c.Mail("a@example.com"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := c.Rcpt("support@shop.example"); err != nil {
			t.Fatalf("RCPT %d: %v", i, err)
		}
	}
	if err := c.Rcpt("support@shop.example"); smtpCode(err) != 452 {
		t.Fatalf("third RCPT: %v, want 452", err)
	}
}

func TestSMTPUnknownRecipient(t *testing.T) {
	addr, rec, _ := startServer(t, Config{SupportAddresses: []string{"support@shop.example", "aide@shop.example"}})
	c := dial(t, addr)
	if err := c.Mail("a@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"ceo@shop.example", "support@other.example", "support+x@shop.example", "victim@example.com"} {
		if err := c.Rcpt(r); smtpCode(err) != 550 {
			t.Errorf("RCPT %s: %v, want 550", r, err)
		}
	}
	// With no accepted recipient, DATA is refused and nothing is delivered.
	if _, err := c.Data(); err == nil {
		t.Error("DATA accepted without recipients")
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := send(c, "a@example.com", []string{"aide+abcdefgh@shop.example"}, sampleMessage); err != nil {
		t.Fatalf("second support address: %v", err)
	}
	if n := len(rec.deliveries()); n != 1 {
		t.Fatalf("got %d deliveries, want 1", n)
	}
}

func TestSMTPHandlerErrorIsTemporary(t *testing.T) {
	addr, rec, logs := startServer(t, Config{})
	rec.setFail(errors.New("database is down"))
	c := dial(t, addr)
	err := send(c, "a@example.com", []string{"support@shop.example"}, sampleMessage)
	if code := smtpCode(err); code < 400 || code > 499 {
		t.Fatalf("handler error: client got %v, want 4xx", err)
	}
	// The sending MTA retries later, and this time it is stored.
	rec.setFail(nil)
	if err := send(c, "a@example.com", []string{"support@shop.example"}, sampleMessage); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(rec.deliveries()); n != 1 {
		t.Fatalf("got %d deliveries, want 1", n)
	}
	if !strings.Contains(logs.String(), "database is down") || strings.Contains(logs.String(), "4242-SECRET") {
		t.Errorf("log should name the cause and never the body:\n%s", logs.String())
	}
}

func TestNewServerValidates(t *testing.T) {
	rec := &recorder{}
	if _, err := NewServer(Config{}, rec); err == nil {
		t.Error("no support addresses accepted")
	}
	if _, err := NewServer(Config{SupportAddresses: []string{"nobody"}}, rec); err == nil {
		t.Error("bad support address accepted")
	}
	if _, err := NewServer(Config{SupportAddresses: []string{"support@shop.example"}}, nil); err == nil {
		t.Error("nil handler accepted")
	}
}

func TestCloseStopsServe(t *testing.T) {
	srv, err := NewServer(Config{SupportAddresses: []string{"support@shop.example"}}, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	c := dial(t, ln.Addr().String())
	_ = c // an open connection must not keep Close waiting
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(testwait.Default):
		t.Fatal("Serve did not return after Close")
	}
}

type panicker struct{}

func (panicker) Deliver(context.Context, []byte, string, []string) error { panic("boom") }

func TestSMTPHandlerPanicIsTemporary(t *testing.T) {
	srv, err := NewServer(Config{
		SupportAddresses: []string{"support@shop.example"},
		Logger:           slog.New(slog.NewTextHandler(&testlog.Buffer{}, nil)),
	}, panicker{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	c := dial(t, ln.Addr().String())
	if err := send(c, "a@example.com", []string{"support@shop.example"}, sampleMessage); smtpCode(err) != 451 {
		t.Fatalf("handler panic: %v, want 451", err)
	}
	if err := c.Noop(); err != nil {
		t.Fatalf("connection unusable after a handler panic: %v", err)
	}
}

// greeting opens a connection and returns the server's first line.
func greeting(t *testing.T, addr string) (*textproto.Conn, string) {
	t.Helper()
	return greetingFrom(t, addr, "")
}

// greetingFrom is greeting from the loopback address fromIP (127.0.0.2…),
// another client for the server; "" lets the system choose.
func greetingFrom(t *testing.T, addr, fromIP string) (*textproto.Conn, string) {
	t.Helper()
	conn, err := loopbackDialer(fromIP).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	tc := textproto.NewConn(conn)
	t.Cleanup(func() { _ = tc.Close() })
	line, err := tc.ReadLine()
	if err != nil {
		t.Fatalf("reading the greeting: %v", err)
	}
	return tc, line
}

func TestConnectionsBeyondTheCapAreRefusedWith421(t *testing.T) {
	addr, rec, logs := startServer(t, Config{MaxConnections: 2})
	first, line := greeting(t, addr)
	if !strings.HasPrefix(line, "220 ") {
		t.Fatalf("first connection: %q", line)
	}
	if _, line := greeting(t, addr); !strings.HasPrefix(line, "220 ") {
		t.Fatalf("second connection: %q", line)
	}
	third, line := greeting(t, addr)
	if !strings.HasPrefix(line, "421 4.7.0 ") || !strings.Contains(line, "too many connections") {
		t.Fatalf("third connection: %q, want a 421", line)
	}
	if _, err := third.ReadLine(); err == nil {
		t.Fatal("the refused connection stayed open")
	}
	if !strings.Contains(logs.String(), "too many connections") {
		t.Errorf("the refusal is not logged:\n%s", logs.String())
	}

	// A session that ends gives its place back: mail flows again.
	if err := first.PrintfLine("QUIT"); err != nil {
		t.Fatal(err)
	}
	var c *smtp.Client
	testwait.Until(t, "a connection is taken again", func() bool {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		if c, err = smtp.NewClient(conn, "127.0.0.1"); err != nil {
			conn.Close()
			return false
		}
		return true
	})
	t.Cleanup(func() { _ = c.Close() })
	msg := []byte("From: a@example.org\r\nTo: support@shop.example\r\nSubject: hi\r\nMessage-ID: <cap@example.org>\r\n\r\nhello\r\n")
	if err := send(c, "a@example.org", []string{"support@shop.example"}, msg); err != nil {
		t.Fatalf("sending once a place is free: %v", err)
	}
	if got := len(rec.deliveries()); got != 1 {
		t.Fatalf("%d deliveries, want 1", got)
	}
}

// One address cannot take every place: past MaxConnectionsPerIP its next
// connection is answered 421 while another address is still served a
// whole conversation, and a session it ends gives it a place back.
func TestConnectionsBeyondThePerAddressCapAreRefusedWith421(t *testing.T) {
	addr, rec, logs := startServer(t, Config{MaxConnections: 10, MaxConnectionsPerIP: 2})
	first, line := greetingFrom(t, addr, "127.0.0.1")
	if !strings.HasPrefix(line, "220 ") {
		t.Fatalf("first connection from 127.0.0.1: %q", line)
	}
	if _, line := greetingFrom(t, addr, "127.0.0.1"); !strings.HasPrefix(line, "220 ") {
		t.Fatalf("second connection from 127.0.0.1: %q", line)
	}
	third, line := greetingFrom(t, addr, "127.0.0.1")
	if !strings.HasPrefix(line, "421 4.7.0 ") || !strings.Contains(line, "too many connections from your address") {
		t.Fatalf("third connection from 127.0.0.1: %q, want a 421", line)
	}
	if _, err := third.ReadLine(); err == nil {
		t.Fatal("the refused connection stayed open")
	}
	if !strings.Contains(logs.String(), "too many connections from one address") {
		t.Errorf("the refusal is not logged:\n%s", logs.String())
	}

	// Another address gets in and delivers while 127.0.0.1 is at its cap.
	c := dialFrom(t, addr, "127.0.0.2")
	msg := []byte("From: a@example.org\r\nTo: support@shop.example\r\nSubject: hi\r\nMessage-ID: <perip@example.org>\r\n\r\nhello\r\n")
	if err := send(c, "a@example.org", []string{"support@shop.example"}, msg); err != nil {
		t.Fatalf("sending from 127.0.0.2: %v", err)
	}
	if got := len(rec.deliveries()); got != 1 {
		t.Fatalf("%d deliveries, want 1", got)
	}

	// A session of 127.0.0.1 that ends gives it a place back.
	if err := first.PrintfLine("QUIT"); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "127.0.0.1 is taken again", func() bool {
		_, line := greetingFrom(t, addr, "127.0.0.1")
		return strings.HasPrefix(line, "220 ")
	})
}

// gated delivers only once released, as a slow database would.
type gated struct {
	recorder
	entered, release chan struct{}
	once             sync.Once
}

func (g *gated) Deliver(ctx context.Context, raw []byte, from string, rcpts []string) error {
	g.once.Do(func() { close(g.entered) })
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.recorder.Deliver(ctx, raw, from, rcpts)
}

// Shutdown stops taking connections, lets the message being delivered
// finish with its 250, and does not wait for a session idle between
// messages: go-smtp's own Shutdown held the stopping process until that
// sender's read timeout.
func TestShutdownFinishesDeliveriesNotIdleSessions(t *testing.T) {
	g := &gated{entered: make(chan struct{}), release: make(chan struct{})}
	srv, err := NewServer(Config{SupportAddresses: []string{"support@shop.example"},
		Logger: slog.New(slog.NewTextHandler(&testlog.Buffer{}, nil))}, g)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	dial(t, addr) // a session left idle
	sender := dial(t, addr)
	sent := make(chan error, 1)
	go func() { sent <- send(sender, "a@example.com", []string{"support@shop.example"}, sampleMessage) }()
	select {
	case <-g.entered:
	case <-time.After(testwait.Default):
		t.Fatal("the delivery never started")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- srv.Shutdown(ctx) }()
	testwait.Until(t, "new connections refused", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) before the delivery in progress ended", err)
	default:
	}
	close(g.release)
	if err := <-sent; err != nil {
		t.Fatalf("the message being delivered at shutdown: %v, want 250", err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(testwait.Default):
		t.Fatal("Shutdown still waiting, on the idle session")
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("Shutdown took %v", took)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Shutdown: %v", err)
	}
	if n := len(g.deliveries()); n != 1 {
		t.Fatalf("%d deliveries, want 1", n)
	}
}
