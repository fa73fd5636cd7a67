package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Sender hands a stored message to whatever delivers it. Send must be safe
// to call again for the same message: the worker retries after a failure
// and, rarely, after a crash that followed a successful send.
type Sender interface {
	Send(ctx context.Context, m Stored) error
}

// A SessionSender can also send several messages over one connection: a
// batch (BatchWorker) opens a session, sends its messages through it and
// closes it, instead of connecting, greeting, securing and authenticating
// once per message.
type SessionSender interface {
	Sender
	Session(ctx context.Context) (Session, error)
}

// Session is a connection to the relay kept for several messages; it
// connects again by itself when it loses the connection.
type Session interface {
	Send(ctx context.Context, m Stored) error
	Close() error
}

// TLSMode is how the connection to the relay is protected.
type TLSMode string

const (
	// TLSNone sends in clear: only for a relay on the same machine.
	TLSNone TLSMode = "none"
	// TLSStartTLS connects in clear and requires STARTTLS before anything
	// else (the submission port, 587).
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (port 465).
	TLSImplicit TLSMode = "tls"
)

// SMTPConfig says how to reach the relay.
type SMTPConfig struct {
	Host string
	// Port defaults to 587 with STARTTLS, 465 with TLS and 25 without.
	Port     int
	Username string // empty: no authentication
	Password string
	TLS      TLSMode // defaults to STARTTLS
	// Timeout bounds the connection and each SMTP command; 30 s when zero.
	Timeout time.Duration
	// HELO is the name given to the relay; the machine's host name when empty.
	HELO string
	// TLSConfig overrides the TLS settings (a private CA, in tests); its
	// ServerName defaults to Host.
	TLSConfig *tls.Config
}

// ParseRelayURL reads the --smtp-relay setting: smtp://user:pass@host:587
// (STARTTLS), smtps://…:465 (TLS) or smtp+plain://… (no TLS).
func ParseRelayURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, fmt.Errorf("smtp relay URL: %w", err)
	}
	var cfg SMTPConfig
	switch u.Scheme {
	case "smtp":
		cfg.TLS = TLSStartTLS
	case "smtps":
		cfg.TLS = TLSImplicit
	case "smtp+plain":
		cfg.TLS = TLSNone
	default:
		return SMTPConfig{}, fmt.Errorf("smtp relay URL: scheme %q (want smtp, smtps or smtp+plain)", u.Scheme)
	}
	cfg.Host = u.Hostname()
	if p := u.Port(); p != "" {
		if cfg.Port, err = strconv.Atoi(p); err != nil {
			return SMTPConfig{}, fmt.Errorf("smtp relay URL: port %q", p)
		}
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	return cfg, cfg.check()
}

func (c *SMTPConfig) check() error {
	if c.Host == "" {
		return errors.New("smtp relay: no host")
	}
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		switch c.TLS {
		case TLSImplicit:
			c.Port = 465
		case TLSNone:
			c.Port = 25
		default:
			c.Port = 587
		}
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("smtp relay: port %d", c.Port)
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	switch c.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return fmt.Errorf("smtp relay: TLS mode %q (want none, starttls or tls)", c.TLS)
	}
	return nil
}

// SMTPSender delivers through an SMTP relay, one connection per message:
// mail leaves at the pace of jobs, and a fresh connection never inherits a
// broken one's state.
type SMTPSender struct {
	cfg SMTPConfig
}

// NewSMTPSender checks cfg and returns a sender. It does not connect: a
// relay that is down at start-up is a retry later, not a refusal to start.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s := &SMTPSender{cfg: cfg}
	if _, err := s.client(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *SMTPSender) client() (*gomail.Client, error) {
	cfg := s.cfg
	tc := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = cfg.Host
		}
	}
	opts := []gomail.Option{
		gomail.WithPort(cfg.Port),
		gomail.WithTimeout(cfg.Timeout),
		gomail.WithTLSConfig(tc),
		// Three commands per message (MAIL, RCPT, DATA) instead of six:
		// no NOOP before each message to probe the connection (a dead one
		// fails at MAIL, before anything is sent, and the session connects
		// again: smtpSession.Send), nor NOOP and RSET after it (the
		// relay's 250 to the data already ended the transaction). Each is
		// a round trip to the relay.
		gomail.WithoutNoop(),
		gomail.WithoutRset(),
	}
	switch cfg.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS:
		// Mandatory, not opportunistic: a relay that stops offering
		// STARTTLS (or a man in the middle who strips it) must not get the
		// password and the mail in clear.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	}
	if cfg.Username != "" {
		// Auto-discovery picks the strongest mechanism the relay offers and
		// never sends PLAIN or LOGIN over an unencrypted connection.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	c, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp relay: %w", err)
	}
	return c, nil
}

// Send delivers m to the relay.
func (s *SMTPSender) Send(ctx context.Context, m Stored) error {
	msg, err := compose(m)
	if err != nil {
		return &messageError{err}
	}
	c, err := s.client()
	if err != nil {
		return err
	}
	// A failure after the relay took the message (the RSET or QUIT that
	// follow) is not a failure to send it: reporting one would send it
	// again.
	if err := c.DialAndSendWithContext(ctx, msg); err != nil && !msg.IsDelivered() {
		return fmt.Errorf("smtp %s:%d: %w", s.cfg.Host, s.cfg.Port, err)
	}
	return nil
}

// Session connects to the relay (TLS and authentication as configured)
// for several messages.
func (s *SMTPSender) Session(ctx context.Context) (Session, error) {
	ss := &smtpSession{s: s}
	if err := ss.connect(ctx); err != nil {
		return nil, err
	}
	return ss, nil
}

// smtpSession keeps one connection for a batch, and connects again after
// losing it.
type smtpSession struct {
	s *SMTPSender
	c *gomail.Client // nil once the connection is closed or given up
}

func (ss *smtpSession) connect(ctx context.Context) error {
	c, err := ss.s.client()
	if err != nil {
		return err
	}
	if err := c.DialWithContext(ctx); err != nil {
		return fmt.Errorf("smtp %s:%d: %w", ss.s.cfg.Host, ss.s.cfg.Port, err)
	}
	ss.c = c
	return nil
}

func (ss *smtpSession) drop() {
	if ss.c != nil {
		ss.c.Close()
		ss.c = nil
	}
}

// Send delivers m on the session's connection, connecting again if the
// last one was given up. A reused connection found dead before anything
// was sent (the relay closed it while it was idle) is replaced at once and
// m sent on the new one. After any failure but a refusal of m itself the
// connection is given up; after a failure that came once the relay took m,
// m counts as sent.
func (ss *smtpSession) Send(ctx context.Context, m Stored) error {
	msg, err := compose(m)
	if err != nil {
		return &messageError{err}
	}
	for reconnected := false; ; reconnected = true {
		fresh := ss.c == nil
		if fresh {
			if err := ss.connect(ctx); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		err := ss.c.Send(msg)
		switch {
		case err == nil:
			return nil
		case msg.IsDelivered():
			ss.drop()
			return nil
		}
		if !fresh && !reconnected && connectionLost(err) {
			ss.drop()
			continue
		}
		if !messageFailure(err) {
			ss.drop()
		}
		return fmt.Errorf("smtp %s:%d: %w", ss.s.cfg.Host, ss.s.cfg.Port, err)
	}
}

// connectionLost reports whether a send failed on a connection that was
// already dead: the relay did not answer the first command of the message
// (MAIL, or the connection check), so nothing of it was sent and sending it
// on a new connection cannot send it twice. A reply from the relay (a
// 4xx or 5xx code) is not a lost connection.
func connectionLost(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.ErrorCode() == 0 &&
		(se.Reason == gomail.ErrConnCheck || se.Reason == gomail.ErrSMTPMailFrom)
}

func (ss *smtpSession) Close() error {
	ss.drop()
	return nil
}

// messageError is a message that could not be made ready to send (composed,
// its attachment drawn): a failure of that message, not of the relay.
type messageError struct{ err error }

func (e *messageError) Error() string { return e.err.Error() }
func (e *messageError) Unwrap() error { return e.err }

// messageFailure reports whether a send failed because of the message
// itself (a recipient or its content refused, for now or for good; it
// could not be made ready), so that the next message of a batch may well
// go. Anything else (the relay unreachable, refusing the connection, the
// sender or the password; a connection lost) would meet the next message
// too.
func messageFailure(err error) bool {
	var me *messageError
	if errors.As(err, &me) {
		return true
	}
	var se *gomail.SendError
	return errors.As(err, &se) && (se.Reason == gomail.ErrSMTPRcptTo || se.Reason == gomail.ErrSMTPDataClose)
}

// permanent reports whether a send failed for a reason that retrying cannot
// change: the relay refused the recipient or the content with a 5xx reply.
// Other failures, permanent-looking ones included (a 5xx to MAIL FROM, a
// rejected password), are configuration that an operator can fix, so they
// keep retrying.
func permanent(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.IsTemp() {
		return false
	}
	code := se.ErrorCode()
	if code < 500 || code > 599 {
		return false
	}
	return se.Reason == gomail.ErrSMTPRcptTo || se.Reason == gomail.ErrSMTPDataClose
}
