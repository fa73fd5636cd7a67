package cardpay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/money"
)

const paymentColumns = `id, purpose, reference_id, customer_id, amount, currency, status, refunded,
	COALESCE(checkout_session_id, ''), checkout_url, COALESCE(payment_intent_id, ''), stripe_customer_id,
	payment_method_id, card_country, last_error, created_at, updated_at, duplicate, key_round`

func scanPayment(row interface{ Scan(...any) error }) (Payment, error) {
	var p Payment
	var currency string
	err := row.Scan(&p.ID, &p.Purpose, &p.ReferenceID, &p.CustomerID, &p.Amount.Minor, &currency, &p.Status, &p.Refunded.Minor,
		&p.CheckoutSessionID, &p.CheckoutURL, &p.PaymentIntentID, &p.StripeCustomerID,
		&p.PaymentMethodID, &p.CardCountry, &p.LastError, &p.CreatedAt, &p.UpdatedAt, &p.Duplicate, &p.keyRound)
	if err != nil {
		return Payment{}, err
	}
	p.Amount.Currency, p.Refunded.Currency = currency, currency
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, nil
}

func getPayment(ctx context.Context, q db.Querier, paymentID string) (Payment, error) {
	p, err := scanPayment(q.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM card_payments WHERE id = $1`, paymentID))
	if errors.Is(err, sql.ErrNoRows) {
		return Payment{}, fmt.Errorf("%w: payment %s", ErrNotFound, paymentID)
	}
	if err != nil {
		return Payment{}, fmt.Errorf("read payment %s: %w", paymentID, err)
	}
	return p, nil
}

// paymentBy finds a payment by a unique Stripe id column; found is false
// when none has it.
func paymentBy(ctx context.Context, q db.Querier, column, value string) (p Payment, found bool, err error) {
	if value == "" {
		return Payment{}, false, nil
	}
	// column is one of our constants, never input.
	p, err = scanPayment(q.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM card_payments WHERE `+column+` = $1`, value))
	if errors.Is(err, sql.ErrNoRows) {
		return Payment{}, false, nil
	}
	if err != nil {
		return Payment{}, false, err
	}
	return p, true, nil
}

// refundColumns reads a refund joined with its payment (alias p), which
// holds the currency.
const refundColumns = `r.id, r.payment_id, r.amount, p.currency, r.status, COALESCE(r.stripe_refund_id, ''), r.reason,
	r.last_error, r.created_at, r.updated_at, r.key_round`

func scanRefund(row interface{ Scan(...any) error }) (Refund, error) {
	var r Refund
	err := row.Scan(&r.ID, &r.PaymentID, &r.Amount.Minor, &r.Amount.Currency, &r.Status, &r.StripeRefundID, &r.Reason,
		&r.LastError, &r.CreatedAt, &r.UpdatedAt, &r.keyRound)
	if err != nil {
		return Refund{}, err
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

func getRefund(ctx context.Context, q db.Querier, refundID string) (Refund, error) {
	r, err := scanRefund(q.QueryRowContext(ctx, `SELECT `+refundColumns+`
		FROM card_refunds r JOIN card_payments p ON p.id = r.payment_id WHERE r.id = $1`, refundID))
	if errors.Is(err, sql.ErrNoRows) {
		return Refund{}, fmt.Errorf("%w: refund %s", ErrNotFound, refundID)
	}
	if err != nil {
		return Refund{}, fmt.Errorf("read refund %s: %w", refundID, err)
	}
	return r, nil
}

// inList renders statuses as a SQL list of literals. They are our own
// constants, so inlining them is safe, and it keeps the placeholders of the
// queries fixed.
func inList[S ~string](ss ...S) string {
	quoted := make([]string, len(ss))
	for i, s := range ss {
		quoted[i] = "'" + string(s) + "'"
	}
	return "(" + strings.Join(quoted, ", ") + ")"
}

// details are the Stripe ids a webhook or an API answer tells us about a
// payment. Empty fields are unknown.
type details struct {
	CheckoutSessionID string
	PaymentIntentID   string
	StripeCustomerID  string
	PaymentMethodID   string
	CardCountry       string
}

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// fillDetails records what we learnt without overwriting what we knew:
// events arrive in any order and some carry less than others.
func (s *Service) fillDetails(ctx context.Context, tx *sql.Tx, paymentID string, d details) error {
	if d == (details{}) {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE card_payments SET
		checkout_session_id = COALESCE(checkout_session_id, $2),
		payment_intent_id = COALESCE(payment_intent_id, $3),
		stripe_customer_id = CASE WHEN stripe_customer_id = '' THEN $4 ELSE stripe_customer_id END,
		payment_method_id = CASE WHEN payment_method_id = '' THEN $5 ELSE payment_method_id END,
		card_country = CASE WHEN card_country = '' THEN $6 ELSE card_country END,
		updated_at = $7
		WHERE id = $1`,
		paymentID, nullable(d.CheckoutSessionID), nullable(d.PaymentIntentID), d.StripeCustomerID,
		d.PaymentMethodID, d.CardCountry, s.clock.Now())
	if err != nil {
		return fmt.Errorf("record stripe ids of %s: %w", paymentID, err)
	}
	return nil
}

// transition moves a payment to status `to` if it is in one of `from`, and
// reports whether it did. Being conditional is what makes every outcome
// apply once, whichever of the job, the webhook or its redelivery comes
// first.
func (s *Service) transition(ctx context.Context, tx *sql.Tx, paymentID string, to Status, lastError string, from ...Status) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE card_payments SET status = $2, last_error = $3, updated_at = $4
		WHERE id = $1 AND status IN `+inList(from...), paymentID, string(to), truncate(lastError), s.clock.Now())
	if err != nil {
		return false, fmt.Errorf("payment %s to %s: %w", paymentID, to, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// succeed records a payment as paid, once, and tells the Handler in the same
// transaction. It returns whether this call did it.
//
// Money that arrives for a payment we had closed (released, or recorded
// failed) is never left unrecorded: the payment takes its reference back if
// nothing else holds it (succeedClosed); if another payment paid or holds
// the reference by now, this one is a duplicate, refunded in full at once
// (recordDuplicate).
//
// Lock order. Before its first write on the payment, succeed holds the
// payer's account row (account.HoldUnerasedTx), which an erasure takes
// first: the Handler may put money into the balance (a top-up), and an
// erasure running at the same time must either have committed, so that
// the Handler sees the account erased and gives the money back, or wait
// for this transaction, and then see the credit. The order is the
// erasure's: the account, then the payment (the erasure releases the
// customer's waiting payments, orders and top-ups, through their rows),
// then what the Handler touches (the order, the balance). Taking the
// account after the payment's row, in the Handler, would deadlock on
// PostgreSQL with an erasure holding the account and waiting for that
// payment's row. A webhook's transaction has written only its event's new
// row (stripe_events) before; the off-session charge's job, nothing.
func (s *Service) succeed(ctx context.Context, tx *sql.Tx, paymentID string, d details) (bool, error) {
	payer, err := getPayment(ctx, tx, paymentID)
	if err != nil {
		return false, err
	}
	if err := holdPayerTx(ctx, tx, payer.CustomerID); err != nil {
		return false, err
	}
	if err := s.fillDetails(ctx, tx, paymentID, d); err != nil {
		return false, err
	}
	before, err := getPayment(ctx, tx, paymentID)
	if err != nil {
		return false, err
	}
	if d.PaymentIntentID != "" && before.PaymentIntentID != "" && d.PaymentIntentID != before.PaymentIntentID {
		// Another intent than the payment's: a second charge.
		return false, s.recordExtraIntent(ctx, tx, before, d)
	}
	ok, err := s.transition(ctx, tx, paymentID, StatusSucceeded, "", StatusCreating, StatusAwaitingCustomer, StatusRequiresAction)
	closed := before.Status == StatusCanceled || before.Status == StatusFailed
	if err == nil && !ok && closed {
		ok, err = s.succeedClosed(ctx, tx, before, d)
		if err == nil && !ok {
			return false, s.recordDuplicate(ctx, tx, before, d)
		}
	}
	if err != nil || !ok {
		return false, err
	}
	p, err := s.afterTransition(ctx, tx, before, "payment.succeeded")
	if err != nil {
		return false, err
	}
	if err := s.handler.PaymentSucceeded(ctx, tx, p); err != nil {
		return false, fmt.Errorf("handler of %s %s: payment succeeded: %w", p.Purpose, p.ReferenceID, err)
	}
	return true, nil
}

// holdPayerTx holds the account row of customerID for the rest of tx (see
// succeed's lock order). Whether it is erased is the Handler's to ask; an
// id without an account holds nothing.
func holdPayerTx(ctx context.Context, tx *sql.Tx, customerID string) error {
	if customerID == "" {
		return nil
	}
	if _, err := account.HoldUnerasedTx(ctx, tx, customerID); err != nil && !errors.Is(err, account.ErrNotFound) {
		return fmt.Errorf("cardpay: %w", err)
	}
	return nil
}

// succeedClosed records the success of a payment we had closed while it
// could still be paid: released (ReleaseTx) as an off-session charge whose
// job was already calling Stripe (the customer canceled as the renewal was
// being charged), or as a Checkout page the customer paid before its expiry
// reached Stripe (the order abandoned on an erasure, the subscription
// ended; the expiry job may be retrying while Stripe is unreachable); or
// recorded failed when our last attempt met errors although Stripe had
// charged. The money arrived, so it is recorded and the Handler told (the
// canceled order or subscription refunds it), unless another payment holds
// the reference by now: false, and succeed records a duplicate.
func (s *Service) succeedClosed(ctx context.Context, tx *sql.Tx, before Payment, d details) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE card_payments SET status = 'succeeded', last_error = '', updated_at = $2
		WHERE id = $1 AND status IN ('canceled', 'failed') AND NOT EXISTS (SELECT 1 FROM card_payments o
			WHERE o.purpose = card_payments.purpose AND o.reference_id = card_payments.reference_id
				AND o.id <> card_payments.id AND o.status IN `+inList(live...)+` AND NOT o.duplicate)`, before.ID, s.clock.Now())
	if err != nil {
		return false, fmt.Errorf("payment %s closed, then paid: %w", before.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil || n != 1 {
		return false, err
	}
	s.log.Warn("cardpay: a closed payment was paid all the same; recorded",
		"payment", before.ID, "purpose", before.Purpose, "reference", before.ReferenceID, "payment_intent", d.PaymentIntentID)
	return true, nil
}

// fail moves a payment to a failed, canceled or requires_action status once
// and tells the Handler in the same transaction.
func (s *Service) fail(ctx context.Context, tx *sql.Tx, paymentID string, to Status, lastError string, d details, from ...Status) (bool, error) {
	if err := s.fillDetails(ctx, tx, paymentID, d); err != nil {
		return false, err
	}
	before, err := getPayment(ctx, tx, paymentID)
	if err != nil {
		return false, err
	}
	ok, err := s.transition(ctx, tx, paymentID, to, lastError, from...)
	if err != nil || !ok {
		return false, err
	}
	p, err := s.afterTransition(ctx, tx, before, "payment."+string(to))
	if err != nil {
		return false, err
	}
	if err := s.handler.PaymentFailed(ctx, tx, p); err != nil {
		return false, fmt.Errorf("handler of %s %s: payment %s: %w", p.Purpose, p.ReferenceID, to, err)
	}
	return true, nil
}

// afterTransition reads the payment back and appends the change to the
// audit log.
func (s *Service) afterTransition(ctx context.Context, tx *sql.Tx, before Payment, action string) (Payment, error) {
	p, err := getPayment(ctx, tx, before.ID)
	if err != nil {
		return Payment{}, err
	}
	err = audit.Record(ctx, tx, audit.Entry{
		At: s.clock.Now(), Actor: audit.System, SubjectType: "card_payment", SubjectID: p.ID, Action: action,
		Before: auditState(before), After: auditState(p),
	})
	return p, err
}

// auditState is what the audit log keeps of a payment: no personal data,
// only what moved.
func auditState(p Payment) map[string]any {
	return map[string]any{
		"status": p.Status, "purpose": p.Purpose, "reference_id": p.ReferenceID, "customer_id": p.CustomerID,
		"amount": p.Amount, "refunded": p.Refunded,
	}
}

// maxErrorLen keeps a chatty error from bloating a row.
const maxErrorLen = 2000

func truncate(msg string) string {
	if len(msg) > maxErrorLen {
		// Cut on a character boundary: PostgreSQL refuses invalid UTF-8.
		msg = strings.ToValidUTF8(msg[:maxErrorLen], "")
	}
	return msg
}

// checkAmount reports whether what Stripe says was paid is what we asked
// for. A mismatch means a bug or a payment made outside comptoir: it must
// not settle the order.
func checkAmount(p Payment, minor int64, currency string) error {
	if minor == 0 && currency == "" {
		return nil // not in the payload
	}
	if minor != p.Amount.Minor || !strings.EqualFold(currency, p.Amount.Currency) {
		got := money.Amount{Minor: minor, Currency: strings.ToUpper(currency)}
		return fmt.Errorf("stripe reports %v paid for payment %s of %v", got, p.ID, p.Amount)
	}
	return nil
}
