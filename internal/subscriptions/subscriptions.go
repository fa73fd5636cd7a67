// Package subscriptions sells plans billed every week, month or year: start
// (paid now, or after a free trial), renewal at the end of each period by a
// River job, retries of a failed renewal, and cancellation online, as French
// law (Code de la consommation L215-1-1) asks: without contacting anyone,
// confirmed by email with its effective date.
//
// Money moves exactly once per period. Each billed period is a row of
// subscription_periods, unique on (subscription, period start), inserted in
// the same transaction that charges it: a second job, a retried job or
// another node renewing the same period finds the row and does nothing.
//
// A subscription keeps the terms its customer agreed to (the plan revision,
// the price, the refund policy version, the consent given); renewals charge
// those terms, never today's catalog price.
//
// Refunds are not decided here: the refund policy reads LastPayment, then
// calls CancelTx and, when it grants a refund, pays it back and records it
// with MarkRefundedTx, all in its own transaction. The one refund made here
// is of a card payment that arrived after the subscription ended
// (refundPaidAfterEndTx): nothing is owed for a period that never runs.
package subscriptions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/billing"
	"comptoir/internal/catalog"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/fielderr"
	"comptoir/internal/jobs"
	"comptoir/internal/localtime"
	"comptoir/internal/mail"
	"comptoir/internal/money"
)

// Subscription statuses.
const (
	// StatusIncomplete: a card subscription whose first payment (the hosted
	// Checkout page) is not made yet. It serves nothing and never renews.
	StatusIncomplete = "incomplete"
	StatusTrialing   = "trialing"
	StatusActive     = "active"
	// StatusPastDue: a renewal failed and is being retried.
	StatusPastDue  = "past_due"
	StatusCanceled = "canceled"
)

// Period statuses.
const (
	PeriodPending  = "pending"
	PeriodPaid     = "paid"
	PeriodFailed   = "failed"
	PeriodRefunded = "refunded"
)

// Payment methods.
const (
	PayBalance = "balance"
	PayCard    = "card"
)

// Cancellation modes.
const (
	CancelAtPeriodEnd = "period_end" // keep until the end of the paid period
	CancelNow         = "now"        // stop at once
)

// RetrySchedule is when a failed renewal is tried again, counted from the
// first failed attempt: three retries over seven days. After the last one
// fails the subscription is canceled.
//
// Every retry falls inside the period it charges, at least retryMargin
// before its end (retryAt): a weekly plan is retried after one, three and
// six days. At seven days, a last retry that succeeded paid for a week that
// was over and the next week was charged the minute after: two payments at
// once, and the first bought nothing. Brought forward, it pays for the week
// the customer is in, and the next charge comes on the usual day. Monthly
// and yearly periods are longer than the schedule, which they keep as is.
var RetrySchedule = []time.Duration{24 * time.Hour, 3 * 24 * time.Hour, 7 * 24 * time.Hour}

// retryMargin is how long before the end of the period being charged its
// last retry comes at the latest: the schedule's shortest step.
const retryMargin = 24 * time.Hour

// Errors callers tell apart. Each has a stable API code (see Code).
var (
	ErrNotFound           = errors.New("subscriptions: not found")
	ErrProductUnavailable = errors.New("subscriptions: plan not for sale")
	ErrConsentRequired    = errors.New("subscriptions: consent to immediate performance required")
	ErrPolicyNotAccepted  = errors.New("subscriptions: refund policy version not accepted")
	// ErrTermsNotAccepted: the terms of sale changed between the page the
	// customer read and their subscribing.
	ErrTermsNotAccepted    = errors.New("subscriptions: terms of sale version not accepted")
	ErrInsufficientBalance = errors.New("subscriptions: insufficient balance")
	ErrCardUnavailable     = errors.New("subscriptions: card payments are not configured")
	ErrAlreadySubscribed   = errors.New("subscriptions: already subscribed to this plan")
	// ErrNotUndoable: there is no scheduled cancellation to undo any more
	// (none was asked, the date has passed, or it was canceled at once).
	ErrNotUndoable = errors.New("subscriptions: cancellation can no longer be undone")
	// ErrCardDeclined is what a CardCharger wraps when the card cannot be
	// charged at all (no saved card, card payments switched off): the
	// attempt counts as failed and is retried on schedule. Any other error
	// from the charger rolls the renewal back and the job tries again.
	ErrCardDeclined = errors.New("subscriptions: card cannot be charged")
	// ErrNoCard is what a CardCharger wraps, with ErrCardDeclined, when the
	// customer has no saved card: the email then says so, rather than that
	// a card was declined.
	ErrNoCard = errors.New("subscriptions: no saved card")
	// ErrAuthenticationPending is what a CardCharger wraps when the period
	// is held by a payment waiting for the customer to authenticate (or to
	// pay on the Checkout page that replaced it): a retry must not charge
	// the card off-session again, so the attempt counts as failed, without
	// calling the bank, and the customer is sent the link again.
	ErrAuthenticationPending = errors.New("subscriptions: the customer's authentication is pending")
)

// Code is the stable code of a subscriptions error, for the API and pages.
func Code(err error) string {
	for _, c := range []struct {
		err  error
		code string
	}{
		{ErrNotFound, "not_found"}, {ErrProductUnavailable, "product_unavailable"}, {ErrConsentRequired, "consent_required"},
		{ErrPolicyNotAccepted, "policy_not_accepted"}, {ErrTermsNotAccepted, "terms_not_accepted"}, {ErrInsufficientBalance, "insufficient_balance"},
		{ErrCardUnavailable, "card_unavailable"}, {ErrAlreadySubscribed, "already_subscribed"},
		{ErrNotUndoable, "not_undoable"}, {ErrCardDeclined, "card_declined"},
	} {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	var verr *ValidationError
	if errors.As(err, &verr) {
		return "invalid"
	}
	return "internal"
}

// CodeBelowCardMinimum is the code of the "payment" field of a card
// subscription whose price is below the smallest card payment
// (cardpay.CheckMinimum; the error also wraps its *BelowMinimumError).
const CodeBelowCardMinimum = "below_card_minimum"

// ValidationError maps invalid input fields (named as in the API: "plan_id",
// "payment", "mode"…) to codes.
type ValidationError struct{ Fields map[string]string }

func (e *ValidationError) Error() string { return fielderr.Message("subscriptions", e.Fields) }

// Subscription is a customer's plan and where it stands.
type Subscription struct {
	ID              string
	CustomerID      string
	ProductID       string
	ProductRevision int
	Interval        string // IntervalWeek, IntervalMonth or IntervalYear
	Status          string
	PaymentMethod   string
	Amount          money.Amount // per period, as agreed
	PolicyVersion   string
	Lang            string
	// AnchorDay is the day of the month the first paid period began, on
	// the store's wall clock (UTC's for subscriptions taken before periods
	// were counted locally: NextPeriodEnd says how those go on).
	AnchorDay int
	// CurrentPeriodStart and CurrentPeriodEnd are the trial while trialing,
	// else the last period paid. The next renewal is due at
	// CurrentPeriodEnd.
	CurrentPeriodStart time.Time
	CurrentPeriodEnd   time.Time
	TrialEnd           time.Time // zero without a trial
	CancelAtPeriodEnd  bool
	CancelRequestedAt  time.Time // zero unless a cancellation was asked
	CanceledAt         time.Time // zero unless canceled
	EndedAt            time.Time // zero unless canceled: when the service ended
	Consent            Consent
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Undoable reports whether a scheduled end-of-period cancellation can still
// be taken back at now: the same condition Undo applies in the database.
func (s Subscription) Undoable(now time.Time) bool {
	return s.CancelAtPeriodEnd && (s.Status == StatusActive || s.Status == StatusTrialing) && now.Before(s.CurrentPeriodEnd)
}

// EndsAt is when the subscription ends or ended: EndedAt once canceled, the
// period end when a cancellation is scheduled, zero while it renews.
func (s Subscription) EndsAt() time.Time {
	switch {
	case s.Status == StatusCanceled:
		return s.EndedAt
	case s.CancelAtPeriodEnd:
		return s.CurrentPeriodEnd
	}
	return time.Time{}
}

// Renews reports whether a renewal will be charged at CurrentPeriodEnd.
func (s Subscription) Renews() bool {
	return (s.Status == StatusActive || s.Status == StatusTrialing) && !s.CancelAtPeriodEnd
}

// Consent is what the customer was shown and ticked when subscribing.
type Consent struct {
	Required             bool
	ImmediatePerformance bool
	WithdrawalWaiver     bool
	WordingVersion       string
	Lang                 string
	ImmediateText        string
	WaiverText           string
	At                   time.Time
	IP                   string
	UserAgent            string
	// TermsVersion is the terms of sale version accepted (legal's
	// "terms@N"); "" for subscriptions started before it was recorded, or
	// without terms published.
	TermsVersion string
}

// Period is one billed period.
type Period struct {
	ID             string
	SubscriptionID string
	Start, End     time.Time
	Amount         money.Amount
	PaymentMethod  string
	PolicyVersion  string // the policy version the payment was taken under
	Status         string
	// Attempts counts the attempts to charge the period so far.
	Attempts      int
	NextAttemptAt time.Time // zero unless a retry is scheduled
	LastError     string
	PaidAt        time.Time // zero unless paid
	// PaymentReference is the balance entry ("ble_…") or card payment
	// ("pay_…") that paid the period; for a pending card charge, the
	// payment being made.
	PaymentReference string
	RefundedAt       time.Time
	CreatedAt        time.Time
}

// Catalog is what subscriptions need from the catalog.
type Catalog interface {
	Get(ctx context.Context, productID string) (catalog.Product, error)
	Revision(ctx context.Context, productID string, rev int) (catalog.Product, error)
}

// Ledger is what subscriptions need from the balance.
type Ledger interface {
	DebitTx(ctx context.Context, tx *sql.Tx, e billing.Entry) (billing.EntryRow, error)
}

// Customers looks up the subscriber.
type Customers interface {
	UserByID(ctx context.Context, userID string) (account.User, error)
}

// Mailer queues email in the caller's transaction.
type Mailer interface {
	EnqueueTx(ctx context.Context, tx *sql.Tx, m mail.Message) (string, error)
}

// CardCharge is an off-session charge of the customer's saved card for one
// period. PeriodID is the payment's reference (cardpay's ReferenceID with
// purpose "renewal").
type CardCharge struct {
	PeriodID    string
	CustomerID  string
	Amount      money.Amount
	Description string
}

// CardCharger starts a renewal charge of a saved card in the caller's
// transaction and returns the payment's id. The outcome arrives later: the
// composition root routes cardpay's renewal outcomes to PeriodPaidTx and
// PeriodPaymentFailedTx. An error wrapping ErrCardDeclined is a failed
// attempt (retried on schedule); any other error rolls the renewal back.
type CardCharger interface {
	ChargeSavedCardTx(ctx context.Context, tx *sql.Tx, c CardCharge) (paymentID string, err error)
}

// CardReleaser is what a CardCharger may also do: give up, in tx, the
// payment of a period that must no longer be paid, once the subscription
// has ended (for non-payment, or canceled by the customer): one that waits
// for the customer (authentication, or a Checkout page), so that the link
// in the customer's email can no longer charge them, or an off-session
// charge whose job has not called the bank yet. It reports whether it
// released one; false also when the charge is already being made, whose
// outcome will come.
type CardReleaser interface {
	ReleasePeriodTx(ctx context.Context, tx *sql.Tx, periodID string) (bool, error)
}

// CardRefunder is what a CardCharger may also do: give back, in tx, a card
// payment of a period in full (paymentID: the period's PaymentReference),
// returning the card refund's id. Its outcome comes back through the
// composition root (CardHandler.RefundSettled), which issues the credit
// note. An error wrapping ErrRefundRefused means the payment cannot be
// refunded now (disputed, refunded already): nothing was changed.
type CardRefunder interface {
	RefundPeriodTx(ctx context.Context, tx *sql.Tx, paymentID string, amount money.Amount, reason string) (refundID string, err error)
}

// ErrRefundRefused is what a CardRefunder wraps when the payment cannot be
// refunded (see CardRefunder).
var ErrRefundRefused = errors.New("subscriptions: the payment cannot be refunded")

// Options are the store settings subscriptions depend on.
type Options struct {
	// Jobs inserts the renewal jobs (RenewDue, RetryDue). Required for them.
	Jobs jobs.Inserter
	// BaseURL is the store's address, for links in emails.
	BaseURL   string
	StoreName string
	// Trader is the seller's identity the model withdrawal form in the
	// welcome email is addressed to; empty: the store's name alone.
	Trader mail.Trader
	// PolicyVersion returns the refund policy version in force, which a
	// customer accepts when subscribing.
	PolicyVersion func(ctx context.Context) (string, error)
	// TermsVersion returns the terms of sale version in force ("terms@1"),
	// recorded with the consent; nil or "" when no terms are published.
	TermsVersion func(ctx context.Context) (string, error)
	Logger       *slog.Logger
	// Invoices issues an invoice per paid period and a credit note per
	// refund; nil issues none.
	Invoices Invoicer
	// Zone is the store's time zone: periods are counted on its wall clock
	// (NextPeriodEnd), and emails and invoice lines show their times in it;
	// the zero Zone is UTC.
	Zone localtime.Zone
	// Alerts tells the agents of a payment made after the subscription
	// ended that could not be refunded to the card (refundPaidAfterEndTx,
	// CardHandler.RefundSettled); nil: nobody.
	Alerts Alerter
}

// Service is the subscription use cases.
type Service struct {
	db        *db.DB
	clock     clock.Clock
	catalog   Catalog
	ledger    Ledger
	customers Customers
	mailer    Mailer
	card      CardCharger // nil: card payments are off
	opts      Options
}

// New returns the service. card may be nil when card payments are off.
func New(d *db.DB, c clock.Clock, cat Catalog, ledger Ledger, cust Customers, mailer Mailer, card CardCharger, opts Options) *Service {
	if opts.PolicyVersion == nil {
		opts.PolicyVersion = func(context.Context) (string, error) { return "default@1", nil }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, clock: c, catalog: cat, ledger: ledger, customers: cust, mailer: mailer, card: card, opts: opts}
}

// TermsVersion is the terms of sale version a customer accepts today; ""
// when none is published.
func (s *Service) TermsVersion(ctx context.Context) (string, error) {
	if s.opts.TermsVersion == nil {
		return "", nil
	}
	return s.opts.TermsVersion(ctx)
}

// PolicyVersion is the refund policy version a customer accepts today.
func (s *Service) PolicyVersion(ctx context.Context) (string, error) {
	return s.opts.PolicyVersion(ctx)
}

func wrapDB(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("subscriptions: %s: %w", op, err)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// nullTime is t for the database, NULL when zero.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}
