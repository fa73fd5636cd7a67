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

// Session is an open connection to the relay. After a Send error other
// than a refusal of that message, the connection may be broken: close it
// and open another.
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
		return err
	}
	c, err := s.client()
	if err != nil {
		return err
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp %s:%d: %w", s.cfg.Host, s.cfg.Port, err)
	}
	return nil
}

// Session connects to the relay (TLS and authentication as configured)
// for several messages.
func (s *SMTPSender) Session(ctx context.Context) (Session, error) {
	c, err := s.client()
	if err != nil {
		return nil, err
	}
	if err := c.DialWithContext(ctx); err != nil {
		return nil, fmt.Errorf("smtp %s:%d: %w", s.cfg.Host, s.cfg.Port, err)
	}
	return &smtpSession{c: c, s: s}, nil
}

type smtpSession struct {
	c *gomail.Client
	s *SMTPSender
}

// Send delivers m on the session's connection. A refused recipient leaves
// the connection usable (the client resets the transaction).
func (ss *smtpSession) Send(ctx context.Context, m Stored) error {
	msg, err := compose(m)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ss.c.Send(msg); err != nil {
		return fmt.Errorf("smtp %s:%d: %w", ss.s.cfg.Host, ss.s.cfg.Port, err)
	}
	return nil
}

func (ss *smtpSession) Close() error { return ss.c.Close() }

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
