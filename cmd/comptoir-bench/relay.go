package main

import (
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// mailSink is the relay comptoir serve sends its outgoing mail to during a
// run: a real SMTP conversation on loopback whose messages are read and
// dropped. A real store sends through a relay; without one comptoir writes
// each message to a file with two fsyncs, which would compete with the
// database's own flushes on the same disk and measure the demo set-up.
type mailSink struct {
	srv      *smtp.Server
	ln       net.Listener
	received atomic.Int64
}

func startMailSink() (*mailSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &mailSink{ln: ln}
	s.srv = smtp.NewServer(sinkBackend{s})
	s.srv.Domain = "sink.bench.invalid"
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	s.srv.MaxMessageBytes = 32 << 20
	go s.srv.Serve(ln)
	return s, nil
}

// URL is the --smtp-relay value that reaches the sink.
func (s *mailSink) URL() string { return "smtp+plain://" + s.ln.Addr().String() }

func (s *mailSink) close() { s.srv.Close() }

type sinkBackend struct{ s *mailSink }

func (b sinkBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return sinkSession(b), nil }

type sinkSession struct{ s *mailSink }

func (sinkSession) Reset()                               {}
func (sinkSession) Logout() error                        { return nil }
func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	ss.s.received.Add(1)
	return nil
}
