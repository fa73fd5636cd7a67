package subscriptions

import (
	"context"
	"database/sql"
	"errors"

	"comptoir/internal/db"
)

// authLink is the page named in the payment-failed email when the bank
// wants the customer to authenticate the renewal: it belongs to the signed-
// in customer (another customer gets a 404) and works while the period is
// being retried.
func (s *Service) authLink(subID string) string {
	return s.opts.BaseURL + "/subscriptions/" + subID + "/authenticate"
}

// AuthenticationPeriod returns the customer's past_due card subscription
// and the period whose renewal is being retried, which the customer may pay
// on-session (on Stripe's Checkout page) instead of waiting for the next
// off-session attempt. ErrNotFound when the subscription is not theirs, or
// when there is nothing to pay any more: the period was paid, or the retry
// schedule ended the subscription (the email's link expires with it).
func (s *Service) AuthenticationPeriod(ctx context.Context, customerID, subID string) (Subscription, Period, error) {
	sub, err := s.GetForCustomer(ctx, customerID, subID)
	if err != nil {
		return Subscription{}, Period{}, err
	}
	if sub.Status != StatusPastDue || sub.PaymentMethod != PayCard {
		return Subscription{}, Period{}, ErrNotFound
	}
	p, err := periodToAuthenticate(ctx, s.db.Read, sub)
	if err != nil {
		return Subscription{}, Period{}, err
	}
	return sub, p, nil
}

// periodToAuthenticate is the period of a past-due subscription whose
// failed payment is still being retried: the one the customer may pay on
// session. ErrNotFound when there is none.
func periodToAuthenticate(ctx context.Context, q db.Querier, sub Subscription) (Period, error) {
	p, err := scanPeriod(q.QueryRowContext(ctx, `SELECT `+periodColumns+` FROM subscription_periods
		WHERE subscription_id = $1 AND period_start = $2 AND status = 'failed' AND next_attempt_at IS NOT NULL`,
		sub.ID, sub.CurrentPeriodEnd))
	if errors.Is(err, sql.ErrNoRows) {
		return Period{}, ErrNotFound
	}
	if err != nil {
		return Period{}, wrapDB("period to authenticate", err)
	}
	return p, nil
}

// PayPeriodFunc starts, in tx, the on-session payment of a period
// (cardpay's StartAuthenticationTx, from the web layer).
type PayPeriodFunc func(ctx context.Context, tx *sql.Tx, sub Subscription, period Period) error

// PayPeriodOnSession runs start in a transaction that first claims the
// subscription row (as renewals, retries and settlements do, in the same
// order) and checks again that the period is still to be paid: a retry
// schedule that ends the subscription concurrently either commits first,
// and this finds nothing (ErrNotFound), or waits for this to commit, and
// then releases the payment it started.
func (s *Service) PayPeriodOnSession(ctx context.Context, customerID, subID string, start PayPeriodFunc) error {
	if _, _, err := s.AuthenticationPeriod(ctx, customerID, subID); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE subscriptions SET updated_at = updated_at
			WHERE id = $1 AND customer_id = $2 AND status = 'past_due' AND payment_method = 'card'`, subID, customerID)
		if err != nil {
			return wrapDB("claim subscription", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		sub, err := getSubscription(ctx, tx, subID)
		if err != nil {
			return err
		}
		p, err := periodToAuthenticate(ctx, tx, sub)
		if err != nil {
			return err
		}
		return start(ctx, tx, sub, p)
	})
}
