package subscriptions

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/id"
)

const subscriptionColumns = `id, customer_id, product_id, product_revision, plan_interval, status, payment_method, currency, amount,
	policy_version, lang, anchor_day, current_period_start, current_period_end, trial_end, cancel_at_period_end,
	cancel_requested_at, canceled_at, ended_at, consent_required, immediate_performance, withdrawal_waiver,
	consent_wording_version, consent_lang, consent_immediate_text, consent_waiver_text, consent_at, consent_ip,
	consent_user_agent, created_at, updated_at, terms_version`

func scanSubscription(row interface{ Scan(...any) error }) (Subscription, error) {
	var s Subscription
	var trialEnd, requested, canceled, ended sql.NullTime
	var terms sql.NullString
	c := &s.Consent
	err := row.Scan(&s.ID, &s.CustomerID, &s.ProductID, &s.ProductRevision, &s.Interval, &s.Status, &s.PaymentMethod,
		&s.Amount.Currency, &s.Amount.Minor, &s.PolicyVersion, &s.Lang, &s.AnchorDay, &s.CurrentPeriodStart,
		&s.CurrentPeriodEnd, &trialEnd, &s.CancelAtPeriodEnd, &requested, &canceled, &ended,
		&c.Required, &c.ImmediatePerformance, &c.WithdrawalWaiver, &c.WordingVersion, &c.Lang, &c.ImmediateText,
		&c.WaiverText, &c.At, &c.IP, &c.UserAgent, &s.CreatedAt, &s.UpdatedAt, &terms)
	if err != nil {
		return Subscription{}, err
	}
	s.CurrentPeriodStart, s.CurrentPeriodEnd = s.CurrentPeriodStart.UTC(), s.CurrentPeriodEnd.UTC()
	s.TrialEnd, s.CancelRequestedAt = fromNull(trialEnd), fromNull(requested)
	s.CanceledAt, s.EndedAt = fromNull(canceled), fromNull(ended)
	c.TermsVersion = terms.String
	c.At, s.CreatedAt, s.UpdatedAt = c.At.UTC(), s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s, nil
}

func fromNull(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func getSubscription(ctx context.Context, q db.Querier, subID string) (Subscription, error) {
	s, err := scanSubscription(q.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = $1`, subID))
	if errors.Is(err, sql.ErrNoRows) {
		return Subscription{}, ErrNotFound
	}
	return s, wrapDB("get subscription", err)
}

// Get returns a subscription.
func (s *Service) Get(ctx context.Context, subID string) (Subscription, error) {
	return getSubscription(ctx, s.db.Read, subID)
}

// GetTx returns a subscription as the transaction tx sees it (the API
// builds an answer from it inside the transaction that changed it).
func (s *Service) GetTx(ctx context.Context, tx *sql.Tx, subID string) (Subscription, error) {
	return getSubscription(ctx, tx, subID)
}

// GetForCustomer returns the subscription only when it belongs to
// customerID: for anyone else it does not exist (ErrNotFound), which
// reveals nothing.
func (s *Service) GetForCustomer(ctx context.Context, customerID, subID string) (Subscription, error) {
	sub, err := s.Get(ctx, subID)
	if err != nil {
		return Subscription{}, err
	}
	if sub.CustomerID != customerID {
		return Subscription{}, ErrNotFound
	}
	return sub, nil
}

// Live returns customerID's subscription to the plan productID that is not
// canceled, if any: the one that stops them subscribing to it again (the
// unique index subscriptions_one_live_per_plan, ErrAlreadySubscribed).
func (s *Service) Live(ctx context.Context, customerID, productID string) (Subscription, bool, error) {
	sub, err := scanSubscription(s.db.Read.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE customer_id = $1 AND product_id = $2 AND status <> 'canceled'`, customerID, productID))
	if errors.Is(err, sql.ErrNoRows) {
		return Subscription{}, false, nil
	}
	if err != nil {
		return Subscription{}, false, wrapDB("live subscription", err)
	}
	return sub, true, nil
}

// ListFilter selects subscriptions for a page.
type ListFilter struct {
	CustomerID string // only this customer's; empty for all (agents)
	After      string // cursor: the last id of the previous page
	Limit      int    // default 20, at most 100
}

// List returns a page of subscriptions, newest first, and the cursor of the
// next page ("" on the last).
func (s *Service) List(ctx context.Context, f ListFilter) ([]Subscription, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 100)
	query := `SELECT ` + subscriptionColumns + ` FROM subscriptions WHERE 1 = 1`
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		query += " AND " + cond + " $" + strconv.Itoa(len(args))
	}
	if f.CustomerID != "" {
		add("customer_id =", f.CustomerID)
	}
	if f.After != "" {
		// A cursor is an id this list gave; anything else is refused
		// rather than read as "nothing after it".
		if !id.Valid("sub", f.After) {
			return nil, "", &ValidationError{Fields: map[string]string{"after": "invalid"}}
		}
		add("id <", f.After)
	}
	args = append(args, limit+1)
	query += " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	rows, err := s.db.Read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", wrapDB("list", err)
	}
	defer rows.Close()
	var page []Subscription
	for rows.Next() {
		sub, err := scanSubscription(rows)
		if err != nil {
			return nil, "", wrapDB("list", err)
		}
		page = append(page, sub)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrapDB("list", err)
	}
	next := ""
	if len(page) > limit {
		page = page[:limit]
		next = page[limit-1].ID
	}
	return page, next, nil
}

const periodColumns = `id, subscription_id, period_start, period_end, currency, amount, payment_method, policy_version, status,
	attempts, next_attempt_at, last_error, paid_at, payment_reference, refunded_at, created_at`

func scanPeriod(row interface{ Scan(...any) error }) (Period, error) {
	var p Period
	var next, paid, refunded sql.NullTime
	err := row.Scan(&p.ID, &p.SubscriptionID, &p.Start, &p.End, &p.Amount.Currency, &p.Amount.Minor, &p.PaymentMethod,
		&p.PolicyVersion, &p.Status, &p.Attempts, &next, &p.LastError, &paid, &p.PaymentReference, &refunded, &p.CreatedAt)
	if err != nil {
		return Period{}, err
	}
	p.Start, p.End, p.CreatedAt = p.Start.UTC(), p.End.UTC(), p.CreatedAt.UTC()
	p.NextAttemptAt, p.PaidAt, p.RefundedAt = fromNull(next), fromNull(paid), fromNull(refunded)
	return p, nil
}

func getPeriod(ctx context.Context, q db.Querier, periodID string) (Period, error) {
	p, err := scanPeriod(q.QueryRowContext(ctx, `SELECT `+periodColumns+` FROM subscription_periods WHERE id = $1`, periodID))
	if errors.Is(err, sql.ErrNoRows) {
		return Period{}, ErrNotFound
	}
	return p, wrapDB("get period", err)
}

// Periods lists a subscription's billed periods, oldest first.
func (s *Service) Periods(ctx context.Context, subID string) ([]Period, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+periodColumns+` FROM subscription_periods
		WHERE subscription_id = $1 ORDER BY period_start`, subID)
	if err != nil {
		return nil, wrapDB("periods", err)
	}
	defer rows.Close()
	var out []Period
	for rows.Next() {
		p, err := scanPeriod(rows)
		if err != nil {
			return nil, wrapDB("periods", err)
		}
		out = append(out, p)
	}
	return out, wrapDB("periods", rows.Err())
}

// LastPayment is the subscription's last successful payment: what the
// refund policy's subscription_cancel rule counts its window from (PaidAt)
// and refunds (Amount, PaymentMethod, PaymentReference). Status is
// PeriodRefunded when it was refunded already (MarkRefundedTx): then
// nothing of it is refundable, and an older payment never takes its place.
// false when nothing was paid yet (a trial).
func (s *Service) LastPayment(ctx context.Context, subID string) (Period, bool, error) {
	return lastPayment(ctx, s.db.Read, subID)
}

func lastPayment(ctx context.Context, q db.Querier, subID string) (Period, bool, error) {
	p, err := scanPeriod(q.QueryRowContext(ctx, `SELECT `+periodColumns+` FROM subscription_periods
		WHERE subscription_id = $1 AND paid_at IS NOT NULL ORDER BY paid_at DESC, period_start DESC LIMIT 1`, subID))
	if errors.Is(err, sql.ErrNoRows) {
		return Period{}, false, nil
	}
	if err != nil {
		return Period{}, false, wrapDB("last payment", err)
	}
	return p, true, nil
}

// OpenPeriodTx returns the subscription's period awaiting payment (pending),
// if any, read in tx: after Start with a card, the period whose id the
// Checkout payment must reference.
func (s *Service) OpenPeriodTx(ctx context.Context, tx *sql.Tx, subID string) (Period, bool, error) {
	p, err := scanPeriod(tx.QueryRowContext(ctx, `SELECT `+periodColumns+` FROM subscription_periods
		WHERE subscription_id = $1 AND status = 'pending' ORDER BY period_start DESC LIMIT 1`, subID))
	if errors.Is(err, sql.ErrNoRows) {
		return Period{}, false, nil
	}
	if err != nil {
		return Period{}, false, wrapDB("open period", err)
	}
	return p, true, nil
}
