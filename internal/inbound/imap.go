package inbound

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// IMAP connection security, from the URL's scheme.
const (
	IMAPTLS      = "imaps"         // implicit TLS, port 993 by default
	IMAPStartTLS = "imap"          // STARTTLS required, port 143 by default
	IMAPInsecure = "imap+insecure" // no TLS at all: a server on the same machine or a test
)

// DefaultIMAPBatch is how many messages one poll takes at most; the next
// poll takes the rest.
const DefaultIMAPBatch = 50

// IMAPConfig configures polling one mailbox.
type IMAPConfig struct {
	Security string // IMAPTLS, IMAPStartTLS or IMAPInsecure
	Addr     string // host:port
	Username string
	Password string
	Mailbox  string // default INBOX
	// MaxMessageBytes: a larger message is not downloaded; its header goes
	// to the handler's DeliverTooLarge (default 25 MiB, as the SMTP listener).
	MaxMessageBytes int64
	Batch           int           // default DefaultIMAPBatch
	Timeout         time.Duration // dialing (default 30 s)
	TLSConfig       *tls.Config   // nil: the system roots, the host's name
	Logger          *slog.Logger  // nil: slog.Default(); bodies are never logged
}

// ParseIMAPURL reads imaps://user@host[:993][/MAILBOX],
// imap://user@host[:143][/MAILBOX] (STARTTLS required) or
// imap+insecure://user@host[:143][/MAILBOX]. A password in the URL is
// taken, but password (when not empty) wins: it is meant to come from a
// secret file.
func ParseIMAPURL(raw, password string) (IMAPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return IMAPConfig{}, errors.New("inbound: IMAP URL does not parse") // the error would echo a password
	}
	c := IMAPConfig{Security: u.Scheme}
	port := "993"
	switch u.Scheme {
	case IMAPTLS:
	case IMAPStartTLS, IMAPInsecure:
		port = "143"
	default:
		return IMAPConfig{}, fmt.Errorf("inbound: IMAP URL scheme %q: want imaps, imap (STARTTLS) or imap+insecure", u.Scheme)
	}
	if u.Hostname() == "" {
		return IMAPConfig{}, errors.New("inbound: IMAP URL has no host")
	}
	if u.Port() != "" {
		port = u.Port()
	}
	c.Addr = net.JoinHostPort(u.Hostname(), port)
	if u.User == nil || u.User.Username() == "" {
		return IMAPConfig{}, errors.New("inbound: IMAP URL has no user name (imaps://user@host/INBOX)")
	}
	c.Username = u.User.Username()
	c.Password, _ = u.User.Password()
	if password != "" {
		c.Password = password
	}
	if c.Password == "" {
		return IMAPConfig{}, errors.New("inbound: no IMAP password")
	}
	c.Mailbox = strings.Trim(u.Path, "/")
	if c.Mailbox == "" {
		c.Mailbox = "INBOX"
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return IMAPConfig{}, errors.New("inbound: IMAP URL takes no query or fragment")
	}
	return c, nil
}

// Redacted is the mailbox's URL without its password, for logs.
func (c IMAPConfig) Redacted() string {
	return c.Security + "://" + url.User(c.Username).String() + "@" + c.Addr + "/" + c.Mailbox
}

// TooLargeHandler is what a Handler may also do with a message above
// MaxMessageBytes: header is the message's header section only, size its
// full size. The poller marks it \Seen and \Flagged once this returns nil
// (it stays in the mailbox for a person, where says which); a handler
// without this method leaves such messages unseen, flagged and logged. The
// SMTP listener calls it too before it refuses a message for its size,
// with size 0 (unknown) and where empty (the message is kept nowhere).
type TooLargeHandler interface {
	DeliverTooLarge(ctx context.Context, header []byte, size, limit int64, where string) error
}

// Poller fetches the unseen messages of a mailbox and hands each to a
// Handler, the same one the SMTP listener delivers to. A message is marked
// \Seen only after the handler returned nil, that is after it was stored:
// a crash in between leaves it unseen, the next poll fetches it again and
// the handler's duplicate check (by Message-ID) keeps it once.
type Poller struct {
	cfg     IMAPConfig
	handler Handler
	log     *slog.Logger

	// failed holds the messages the handler failed on, in the mailbox of
	// UIDVALIDITY failedValidity: they are taken after the others, so
	// that messages failing at every poll (a batch of them) never hold up
	// the mail behind them. They are still tried when the batch has room.
	mu             sync.Mutex
	failed         map[imap.UID]bool
	failedValidity uint32
}

// NewPoller returns a Poller; it connects only when polling.
func NewPoller(cfg IMAPConfig, handler Handler) (*Poller, error) {
	if handler == nil {
		return nil, errors.New("inbound: nil handler")
	}
	switch cfg.Security {
	case IMAPTLS, IMAPStartTLS, IMAPInsecure:
	default:
		return nil, fmt.Errorf("inbound: IMAP security %q", cfg.Security)
	}
	if cfg.Addr == "" || cfg.Username == "" {
		return nil, errors.New("inbound: IMAP address and user name are required")
	}
	if cfg.Mailbox == "" {
		cfg.Mailbox = "INBOX"
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultIMAPBatch
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	p := &Poller{cfg: cfg, handler: handler, log: cfg.Logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	return p, nil
}

// PollResult counts what one poll did.
type PollResult struct {
	Delivered int // stored (or found already stored) and marked \Seen
	TooLarge  int // above the size limit: header handed over, or left flagged
	Failed    int // the handler failed: left unseen for the next poll
	Remaining int // unseen messages left for the next poll (batch limit)
}

func (p *Poller) dial() (*imapclient.Client, error) {
	opts := &imapclient.Options{TLSConfig: p.cfg.TLSConfig, Dialer: &net.Dialer{Timeout: p.cfg.Timeout}}
	switch p.cfg.Security {
	case IMAPTLS:
		return imapclient.DialTLS(p.cfg.Addr, opts)
	case IMAPStartTLS:
		return imapclient.DialStartTLS(p.cfg.Addr, opts)
	default:
		return imapclient.DialInsecure(p.cfg.Addr, opts)
	}
}

// Poll connects, takes up to Batch unseen messages (oldest first), hands
// each to the handler and marks it \Seen once stored. An unreachable
// server, a refused login or a broken connection is an error and changes
// nothing; a message the handler fails on is left unseen, the others go on,
// and Poll returns an error naming how many failed.
func (p *Poller) Poll(ctx context.Context) (res PollResult, err error) {
	c, err := p.dial()
	if err != nil {
		return res, fmt.Errorf("inbound: IMAP connect %s: %w", p.cfg.Addr, err)
	}
	// Cancelling ctx (the job's timeout, a shutdown) breaks the connection,
	// which fails the command in flight.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer func() {
		stop()
		if err == nil {
			_ = c.Logout().Wait()
		}
		c.Close()
	}()
	if err := c.Login(p.cfg.Username, p.cfg.Password).Wait(); err != nil {
		return res, fmt.Errorf("inbound: IMAP login as %s: %w", p.cfg.Username, err)
	}
	sel, err := c.Select(p.cfg.Mailbox, nil).Wait()
	if err != nil {
		return res, fmt.Errorf("inbound: IMAP select %s: %w", p.cfg.Mailbox, err)
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil {
		return res, fmt.Errorf("inbound: IMAP search: %w", err)
	}
	uids := p.order(sel.UIDValidity, found.AllUIDs())
	if len(uids) > p.cfg.Batch {
		res.Remaining = len(uids) - p.cfg.Batch
		uids = uids[:p.cfg.Batch]
	}
	if len(uids) == 0 {
		return res, nil
	}
	sizes, err := p.sizes(c, uids)
	if err != nil {
		return res, err
	}
	for _, uid := range uids {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		size, ok := sizes[uid]
		if !ok {
			continue // expunged meanwhile
		}
		if size > p.cfg.MaxMessageBytes {
			recorded, err := p.tooLarge(ctx, c, uid, size)
			if err != nil {
				return res, err
			}
			if recorded {
				res.TooLarge++
			} else {
				res.Failed++
			}
			p.setFailed(uid, !recorded)
			continue
		}
		raw, err := p.fetch(c, uid, nil, p.cfg.MaxMessageBytes)
		if err != nil {
			return res, err
		}
		if raw == nil {
			continue // expunged meanwhile
		}
		if err := p.deliver(ctx, raw); err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			p.log.Error("inbound imap: delivery failed, left unseen", "mailbox", p.cfg.Mailbox, "uid", uid, "bytes", len(raw), "err", err)
			res.Failed++
			p.setFailed(uid, true)
			continue
		}
		p.setFailed(uid, false)
		if err := p.mark(c, uid, imap.FlagSeen); err != nil {
			return res, err
		}
		res.Delivered++
	}
	p.log.Info("inbound imap: polled", "mailbox", p.cfg.Mailbox, "delivered", res.Delivered, "too_large", res.TooLarge,
		"failed", res.Failed, "remaining", res.Remaining)
	if res.Failed > 0 {
		return res, fmt.Errorf("inbound: %d IMAP message(s) could not be stored and stay unseen", res.Failed)
	}
	return res, nil
}

// order sorts the unseen messages oldest first, those the handler failed
// on at an earlier poll after the others, and forgets failures of
// messages no longer unseen (or of another UIDVALIDITY: other messages).
func (p *Poller) order(validity uint32, uids []imap.UID) []imap.UID {
	p.mu.Lock()
	defer p.mu.Unlock()
	if validity != p.failedValidity {
		p.failed, p.failedValidity = nil, validity
	}
	unseen := make(map[imap.UID]bool, len(uids))
	for _, u := range uids {
		unseen[u] = true
	}
	for u := range p.failed {
		if !unseen[u] {
			delete(p.failed, u)
		}
	}
	slices.SortFunc(uids, func(a, b imap.UID) int {
		if fa, fb := p.failed[a], p.failed[b]; fa != fb {
			if fa {
				return 1
			}
			return -1
		}
		return cmp.Compare(a, b)
	})
	return uids
}

func (p *Poller) setFailed(uid imap.UID, failed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !failed {
		delete(p.failed, uid)
		return
	}
	if p.failed == nil {
		p.failed = map[imap.UID]bool{}
	}
	p.failed[uid] = true
}

// sizes reads the RFC822.SIZE of each message.
func (p *Poller) sizes(c *imapclient.Client, uids []imap.UID) (map[imap.UID]int64, error) {
	msgs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("inbound: IMAP fetch sizes: %w", err)
	}
	out := make(map[imap.UID]int64, len(msgs))
	for _, m := range msgs {
		out[m.UID] = m.RFC822Size
	}
	return out, nil
}

// fetch reads one message's section (the whole message when section is
// nil) without setting \Seen, refusing more than limit bytes. It returns
// nil when the message is gone.
func (p *Poller) fetch(c *imapclient.Client, uid imap.UID, section *imap.FetchItemBodySection, limit int64) ([]byte, error) {
	if section == nil {
		section = &imap.FetchItemBodySection{}
	}
	section.Peek = true
	cmd := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
	defer cmd.Close()
	var raw []byte
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		for item := msg.Next(); item != nil; item = msg.Next() {
			body, ok := item.(imapclient.FetchItemDataBodySection)
			if !ok || body.Literal == nil {
				continue
			}
			b, err := io.ReadAll(io.LimitReader(body.Literal, limit+1))
			if err != nil {
				return nil, fmt.Errorf("inbound: IMAP fetch uid %d: %w", uid, err)
			}
			if int64(len(b)) > limit {
				return nil, fmt.Errorf("inbound: IMAP uid %d is larger than announced", uid)
			}
			raw = b
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("inbound: IMAP fetch uid %d: %w", uid, err)
	}
	return raw, nil
}

// tooLarge hands the header of an oversized message to the handler, then
// marks it \Seen and \Flagged; without a TooLargeHandler it is only flagged
// and logged, so that a person sees it in the mailbox.
// It reports whether the handler recorded it; a message left unseen is
// tried again at the next poll.
func (p *Poller) tooLarge(ctx context.Context, c *imapclient.Client, uid imap.UID, size int64) (bool, error) {
	where := fmt.Sprintf("%s UID %d", p.cfg.Mailbox, uid)
	p.log.Warn("inbound imap: message too large, not downloaded", "mailbox", p.cfg.Mailbox, "uid", uid,
		"bytes", size, "limit", p.cfg.MaxMessageBytes)
	h, ok := p.handler.(TooLargeHandler)
	if !ok {
		return true, p.mark(c, uid, imap.FlagFlagged)
	}
	header, err := p.fetch(c, uid, &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader}, 1<<20)
	if err != nil {
		return false, err
	}
	if header == nil {
		return true, nil // expunged meanwhile: nothing left to record
	}
	if err := h.DeliverTooLarge(ctx, header, size, p.cfg.MaxMessageBytes, where); err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		p.log.Error("inbound imap: recording a message too large failed, left unseen", "mailbox", p.cfg.Mailbox, "uid", uid, "err", err)
		return false, p.mark(c, uid, imap.FlagFlagged)
	}
	return true, p.mark(c, uid, imap.FlagSeen, imap.FlagFlagged)
}

func (p *Poller) mark(c *imapclient.Client, uid imap.UID, flags ...imap.Flag) error {
	err := c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close()
	if err != nil {
		return fmt.Errorf("inbound: IMAP store flags on uid %d: %w", uid, err)
	}
	return nil
}

// deliver calls the handler like the SMTP listener does, with the
// envelope sender the receiving server wrote in Return-Path ("" for a
// bounce).
func (p *Poller) deliver(ctx context.Context, raw []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	return p.handler.Deliver(ctx, raw, EnvelopeSender(raw), nil)
}

// EnvelopeSender is the envelope sender of a message taken from a mailbox:
// its Return-Path ("" for "<>", a bounce), else its From address, else
// "unknown" (not a bounce: only Return-Path can say that).
func EnvelopeSender(raw []byte) string {
	h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if rp, ok := h["Return-Path"]; ok && len(rp) > 0 {
		return strings.Trim(strings.TrimSpace(rp[0]), "<>")
	}
	if a, err := mail.ParseAddress(h.Get("From")); err == nil {
		return a.Address
	}
	return "unknown"
}

// EnvelopeRecipients are the addresses a message taken from a mailbox was
// delivered to, as the delivering MTA recorded them (Delivered-To,
// X-Original-To): where a reply address in Bcc shows, since To does not.
func EnvelopeRecipients(raw []byte) []string {
	h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	var out []string
	for _, k := range []string{"Delivered-To", "X-Original-To"} {
		for _, v := range h[k] {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}
