package mail_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"comptoir/internal/testport"
)

// envelope is one message as a test relay received it.
type envelope struct {
	From string
	To   []string
	Data []byte
	// User is who authenticated, empty without AUTH.
	User string
}

// relay is a real SMTP server on loopback that records what it receives.
type relay struct {
	srv  *smtp.Server
	l    net.Listener
	addr string
	port int

	// Set before start.
	user, pass string               // require AUTH PLAIN with these
	rejectRcpt func(to string) bool // answer 550 to these RCPTs
	deferRcpt  func(to string) bool // answer 451 (try later) to these RCPTs

	connections atomic.Int64 // SMTP sessions opened (again after STARTTLS)

	mu      sync.Mutex
	got     []envelope
	arrived chan struct{}
}

type relayOption func(*relay)

func withAuth(user, pass string) relayOption {
	return func(r *relay) { r.user, r.pass = user, pass }
}

func withTLS(cfg *tls.Config) relayOption {
	return func(r *relay) { r.srv.TLSConfig = cfg }
}

func rejectingRecipients() relayOption {
	return func(r *relay) { r.rejectRcpt = func(string) bool { return true } }
}

// deferring answers 451 (try again later) to RCPT TO addr only.
func deferring(addr string) relayOption {
	return func(r *relay) { r.deferRcpt = func(to string) bool { return to == addr } }
}

// rejecting answers 550 to RCPT TO addr only.
func rejecting(addr string) relayOption {
	return func(r *relay) { r.rejectRcpt = func(to string) bool { return to == addr } }
}

// stoppableAddr is the address of a relay that a test stops, expecting
// connections refused, and may start again on it: its port is never one
// the kernel may hand to another listener meanwhile (testport).
func stoppableAddr(t *testing.T) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(testport.Free(t))
}

// startRelay listens on addr ("127.0.0.1:0" for any port) and serves until
// the test ends or Close is called.
func startRelay(t *testing.T, addr string, opts ...relayOption) *relay {
	t.Helper()
	r := &relay{arrived: make(chan struct{}, 100)}
	r.srv = smtp.NewServer(r)
	r.srv.Domain = "relay.test"
	r.srv.ReadTimeout = 10 * time.Second
	r.srv.WriteTimeout = 10 * time.Second
	r.srv.ErrorLog = log.New(io.Discard, "", 0)
	for _, o := range opts {
		o(r)
	}
	// Without TLS the test relay still offers AUTH, as a relay on the
	// same machine may; the client decides whether that is acceptable.
	r.srv.AllowInsecureAuth = r.srv.TLSConfig == nil
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	r.l = l
	r.addr = l.Addr().String()
	_, port, _ := net.SplitHostPort(r.addr)
	r.port, _ = strconv.Atoi(port)
	go r.srv.Serve(l)
	t.Cleanup(r.Close)
	return r
}

// Close stops the relay: connections are refused from now on. It closes
// the listener itself because Server.Close only knows the listeners that
// Serve has registered, and Serve may not have started yet.
func (r *relay) Close() {
	r.l.Close()
	r.srv.Close()
}

func (r *relay) received() []envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]envelope(nil), r.got...)
}

// waitReceived waits until the relay holds n messages.
func (r *relay) waitReceived(t *testing.T, n int) []envelope {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if got := r.received(); len(got) >= n {
			return got
		}
		select {
		case <-r.arrived:
		case <-deadline:
			t.Fatalf("relay received %d messages, want %d", len(r.received()), n)
		}
	}
}

// NewSession implements smtp.Backend.
func (r *relay) NewSession(*smtp.Conn) (smtp.Session, error) {
	r.connections.Add(1)
	return &session{r: r}, nil
}

type session struct {
	r    *relay
	user string
	env  envelope
}

func (s *session) AuthMechanisms() []string {
	if s.r.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.r.user || pass != s.r.pass {
			return errors.New("bad credentials")
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.r.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.env = envelope{From: from, User: s.user}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.r.mu.Lock()
	deferTo := s.r.deferRcpt
	s.r.mu.Unlock()
	if deferTo != nil && deferTo(to) {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full, try later"}
	}
	if s.r.rejectRcpt != nil && s.r.rejectRcpt(to) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	s.env.To = append(s.env.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.env.Data = b
	s.r.mu.Lock()
	s.r.got = append(s.r.got, s.env)
	s.r.mu.Unlock()
	select {
	case s.r.arrived <- struct{}{}:
	default: // a waiter re-reads the list anyway
	}
	return nil
}

func (s *session) Reset()        { s.env = envelope{} }
func (s *session) Logout() error { return nil }

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "relay.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
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
