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
		out.LastPaymentAt, out.LastPayment = last.PaidAt, &amount
		if last.Status == PeriodRefunded {
			out.Refunded = &amount
		}
	}
	return out, nil
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
	sub, err := a.S.CancelTx(ctx, tx, CancelInput{SubscriptionID: c.SubscriptionID, Mode: string(c.Cancel), Actor: c.Actor})
	if err != nil {
		return claims.SubscriptionRefund{}, err
	}
	if c.Refund == nil {
		return claims.SubscriptionRefund{}, nil
	}
	if !ok || last.Status != PeriodPaid {
		return claims.SubscriptionRefund{}, fmt.Errorf("%w: %s has no payment left to refund", claims.ErrOverRefund, c.SubscriptionID)
	}
	// The conditional paid → refunded update is what refunds a period
	// once, however many decisions (an agent's retried, two agents at
	// once) reach here.
	if err := a.S.MarkRefundedTx(ctx, tx, last.ID, c.Actor); errors.Is(err, ErrNotFound) {
		return claims.SubscriptionRefund{}, fmt.Errorf("%w: period %s of %s was refunded already", claims.ErrOverRefund, last.ID, c.SubscriptionID)
	} else if err != nil {
		return claims.SubscriptionRefund{}, err
	}
	if last.PaymentMethod == PayCard {
		// Its credit note waits for the processor to confirm the refund
		// (CardHandler.RefundSettled): a card refund can still fail.
		if a.Card == nil {
			return claims.SubscriptionRefund{}, claims.ErrCardRefundUnavailable
		}
		r, err := a.Card.RefundTx(ctx, tx, last.PaymentReference, *c.Refund, "subscription cancellation "+c.ClaimID)
		if err != nil {
			return claims.SubscriptionRefund{}, err
		}
		return claims.SubscriptionRefund{Destination: claims.DestCard, Pending: true, CardRefundID: r.ID}, nil
	}
	// Back to the balance: the money has moved, the credit note goes now.
	if err := a.S.creditPeriod(ctx, tx, sub, last, "claim_"+c.ClaimID, *c.Refund); err != nil {
		return claims.SubscriptionRefund{}, err
	}
	e, err := a.Ledger.CreditTx(ctx, tx, billing.Entry{
		CustomerID: sub.CustomerID, Amount: *c.Refund, Kind: billing.KindRefund,
		ReferenceType: "claim", ReferenceID: c.ClaimID, Actor: c.Actor,
	})
	if err != nil {
		return claims.SubscriptionRefund{}, err
	}
	return claims.SubscriptionRefund{Destination: claims.DestBalance, LedgerEntryID: e.ID}, nil
}
