package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"comptoir/internal/account"
	"comptoir/internal/alerts"
	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/money"
)

// TopUpHandler credits the balance when a card top-up is paid. It
// implements cardpay.Handler for the "topup" purpose.
type TopUpHandler struct {
	L *Ledger
	// Card gives back a top-up paid for an erased account; nil: it is
	// left for a person (logged, and the admins alerted).
	Card CardRefunds
	// Alerts tells the admins of a top-up of an erased account that was
	// not given back (refused now, or failed at the bank): nobody else
	// would, since nobody can sign in to the account. nil: nobody.
	Alerts Alerter
	// Logger receives what a person must follow up; nil: discarded.
	Logger *slog.Logger
}

// Alerter emails the staff of a role in the caller's transaction
// (alerts.Alerts).
type Alerter interface {
	NotifyTx(ctx context.Context, tx *sql.Tx, role, kind string, d alerts.Data) error
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
//
// The account is held (account.HoldUnerasedTx) before it is read: cardpay
// took it already, first in the transaction, as an erasure does (see the
// lock order at cardpay's succeed), so this does not wait; held here too,
// a caller that had not taken it still cannot credit an account an
// erasure running at the same time is erasing. Before, the account was
// only read: on PostgreSQL a top-up paid during an erasure read it not yet
// erased and credited the balance, and the erasure, waiting on the
// payment's row to release it, found it paid and went on.
func (h TopUpHandler) PaymentSucceeded(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error {
	erased, err := account.HoldUnerasedTx(ctx, tx, p.CustomerID)
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
// cannot be refunded now (disputed) is left for a person: logged, and the
// admins alerted.
func (h TopUpHandler) refundErased(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error {
	log := h.logger()
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
		return h.alertNotRefunded(ctx, tx, p, "alert.topup_refund_refused", "", err.Error())
	default:
		return err
	}
	return nil
}

func (h TopUpHandler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

// alertNotRefunded tells the admins, in tx, that the top-up p of an erased
// account was not given back to the card: the store holds money nobody can
// spend or claim, and only a person can return it (another refund, a
// transfer).
// The detail is message id, written for each admin in their language:
// the amount, the erased account, the card refund (refundID, when one
// failed at the bank) and why.
func (h TopUpHandler) alertNotRefunded(ctx context.Context, tx *sql.Tx, p cardpay.Payment, id, refundID, why string) error {
	if h.Alerts == nil {
		return nil
	}
	customer, err := alerts.CustomerTx(ctx, tx, p.CustomerID)
	if err != nil {
		return err
	}
	return h.Alerts.NotifyTx(ctx, tx, account.RoleAdmin, "topup_refund_failed", alerts.Data{
		SubjectIn: func(w alerts.Words) string {
			return w.Say("alert.about.amount", "Amount", money.Format(p.Amount, w.Lang), "Customer", customer)
		},
		DetailIn: func(w alerts.Words) string {
			amount := money.Format(p.Amount, w.Lang)
			return w.Say(id, "Amount", amount, "Customer", p.CustomerID, "Refund", refundID, "Error", why)
		},
	})
}

// PaymentFailed needs nothing: an unpaid top-up credited nothing.
func (TopUpHandler) PaymentFailed(context.Context, *sql.Tx, cardpay.Payment) error { return nil }

// RefundSettled hears of the only card refunds of top-ups, those of a
// top-up paid after its account was erased (refundErased): one that failed
// leaves the money with the store, so the admins are alerted (before, it
// was only in the card refund's record, which nobody watches).
func (h TopUpHandler) RefundSettled(ctx context.Context, tx *sql.Tx, r cardpay.Refund, p cardpay.Payment) error {
	if r.Status != cardpay.RefundFailed {
		return nil
	}
	h.logger().Error("billing: the refund of a top-up paid after the account was erased failed; needs review",
		"payment", p.ID, "card_refund", r.ID, "error", r.LastError)
	return h.alertNotRefunded(ctx, tx, p, "alert.topup_refund_failed", r.ID, r.LastError)
}

// Top-up bounds: enough for any real purchase, small enough that a typo
// cannot charge a card a fortune.
const (
	MinTopUp = 100       // 1.00
	MaxTopUp = 1_000_000 // 10,000.00
)

// TopUpCovering is the card top-up that lets a balance short by short pay:
// short raised to the smallest top-up and to the smallest card payment
// (StartTopUp and the card refuse less); zero when the balance is not kept
// in short's currency or the top-up would pass MaxTopUp.
func TopUpCovering(short money.Amount) money.Amount {
	if short.Currency != BalanceCurrency {
		return money.Amount{}
	}
	top := max(short.Minor, MinTopUp, cardpay.MinimumCharge(short.Currency).Minor)
	if top > MaxTopUp {
		return money.Amount{}
	}
	return money.Amount{Minor: top, Currency: short.Currency}
}

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
