package inbound_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"comptoir/internal/inbound"
)

// imapServer runs go-imap's in-memory server on loopback with the given
// messages in INBOX.
func imapServer(t *testing.T, msgs ...string) string {
	t.Helper()
	user := imapmemserver.NewUser("u", "p")
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
	defer c.Close()
	if err := c.Login("u", "p").Wait(); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		cmd := c.Append("INBOX", int64(len(m)), nil)
		io.WriteString(cmd, m)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	return ln.Addr().String()
}

// A message the handler fails on stays unseen and comes back at the next
// poll; the others are not held up by it.
func TestPollLeavesFailedMessagesUnseen(t *testing.T) {
	addr := imapServer(t,
		"From: a@example.com\r\nMessage-ID: <a@x>\r\nSubject: a\r\n\r\nfirst\r\n",
		"Return-Path: <>\r\nFrom: MAILER-DAEMON@example.com\r\nMessage-ID: <b@x>\r\nSubject: b\r\n\r\nbounce\r\n",
		"Return-Path: <c-sender@example.com>\r\nFrom: c@example.com\r\nMessage-ID: <c@x>\r\nSubject: c\r\n\r\nthird\r\n")
	var mu sync.Mutex
	var got []string
	failA := true
	h := inbound.HandlerFunc(func(_ context.Context, raw []byte, from string, _ []string) error {
		mu.Lock()
		defer mu.Unlock()
		m, err := inbound.Parse(raw)
		if err != nil {
			return err
		}
		if m.MessageID == "<a@x>" && failA {
			failA = false
			return errors.New("database down")
		}
		got = append(got, m.MessageID+" "+from)
		return nil
	})
	cfg, err := inbound.ParseIMAPURL("imap+insecure://u@"+addr, "p")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	p, err := inbound.NewPoller(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Poll(context.Background())
	if err == nil || res.Failed != 1 || res.Delivered != 2 {
		t.Fatalf("first poll = %+v, %v; want one failure reported", res, err)
	}
	res, err = p.Poll(context.Background())
	if err != nil || res.Delivered != 1 || res.Failed != 0 {
		t.Fatalf("second poll = %+v, %v", res, err)
	}
	want := "<b@x> |<c@x> c-sender@example.com|<a@x> a@example.com"
	if s := strings.Join(got, "|"); s != want {
		t.Fatalf("delivered %q, want %q (bounce with an empty envelope sender)", s, want)
	}
}

func TestPollRefusesABadLogin(t *testing.T) {
	addr := imapServer(t, "From: a@example.com\r\nSubject: a\r\n\r\nx\r\n")
	cfg, _ := inbound.ParseIMAPURL("imap+insecure://u@"+addr, "wrong")
	cfg.Logger = slog.New(slog.DiscardHandler)
	p, _ := inbound.NewPoller(cfg, inbound.HandlerFunc(func(context.Context, []byte, string, []string) error {
		t.Error("delivered without logging in")
		return nil
	}))
	if _, err := p.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "login") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("poll with a wrong password: %v", err)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and the pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imap test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// imaps:// speaks TLS from the start and imap:// insists on STARTTLS: a
// server that does not offer it gets no password.
func TestPollOverTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	serve := func(tlsListener, startTLS bool) string {
		user := imapmemserver.NewUser("u", "p")
		user.Create("INBOX", nil)
		mem := imapmemserver.New()
		mem.AddUser(user)
		opts := &imapserver.Options{
			NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
				return mem.NewSession(), nil, nil
			},
			Caps: imap.CapSet{imap.CapIMAP4rev1: {}}, Logger: log.New(io.Discard, "", 0), InsecureAuth: tlsListener,
		}
		if startTLS {
			opts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
			opts.Caps[imap.CapStartTLS] = struct{}{}
		}
		srv := imapserver.New(opts)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if tlsListener {
			ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
		}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return ln.Addr().String()
	}
	poll := func(url string) error {
		cfg, err := inbound.ParseIMAPURL(url, "p")
		if err != nil {
			t.Fatal(err)
		}
		cfg.TLSConfig = &tls.Config{RootCAs: pool}
		cfg.Logger = slog.New(slog.DiscardHandler)
		p, _ := inbound.NewPoller(cfg, inbound.HandlerFunc(func(context.Context, []byte, string, []string) error { return nil }))
		_, err = p.Poll(context.Background())
		return err
	}
	if err := poll("imaps://u@" + serve(true, false) + "/INBOX"); err != nil {
		t.Errorf("imaps: %v", err)
	}
	if err := poll("imap://u@" + serve(false, true) + "/INBOX"); err != nil {
		t.Errorf("imap with STARTTLS: %v", err)
	}
	if err := poll("imap://u@" + serve(false, false) + "/INBOX"); err == nil {
		t.Error("imap:// logged in to a server without STARTTLS")
	}
}

func TestParseIMAPURL(t *testing.T) {
	for _, tc := range []struct {
		url, password, want, err string
	}{
		{"imaps://desk@mail.example.com/Support", "pw", "imaps://desk@mail.example.com:993/Support", ""},
		{"imap://desk@mail.example.com", "pw", "imap://desk@mail.example.com:143/INBOX", ""},
		{"imap+insecure://desk:inurl@127.0.0.1:1143/INBOX", "", "imap+insecure://desk@127.0.0.1:1143/INBOX", ""},
		{"pop3://desk@mail.example.com", "pw", "", "scheme"},
		{"imaps://mail.example.com", "pw", "", "user name"},
		{"imaps://desk@mail.example.com", "", "", "password"},
		{"imaps://desk@/INBOX", "pw", "", "host"},
	} {
		c, err := inbound.ParseIMAPURL(tc.url, tc.password)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil || c.Redacted() != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.url, c.Redacted(), err, tc.want)
		}
	}
	c, _ := inbound.ParseIMAPURL("imaps://desk:inurl@mail.example.com", "fromfile")
	if c.Password != "fromfile" || strings.Contains(fmt.Sprint(c.Redacted()), "fromfile") {
		t.Errorf("password %q, redacted %q", c.Password, c.Redacted())
	}
}

// Messages the handler fails on at every poll stay unseen and are tried
// again; but a poll takes the oldest unseen messages first, so a batch of
// them held up every message behind them for good: new mail was never
// filed. Messages that failed are taken after the others.
func TestPollFailuresDoNotHoldUpNewMail(t *testing.T) {
	addr := imapServer(t,
		"From: a@example.com\r\nMessage-ID: <a@x>\r\nSubject: a\r\n\r\npoison\r\n",
		"From: b@example.com\r\nMessage-ID: <b@x>\r\nSubject: b\r\n\r\npoison\r\n",
		"From: c@example.com\r\nMessage-ID: <c@x>\r\nSubject: c\r\n\r\nnew mail\r\n")
	var mu sync.Mutex
	var got, tried []string
	h := inbound.HandlerFunc(func(_ context.Context, raw []byte, _ string, _ []string) error {
		mu.Lock()
		defer mu.Unlock()
		m, err := inbound.Parse(raw)
		if err != nil {
			return err
		}
		tried = append(tried, m.MessageID)
		if strings.Contains(m.Text, "poison") {
			return errors.New("fails every time")
		}
		got = append(got, m.MessageID)
		return nil
	})
	cfg, err := inbound.ParseIMAPURL("imap+insecure://u@"+addr, "p")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger, cfg.Batch = slog.New(slog.DiscardHandler), 2
	p, err := inbound.NewPoller(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := p.Poll(context.Background()); err == nil || res.Failed != 2 || res.Remaining != 1 {
		t.Fatalf("first poll = %+v, %v", res, err)
	}
	res, err := p.Poll(context.Background())
	if res.Delivered != 1 || strings.Join(got, "|") != "<c@x>" {
		t.Fatalf("second poll = %+v, %v: delivered %q, want the new mail", res, err, got)
	}
	// The failing ones are still tried, after it.
	if s := strings.Join(tried, "|"); s != "<a@x>|<b@x>|<c@x>|<a@x>" {
		t.Errorf("tried %q", s)
	}
}
