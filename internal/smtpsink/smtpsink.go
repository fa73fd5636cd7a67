// Package smtpsink is an SMTP relay on loopback that reads each message
// and drops it, counting what it received: what comptoir sends its mail
// to when only the sending's cost matters (the bench's serve process, the
// mail benchmarks). A real SMTP conversation, so the sending side runs as
// it does against a real relay.
package smtpsink

import (
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// Sink is a running relay; Close stops it.
type Sink struct {
	srv      *smtp.Server
	ln       net.Listener
	received atomic.Int64
}

// Start listens on a free loopback port and serves until Close.
func Start() (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sink{ln: ln}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "sink.invalid"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	s.srv.MaxMessageBytes = 32 << 20
	go s.srv.Serve(ln)
	return s, nil
}

// Addr is the sink's host:port.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Port is the sink's port.
func (s *Sink) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// URL is the --smtp-relay value that reaches the sink.
func (s *Sink) URL() string { return "smtp+plain://" + s.Addr() }

// Received is how many messages the sink has read whole.
func (s *Sink) Received() int64 { return s.received.Load() }

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Close() }

type backend struct{ s *Sink }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return session(b), nil }

type session struct{ s *Sink }

func (session) Reset()                               {}
func (session) Logout() error                        { return nil }
func (session) Mail(string, *smtp.MailOptions) error { return nil }
func (session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss session) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	ss.s.received.Add(1)
	return nil
}
