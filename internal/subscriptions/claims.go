package subscriptions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"comptoir/internal/billing"
	"comptoir/internal/cardpay"
	"comptoir/internal/claims"
	"comptoir/internal/db"
	"comptoir/internal/money"
	"comptoir/internal/policy"
)

// ClaimsAdapter gives subscription_cancel claims what they need: the facts
// of a subscription, and carrying out the decision (stop billing, end as
// decided, give the last payment back where it came from).
type ClaimsAdapter struct {
	S      *Service
	Ledger interface {
		CreditTx(ctx context.Context, tx *sql.Tx, e billing.Entry) (billing.EntryRow, error)
	}
	Card *cardpay.Service
}

// ClaimSubject implements claims.Subscriptions.
func (a ClaimsAdapter) ClaimSubject(ctx context.Context, subID string) (claims.SubscriptionSubject, error) {
	sub, err := a.S.Get(ctx, subID)
	if errors.Is(err, ErrNotFound) {
		return claims.SubscriptionSubject{}, fmt.Errorf("%w: subscription %s", claims.ErrNotFound, subID)
	}
	if err != nil {
		return claims.SubscriptionSubject{}, err
	}
	out := claims.SubscriptionSubject{ID: sub.ID, CustomerID: sub.CustomerID, PolicyVersion: sub.PolicyVersion, PeriodEnd: sub.CurrentPeriodEnd,
		StartedAt: sub.CreatedAt}
	if c := sub.Consent; !c.At.IsZero() {
		out.Consent = &policy.Consent{ImmediatePerformance: c.ImmediatePerformance, WithdrawalWaiver: c.WithdrawalWaiver, At: c.At}
	}
	last, ok, err := a.S.LastPayment(ctx, subID)
	if err != nil {
		return claims.SubscriptionSubject{}, err
	}
	if ok {
		amount := last.Amount
		out.LastPaymentAt, out.LastPayment, out.FromBalance = last.PaidAt, &amount, last.PaymentMethod == PayBalance
		if last.Status == PeriodRefunded {
			out.Refunded = &amount
		} else if back, err := chargedBack(ctx, a.S.db.Read, last); err != nil {
			return claims.SubscriptionSubject{}, err
		} else if back.IsPositive() {
			// The bank gave it back already (a lost dispute): refunding
			// it too would pay the customer twice.
			out.Refunded = &back
		}
	}
	unrefunded, err := paidPeriods(ctx, a.S.db.Read, subID, time.Time{})
	if err != nil {
		return claims.SubscriptionSubject{}, err
	}
	out.Unrefunded = make([]claims.SubscriptionPayment, len(unrefunded))
	for i, p := range unrefunded {
		out.Unrefunded[i] = claims.SubscriptionPayment{PaidAt: p.PaidAt, Amount: p.Amount}
	}
	return out, nil
}

// chargedBack is what lost disputes of period's payment returned to the
// customer (period_chargebacks), at most what the period paid.
func chargedBack(ctx context.Context, q db.Querier, period Period) (money.Amount, error) {
	var n int64
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(disputed), 0) FROM period_chargebacks WHERE period_id = $1 AND currency = $2`,
		period.ID, period.Amount.Currency).Scan(&n); err != nil {
		return money.Amount{}, wrapDB("chargebacks of period", err)
	}
	return money.Amount{Minor: min(n, period.Amount.Minor), Currency: period.Amount.Currency}, nil
}

// paidPeriods lists the periods of subID paid and not refunded, paid after
// since (zero: all of them), newest first.
func paidPeriods(ctx context.Context, q db.Querier, subID string, since time.Time) ([]Period, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+periodColumns+` FROM subscription_periods
		WHERE subscription_id = $1 AND status = 'paid' AND paid_at > $2 ORDER BY paid_at DESC, period_start DESC`, subID, since.UTC())
	if err != nil {
		return nil, wrapDB("paid periods", err)
	}
	defer rows.Close()
	var out []Period
	for rows.Next() {
		p, err := scanPeriod(rows)
		if err != nil {
			return nil, wrapDB("paid periods", err)
		}
		out = append(out, p)
	}
	return out, wrapDB("paid periods", rows.Err())
}

// CancelForClaimTx implements claims.Subscriptions: in the claim's
// transaction, billing stops and the subscription ends as decided; a refund
// goes back to the balance or the card the last period was paid with.
//
// The decision was taken on facts read before tx. The subscription row is
// locked first (a renewal takes it first too), then its last payment read:
// if it is not the one decided on, a renewal was charged meanwhile, and
// carrying out a decision about the previous payment would keep that one
// (a refusal out of the window for a period paid seconds ago, ended "now").
// Nothing is changed and the claim is decided again (ErrSubjectChanged).
func (a ClaimsAdapter) CancelForClaimTx(ctx context.Context, tx *sql.Tx, c claims.SubscriptionCancel) (claims.SubscriptionRefund, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET updated_at = updated_at WHERE id = $1`, c.SubscriptionID); err != nil {
		return claims.SubscriptionRefund{}, wrapDB("lock subscription", err)
	}
	last, ok, err := lastPayment(ctx, tx, c.SubscriptionID)
	if err != nil {
		return claims.SubscriptionRefund{}, err
	}
	var paidAt time.Time
	if ok {
		paidAt = last.PaidAt
	}
	if !paidAt.Equal(c.LastPaymentAt) {
		return claims.SubscriptionRefund{}, fmt.Errorf("%w: the last payment of %s is of %s, the decision was taken on %s",
			claims.ErrSubjectChanged, c.SubscriptionID, paidAt, c.LastPaymentAt)
	}
	sub, mailed, err := a.S.cancelTx(ctx, tx, CancelInput{SubscriptionID: c.SubscriptionID, Mode: string(c.Cancel), Actor: c.Actor, Claim: c.Mail})
	if err != nil {
		return claims.SubscriptionRefund{}, err
	}
	if c.Refund == nil {
		return claims.SubscriptionRefund{Mailed: mailed}, nil
	}
	periods := []Period{last}
	if c.RefundSince.IsZero() && (!ok || last.Status != PeriodPaid) {
		return claims.SubscriptionRefund{}, fmt.Errorf("%w: %s has no payment left to refund", claims.ErrOverRefund, c.SubscriptionID)
	}
	if !c.RefundSince.IsZero() {
		// The renewals charged after a written request, read after the
		// subscription's row is held: they must be the payments the
		// decision added up, or it was taken on facts gone by.
		if periods, err = paidPeriods(ctx, tx, c.SubscriptionID, c.RefundSince); err != nil {
			return claims.SubscriptionRefund{}, err
		}
		total := money.Amount{Currency: c.Refund.Currency}
		for _, p := range periods {
			if total, err = total.Add(p.Amount); err != nil {
				return claims.SubscriptionRefund{}, err
			}
		}
		if total != *c.Refund {
			return claims.SubscriptionRefund{}, fmt.Errorf("%w: the payments of %s since %s add up to %s, the decision gives back %s",
				claims.ErrSubjectChanged, c.SubscriptionID, c.RefundSince, total, *c.Refund)
		}
	}
	var parts []claims.SubscriptionRefund
	toBalance := money.Amount{Currency: c.Refund.Currency}
	for _, p := range periods {
		amount := p.Amount
		if c.RefundSince.IsZero() {
			amount = *c.Refund // the last payment, as decided
		}
		part, err := a.refundPeriodTx(ctx, tx, sub, p, amount, c, p.ID == last.ID)
		if err != nil {
			return claims.SubscriptionRefund{}, err
		}
		if part.Destination == claims.DestCard {
			parts = append(parts, part)
		} else if toBalance, err = toBalance.Add(amount); err != nil {
			return claims.SubscriptionRefund{}, err
		}
	}
	if toBalance.IsPositive() {
		// Back to the balance, at once and in one entry: the claim's
		// reference credits once.
		e, err := a.Ledger.CreditTx(ctx, tx, billing.Entry{
			CustomerID: sub.CustomerID, Amount: toBalance, Kind: billing.KindRefund,
			ReferenceType: "claim", ReferenceID: c.ClaimID, Actor: c.Actor,
		})
		if err != nil {
			return claims.SubscriptionRefund{}, err
		}
		parts = append(parts, claims.SubscriptionRefund{Destination: claims.DestBalance, LedgerEntryID: e.ID, Amount: toBalance})
	}
	if len(parts) == 0 {
		return claims.SubscriptionRefund{}, fmt.Errorf("%w: %s has no payment left to refund", claims.ErrOverRefund, c.SubscriptionID)
	}
	out := parts[0]
	out.More, out.Mailed = parts[1:], mailed
	return out, nil
}

// refundPeriodTx gives amount of period's payment back where it came
// from, for claim c: the period is marked refunded (the conditional paid →
// refunded update is what refunds a period once, however many decisions
// reach here: an agent's retried, two agents at once); a card payment is
// refunded through the processor, its credit note waiting for the outcome
// (CardHandler.RefundSettled); a payment from the balance gets its credit
// note now and returns DestBalance, for the caller to credit. last says
// the period is the last payment, whose credit note keeps the claim's name
// alone; the others' add their period.
func (a ClaimsAdapter) refundPeriodTx(ctx context.Context, tx *sql.Tx, sub Subscription, period Period, amount money.Amount,
	c claims.SubscriptionCancel, last bool) (claims.SubscriptionRefund, error) {
	if err := a.S.MarkRefundedTx(ctx, tx, period.ID, c.Actor); errors.Is(err, ErrNotFound) {
		return claims.SubscriptionRefund{}, fmt.Errorf("%w: period %s of %s was refunded already", claims.ErrOverRefund, period.ID, c.SubscriptionID)
	} else if err != nil {
		return claims.SubscriptionRefund{}, err
	}
	if period.PaymentMethod == PayCard {
		if a.Card == nil {
			return claims.SubscriptionRefund{}, claims.ErrCardRefundUnavailable
		}
		r, err := a.Card.RefundTx(ctx, tx, period.PaymentReference, amount, "subscription cancellation "+c.ClaimID)
		if err != nil {
			return claims.SubscriptionRefund{}, err
		}
		return claims.SubscriptionRefund{Destination: claims.DestCard, Pending: true, CardRefundID: r.ID, Amount: amount}, nil
	}
	refundID := "claim_" + c.ClaimID
	if !last {
		refundID += "_" + period.ID
	}
	if err := a.S.creditPeriod(ctx, tx, sub, period, refundID, amount); err != nil {
		return claims.SubscriptionRefund{}, err
	}
	return claims.SubscriptionRefund{Destination: claims.DestBalance, Amount: amount}, nil
}
