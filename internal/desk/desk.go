// Package desk is the support desk: tickets opened from the Contact page or
// by email, threaded replies by email and from the pages, internal notes,
// assignment, SLA deadlines and the satisfaction survey after closing.
//
// Every use case runs in one transaction: the ticket, its messages, the
// audit entries and the emails it sends (through the mail outbox) commit
// together or not at all.
package desk

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"comptoir/internal/locale"

	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/fielderr"
	"comptoir/internal/localtime"
	"comptoir/internal/mail"
)

// Ticket statuses.
const (
	StatusOpen            = "open"             // a reply is due from the store
	StatusWaitingCustomer = "waiting_customer" // the store waits on the customer: the SLA is paused
	StatusAnswered        = "answered"         // the store answered last
	StatusClosed          = "closed"
)

// Message directions.
const (
	DirectionIn   = "in"   // from the customer (or a stranger, then flagged)
	DirectionOut  = "out"  // sent to the customer
	DirectionNote = "note" // internal, never shown to the customer
)

// Topics a customer can pick on the Contact page. The claim kinds are the
// ones of internal/claims. TopicEmail is for tickets opened by an email.
const (
	TopicQuestion  = "question"
	TopicOrder     = "order"
	TopicBilling   = "billing"
	TopicTechnical = "technical"
	TopicOther     = "other"
	TopicEmail     = "email"

	TopicNonDelivery        = "non_delivery"
	TopicNotAsDescribed     = "not_as_described"
	TopicSubscriptionCancel = "subscription_cancel"
	TopicDissatisfied       = "dissatisfied"
	TopicWithdrawal         = "withdrawal"
)

// Topics lists the topics of the Contact page, in display order.
var Topics = []string{TopicQuestion, TopicOrder, TopicBilling, TopicTechnical,
	TopicNonDelivery, TopicNotAsDescribed, TopicSubscriptionCancel, TopicDissatisfied, TopicWithdrawal, TopicOther}

// ClaimTopics are the topics that are claim kinds (the queue's "claims"
// filter).
var ClaimTopics = []string{TopicNonDelivery, TopicNotAsDescribed, TopicSubscriptionCancel, TopicDissatisfied, TopicWithdrawal}

// Errors callers tell apart. Each has a stable code (see Code).
var (
	ErrNotFound       = errors.New("desk: not found")
	ErrForbidden      = errors.New("desk: not allowed")
	ErrClosed         = errors.New("desk: ticket is closed")
	ErrSurveyAnswered = errors.New("desk: survey already answered")
)

// ValidationError maps invalid input fields ("email", "message"…) to codes
// ("required", "invalid", "too_long", "line_break").
type ValidationError struct{ Fields map[string]string }

func (e *ValidationError) Error() string { return fielderr.Message("desk", e.Fields) }

// Code is the stable code of a desk error, for the API and the pages.
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrForbidden):
		return "forbidden"
	case errors.Is(err, ErrClosed):
		return "ticket_closed"
	case errors.Is(err, ErrSurveyAnswered):
		return "survey_answered"
	}
	var verr *ValidationError
	if errors.As(err, &verr) {
		return "invalid"
	}
	return "internal"
}

// Ticket is a support request and where it stands.
type Ticket struct {
	ID            string
	Reference     string // "T-XXXXXXXX", in subjects and on the pages
	ReplyToken    string // the local part after "support+" of its reply address
	CustomerID    string // empty for guests
	CustomerEmail string
	CustomerName  string
	Lang          string
	Topic         string
	OrderID       string
	Status        string
	AssigneeID    string
	FirstMessage  time.Time
	// TargetAt and PromiseAt are the deadlines of the reply due now; zero
	// when nothing is due.
	TargetAt  time.Time
	PromiseAt time.Time
	// Breached: the promise of the reply due now has passed (set by
	// MarkBreaches, or when the deadlines are recomputed late); cleared once
	// that reply is given. Past breaches stay in the audit log.
	Breached  bool
	CreatedAt time.Time
	UpdatedAt time.Time
	// SenderUnverified: the ticket was opened by a mail whose From the
	// trusted mail server did not vouch for (--inbound-trusted-authserv-id):
	// perhaps not written by the address's owner. It holds no customer and
	// never joins the account of that address (LinkGuestTicketsTx leaves
	// it; the database refuses it a customer_id); agents see it marked.
	//
	// A guest's ticket from the Contact page is marked too until the
	// guest confirms it from the link mailed to the address
	// (AwaitsConfirmation, ConfirmAsGuest): anyone can type an address.
	SenderUnverified bool
}

// AwaitsConfirmation reports whether t is a guest's Contact form ticket
// still unverified: the link mailed to its address confirms it
// (ConfirmAsGuest). A ticket a mail opened unverified never is: the
// trusted mail server's word was all there was.
func (t Ticket) AwaitsConfirmation() bool {
	return t.SenderUnverified && t.Topic != TopicEmail
}

// Erased reports whether t's personal content was erased (a GDPR
// erasure, the retention of closed tickets): only its reference, topic
// and dates are left, and nothing may show them as someone's any more.
func (t Ticket) Erased() bool { return t.CustomerEmail == erasedEmail }

// mailName is the name the store's mail about t greets and addresses its
// customer by: none for a ticket opened under an address the trusted mail
// server did not vouch for, whose name is whatever its writer put in From
// ("Your account is locked, call …"), words the store would otherwise
// mail to the address's owner, under its own name, on every answer and
// in the survey sent when an agent closes it.
func (t Ticket) mailName() string {
	if t.SenderUnverified {
		return ""
	}
	return t.CustomerName
}

// IsClaim reports whether the ticket's topic is a claim kind.
func (t Ticket) IsClaim() bool {
	for _, c := range ClaimTopics {
		if t.Topic == c {
			return true
		}
	}
	return false
}

// Message is one message of a ticket's thread.
type Message struct {
	ID         string
	TicketID   string
	Direction  string
	AuthorID   string // the agent of an out message or note; empty otherwise
	FromEmail  string
	MessageID  string // "<…>", empty when unknown
	InReplyTo  string
	References []string
	Subject    string
	Text       string
	HTML       string // sanitized by whoever parsed it
	// Lang is the language Text is written in, "fr" or "en", or "" when
	// nobody knows: the ticket's language when the customer wrote it on a
	// page or the store sent it, the one a mail declares, none for notes.
	Lang           string
	Flagged        bool // sender is not the ticket's customer, or not verified (SenderUnverified)
	AutoReply      bool
	Unparsed       bool
	OutgoingMailID string
	CreatedAt      time.Time
	Attachments    []Attachment
	// FromUnverified: the trusted mail server did not vouch for the
	// message's From (InboundMessage.SenderUnverified). Such a message is
	// flagged on a ticket it joins; the one that opened a ticket is not
	// (the ticket itself is marked, Ticket.SenderUnverified).
	FromUnverified bool
}

// SenderUnverified reports whether m came under an address the trusted
// mail server did not vouch for (FromUnverified), or, received before the
// desk recorded that, is a flagged message from the address of t, its
// ticket, which only an unverified From flags: the agent is told that
// rather than "another sender".
func (m Message) SenderUnverified(t Ticket) bool {
	if m.Direction != DirectionIn {
		return false
	}
	return m.FromUnverified || m.Flagged && m.FromEmail != "" && strings.EqualFold(m.FromEmail, t.CustomerEmail)
}

// Attachment is a file attached to a message, stored in the blob store by
// the caller beforehand.
type Attachment struct {
	ID          string
	FileName    string
	ContentType string
	Size        int64
	BlobKey     string
}

// Mailer queues email in the caller's transaction (mail.Outbox).
type Mailer interface {
	EnqueueTx(ctx context.Context, tx *sql.Tx, m mail.Message) (string, error)
}

// SLA event kinds.
const (
	EventCustomer = "customer" // a message from the customer: a reply becomes due
	EventReply    = "reply"    // the store answered
	EventWait     = "wait"     // the store waits on the customer: the clock pauses
	EventClose    = "close"
)

// SLAEvent is one thing that moves a ticket's SLA clock.
type SLAEvent struct {
	Kind string
	At   time.Time
}

// Deadlines returns the deadlines of the reply due now given a ticket's
// events in time order (target: the goal; promise: the latest), or zero
// times when nothing is due.
type Deadlines func(events []SLAEvent, now time.Time) (targetAt, promiseAt time.Time)

// Options are the desk settings.
type Options struct {
	// SupportAddress is where customers write ("support@shop.test"); each
	// ticket's reply address is its plus address ("support+<token>@shop.test").
	SupportAddress string
	// BaseURL is the store's address, for links in emails.
	BaseURL   string
	StoreName string
	// Deadlines computes the SLA; nil is DefaultDeadlines.
	Deadlines Deadlines
	// BusinessHours describes the business calendar Deadlines counts in,
	// for the pages to say so ("mon-fri 09:00-18:00 (Europe/Paris)");
	// empty when it counts wall-clock hours.
	BusinessHours string
	// Zone is the store's time zone for the times in emails; the zero
	// Zone is UTC.
	Zone localtime.Zone
	// DefaultLang is the language of tickets opened by email from unknown
	// senders; empty is "fr".
	DefaultLang string
	// Messages is the FR/EN catalog of the notes the desk writes on a
	// ticket in its language; nil loads the embedded one.
	Messages *locale.Catalog
	// Customers links tickets opened by email to the sender's account;
	// nil: such tickets are guests'.
	Customers Customers
	// WarnBefore is how long before a ticket's promised answer time the
	// staff is warned (WarnDeadlines); zero is DefaultWarnBefore.
	WarnBefore time.Duration
}

// Service is the desk use cases.
type Service struct {
	db     *db.DB
	clock  clock.Clock
	mailer Mailer
	opts   Options
	// support is SupportAddress split around the "@".
	supportLocal, supportDomain string
}

// New returns the service. SupportAddress must be a plain address.
func New(d *db.DB, c clock.Clock, m Mailer, opts Options) (*Service, error) {
	a, err := mail.ParseAddress(opts.SupportAddress)
	if err != nil || a.Name != "" {
		return nil, fmt.Errorf("desk: SupportAddress %q must be a plain email address", opts.SupportAddress)
	}
	local, domain, _ := strings.Cut(a.Email, "@")
	if opts.Deadlines == nil {
		opts.Deadlines = DefaultDeadlines
	}
	if opts.WarnBefore <= 0 {
		opts.WarnBefore = DefaultWarnBefore
	}
	if opts.DefaultLang == "" {
		opts.DefaultLang = "fr"
	}
	if opts.Messages == nil {
		if opts.Messages, err = locale.Load(); err != nil {
			return nil, err
		}
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	return &Service{db: d, clock: c, mailer: m, opts: opts, supportLocal: local, supportDomain: strings.ToLower(domain)}, nil
}

// BusinessHours describes the business calendar the deadlines count in, or
// "" when they count wall-clock hours (Options.BusinessHours).
func (s *Service) BusinessHours() string { return s.opts.BusinessHours }

// ReplyAddress is the ticket's plus address, set as Reply-To on every mail
// about it.
func (s *Service) ReplyAddress(t Ticket) string {
	return s.supportLocal + "+" + t.ReplyToken + "@" + s.supportDomain
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// randomBase32 returns n random Crockford base32 characters.
func randomBase32(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = crockford[b[i]&31]
	}
	return string(b)
}

func newReference() string  { return "T-" + randomBase32(8) }
func newReplyToken() string { return strings.ToLower(randomBase32(32)) }

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func wrapDB(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("desk: %s: %w", op, err)
}

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

func nullTime(t time.Time) sql.NullTime {
	return sql.NullTime{Time: t.UTC(), Valid: !t.IsZero()}
}

// formatTime renders t for an email in lang, in the store's time zone.
func (s *Service) formatTime(t time.Time, lang string) string { return s.opts.Zone.LongTime(t, lang) }
