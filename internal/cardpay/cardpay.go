// Package cardpay takes card payments through Stripe: the hosted Checkout
// page for orders and top-ups, off-session charges of a saved card for
// subscription renewals, refunds, and the signed webhook that tells us what
// happened.
//
// The shape follows DESIGN.md "Data":
//
//   - A use case (StartCheckoutTx, ChargeSavedCardTx, RefundTx) runs in the
//     caller's transaction: it stores the row and inserts the River job that
//     will call Stripe, so the job exists exactly when the order, top-up or
//     claim decision that caused it commits.
//   - Jobs call Stripe outside any transaction, with an idempotency key
//     derived from our row id ("checkout-pay_…", "renewal-pay_…",
//     "refund-rfd_…"): a retry after a crash gets Stripe's first answer back
//     instead of charging or refunding twice.
//   - Every change of state is a conditional update (… WHERE status IN …),
//     so a webhook, its redelivery and the job's own answer may all report
//     the same success and the domain's Handler still runs once, in the
//     transaction that records it.
//
// Amounts never leave minor units; Stripe's "smallest currency unit" is the
// same thing.
package cardpay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/jobs"
	"comptoir/internal/money"
)

// Errors of the package, wrapped with details; test with errors.Is.
var (
	// ErrDisabled: card payments are not configured (no Stripe keys); the
	// store offers balance payments only.
	ErrDisabled = errors.New("cardpay: card payments are not configured")
	// ErrInvalid: an input the service refuses; the message names the field.
	ErrInvalid = errors.New("cardpay: invalid input")
	// ErrNotFound: no payment or refund with that id.
	ErrNotFound = errors.New("cardpay: not found")
	// ErrAlreadyPaid: StartCheckoutTx or ChargeSavedCardTx for a reference
	// that a payment already settled.
	ErrAlreadyPaid = errors.New("cardpay: already paid")
	// ErrPaymentInProgress: another payment for the same reference is in
	// progress with a different amount or customer, or is waiting for the
	// customer to authenticate.
	ErrPaymentInProgress = errors.New("cardpay: another payment for this reference is in progress")
	// ErrNoSavedCard: ChargeSavedCardTx found no card saved for the customer.
	ErrNoSavedCard = errors.New("cardpay: no saved card")
	// ErrNotRefundable: the payment is not (or not yet) a settled card
	// payment.
	ErrNotRefundable = errors.New("cardpay: payment cannot be refunded")
	// ErrRefundExceedsPayment: the refunds of a payment would exceed what
	// was paid.
	ErrRefundExceedsPayment = errors.New("cardpay: refunds would exceed the payment")
	// ErrBadSignature: a webhook whose Stripe-Signature does not verify (or
	// is missing or too old). Nothing was changed; the web layer answers 400.
	ErrBadSignature = errors.New("cardpay: bad webhook signature")
	// ErrBadPayload: a correctly signed webhook that cannot be read (bad
	// JSON, or an API version this build cannot decode safely).
	ErrBadPayload = errors.New("cardpay: unreadable webhook payload")
	// ErrCheckoutFailed: the Checkout page could not be created; the payment
	// is failed and LastError says why.
	ErrCheckoutFailed = errors.New("cardpay: checkout could not be created")
	// ErrCheckoutPending: WaitCheckoutURL ran out of time; the page may
	// still appear (the job retries), so the caller can offer to wait.
	ErrCheckoutPending = errors.New("cardpay: checkout page not ready yet")
	// ErrCheckoutRetrying: WaitCheckoutURL ran out of time after an attempt
	// to create the page failed (Stripe unreachable); the job retries, but
	// the customer is better told than kept waiting. It is also an
	// ErrCheckoutPending, for callers that make no difference.
	ErrCheckoutRetrying = errors.New("cardpay: checkout page failed once, being retried")
)

// Purpose says what a payment pays for; ReferenceID names the thing.
type Purpose string

const (
	PurposeOrder   Purpose = "order"   // ReferenceID: the order id
	PurposeTopUp   Purpose = "topup"   // ReferenceID: the top-up id
	PurposeRenewal Purpose = "renewal" // ReferenceID: the subscription period id
)

func (p Purpose) valid() bool {
	return p == PurposeOrder || p == PurposeTopUp || p == PurposeRenewal
}

// Status is where a payment is in its life.
type Status string

const (
	// StatusCreating: stored; the job that calls Stripe has not succeeded
	// yet.
	StatusCreating Status = "creating"
	// StatusAwaitingCustomer: the hosted Checkout page exists (CheckoutURL).
	StatusAwaitingCustomer Status = "awaiting_customer"
	// StatusSucceeded: paid.
	StatusSucceeded Status = "succeeded"
	// StatusFailed: declined, or Stripe refused to create the payment.
	StatusFailed Status = "failed"
	// StatusCanceled: the customer never paid (the Checkout page expired).
	StatusCanceled Status = "canceled"
	// StatusRequiresAction: an off-session charge needs the customer to
	// authenticate (3-D Secure); it may still succeed if they do.
	StatusRequiresAction Status = "requires_action"
)

// live are the statuses that hold a reference (see the partial unique index
// card_payments_one_live_per_reference): in progress or paid.
var live = []Status{StatusCreating, StatusAwaitingCustomer, StatusRequiresAction, StatusSucceeded}

// Payment is a row of card_payments.
type Payment struct {
	ID          string // "pay_…"
	Purpose     Purpose
	ReferenceID string
	CustomerID  string
	Amount      money.Amount
	Status      Status
	// Refunded is what refunds hold on the payment: pending and succeeded
	// refunds. Amount minus Refunded is what can still be refunded.
	Refunded          money.Amount
	CheckoutSessionID string
	CheckoutURL       string
	PaymentIntentID   string
	StripeCustomerID  string
	PaymentMethodID   string // the card saved for renewals
	CardCountry       string // ISO 3166-1 alpha-2 as Stripe reports it
	// LastError is Stripe's reason for the last failure, for agents and logs.
	LastError string
	// Duplicate: a second payment Stripe took for a reference another
	// payment paid; refunded in full, never the reference's payment, and
	// never reported to the Handler (recordDuplicate).
	Duplicate bool
	CreatedAt time.Time
	UpdatedAt time.Time
	// keyRound counts the server errors Stripe answered this payment's
	// call with (see idempotencyKey).
	keyRound int
}

// NeedsAuthentication reports an off-session charge that the bank wants the
// customer to confirm: the renewal is not paid, but asking the customer to
// authenticate (or to pay another way) can still settle it.
func (p Payment) NeedsAuthentication() bool { return p.Status == StatusRequiresAction }

// RefundStatus is where a refund is in its life.
type RefundStatus string

const (
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// Refund is a row of card_refunds.
type Refund struct {
	ID             string // "rfd_…"
	PaymentID      string
	Amount         money.Amount
	Status         RefundStatus
	StripeRefundID string
	Reason         string
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	keyRound       int // as Payment's
}

// Handler is what the domains that sell something implement to learn the
// outcome of a payment. Each method runs in the transaction that records
// the outcome: if it returns an error, nothing is recorded and the outcome
// is applied again later (the job retries, Stripe redelivers the webhook).
// Each method is called once per outcome.
type Handler interface {
	// PaymentSucceeded runs in the transaction that records the success; it
	// moves the order / top-up / renewal forward.
	PaymentSucceeded(ctx context.Context, tx *sql.Tx, p Payment) error
	// PaymentFailed reports a payment that failed (StatusFailed), was never
	// completed (StatusCanceled) or needs the customer to authenticate
	// (StatusRequiresAction, see Payment.NeedsAuthentication).
	PaymentFailed(ctx context.Context, tx *sql.Tx, p Payment) error
	// RefundSettled reports a refund that succeeded or failed (r.Status); a
	// failed refund no longer holds any amount on the payment.
	RefundSettled(ctx context.Context, tx *sql.Tx, r Refund, p Payment) error
}

// DisputeHandler is what a Handler may also implement to learn that the
// customer disputed a card payment with their bank (a chargeback opened).
// It runs in the transaction that records the event; handlers without it
// ignore disputes.
type DisputeHandler interface {
	PaymentDisputed(ctx context.Context, tx *sql.Tx, p Payment) error
}

// Handlers sends each payment to the Handler of its purpose. The composition
// root builds it before the domains exist (they need the Service, which
// needs the Handler) and fills it before serving: it is read-only once jobs
// and HTTP run.
type Handlers map[Purpose]Handler

func (hs Handlers) get(p Purpose) (Handler, error) {
	h, ok := hs[p]
	if !ok || h == nil {
		return nil, fmt.Errorf("cardpay: no handler for purpose %q", p)
	}
	return h, nil
}

// PaymentSucceeded implements Handler.
func (hs Handlers) PaymentSucceeded(ctx context.Context, tx *sql.Tx, p Payment) error {
	h, err := hs.get(p.Purpose)
	if err != nil {
		return err
	}
	return h.PaymentSucceeded(ctx, tx, p)
}

// PaymentFailed implements Handler.
func (hs Handlers) PaymentFailed(ctx context.Context, tx *sql.Tx, p Payment) error {
	h, err := hs.get(p.Purpose)
	if err != nil {
		return err
	}
	return h.PaymentFailed(ctx, tx, p)
}

// PaymentDisputed implements DisputeHandler: the purpose's handler hears
// of it if it listens.
func (hs Handlers) PaymentDisputed(ctx context.Context, tx *sql.Tx, p Payment) error {
	h, err := hs.get(p.Purpose)
	if err != nil {
		return err
	}
	if d, ok := h.(DisputeHandler); ok {
		return d.PaymentDisputed(ctx, tx, p)
	}
	return nil
}

// PaymentDisputeEventTx implements DisputeFollower: the purpose's handler
// follows the dispute if it wants to.
func (hs Handlers) PaymentDisputeEventTx(ctx context.Context, tx *sql.Tx, p Payment, d Dispute) error {
	h, err := hs.get(p.Purpose)
	if err != nil {
		return err
	}
	if f, ok := h.(DisputeFollower); ok {
		return f.PaymentDisputeEventTx(ctx, tx, p, d)
	}
	return nil
}

// RefundSettled implements Handler.
func (hs Handlers) RefundSettled(ctx context.Context, tx *sql.Tx, r Refund, p Payment) error {
	h, err := hs.get(p.Purpose)
	if err != nil {
		return err
	}
	return h.RefundSettled(ctx, tx, r, p)
}

// Config is the Stripe account the store uses.
type Config struct {
	SecretKey     string // sk_live_… / sk_test_… (or a restricted rk_…)
	WebhookSecret string // whsec_…, of the webhook endpoint
	// APIURL is the Stripe API base URL; empty means Stripe itself. Tests
	// point it at stripe-mock.
	APIURL string
}

// Enabled reports whether card payments are configured. Without keys the
// store offers balance payments only.
func (c Config) Enabled() bool { return c.SecretKey != "" && c.WebhookSecret != "" }

// Check refuses a configuration card payments cannot run with. New checks
// it; comptoir serve checks it first too, before the store opens.
func (c Config) Check() error {
	if (c.SecretKey == "") != (c.WebhookSecret == "") {
		// Half a configuration would take money without ever learning that
		// it arrived (no webhook secret), or verify webhooks for nothing:
		// refuse to start rather than run like that.
		return fmt.Errorf("%w: Stripe needs both the secret key and the webhook secret, or neither", ErrInvalid)
	}
	if c.APIURL != "" {
		u, err := url.Parse(c.APIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: Stripe API URL %q is not an http(s) URL", ErrInvalid, c.APIURL)
		}
	}
	return nil
}

// Service is the card-payment use cases.
type Service struct {
	db      *db.DB
	ins     jobs.Inserter
	clock   clock.Clock
	cfg     Config
	handler Handler
	log     *slog.Logger
	// disputes keeps the dispute cases; nil: only the hold is recorded.
	disputes DisputeRecorder
	// alerts tells the admins of duplicate payments; nil: logged only.
	alerts Alerter
	stripe *stripe.Client // nil when disabled
}

// New returns the service. A Config without keys gives a disabled service
// whose use cases return ErrDisabled; half a configuration is an error.
func New(d *db.DB, ins jobs.Inserter, c clock.Clock, cfg Config, h Handler, logger *slog.Logger) (*Service, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: d, ins: ins, clock: c, cfg: cfg, handler: h, log: logger}
	if cfg.Enabled() {
		if h == nil {
			return nil, fmt.Errorf("%w: a Handler is required", ErrInvalid)
		}
		s.stripe = newStripeClient(cfg, logger)
	}
	return s, nil
}

// Enabled reports whether card payments are offered.
func (s *Service) Enabled() bool { return s.stripe != nil }

// Get returns the payment with the given id, or ErrNotFound.
func (s *Service) Get(ctx context.Context, paymentID string) (Payment, error) {
	return getPayment(ctx, s.db.Read, paymentID)
}

// GetTx is Get inside the caller's transaction (or any Querier).
func (s *Service) GetTx(ctx context.Context, q db.Querier, paymentID string) (Payment, error) {
	return getPayment(ctx, q, paymentID)
}

// ForReference returns the payments made for a reference, oldest first
// (failed attempts included).
func (s *Service) ForReference(ctx context.Context, q db.Querier, purpose Purpose, referenceID string) ([]Payment, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+paymentColumns+` FROM card_payments
		WHERE purpose = $1 AND reference_id = $2 ORDER BY id`, string(purpose), referenceID)
	if err != nil {
		return nil, err
	}
	return scanPayments(rows)
}

// scanPayments reads every row of a query of paymentColumns, and closes
// rows.
func scanPayments(rows *sql.Rows) ([]Payment, error) {
	defer rows.Close()
	var out []Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// GetRefund returns the refund with the given id, or ErrNotFound.
func (s *Service) GetRefund(ctx context.Context, refundID string) (Refund, error) {
	return getRefund(ctx, s.db.Read, refundID)
}

// Refunds lists the refunds of a payment, oldest first.
func (s *Service) Refunds(ctx context.Context, q db.Querier, paymentID string) ([]Refund, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+refundColumns+` FROM card_refunds r JOIN card_payments p ON p.id = r.payment_id
		WHERE r.payment_id = $1 ORDER BY r.id`, paymentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Refund
	for rows.Next() {
		r, err := scanRefund(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AddWorkers registers the jobs that call Stripe with the application's
// River workers.
func (s *Service) AddWorkers(workers *river.Workers) {
	river.AddWorker(workers, &checkoutWorker{s: s})
	river.AddWorker(workers, &chargeWorker{s: s})
	river.AddWorker(workers, &refundWorker{s: s})
	river.AddWorker(workers, &fetchWorker{s: s})
	river.AddWorker(workers, &cancelWorker{s: s})
	river.AddWorker(workers, &deleteCustomerWorker{s: s})
}

// Pending returns the payment of a reference that still waits for the
// customer (its Checkout page being made or open), if there is one.
func (s *Service) Pending(ctx context.Context, purpose Purpose, referenceID string) (Payment, bool, error) {
	ps, err := s.ForReference(ctx, s.db.Read, purpose, referenceID)
	if err != nil {
		return Payment{}, false, err
	}
	for _, p := range ps {
		if p.Status == StatusCreating || p.Status == StatusAwaitingCustomer {
			return p, true, nil
		}
	}
	return Payment{}, false, nil
}

// Waiting returns at most limit payments of purpose by customerID that
// still wait for the customer or the bank (their Checkout page being made
// or open: paid but not yet confirmed by Stripe's webhook, or not paid
// yet), newest first: the balance page shows the top-ups on their way.
func (s *Service) Waiting(ctx context.Context, customerID string, purpose Purpose, limit int) ([]Payment, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+paymentColumns+` FROM card_payments
		WHERE customer_id = $1 AND purpose = $2 AND status IN ('creating', 'awaiting_customer') AND NOT duplicate
		ORDER BY created_at DESC, id DESC LIMIT $3`, customerID, string(purpose), limit)
	if err != nil {
		return nil, fmt.Errorf("cardpay: waiting payments: %w", err)
	}
	return scanPayments(rows)
}

// OrderRefunds refunds card-paid orders for claims: it finds the order's
// successful payment and reserves the refund on it (RefundTx).
type OrderRefunds struct{ S *Service }

// RefundOrderTx implements claims.CardRefunder.
func (o OrderRefunds) RefundOrderTx(ctx context.Context, tx *sql.Tx, orderID string, amount money.Amount, reason string) (string, error) {
	ps, err := o.S.ForReference(ctx, tx, PurposeOrder, orderID)
	if err != nil {
		return "", err
	}
	for _, p := range ps {
		if p.Status == StatusSucceeded && !p.Duplicate {
			r, err := o.S.RefundTx(ctx, tx, p.ID, amount, reason)
			return r.ID, err
		}
	}
	return "", fmt.Errorf("%w: order %s has no successful card payment", ErrNotRefundable, orderID)
}

// RefundableTx implements claims.CardRefunder: ErrPaymentDisputed while
// the order's card payment is disputed (reserveRefundTx's check, the one
// every refund passes, held until tx ends); nil otherwise, and for an
// order not paid by card.
func (o OrderRefunds) RefundableTx(ctx context.Context, tx *sql.Tx, orderID string) error {
	ps, err := o.S.ForReference(ctx, tx, PurposeOrder, orderID)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Status == StatusSucceeded && !p.Duplicate {
			return reserveRefundTx(ctx, tx, p, money.Zero(p.Amount.Currency), o.S.clock.Now())
		}
	}
	return nil
}
