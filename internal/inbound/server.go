package inbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"comptoir/internal/clientaddr"
	"comptoir/internal/locale"
)

// Defaults for Config.
const (
	DefaultMaxMessageBytes = 25 << 20 // 25 MiB
	DefaultMaxRecipients   = 50
	DefaultTimeout         = 5 * time.Minute
	DefaultMaxConnections  = 20
	// DefaultMaxConnectionsPerIP leaves most of the sessions to other
	// senders when one address opens as many as it can, and is still more
	// than a support mailbox's mail needs from one relay: a mail server
	// told 421 keeps the message and sends it in a later session.
	DefaultMaxConnectionsPerIP = 5
)

// Handler receives each accepted message, once, after DATA completes. An
// error makes the server answer 451 (temporary failure) so the sending MTA
// keeps the message and retries: nothing is lost. raw is exactly the bytes
// received (dot-stuffing removed, line endings untouched); Parse it, store
// it, and only then return nil. envelopeFrom is "" for bounces.
type Handler interface {
	Deliver(ctx context.Context, raw []byte, envelopeFrom string, rcpts []string) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, raw []byte, envelopeFrom string, rcpts []string) error

// Deliver calls f.
func (f HandlerFunc) Deliver(ctx context.Context, raw []byte, envelopeFrom string, rcpts []string) error {
	return f(ctx, raw, envelopeFrom, rcpts)
}

// Config configures the SMTP listener (--smtp-listen).
type Config struct {
	Addr   string // listen address for ListenAndServe, e.g. ":2525"
	Domain string // announced in the greeting and EHLO
	// SupportAddresses are the only accepted recipients, with their
	// +TOKEN forms (support+7k3p9qab@shop.example); any other RCPT gets 550.
	SupportAddresses []string
	MaxMessageBytes  int64 // default 25 MiB; larger messages get 552 and are not delivered
	MaxRecipients    int   // default 50; the next RCPT gets 452 "too many recipients"
	// MaxConnections bounds the sessions open at once (default 20): each
	// holds a goroutine and up to a message in memory, and one client
	// could otherwise open thousands. The next connection is answered 421
	// and closed; a mail server retries it later.
	MaxConnections int
	// MaxConnectionsPerIP bounds the sessions one client address (an IPv6
	// client: its /64) holds at once (default 5), so that one sender cannot take every place of
	// MaxConnections; its next connection is answered 421 while other
	// addresses still get in.
	MaxConnectionsPerIP int
	ReadTimeout         time.Duration
	WriteTimeout        time.Duration
	// DeliverTimeout bounds one Handler call (default 1 minute).
	DeliverTimeout time.Duration
	Logger         *slog.Logger // nil: slog.Default(); bodies are never logged
}

// Server is the inbound SMTP listener. It does no relaying and no auth: it
// only accepts mail for the support addresses.
type Server struct {
	cfg Config
	// errTooLarge is the answer to a message above the size limit.
	errTooLarge *smtp.SMTPError
	handler     Handler
	smtp        *smtp.Server
	log         *slog.Logger
	ctx         context.Context
	cancel      context.CancelFunc
	// stopping is set by Shutdown, which closes the listeners itself.
	stopping atomic.Bool
	mu       sync.Mutex
	// listeners are those Serve was given.
	listeners []*cappedListener
	// receiving counts the messages between the start of DATA and the
	// answer, which Shutdown lets finish; drained, when set, is closed
	// when it comes back to zero.
	receiving int
	drained   chan struct{}
}

// NewServer returns a Server; it does not listen until Serve or
// ListenAndServe.
func NewServer(cfg Config, handler Handler) (*Server, error) {
	if handler == nil {
		return nil, errors.New("inbound: nil handler")
	}
	if len(cfg.SupportAddresses) == 0 {
		return nil, errors.New("inbound: no support addresses")
	}
	for _, a := range cfg.SupportAddresses {
		if _, _, ok := splitAddr(a); !ok {
			return nil, fmt.Errorf("inbound: bad support address %q", a)
		}
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = DefaultMaxRecipients
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.MaxConnectionsPerIP <= 0 {
		cfg.MaxConnectionsPerIP = DefaultMaxConnectionsPerIP
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultTimeout
	}
	if cfg.DeliverTimeout <= 0 {
		cfg.DeliverTimeout = time.Minute
	}
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	s := &Server{cfg: cfg, handler: handler, log: cfg.Logger, errTooLarge: tooLargeError(cfg.MaxMessageBytes)}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Addr = cfg.Addr
	srv.Domain = cfg.Domain
	// The size limit is enforced in the session (Data), not by go-smtp,
	// whose limit a sender learns first: announced in EHLO, it makes a
	// relay such as Postfix bounce a larger message without sending it,
	// and a SIZE= above it is refused at MAIL; a message sent in BDAT
	// chunks (CHUNKING) past it is cut off unseen. In all three the desk
	// never learnt the customer wrote. Now every message is sent, its
	// header kept, and the rest refused with 552 after it.
	srv.MaxMessageBytes = 0
	// The recipient limit is enforced in the session (452 "too many
	// recipients"); go-smtp's own check would answer first with its wording.
	srv.MaxRecipients = 0
	// go-smtp refuses lines past 2,000 characters, as RFC 5321 allows; but
	// mail arrives with longer ones (Postfix splits only past 2,048), and a
	// refusal is temporary: retried until the sender gives up, the message
	// would be lost. The message size limit bounds what a line may hold.
	srv.MaxLineLength = maxLineLength
	// Mail from an internationalized address (élodie@exemple.fr, RFC
	// 6531) is relayed only to a server that offers SMTPUTF8; refused, it
	// would bounce and never reach the desk. The parser reads UTF-8
	// headers whatever the transport said.
	srv.EnableSMTPUTF8 = true
	srv.ReadTimeout = cfg.ReadTimeout
	srv.WriteTimeout = cfg.WriteTimeout
	srv.ErrorLog = slogPrinter{s.log}
	s.smtp = srv
	return s, nil
}

// maxLineLength is the longest line the listener takes, commands included.
const maxLineLength = 1 << 20

// ListenAndServe listens on Config.Addr and serves until Close or Shutdown.
func (s *Server) ListenAndServe() error {
	addr := s.cfg.Addr
	if addr == "" {
		addr = ":smtp"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve serves connections accepted from ln until Close or Shutdown, at
// most Config.MaxConnections at once and Config.MaxConnectionsPerIP from
// one client address.
func (s *Server) Serve(ln net.Listener) error {
	capped := &cappedListener{Listener: ln, slots: make(chan struct{}, s.cfg.MaxConnections),
		perIP: s.cfg.MaxConnectionsPerIP, byIP: map[string]int{}, domain: s.cfg.Domain, log: s.log}
	s.mu.Lock()
	s.listeners = append(s.listeners, capped)
	s.mu.Unlock()
	if s.stopping.Load() {
		capped.Close()
	}
	err := s.smtp.Serve(capped)
	if s.stopping.Load() && errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// cappedListener hands go-smtp at most cap(slots) connections at once,
// and at most perIP from one client address (an IPv6 client: its /64). One more is answered 421
// (RFC 5321 4.5.4.1 lets a server refuse a session with it: the sender
// keeps the message and tries again later) and closed, without a
// goroutine of its own beyond the accept loop.
type cappedListener struct {
	net.Listener
	slots chan struct{}
	perIP int
	// byIP counts the sessions open per client address; an address
	// leaves the map with its last session.
	mu     sync.Mutex
	byIP   map[string]int
	domain string
	log    *slog.Logger
	// closeOnce: Shutdown closes the listener, then go-smtp's Close again.
	closeOnce sync.Once
	closeErr  error
}

func (l *cappedListener) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.Listener.Close() })
	return l.closeErr
}

// refuseWriteTimeout bounds writing the 421 to a client that does not
// read: the accept loop must not wait on it.
const refuseWriteTimeout = time.Second

func (l *cappedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		// An IPv6 client counts as its /64, which one host may be given
		// whole: counted per address, each new one had the cap again.
		ip := clientaddr.LimitKey(clientIP(c))
		if !l.takeIP(ip) {
			l.refuse(c, "too many connections from your address", "inbound smtp: too many connections from one address, refused with 421",
				"limit", l.perIP)
			continue
		}
		select {
		case l.slots <- struct{}{}:
			return &slotConn{Conn: c, release: func() { <-l.slots; l.releaseIP(ip) }}, nil
		default:
		}
		l.releaseIP(ip)
		l.refuse(c, "too many connections", "inbound smtp: too many connections, refused with 421", "limit", cap(l.slots))
	}
}

// refuse answers c 421 with reason and closes it, logging why.
func (l *cappedListener) refuse(c net.Conn, reason, logMsg string, logArgs ...any) {
	l.log.Warn(logMsg, append([]any{"remote", c.RemoteAddr().String()}, logArgs...)...)
	_ = c.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
	_, _ = io.WriteString(c, "421 4.7.0 "+l.domain+" "+reason+", try again later\r\n")
	_ = c.Close()
}

// takeIP counts one more session from ip, unless it already holds perIP.
func (l *cappedListener) takeIP(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP[ip] >= l.perIP {
		return false
	}
	l.byIP[ip]++
	return true
}

func (l *cappedListener) releaseIP(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

// clientIP is the address c comes from, without its port: what the
// per-address cap counts.
func clientIP(c net.Conn) string {
	addr := c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// slotConn gives its slot back once, when go-smtp closes it (it may close
// a connection more than once).
type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// Close stops listening and closes every connection at once; deliveries in
// progress see their context cancelled (their senders get no 250 and retry).
func (s *Server) Close() error {
	s.cancel()
	return s.smtp.Close()
}

// Shutdown stops listening, lets every message being received or
// delivered finish and get its answer, then closes the remaining
// connections, idle between messages (their senders retry what they had
// not sent yet). When ctx ends first it behaves like Close, and returns
// ctx's error. Waiting for idle sessions too, as go-smtp's own Shutdown
// does, held a stopping process until each sender's read timeout.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	received := make(chan struct{})
	s.mu.Lock()
	for _, l := range s.listeners {
		_ = l.Close()
	}
	if s.receiving == 0 {
		close(received)
	} else {
		s.drained = received
	}
	s.mu.Unlock()
	var err error
	select {
	case <-received:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.cancel()
	if cerr := s.smtp.Close(); cerr != nil && !errors.Is(cerr, smtp.ErrServerClosed) && err == nil {
		err = cerr
	}
	return err
}

func (s *Server) startReceiving() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.receiving++
}

func (s *Server) endReceiving() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.receiving--
	if s.receiving == 0 && s.drained != nil {
		close(s.drained)
		s.drained = nil
	}
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	remote := ""
	var peer netip.Addr
	if c.Conn() != nil {
		remote = c.Conn().RemoteAddr().String()
		if ap, err := netip.ParseAddrPort(remote); err == nil {
			peer = ap.Addr().Unmap().WithZone("")
		}
	}
	return &session{srv: s, remote: remote, peer: peer}, nil
}

type peerKey struct{}

// withPeer records in ctx the address of the SMTP client whose message is
// being delivered (the zero Addr when it is unknown).
func withPeer(ctx context.Context, peer netip.Addr) context.Context {
	return context.WithValue(ctx, peerKey{}, peer)
}

// Peer tells a Handler which SMTP client handed the Server the message it
// is given: its address (IPv4-mapped addresses unmapped; the zero Addr
// when the connection's address could not be read), and ok true. ok is
// false for a message that did not come through a Server's connection
// (the IMAP poller, a direct call). A mail server's Authentication-Results
// mean something only when it is that server that connected: anyone
// reaching the listener can write the header.
func Peer(ctx context.Context) (addr netip.Addr, ok bool) {
	addr, ok = ctx.Value(peerKey{}).(netip.Addr)
	return addr, ok
}

type envelopeFromKey struct{}

// EnvelopeFrom tells a TooLargeHandler the SMTP envelope sender (MAIL
// FROM, "" for the null reverse-path of bounces and automatic answers) of
// the message the SMTP listener refused for its size, and ok true; ok is
// false for any other call (the IMAP poller, whose message's Return-Path
// says it: EnvelopeSender). Deliver is given it as an argument.
func EnvelopeFrom(ctx context.Context) (from string, ok bool) {
	from, ok = ctx.Value(envelopeFromKey{}).(string)
	return from, ok
}

type session struct {
	srv    *Server
	remote string
	peer   netip.Addr // the client, for Peer
	mu     sync.Mutex
	from   string
	rcpts  []string
}

var (
	errTooManyRcpts = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3}, Message: "too many recipients"}
	errUnknownRcpt  = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox here"}
	errTempFailure  = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "temporary failure, try again later"}
)

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	se.mu.Lock()
	defer se.mu.Unlock()
	se.from = from
	se.rcpts = se.rcpts[:0]
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.mu.Lock()
	defer se.mu.Unlock()
	if len(se.rcpts) >= se.srv.cfg.MaxRecipients {
		return errTooManyRcpts
	}
	if !IsSupportRecipient(to, se.srv.cfg.SupportAddresses) {
		return errUnknownRcpt
	}
	se.rcpts = append(se.rcpts, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	se.srv.startReceiving()
	defer se.srv.endReceiving()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(r, se.srv.cfg.MaxMessageBytes+1)); err != nil {
		se.srv.log.Warn("inbound smtp: reading DATA failed", "remote", se.remote, "err", err)
		return errTempFailure
	}
	if int64(buf.Len()) > se.srv.cfg.MaxMessageBytes {
		se.srv.log.Warn("inbound smtp: message too large, rejected",
			"remote", se.remote, "limit", se.srv.cfg.MaxMessageBytes)
		se.tooLarge(buf.Bytes())
		// go-smtp reads the rest of a DATA message, or of the BDAT chunk,
		// before it answers.
		return se.srv.errTooLarge
	}
	se.mu.Lock()
	from, rcpts := se.from, append([]string(nil), se.rcpts...)
	se.mu.Unlock()

	if err := se.deliver(buf.Bytes(), from, rcpts); err != nil {
		se.srv.log.Error("inbound smtp: delivery failed, answered 451",
			"remote", se.remote, "bytes", buf.Len(), "rcpts", len(rcpts), "err", err)
		return errTempFailure
	}
	se.srv.log.Info("inbound smtp: message accepted",
		"remote", se.remote, "bytes", buf.Len(), "rcpts", len(rcpts))
	return nil
}

// deliver calls the handler, turning a panic into an error, so that the
// client gets the same 451 as for any failed delivery (go-smtp alone would
// answer 421 and drop the connection).
func (se *session) deliver(raw []byte, from string, rcpts []string) (err error) {
	ctx, cancel := context.WithTimeout(withPeer(se.srv.ctx, se.peer), se.srv.cfg.DeliverTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	return se.srv.handler.Deliver(ctx, raw, from, rcpts)
}

// tooLarge hands the header of a message refused for its size to a
// TooLargeHandler, so that the desk records that it came (its sender's
// server is told with the 552 and tells them): a message is never dropped
// without a trace. size is 0 (unknown: the rest is not read) and where is
// empty (the message is kept nowhere). A failure is logged; the answer
// stays 552.
func (se *session) tooLarge(partial []byte) {
	h, ok := se.srv.handler.(TooLargeHandler)
	if !ok {
		return
	}
	header := partial
	if i := bytes.Index(partial, []byte("\r\n\r\n")); i >= 0 {
		header = partial[:i+2]
	} else if i := bytes.Index(partial, []byte("\n\n")); i >= 0 {
		header = partial[:i+1]
	}
	if len(header) > maxRefusedHeader {
		header = header[:maxRefusedHeader]
	}
	se.mu.Lock()
	from := se.from
	se.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithValue(withPeer(se.srv.ctx, se.peer), envelopeFromKey{}, from), se.srv.cfg.DeliverTimeout)
	defer cancel()
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("handler panic: %v", r)
			}
		}()
		return h.DeliverTooLarge(ctx, header, 0, se.srv.cfg.MaxMessageBytes, "")
	}()
	if err != nil {
		se.srv.log.Error("inbound smtp: recording a message too large failed", "remote", se.remote, "err", err)
	}
}

// tooLargeError is the 552 a message above limit is answered with. The
// sender's mail server quotes it in the bounce the sender reads, which
// said only go-smtp's "Maximum message size exceeded": neither the limit
// nor what to do. It says both, as people read sizes, in English and
// French (the sender's language is unknown here), in ASCII as SMTP
// answers are.
func tooLargeError(limit int64) *smtp.SMTPError {
	m := locale.MustLoad()
	size := func(lang string) string {
		return strings.NewReplacer("\u00a0", " ", "\u202f", " ").Replace(m.Size(lang, limit))
	}
	return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message too large: this address takes messages of " +
		size(locale.EN) + " at most; send large files as links, or in several messages. " +
		"Message trop volumineux : cette adresse prend les messages de " + size(locale.FR) +
		" au plus ; envoyez les gros fichiers sous forme de liens, ou en plusieurs messages."}
}

// maxRefusedHeader bounds the header kept of a message refused for its
// size (real headers are a few kilobytes).
const maxRefusedHeader = 256 << 10

func (se *session) Reset() {
	se.mu.Lock()
	defer se.mu.Unlock()
	se.from = ""
	se.rcpts = nil
}

func (se *session) Logout() error { return nil }

// slogPrinter adapts slog to go-smtp's Logger (protocol errors only: go-smtp
// never logs message contents).
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.l.Warn("inbound smtp: " + strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (p slogPrinter) Println(v ...any) {
	p.l.Warn("inbound smtp: " + strings.TrimSpace(fmt.Sprintln(v...)))
}
