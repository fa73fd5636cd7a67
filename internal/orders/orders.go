// Package orders places and follows orders: checkout with the consent the law
// asks for, payment from the balance (or by card through a payment service),
// and delivery over time, each step recorded so that the store can later show
// what was bought, agreed to and delivered, and when.
package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/alerts"
	"comptoir/internal/billing"
	"comptoir/internal/cardpay"
	"comptoir/internal/catalog"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/fielderr"
	"comptoir/internal/localtime"
	"comptoir/internal/mail"
	"comptoir/internal/money"
)

// Order statuses.
const (
	StatusPendingPayment = "pending_payment"
	StatusPaid           = "paid"
	StatusProcessing     = "processing"
	StatusPartial        = "partial"
	StatusCompleted      = "completed"
	StatusCanceled       = "canceled"
	StatusRefunded       = "refunded"
)

// Payment methods.
const (
	PayBalance = "balance"
	PayCard    = "card"
)

// Delivery sources.
const (
	SourceAgent   = "agent"
	SourceAPI     = "api"
	SourceWebhook = "webhook"
	SourceSystem  = "system"
)

// Errors callers tell apart. Each has a stable API code (see Code).
var (
	ErrNotFound           = errors.New("orders: not found")
	ErrProductUnavailable = errors.New("orders: product not for sale")
	ErrConsentRequired    = errors.New("orders: consent to immediate performance required")
	ErrPolicyNotAccepted  = errors.New("orders: refund policy version not accepted")
	// ErrTermsNotAccepted: the terms of sale changed between the page the
	// buyer read and the checkout.
	ErrTermsNotAccepted    = errors.New("orders: terms of sale version not accepted")
	ErrInsufficientBalance = errors.New("orders: insufficient balance")
	ErrOutOfStock          = errors.New("orders: out of stock")
	ErrCardUnavailable     = errors.New("orders: card payments are not configured")
	ErrDeliveryRegression  = errors.New("orders: delivery can only move forward")
	ErrOverDelivery        = errors.New("orders: delivered above the quantity ordered")
	ErrNotDeliverable      = errors.New("orders: order is not awaiting delivery")
	ErrDownloadExpired     = errors.New("orders: download link expired")

	// ErrCartChanged: the cart does not cost what the buyer was shown.
	ErrCartChanged = errors.New("orders: the cart changed since it was shown")

	// ErrLineSettled: a delivery recorded on a line the store no longer
	// owes (Line.SettledAt). It is ErrNotDeliverable to callers that know
	// only that (the API's code not_deliverable).
	ErrLineSettled = fmt.Errorf("%w: the line's undelivered part was refunded", ErrNotDeliverable)
)

// Code is the stable code of an orders error, for the API and the pages.
func Code(err error) string {
	for e, code := range map[error]string{
		ErrNotFound: "not_found", ErrProductUnavailable: "product_unavailable", ErrConsentRequired: "consent_required",
		ErrPolicyNotAccepted: "policy_not_accepted", ErrTermsNotAccepted: "terms_not_accepted", ErrInsufficientBalance: "insufficient_balance",
		ErrOutOfStock: "out_of_stock", ErrCardUnavailable: "card_unavailable", ErrDeliveryRegression: "delivery_regression",
		ErrOverDelivery: "over_delivery", ErrNotDeliverable: "not_deliverable", ErrOverRefund: "over_refund", ErrDownloadExpired: "download_expired",
		ErrCartChanged: "cart_changed",
	} {
		if errors.Is(err, e) {
			return code
		}
	}
	var verr *ValidationError
	if errors.As(err, &verr) {
		return "invalid"
	}
	return "internal"
}

// CodeBelowCardMinimum is the code of the "payment" field of an order or
// subscription paid by card for less than the smallest card payment
// (cardpay.CheckMinimum; the error also wraps its *BelowMinimumError).
const CodeBelowCardMinimum = "below_card_minimum"

// ValidationError maps invalid input fields (as named in the API:
// "lines", "lines[0].quantity", "payment"…) to codes.
type ValidationError struct{ Fields map[string]string }

func (e *ValidationError) Error() string { return fielderr.Message("orders", e.Fields) }

// Order is an order with its lines.
type Order struct {
	ID            string
	CustomerID    string
	Status        string
	Total         money.Amount
	Paid          money.Amount
	Refunded      money.Amount
	PaymentMethod string
	PolicyVersion string
	Lang          string
	PlacedAt      time.Time
	PaidAt        time.Time // zero until paid
	Lines         []Line
	// PaymentID is the card payment started by Place, for the caller to
	// send the customer to its Checkout page; it is not stored here.
	PaymentID string
}

// Line is one product bought in an order.
type Line struct {
	ID              string
	Position        int
	ProductID       string
	ProductRevision int
	Kind            string
	Name            string
	UnitPrice       money.Amount
	Quantity        int
	Delivered       int
	Amount          money.Amount
	Refunded        money.Amount
	ProcessingUntil time.Time // zero for lines delivered at once
	LicenceKey      string
	// DownloadUntil is when the download link of a file line expires; zero
	// for other lines and before payment.
	DownloadUntil time.Time
	// SettledAt is when the store stopped owing what the line had not
	// delivered: its undelivered part was refunded (non-delivery) or
	// withdrawn from (SettleLineTx). Zero while it is owed. A settled line
	// is never late, and takes no more deliveries.
	SettledAt time.Time
}

// late reports whether the line is past its stated processing time and not
// fully delivered; whether that makes it overdue depends on its order
// (Order.LineOverdue).
func (l Line) late(now time.Time) bool {
	return l.Delivered < l.Quantity && l.SettledAt.IsZero() && !l.ProcessingUntil.IsZero() && now.After(l.ProcessingUntil)
}

// Progress is the delivered share of the line in percent (0–100), for
// progress bars.
func (l Line) Progress() int { return l.Delivered * 100 / l.Quantity }

// Overdue reports whether any line of the order is overdue.
func (o Order) Overdue(now time.Time) bool {
	for _, l := range o.Lines {
		if o.LineOverdue(l, now) {
			return true
		}
	}
	return false
}

// LineOverdue reports whether a line of the order is overdue: past its
// stated processing time, not fully delivered, in an order that the store
// still has to deliver, and not settled (its undelivered part refunded or
// withdrawn from: nothing is owed on it any more). An order not paid yet, canceled unpaid or refunded
// in full owes no delivery, so it is never late, however long after its
// processing time it is looked at.
func (o Order) LineOverdue(l Line, now time.Time) bool {
	switch o.Status {
	case StatusPaid, StatusProcessing, StatusPartial:
		return l.late(now)
	}
	return false
}

// Line returns the line with the given id.
func (o Order) Line(lineID string) (Line, bool) {
	for _, l := range o.Lines {
		if l.ID == lineID {
			return l, true
		}
	}
	return Line{}, false
}

// Catalog is what orders need from the catalog.
type Catalog interface {
	Get(ctx context.Context, productID string) (catalog.Product, error)
	Revision(ctx context.Context, productID string, rev int) (catalog.Product, error)
	AssignLicenceKeyTx(ctx context.Context, tx *sql.Tx, productID, orderLineID string) (key string, fromPool bool, err error)
	ReserveLicenceKeyTx(ctx context.Context, tx *sql.Tx, productID, orderLineID string) error
	ReleaseLicenceKeysTx(ctx context.Context, tx *sql.Tx, orderLineIDs []string) (int, error)
	AvailableKeysTx(ctx context.Context, tx *sql.Tx, productID string) (int, error)
}

// Ledger is what orders need from the balance.
type Ledger interface {
	// AppendDebitTx takes a checkout's payment (billing.Ledger's: on
	// PostgreSQL its refusal comes from the transaction's pipeline).
	AppendDebitTx(ctx context.Context, tx *sql.Tx, e billing.Entry) error
	// DebitTx takes a payment whose refusal its caller reads before going
	// on in the same transaction (a claim's switch to another product).
	DebitTx(ctx context.Context, tx *sql.Tx, e billing.Entry) (billing.EntryRow, error)
}

// Customers looks up the buyer.
type Customers interface {
	UserByID(ctx context.Context, userID string) (account.User, error)
}

// Mailer queues email in the caller's transaction.
type Mailer interface {
	EnqueueTx(ctx context.Context, tx *sql.Tx, m mail.Message) (string, error)
	// AppendTx is EnqueueTx for a message nothing later in tx reads or
	// refers to: its rows go with the commit (db.Append).
	AppendTx(ctx context.Context, tx *sql.Tx, m mail.Message) (string, error)
}

// CardPayments is what orders need from card payments: a Checkout page
// started in the order's transaction, released when nobody is left to pay
// it (AbandonUnpaidTx), and refunded if it is paid all the same
// (refundPaidAfterCancelTx).
type CardPayments interface {
	Enabled() bool
	StartCheckoutTx(ctx context.Context, tx *sql.Tx, in cardpay.StartInput) (cardpay.Payment, error)
	ReleaseTx(ctx context.Context, tx *sql.Tx, purpose cardpay.Purpose, referenceID, why string) (bool, error)
	RefundTx(ctx context.Context, tx *sql.Tx, paymentID string, amount money.Amount, reason string) (cardpay.Refund, error)
}

// Options are the store settings orders depend on.
type Options struct {
	// PolicyVersion returns the refund policy version in force, which a
	// buyer accepts at checkout.
	PolicyVersion func(ctx context.Context) (string, error)
	// TermsVersion returns the terms of sale version in force ("terms@1"),
	// which the consent record keeps; nil records none.
	TermsVersion func(ctx context.Context) (string, error)
	// BaseURL is the store's address, for links in emails.
	BaseURL   string
	StoreName string
	// Trader is the seller's identity the model withdrawal form in the
	// confirmation is addressed to; empty: the store's name alone.
	Trader mail.Trader
	Logger *slog.Logger
	// Card takes card payments; nil or disabled means balance only.
	Card CardPayments
	// Alerts tells the admins when a licence-key pool runs dry; nil: no
	// alert.
	Alerts StaffAlerts
	// Invoices issues an invoice per paid order and a credit note per
	// refund; nil issues none.
	Invoices Invoicer
	// Zone is the store's time zone, where the confirmation email says
	// when the order was placed; the zero Zone is UTC.
	Zone localtime.Zone
}

// StaffAlerts emails the staff in the caller's transaction.
type StaffAlerts interface {
	NotifyTx(ctx context.Context, tx *sql.Tx, role, kind string, d alerts.Data) error
}

// Service is the order use cases.
type Service struct {
	db        *db.DB
	clock     clock.Clock
	catalog   Catalog
	ledger    Ledger
	customers Customers
	mailer    Mailer
	opts      Options
}

// New returns the service.
func New(d *db.DB, c clock.Clock, cat Catalog, l Ledger, cust Customers, m Mailer, opts Options) *Service {
	if opts.PolicyVersion == nil {
		opts.PolicyVersion = func(context.Context) (string, error) { return "default@1", nil }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, clock: c, catalog: cat, ledger: l, customers: cust, mailer: m, opts: opts}
}

// CardEnabled reports whether customers can pay by card.
func (s *Service) CardEnabled() bool { return s.opts.Card != nil && s.opts.Card.Enabled() }

// PolicyVersion is the refund policy version a buyer accepts today.
func (s *Service) PolicyVersion(ctx context.Context) (string, error) {
	return s.opts.PolicyVersion(ctx)
}

// TermsVersion is the terms of sale version a buyer accepts today; "" when
// the store has none.
func (s *Service) TermsVersion(ctx context.Context) (string, error) {
	if s.opts.TermsVersion == nil {
		return "", nil
	}
	return s.opts.TermsVersion(ctx)
}

// statusFor derives the status of a paid order from its lines: nothing
// delivered yet is processing, some is partial, all is completed. A settled
// line (SettledAt: its undelivered part refunded, withdrawn from or
// exchanged) owes nothing more, so it counts as what it delivered: an order
// delivered in full but for a settled line's rest is completed, as the
// customer reads it ("Delivered": what they kept is delivered), not partly
// delivered for ever. An order whose every line was settled with nothing
// delivered is refunded once every line's money went back (nothing was
// kept); until then (a card refund that failed for good, released) it is
// processing, as before the refund: the store still owes the customer.
func statusFor(lines []Line) string {
	owed, delivered, some, settled, repaid := 0, 0, false, true, true
	for _, l := range lines {
		if l.SettledAt.IsZero() {
			owed += l.Quantity
			settled = false
		} else {
			owed += l.Delivered
		}
		delivered += l.Delivered
		if l.Delivered > 0 {
			some = true
		}
		if l.Refunded.Minor < l.Amount.Minor {
			repaid = false
		}
	}
	switch {
	case !some && settled && len(lines) > 0:
		if repaid {
			return StatusRefunded
		}
		return StatusProcessing
	case delivered == owed:
		return StatusCompleted
	case some:
		return StatusPartial
	default:
		return StatusProcessing
	}
}

func wrapDB(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("orders: %s: %w", op, err)
}
