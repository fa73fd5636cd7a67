// Package claims takes customers' claims about an order line or a
// subscription and decides them under the refund policy the customer
// accepted (POLICY.md): the decision is policy.Evaluate on facts read from
// the database exactly as API.md describes them, so the server decides
// exactly as `comptoir policy eval` would on the same facts. Automatic
// outcomes are carried out in the same transaction that records the claim
// and its decision (a refund to the balance, a job that decides again when
// the processing time has passed); the rest waits for an agent, whose
// decisions are kept beside the automatic ones.
//
// The use cases are the methods of Service: File (and Withdraw), AddEvidence,
// Decide, the re-decision job, and the reads. Errors carry stable codes
// (Code) for the API and the pages.
package claims

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/alerts"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/blob"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/fielderr"
	"comptoir/internal/jobs"
	"comptoir/internal/locale"
	"comptoir/internal/localtime"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

// Claim statuses: open while someone still has to act (an agent, the
// customer with evidence, the clock), decided once the outcome is final.
const (
	StatusOpen    = "open"
	StatusDecided = "decided"
)

// Who filed a claim.
const (
	ViaCustomer = "customer"
	ViaAgent    = "agent"
)

// Refund destinations and statuses (claim_refunds).
const (
	DestBalance = "balance"
	DestCard    = "card"
	DestCredit  = "credit"

	RefundPending   = "pending"
	RefundSucceeded = "succeeded"
	RefundFailed    = "failed"
)

// Errors callers tell apart; Code gives each its stable API code.
var (
	ErrNotFound                 = errors.New("claims: not found")
	ErrDuplicateOpenClaim       = errors.New("claims: a claim of this kind is already open for this line")
	ErrAlreadyDecided           = errors.New("claims: this line already got the refund this claim would pay again")
	ErrClaimNotOpen             = errors.New("claims: the claim is no longer open")
	ErrOverRefund               = errors.New("claims: refund above what is left to refund")
	ErrCreditNotAccepted        = errors.New("claims: store credit needs the customer's acceptance")
	ErrCardRefundUnavailable    = errors.New("claims: card refunds are not available")
	ErrSubscriptionsUnavailable = errors.New("claims: subscriptions are not available")
	ErrOrderNotPaid             = errors.New("claims: the order is not paid")
	ErrUnknownPolicy            = errors.New("claims: unknown refund policy version")
	ErrForbidden                = errors.New("claims: only an agent can do this")
	ErrNotDecidable             = errors.New("claims: this claim is decided automatically")
	ErrEvidenceTooLarge         = errors.New("claims: evidence file too large")
	ErrEvidenceTypeForbidden    = errors.New("claims: evidence file type not accepted")
	ErrEvidenceEmpty            = errors.New("claims: empty evidence")
	ErrTooManyEvidence          = errors.New("claims: too many evidence files")
	// ErrBusy: the claim's subject kept changing under us (other decisions
	// on the same line) and the decision was not taken; try again.
	ErrBusy = errors.New("claims: the order line is busy; try again")
	// ErrCustomerErased: a refund or store credit to the balance of a
	// customer whose account was erased. Nobody can sign in to use that
	// balance, so the money would be kept for ever without anyone seeing
	// it; nothing is changed. A card refund still goes to the card.
	ErrCustomerErased = errors.New("claims: the customer's account was erased: nothing can be given back to its balance")
	// ErrAccountErased: a claim filed on the order or subscription of a
	// customer whose account was erased (the erasure committed while the
	// filing was under way). Nobody can sign in to follow it, no email
	// reaches them, and the erasure would have refused to go ahead with it
	// open; nothing is filed.
	ErrAccountErased = errors.New("claims: the customer's account was erased: no claim can be filed on it")
	// ErrSwitchDisputed: a switch to another product (OutcomeSwitch) on an
	// order whose card payment is disputed with the bank. The switch gives
	// the line's value back, to the balance, as a refund would; on top of
	// a chargeback the bank awards later it would pay the customer twice,
	// so it waits for the bank, as card refunds do; nothing is changed.
	// Its API code is the card refunds' one, payment_disputed.
	ErrSwitchDisputed = errors.New("claims: the order's card payment is disputed: no switch until the bank has decided")
	// ErrCreditDisputed: store credit (OutcomeCredit), or any other money
	// to the balance, for a claim on an order whose card payment is
	// disputed with the bank. On top of a chargeback the bank awards later
	// it would pay the customer twice, so it waits for the bank, as card
	// refunds do; nothing is changed. Its API code is the card refunds'
	// one, payment_disputed.
	ErrCreditDisputed = errors.New("claims: the order's card payment is disputed: no store credit until the bank has decided")
	// ErrNotReopened: an agent's decision on a decided claim that would
	// leave it open again, a redelivery waiting for its line: a decided
	// claim is never reopened (its filing was judged once; another claim
	// of its kind may be open on the line by now). Nothing is changed: the
	// agent refunds or refuses instead, or decides on a new claim.
	ErrNotReopened = errors.New("claims: a decided claim is never reopened")
	// ErrErasedReopen: an agent's decision that would send a line of an
	// erased customer's order back to processing, or leave their claim
	// open (a redelivery waits for the line, then decides again). Nobody
	// can be told of it or follow it, no email reaches them, and what it
	// waits for could end only in a refund to a balance nobody can use;
	// an erasure keeps no claim open. Nothing is changed: the agent
	// refunds to the card, or refuses, instead.
	ErrErasedReopen = errors.New("claims: the customer's account was erased: their claim cannot be reopened nor their line delivered again")
	// ErrAlreadyWithdrawn: a withdrawal from an order line that already
	// has one, whatever the first was decided (refused, nothing to refund,
	// a refund): a consumer withdraws once, and the first decision says
	// what the withdrawal gives. It is ErrAlreadyDecided to callers that
	// know only that (the API's code claim_already_decided, 409); nothing
	// is filed, nothing is sent. The database holds the rule
	// (claims_one_withdrawal_per_line).
	ErrAlreadyWithdrawn = fmt.Errorf("%w: a withdrawal from this line was already received", ErrAlreadyDecided)
)

// Code is the stable code of a claims error, for the API and the pages.
func Code(err error) string {
	if err == nil {
		return ""
	}
	for _, c := range []struct {
		err  error
		code string
	}{
		{ErrNotFound, "not_found"}, {ErrDuplicateOpenClaim, "claim_already_open"},
		{ErrAlreadyDecided, "claim_already_decided"}, {ErrClaimNotOpen, "claim_not_open"},
		{ErrOverRefund, "over_refund"}, {orders.ErrOverRefund, "over_refund"},
		{ErrCreditNotAccepted, "credit_not_accepted"}, {ErrCardRefundUnavailable, "card_refund_unavailable"},
		{ErrCustomerErased, "customer_erased"}, {ErrAccountErased, "account_erased"},
		{ErrErasedReopen, "customer_erased_reopen"}, {ErrNotReopened, "claim_not_reopened"},
		{ErrSubscriptionsUnavailable, "subscriptions_unavailable"}, {ErrOrderNotPaid, "order_not_paid"},
		{ErrUnknownPolicy, "policy_unknown"}, {ErrForbidden, "forbidden"}, {ErrNotDecidable, "not_decidable"},
		{ErrEvidenceTooLarge, "evidence_too_large"}, {ErrEvidenceTypeForbidden, "evidence_type_forbidden"},
		{ErrEvidenceEmpty, "evidence_empty"}, {ErrTooManyEvidence, "evidence_too_many"}, {ErrBusy, "busy"},
		{orders.ErrNotFound, "not_found"},
		// An exchange for another product (OutcomeSwitch) paid by a
		// balance short of the difference, or of a product sold out.
		{orders.ErrInsufficientBalance, "insufficient_balance"}, {orders.ErrOutOfStock, "out_of_stock"},
		{ErrSwitchDisputed, "payment_disputed"}, {ErrCreditDisputed, "payment_disputed"},
	} {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	var verr *ValidationError
	if errors.As(err, &verr) {
		return "invalid"
	}
	// Errors of other domains that carry their own stable code (a card
	// refund held by a dispute: "payment_disputed").
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		return coded.ErrorCode()
	}
	return "internal"
}

// ValidationError maps invalid input fields, named as in the API ("kind",
// "line_id", "refund.amount"…), to codes ("required", "invalid"…).
type ValidationError struct{ Fields map[string]string }

func (e *ValidationError) Error() string { return fielderr.Message("claims", e.Fields) }

func invalid(field, code string) error {
	return &ValidationError{Fields: map[string]string{field: code}}
}

// EvidenceError is a piece of evidence that was refused (ErrEvidenceTooLarge,
// ErrEvidenceTypeForbidden, ErrEvidenceEmpty…): which one, and why. Nothing
// of the batch it came in was stored.
type EvidenceError struct {
	Index int    // position in the batch
	Name  string // the sanitized file name, empty for text
	Err   error
}

func (e *EvidenceError) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("evidence %d (%s): %v", e.Index, e.Name, e.Err)
	}
	return fmt.Sprintf("evidence %d: %v", e.Index, e.Err)
}

func (e *EvidenceError) Unwrap() error { return e.Err }

// Claim is a claim with its current decision.
type Claim struct {
	ID             string
	Kind           policy.Kind
	CustomerID     string
	OrderID        string // empty for a subscription claim
	LineID         string
	SubscriptionID string // empty for an order claim
	Status         string // StatusOpen or StatusDecided
	// FiledAt is the customer's first written contact about the matter:
	// windows count to it (POLICY.md "filed_at").
	FiledAt         time.Time
	FiledBy         string // who filed it: the customer, or the agent
	FiledVia        string // ViaCustomer or ViaAgent
	SourceMessageID string // the message an agent filed it from
	Message         string
	Lang            string        // the language Message is written in; "" when unknown
	Choice          policy.Cancel // subscription_cancel: period_end or now
	RefundRequested bool
	// PolicyVersion is the version the customer accepted with the order or
	// subscription; every decision on the claim is taken under it.
	PolicyVersion string
	// Decision is the current decision, shaped as policy eval's.
	Decision  policy.Decision
	DecidedAt time.Time
	DecidedBy string // empty: decided automatically
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// AnswerTargetAt and AnswerPromiseAt are the first human answer's
	// deadlines (aimed for, promised), set when the claim started waiting
	// for an agent; zero when nothing was ever due. AnsweredAt is when the
	// clock stopped. AnswerBreached: the promise passed unanswered (set
	// once, never cleared).
	AnswerTargetAt  time.Time
	AnswerPromiseAt time.Time
	AnsweredAt      time.Time
	AnswerBreached  bool
}

// Open reports whether someone still has to act on the claim.
func (c Claim) Open() bool { return c.Status == StatusOpen }

// Switched reports whether the claim's decision exchanged its line for
// another product (RuleSwitch): its outcome then says only what happened
// to the money, and pages name the exchange instead.
func (c Claim) Switched() bool { return c.Decision.Rule == RuleSwitch }

// Decision is one decision of a claim's history.
type Decision struct {
	ID       string
	ClaimID  string
	Seq      int64 // 1 for the decision taken at filing, then in order
	Decision policy.Decision
	// ReasonCode and Note are an agent's: the code the customer's reason
	// comes from, and an internal note never shown to the customer.
	ReasonCode string
	Note       string
	DecidedAt  time.Time
	DecidedBy  string // empty: automatic
}

// Evidence is one piece of evidence of a claim.
type Evidence struct {
	ID          string
	ClaimID     string
	Kind        string // "text" or "file"
	Text        string // for text
	Lang        string // the language Text is written in; "" when unknown
	FileName    string // sanitized display name, for files
	ContentType string // detected from the content, for files
	Size        int64
	SHA256      string // hex, of the text or the file
	AddedAt     time.Time
	AddedBy     string
	// Erased: the claim's customer had their personal data erased, and
	// with them this evidence (EraseCustomerTx): Text and FileName are
	// placeholders, the file is gone. Set by Service.Evidence.
	Erased  bool
	blobKey string
}

// Refund is money that went back because of a claim.
type Refund struct {
	ID             string
	ClaimID        string
	DecisionID     string
	OrderID        string
	LineID         string
	SubscriptionID string
	Amount         money.Amount
	Destination    string // DestBalance, DestCard or DestCredit
	Status         string // RefundPending, RefundSucceeded or RefundFailed
	CardRefundID   string
	LedgerEntryID  string
	// CustomerAcceptedCreditAt is when the customer accepted store credit
	// instead of the original means of payment (DestCredit only).
	CustomerAcceptedCreditAt time.Time
	CreatedAt                time.Time
	UpdatedAt                time.Time
}

// Orders is what claims needs from orders.
type Orders interface {
	Get(ctx context.Context, orderID string) (orders.Order, error)
	ConsentOf(ctx context.Context, orderID string) (orders.Consent, error)
	// RefundLineTx is the conditional update that keeps a line's refunds
	// within what was paid (orders.ErrOverRefund otherwise).
	// It also issues the refund's credit note: for money that has left
	// (balance, store credit).
	RefundLineTx(ctx context.Context, tx *sql.Tx, orderID, lineID string, amount money.Amount, actor audit.Actor) error
	// RefundLinePendingTx counts a card refund on the line the same way,
	// without a credit note: the processor may still fail it.
	RefundLinePendingTx(ctx context.Context, tx *sql.Tx, orderID, lineID string, amount money.Amount, actor audit.Actor) error
	// CreditLineRefundTx issues the credit note of a card refund that
	// succeeded (once per refundID).
	CreditLineRefundTx(ctx context.Context, tx *sql.Tx, orderID, lineID, refundID string, amount money.Amount) error
	// ReleaseLineRefundTx gives back to the line a refund that failed
	// (never below zero), except the part a lost dispute had already
	// returned to the customer (chargedBack).
	ReleaseLineRefundTx(ctx context.Context, tx *sql.Tx, orderID, lineID, refundID string, amount money.Amount, actor audit.Actor) (chargedBack money.Amount, err error)
	RedeliverTx(ctx context.Context, tx *sql.Tx, orderID, lineID string, processing time.Duration, actor audit.Actor) error
	SettleLineTx(ctx context.Context, tx *sql.Tx, orderID, lineID string, delivered int, actor audit.Actor) error
	// PrepareSwitch prices the order a line is exchanged for, writing
	// nothing; PlaceSwitchTx places it, paid from the balance.
	PrepareSwitch(ctx context.Context, in orders.SwitchInput) (orders.Switch, error)
	PlaceSwitchTx(ctx context.Context, tx *sql.Tx, sw *orders.Switch, actor audit.Actor) (orders.Order, error)
}

// Ledger credits refunds and store credit to the balance.
type Ledger interface {
	CreditTx(ctx context.Context, tx *sql.Tx, e billing.Entry) (billing.EntryRow, error)
}

// Customers looks up the customer of a claim (type, country, language).
type Customers interface {
	UserByID(ctx context.Context, userID string) (account.User, error)
}

// Mailer queues email in the caller's transaction.
type Mailer interface {
	EnqueueTx(ctx context.Context, tx *sql.Tx, m mail.Message) (string, error)
}

// CardRefunder refunds part of an order paid by card, in the caller's
// transaction: it reserves the amount on the order's card payment and
// schedules the call to the card processor, returning the refund's id
// ("rfd_…"). Its outcome comes back through Service.CardRefundSettledTx.
// The composition root wires it to cardpay (the order's payment, then
// cardpay.Service.RefundTx).
type CardRefunder interface {
	RefundOrderTx(ctx context.Context, tx *sql.Tx, orderID string, amount money.Amount, reason string) (refundID string, err error)
	// RefundableTx reports, in tx, whether the order's card payment could
	// be refunded now: the processor's refusal (code payment_disputed)
	// while it is disputed, by the check every card refund passes; nil
	// for an order not paid by card. A decision that gives the line's
	// value back another way (a switch, to the balance) asks it first.
	RefundableTx(ctx context.Context, tx *sql.Tx, orderID string) error
}

// SubscriptionSubject is what a subscription_cancel claim needs to know
// about the subscription.
type SubscriptionSubject struct {
	ID         string
	CustomerID string
	// PolicyVersion is the policy version the customer accepted for it.
	PolicyVersion string
	// LastPaymentAt and LastPayment are the last successful payment, zero
	// and nil when nothing was paid yet (a trial); Refunded is what was
	// already refunded of it (nil: nothing).
	LastPaymentAt time.Time
	LastPayment   *money.Amount
	Refunded      *money.Amount
	PeriodEnd     time.Time
	// FromBalance says the last payment was taken from the balance, where
	// its refund goes back.
	FromBalance bool
	// StartedAt is when the subscription was taken out, and Consent what
	// the customer ticked then (nil: nothing recorded): a consumer's
	// withdrawal counts from it (policy.Subscription).
	StartedAt time.Time
	Consent   *policy.Consent
	// Unrefunded are the payments not refunded (the last one among them
	// unless it was), newest first: a request to stop made in writing
	// before several renewals were charged gets every one of them back
	// (renewedAfterRequest), not only the last.
	Unrefunded []SubscriptionPayment
}

// SubscriptionPayment is one payment of a subscription: a paid period.
type SubscriptionPayment struct {
	PaidAt time.Time
	Amount money.Amount
}

// LeftToRefund is what is left of the last payment once its refunds are
// taken off: zero when nothing was paid yet.
func (s SubscriptionSubject) LeftToRefund() (money.Amount, error) {
	if s.LastPayment == nil {
		return money.Amount{}, nil
	}
	if s.Refunded == nil {
		return *s.LastPayment, nil
	}
	return s.LastPayment.Sub(*s.Refunded)
}

// SubscriptionCancel is a decided subscription_cancel claim to carry out.
type SubscriptionCancel struct {
	SubscriptionID string
	ClaimID        string
	// Cancel is when the subscription ends: policy.CancelNow or
	// policy.CancelPeriodEnd. Future billing stops either way.
	Cancel policy.Cancel
	// Refund is the last payment to give back, nil when none.
	Refund *money.Amount
	// RefundSince, when set, makes Refund every payment not refunded
	// that was made after it, each given back in full where it came
	// from: the renewals charged after a written request to stop
	// (renewedAfterRequest). Refund is their total; payments that no
	// longer add up to it mean the facts moved (ErrSubjectChanged).
	RefundSince time.Time
	Actor       audit.Actor
	// LastPaymentAt is the last payment the decision was taken on (the
	// facts' subscription.last_payment_at; zero: none yet). The facts are
	// read before the claim's transaction: when the subscription's last
	// payment is another by the time it runs (a renewal committed
	// meanwhile), CancelForClaimTx changes nothing and returns an error
	// wrapping ErrSubjectChanged, and the claim is decided again.
	LastPaymentAt time.Time
	// Mail is what the cancellation's confirmation email says of the
	// claim, in the language that email is written in: the customer gets
	// one email that says the subscription is cancelled, until when, and
	// what the claim decided (a refund, a refusal, an agent to answer).
	Mail func(lang string) ClaimMail
}

// ClaimMail is a claim as a subscription's cancellation email tells it,
// written in that email's language: what claim_filed and claim_decided
// would have said.
type ClaimMail struct {
	ID         string
	ReceivedAt string // when the customer's request was received, to the second
	Reason     string // the decision's sentences
	Open       bool   // the claim stays open (an agent answers)
	PromiseAt  string // by when an agent answers, while one must
	Link       string // the claim's page
	ReplyTo    string // where a reply goes: the email invites one
}

// ErrSubjectChanged is what Subscriptions.CancelForClaimTx returns when the
// subscription moved on from the facts the decision was taken on: an
// automatic decision is then taken again on fresh facts.
var ErrSubjectChanged = fmt.Errorf("%w (subscription)", errStale)

// SubscriptionRefund says where a subscription refund went.
type SubscriptionRefund struct {
	Destination   string // DestBalance or DestCard
	Pending       bool   // a card refund waiting for the processor
	CardRefundID  string
	LedgerEntryID string
	// Amount is what went this way; zero means the whole refund asked.
	Amount money.Amount
	// Mailed: the subscription was cancelled and its confirmation email,
	// queued in tx, told the claim (SubscriptionCancel.Mail). False when
	// the cancellation was in place already and nothing was sent.
	Mailed bool
	// More are the other ways the same refund went, when it gave back
	// several payments (SubscriptionCancel.RefundSince): one card refund
	// per card payment, the balance for those paid from it.
	More []SubscriptionRefund
}

// Subscriptions is what subscription_cancel claims need; the composition
// root wires it to internal/subscriptions. Unknown subscriptions are an
// error wrapping ErrNotFound.
type Subscriptions interface {
	ClaimSubject(ctx context.Context, subscriptionID string) (SubscriptionSubject, error)
	// CancelForClaimTx stops future billing, ends the subscription as
	// c.Cancel says and refunds c.Refund to where it was paid from, all in
	// tx; the confirmation email with its effective date (L215-1-1) is the
	// subscription service's, and it tells the claim (c.Mail): the claim
	// sends no email of its own when it says Mailed.
	CancelForClaimTx(ctx context.Context, tx *sql.Tx, c SubscriptionCancel) (SubscriptionRefund, error)
}

// Deps are the services claims builds on.
type Deps struct {
	Orders    Orders
	Ledger    Ledger
	Customers Customers
	Mailer    Mailer
	Jobs      jobs.Inserter
	Blobs     blob.Store
	// Card refunds card-paid orders; nil: their refunds fail with
	// ErrCardRefundUnavailable.
	Card CardRefunder
	// Subscriptions carries out subscription claims; nil: they fail with
	// ErrSubscriptionsUnavailable.
	Subscriptions Subscriptions
	// Policies returns a published policy version ("default@1"). nil:
	// the built-in default policy only.
	Policies func(version string) (*policy.Policy, error)
	// Alerts tells the agents about failed card refunds; nil: logged only.
	Alerts StaffAlerts
}

// StaffAlerts emails the staff in the caller's transaction.
type StaffAlerts interface {
	NotifyTx(ctx context.Context, tx *sql.Tx, role, kind string, d alerts.Data) error
}

// Options are the store settings claims depends on.
type Options struct {
	// BaseURL is the store's address, for links in emails.
	BaseURL   string
	StoreName string
	// MaxEvidenceBytes bounds one evidence file (default 10 MiB);
	// MaxEvidenceFiles the files of one claim (default 10).
	MaxEvidenceBytes int64
	MaxEvidenceFiles int
	Logger           *slog.Logger
	// AnswerClock counts the answer deadlines of claims waiting for an
	// agent in the store's calendar; nil: WallClock (24 h, 48 h).
	AnswerClock AnswerClock
	// WarnBefore is how long before a claim's promised answer time the
	// staff is warned (--sla-warn-before, as for tickets); zero:
	// DefaultWarnBefore.
	WarnBefore time.Duration
	// Zone is the store's time zone for the times in staff emails; the
	// zero Zone is UTC.
	Zone localtime.Zone
	// ReplyTo is where a customer's answer to a claim's email goes when
	// the mail is sent From another address (--mail-from): the support
	// address, which the desk reads. The emails ask for that answer.
	ReplyTo string
	// Messages words the emails as the pages do (a claim's kind); nil:
	// the embedded catalog.
	Messages *locale.Catalog
}

// Defaults of Options.
const (
	DefaultMaxEvidenceBytes = 10 << 20
	DefaultMaxEvidenceFiles = 10
)

// Service is the claim use cases.
type Service struct {
	db        *db.DB
	clock     clock.Clock
	orders    Orders
	ledger    Ledger
	customers Customers
	mailer    Mailer
	jobs      jobs.Inserter
	blobs     blob.Store
	card      CardRefunder
	subs      Subscriptions
	policies  func(string) (*policy.Policy, error)
	alerts    StaffAlerts
	opts      Options
	// afterGather, in tests only, runs between reading a claim's facts and
	// deciding on them, to make another transaction land in between.
	afterGather func()
}

// New returns the service. Every dependency but Card, Subscriptions and
// Policies is required: a missing one is a wiring mistake reported at
// start-up rather than on the first claim.
func New(d *db.DB, c clock.Clock, deps Deps, opts Options) (*Service, error) {
	var missing []string
	for name, ok := range map[string]bool{
		"Orders": deps.Orders != nil, "Ledger": deps.Ledger != nil, "Customers": deps.Customers != nil,
		"Mailer": deps.Mailer != nil, "Jobs": deps.Jobs != nil, "Blobs": deps.Blobs != nil,
	} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if d == nil || c == nil || len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("claims: missing dependencies: database/clock set: %v, %s", d != nil && c != nil, strings.Join(missing, ", "))
	}
	if deps.Policies == nil {
		deps.Policies = DefaultPolicies
	}
	if opts.MaxEvidenceBytes <= 0 {
		opts.MaxEvidenceBytes = DefaultMaxEvidenceBytes
	}
	if opts.MaxEvidenceFiles <= 0 {
		opts.MaxEvidenceFiles = DefaultMaxEvidenceFiles
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Messages == nil {
		var err error
		if opts.Messages, err = locale.Load(); err != nil {
			return nil, err
		}
	}
	if opts.WarnBefore <= 0 {
		opts.WarnBefore = DefaultWarnBefore
	}
	if opts.AnswerClock == nil {
		opts.AnswerClock = WallClock
	}
	return &Service{
		db: d, clock: c, orders: deps.Orders, ledger: deps.Ledger, customers: deps.Customers, mailer: deps.Mailer,
		jobs: deps.Jobs, blobs: deps.Blobs, card: deps.Card, subs: deps.Subscriptions, policies: deps.Policies, alerts: deps.Alerts, opts: opts,
	}, nil
}

// DefaultPolicies knows the built-in default policy only (default@1).
func DefaultPolicies(version string) (*policy.Policy, error) {
	if p := policy.Default(); version == p.ID() {
		return p, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownPolicy, version)
}

// policy returns the policy version a claim is decided under.
func (s *Service) policy(version string) (*policy.Policy, error) {
	p, err := s.policies(version)
	if err != nil {
		if errors.Is(err, ErrUnknownPolicy) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %q: %v", ErrUnknownPolicy, version, err)
	}
	if p == nil || p.ID() != version {
		return nil, fmt.Errorf("%w: %q", ErrUnknownPolicy, version)
	}
	return p, nil
}

func wrapDB(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("claims: %s: %w", op, err)
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
