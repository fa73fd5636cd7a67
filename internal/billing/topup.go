package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/money"
)

// TopUpHandler credits the balance when a card top-up is paid. It
// implements cardpay.Handler for the "topup" purpose.
type TopUpHandler struct {
	L *Ledger
	// Card gives back a top-up paid for an erased account; nil: it is
	// left for a person (logged).
	Card CardRefunds
	// Logger receives what a person must follow up; nil: discarded.
	Logger *slog.Logger
}

// CardRefunds gives a card payment back (cardpay.Service.RefundTx).
type CardRefunds interface {
	RefundTx(ctx context.Context, tx *sql.Tx, paymentID string, amount money.Amount, reason string) (cardpay.Refund, error)
}

// PaymentSucceeded credits the amount paid. The payment is the entry's
// reference, and a reference credits once: a replayed event finds
// ErrDuplicateReference and changes nothing.
//
// A top-up paid for an erased account is refunded in full instead: the
// erasure released its Checkout page, but the customer paid it before the
// page's expiry reached Stripe (cardpay's succeedReleased reports it), and
// a balance nobody can sign in to use would keep the money for ever.
func (h TopUpHandler) PaymentSucceeded(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error {
	erased, err := account.IsErased(ctx, tx, p.CustomerID)
	if err != nil && !errors.Is(err, account.ErrNotFound) {
		return fmt.Errorf("billing: top-up of %s: %w", p.CustomerID, err)
	}
	if erased {
		return h.refundErased(ctx, tx, p)
	}
	_, err = h.L.CreditTx(ctx, tx, Entry{
		CustomerID: p.CustomerID, Amount: p.Amount, Kind: KindTopup,
		ReferenceType: "card_payment", ReferenceID: p.ID, Actor: audit.System,
	})
	if errors.Is(err, ErrDuplicateReference) {
		return nil
	}
	return err
}

// refundErased gives back a top-up paid for an erased account; one that
// cannot be refunded now (disputed) is left for a person, and logged.
func (h TopUpHandler) refundErased(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error {
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	err := cardpay.ErrDisabled
	if h.Card != nil {
		_, err = h.Card.RefundTx(ctx, tx, p.ID, p.Amount, "top-up paid after the account was erased")
	}
	switch {
	case err == nil:
		log.Warn("billing: a top-up paid after the account was erased is refunded", "payment", p.ID)
	case errors.Is(err, cardpay.ErrPaymentDisputed), errors.Is(err, cardpay.ErrRefundExceedsPayment),
		errors.Is(err, cardpay.ErrNotRefundable), errors.Is(err, cardpay.ErrDisabled):
		log.Error("billing: a top-up paid after the account was erased cannot be refunded now; needs review",
			"payment", p.ID, "error", err)
	default:
		return err
	}
	return nil
}

// PaymentFailed needs nothing: an unpaid top-up credited nothing.
func (TopUpHandler) PaymentFailed(context.Context, *sql.Tx, cardpay.Payment) error { return nil }

// RefundSettled needs nothing: top-ups are not refunded by card.
func (TopUpHandler) RefundSettled(context.Context, *sql.Tx, cardpay.Refund, cardpay.Payment) error {
	return nil
}

// Top-up bounds: enough for any real purchase, small enough that a typo
// cannot charge a card a fortune.
const (
	MinTopUp = 100       // 1.00
	MaxTopUp = 1_000_000 // 10,000.00
)

// CardCheckout starts a card Checkout page in the caller's transaction.
type CardCheckout interface {
	StartCheckoutTx(ctx context.Context, tx *sql.Tx, in cardpay.StartInput) (cardpay.Payment, error)
}

// TopUpInput is a request to add funds by card.
type TopUpInput struct {
	CustomerID    string
	CustomerEmail string
	Amount        money.Amount
	// Reference names the top-up; the same reference (made from an
	// idempotency key) finds the same payment again.
	Reference  string
	SuccessURL string
	CancelURL  string
	Language   string
	// After, when set, runs in the top-up's transaction with its payment
	// (the API stores its answer under the Idempotency-Key there).
	After func(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error
}

// StartTopUp opens a card payment whose success credits the balance
// (TopUpHandler). It returns the payment, whose Checkout URL arrives
// shortly after (cardpay.WaitCheckoutURL).
func (l *Ledger) StartTopUp(ctx context.Context, card CardCheckout, in TopUpInput) (cardpay.Payment, error) {
	if err := checkBalanceCurrency(in.Amount); err != nil {
		return cardpay.Payment{}, err
	}
	switch {
	case in.Amount.Minor < MinTopUp:
		return cardpay.Payment{}, &ValidationError{Fields: map[string]string{"amount": CodeNotPositive}}
	case in.Amount.Minor > MaxTopUp:
		return cardpay.Payment{}, &ValidationError{Fields: map[string]string{"amount": CodeTooLarge}}
	}
	var p cardpay.Payment
	err := l.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = card.StartCheckoutTx(ctx, tx, cardpay.StartInput{
			Purpose: cardpay.PurposeTopUp, ReferenceID: in.Reference, CustomerID: in.CustomerID, CustomerEmail: in.CustomerEmail,
			Amount: in.Amount, Description: "Top-up " + in.Reference, SuccessURL: in.SuccessURL, CancelURL: in.CancelURL, Language: in.Language,
		})
		if err == nil && in.After != nil {
			err = in.After(ctx, tx, p)
		}
		return err
	})
	return p, err
}
