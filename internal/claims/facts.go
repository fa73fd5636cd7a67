package claims

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"comptoir/internal/account"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

// subject is everything a decision on a claim needs, read at one moment:
// the policy, the customer, the order line or subscription, and the facts
// the engine decides on.
type subject struct {
	claim    Claim
	policy   *policy.Policy
	customer account.User
	order    orders.Order // order claims
	line     orders.Line
	sub      SubscriptionSubject // subscription claims
	// version is claim_subjects.version when the facts were read: an
	// automatic decision commits only if it has not moved since.
	version  int64
	evidence []Evidence
	facts    policy.Facts
	// withdrawnBy is, for a non_delivery claim, the withdrawal claim that
	// already got money back for the line (see withdrawnBefore).
	withdrawnBy string
	// before are the reasons of decisions taken just before the current
	// one in the same step (a redelivery, then the wait for it): the email
	// tells them first.
	before []policy.Reason
	// sw is the exchange an agent's switch decision carries out
	// (switchDecision); nil otherwise.
	sw *switchPlan
	// mailed: carrying the decision out cancelled the subscription, and
	// the cancellation's confirmation told the claim too
	// (SubscriptionRefund.Mailed): notifyTx sends nothing more.
	mailed bool
}

// subjectID is what claim_subjects counts decisions on: the order line or
// the subscription.
func (c Claim) subjectID() string {
	if c.SubscriptionID != "" {
		return c.SubscriptionID
	}
	return c.LineID
}

// Facts returns the policy facts of a claim as they stand in the database,
// shaped exactly as API.md's policy eval facts: the decision the service
// takes is policy.Evaluate on these facts (but for a subscription renewal
// charged after the customer's written request to stop, and a non_delivery
// claim on a line a withdrawal refunded since it was filed, which those
// facts cannot hold: see renewedAfterRequest and withdrawnBefore; and an
// order claim whose refund a card dispute holds, decided so once the hold
// lifts: see refundHeld).
func (s *Service) Facts(ctx context.Context, c Claim) (policy.Facts, error) {
	subj, err := s.gather(ctx, c)
	if err != nil {
		return policy.Facts{}, err
	}
	return subj.facts, nil
}

// RefundCurrency is the currency an agent's refund of c is in (Decide
// refuses any other): the claimed line's for an order claim, the last
// payment's for a subscription claim, "" when nothing was paid.
func (s *Service) RefundCurrency(ctx context.Context, c Claim) (string, error) {
	subj, err := s.gather(ctx, c)
	if err != nil {
		return "", err
	}
	if c.OrderID != "" {
		return subj.line.Amount.Currency, nil
	}
	if subj.sub.LastPayment != nil {
		return subj.sub.LastPayment.Currency, nil
	}
	return "", nil
}

// gather reads the subject of c. The subject's version is read first, so
// that anything a claims transaction changes after it (a refund on the
// line) moves the version and the decision taken on these facts is retried.
func (s *Service) gather(ctx context.Context, c Claim) (*subject, error) {
	subj := &subject{claim: c}
	err := s.db.Read.QueryRowContext(ctx, `SELECT version FROM claim_subjects WHERE subject_id = $1`, c.subjectID()).Scan(&subj.version)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrapDB("subject version", err)
	}
	if subj.customer, err = s.customers.UserByID(ctx, c.CustomerID); err != nil {
		if errors.Is(err, account.ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("claims: customer: %w", err)
	}
	f := policy.Facts{
		Kind:     c.Kind,
		FiledAt:  c.FiledAt,
		Customer: policy.Customer{Type: policy.CustomerType(subj.customer.CustomerType), Country: subj.customer.Country},
		Choice:   c.Choice,
	}
	refundRequested := c.RefundRequested
	f.RefundRequested = &refundRequested

	if c.SubscriptionID != "" {
		if s.subs == nil {
			return nil, ErrSubscriptionsUnavailable
		}
		sub, err := s.subs.ClaimSubject(ctx, c.SubscriptionID)
		if err != nil {
			return nil, err
		}
		if sub.CustomerID != c.CustomerID {
			return nil, ErrNotFound
		}
		subj.sub = sub
		if c.PolicyVersion == "" {
			subj.claim.PolicyVersion = sub.PolicyVersion
		}
		f.Subscription = &policy.Subscription{
			LastPaymentAt: sub.LastPaymentAt, LastPayment: sub.LastPayment, PeriodEnd: sub.PeriodEnd, Refunded: sub.Refunded,
			StartedAt: sub.StartedAt, Consent: sub.Consent,
		}
		if c.ID == "" && c.Choice == policy.CancelPeriodEnd && !sub.PeriodEnd.After(s.clock.Now()) {
			// Being filed when its paid period is already over (past due,
			// or its renewal under way): there is nothing paid left to
			// keep, and the subscription ends now whatever the choice
			// (subscriptions.CancelTx). The decision must say so, not
			// "ends at the end of the paid period" on a date gone by.
			f.Choice = policy.CancelNow
		}
	} else {
		o, err := s.orders.Get(ctx, c.OrderID)
		if err != nil {
			if errors.Is(err, orders.ErrNotFound) {
				return nil, ErrNotFound
			}
			return nil, err
		}
		line, ok := o.Line(c.LineID)
		if !ok || o.CustomerID != c.CustomerID {
			return nil, ErrNotFound
		}
		subj.order, subj.line = o, line
		if c.PolicyVersion == "" {
			subj.claim.PolicyVersion = o.PolicyVersion
		}
		// The order facts describe the one line the claim is about: paid is
		// the line's amount, refunded what was refunded of that line.
		paid, refunded := line.Amount, line.Refunded
		of := &policy.Order{
			PlacedAt: o.PlacedAt, PaidAt: o.PaidAt, Paid: &paid, ProductKind: policy.ProductKind(line.Kind),
			Quantity: int64(line.Quantity), Delivered: int64(line.Delivered), Refunded: &refunded,
			ProcessingUntil: line.ProcessingUntil,
		}
		consent, err := s.orders.ConsentOf(ctx, o.ID)
		switch {
		case err == nil:
			of.Consent = &policy.Consent{
				ImmediatePerformance: consent.ImmediatePerformance, WithdrawalWaiver: consent.WithdrawalWaiver, At: consent.At,
			}
		case errors.Is(err, orders.ErrNotFound):
			// No consent record: nothing was recorded, which is what a
			// missing consent means to the policy.
		default:
			return nil, err
		}
		f.Order = of
	}

	if subj.policy, err = s.policy(subj.claim.PolicyVersion); err != nil {
		return nil, err
	}
	if c.Kind == policy.NonDelivery {
		if subj.withdrawnBy, err = s.withdrawalRefundOf(ctx, c); err != nil {
			return nil, err
		}
	}
	if c.ID != "" && c.Kind == policy.NonDelivery {
		// "Redelivery first" is offered once: a claim whose line was
		// already sent back to processing is decided with the redelivery
		// spent (followRedelivery).
		var redelivered int
		if err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM claim_decisions WHERE claim_id = $1 AND outcome = 'redeliver'`,
			c.ID).Scan(&redelivered); err != nil {
			return nil, wrapDB("redeliveries", err)
		}
		if redelivered > 0 {
			subj.policy = subj.policy.RedeliveryDone()
		}
	}
	if c.ID != "" {
		if subj.evidence, err = evidenceOf(ctx, s.db.Read, c.ID); err != nil {
			return nil, err
		}
		for _, e := range subj.evidence {
			f.Evidence = append(f.Evidence, policy.Evidence{Kind: e.Kind, At: e.AddedAt})
		}
	}
	subj.facts = f
	return subj, nil
}
