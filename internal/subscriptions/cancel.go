package subscriptions

import (
	"context"
	"database/sql"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/claims"
	"comptoir/internal/db"
	"comptoir/internal/money"
)

// CancelInput is a request to cancel a subscription.
type CancelInput struct {
	// CustomerID is the owner asking; another customer's subscription is
	// ErrNotFound. Empty when staff or the system acts (Actor says who).
	CustomerID     string
	SubscriptionID string
	Mode           string // CancelAtPeriodEnd or CancelNow
	Actor          audit.Actor
	// Quiet sends the customer no confirmation: the store stops the
	// subscription (its payment is disputed), the customer did not ask,
	// and the admins alerted follow it up.
	Quiet bool
	// Claim, when the cancellation carries out a subscription_cancel
	// claim, says what the claim decided in the confirmation's language:
	// the confirmation tells it (the refund, or why none), so that the
	// customer gets one email, not a confirmation and a claim's.
	Claim func(lang string) claims.ClaimMail
}

// Cancel stops a subscription, as the customer chose: at the end of the
// period already paid ("keep until <date>") or now. Either way no renewal is
// charged from this moment: a scheduled cancellation takes the subscription
// out of the renewal scan, a cancellation now also stops any retry of an
// unpaid period. A subscription with nothing paid left to keep (past_due,
// incomplete, or its period already over) ends now whatever the mode.
//
// The customer gets "subscription_cancel_confirmed" with the effective date
// (Code de la consommation L215-1-1). Asking again what is already in place
// changes nothing and sends nothing. Whether money goes back is the refund
// policy's decision, not this one's (see CancelTx).
func (s *Service) Cancel(ctx context.Context, in CancelInput) (Subscription, error) {
	if err := validateCancel(in); err != nil {
		return Subscription{}, err
	}
	var out Subscription
	err := s.db.Tx(ctx, func(tx *sql.Tx) (err error) {
		out, err = s.CancelTx(ctx, tx, in)
		return err
	})
	if err != nil {
		return Subscription{}, err
	}
	return out, nil
}

func validateCancel(in CancelInput) error {
	fields := map[string]string{}
	if in.SubscriptionID == "" {
		fields["subscription_id"] = "required"
	}
	if in.Mode != CancelAtPeriodEnd && in.Mode != CancelNow {
		fields["mode"] = "invalid"
	}
	if in.Actor.Role == "" || (in.CustomerID == "" && in.Actor.Role == account.RoleCustomer) {
		fields["actor"] = "invalid"
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
}

// CancelTx is Cancel in the caller's transaction, for a refund decision
// that must commit with the cancellation (the subscription_cancel claim:
// CancelTx, then MarkRefundedTx and the refund itself, in one tx).
func (s *Service) CancelTx(ctx context.Context, tx *sql.Tx, in CancelInput) (Subscription, error) {
	sub, _, err := s.cancelTx(ctx, tx, in)
	return sub, err
}

// cancelTx is CancelTx, saying whether the confirmation was queued.
func (s *Service) cancelTx(ctx context.Context, tx *sql.Tx, in CancelInput) (_ Subscription, mailed bool, _ error) {
	if err := validateCancel(in); err != nil {
		return Subscription{}, false, err
	}
	cur, err := getSubscription(ctx, tx, in.SubscriptionID)
	if err != nil {
		return Subscription{}, false, err
	}
	if in.CustomerID != "" && cur.CustomerID != in.CustomerID {
		return Subscription{}, false, ErrNotFound
	}
	p, err := partyOf(ctx, tx, cur)
	if err != nil {
		return Subscription{}, false, err
	}
	now := s.clock.Now()
	before := map[string]any{"status": cur.Status, "cancel_at_period_end": cur.CancelAtPeriodEnd}
	// Each change is one conditional update that locks the row and
	// re-checks it: a renewal committing at the same moment either came
	// first (and this cancel applies to the period it paid for) or finds
	// the subscription no longer renewable.
	mode := in.Mode
	var effective time.Time
	if mode == CancelAtPeriodEnd {
		res, err := tx.ExecContext(ctx, `UPDATE subscriptions SET cancel_at_period_end = TRUE, cancel_requested_at = $2, updated_at = $2
			WHERE id = $1 AND status IN ('active', 'trialing') AND NOT cancel_at_period_end AND current_period_end > $2`, cur.ID, now)
		if err != nil {
			return Subscription{}, false, wrapDB("schedule cancellation", err)
		}
		n, _ := res.RowsAffected()
		if cur, err = getSubscription(ctx, tx, cur.ID); err != nil {
			return Subscription{}, false, err
		}
		switch {
		case n == 1:
			effective = cur.CurrentPeriodEnd
		case cur.Status == StatusCanceled ||
			(cur.CancelAtPeriodEnd && (cur.Status == StatusActive || cur.Status == StatusTrialing) && cur.CurrentPeriodEnd.After(now)):
			return cur, false, nil // in place already
		default:
			// Nothing paid is left to keep (past due, incomplete, or the
			// period is over and its renewal under way): it ends now.
			mode = CancelNow
		}
	}
	if mode == CancelNow {
		res, err := tx.ExecContext(ctx, `UPDATE subscriptions SET status = 'canceled', canceled_at = $2, ended_at = $2, cancel_requested_at = $2, updated_at = $2
			WHERE id = $1 AND status <> 'canceled'`, cur.ID, now)
		if err != nil {
			return Subscription{}, false, wrapDB("cancel", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			sub, err := getSubscription(ctx, tx, cur.ID) // canceled already
			return sub, false, err
		}
		// Nothing may charge the customer who left: release the card
		// payment of every period not paid yet (an off-session renewal
		// whose job has not called the bank, a held charge, an open
		// Checkout page behind the authentication link).
		if r, ok := s.card.(CardReleaser); ok {
			if err := s.releaseUnpaidTx(ctx, tx, r, cur.ID, now); err != nil {
				return Subscription{}, false, err
			}
		}
		// No retry of an unpaid period after the customer left.
		if _, err := tx.ExecContext(ctx, `UPDATE subscription_periods SET next_attempt_at = NULL, updated_at = $2
			WHERE subscription_id = $1 AND next_attempt_at IS NOT NULL`, cur.ID, now); err != nil {
			return Subscription{}, false, wrapDB("stop retries", err)
		}
		effective = now
	}
	sub, err := getSubscription(ctx, tx, cur.ID)
	if err != nil {
		return Subscription{}, false, err
	}
	if err := audit.Record(ctx, tx, audit.Entry{
		At: now, Actor: in.Actor, SubjectType: "subscription", SubjectID: sub.ID, Action: "subscription.cancel", Before: before,
		After: map[string]any{"status": sub.Status, "mode": mode, "requested_mode": in.Mode, "effective_at": effective},
	}); err != nil {
		return Subscription{}, false, err
	}
	if in.Quiet {
		return sub, false, nil
	}
	lang := p.lang(sub)
	d := s.data(sub, p, lang)
	d.Effective = s.formatDate(effective, lang)
	d.Now = mode == CancelNow
	replyTo := ""
	if in.Claim != nil {
		c := in.Claim(lang)
		d.Claim, replyTo = &c, c.ReplyTo
	}
	if err := s.sendReplyTo(ctx, tx, MailCancelConfirmed, lang, p, d, replyTo); err != nil {
		return Subscription{}, false, err
	}
	return sub, true, nil
}

// Undo withdraws a cancellation scheduled for the end of the period, while
// that end has not come: the subscription renews again as before. After the
// date, after a cancellation "now", with nothing scheduled, or while a card
// payment of the subscription is disputed (open, or lost), it is
// ErrNotUndoable. One conditional update decides, so an undo racing the end
// of the period either keeps the subscription or finds it ended.
func (s *Service) Undo(ctx context.Context, customerID, subID string) (Subscription, error) {
	sub, err := s.GetForCustomer(ctx, customerID, subID)
	if err != nil {
		return Subscription{}, err
	}
	p, err := partyOf(ctx, s.db.Read, sub)
	if err != nil {
		return Subscription{}, err
	}
	now := s.clock.Now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE subscriptions SET cancel_at_period_end = FALSE, cancel_requested_at = NULL, updated_at = $3
			WHERE id = $1 AND customer_id = $2 AND cancel_at_period_end AND status IN ('active', 'trialing') AND current_period_end > $3`,
			subID, customerID, now)
		if err != nil {
			return wrapDB("undo cancellation", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotUndoable
		}
		// Read after the update, which holds the row: a dispute's
		// stop (CardHandler.PaymentDisputeEventTx) takes it first, so
		// either it committed and is seen here, or it comes after and
		// schedules the end again.
		if held, err := s.disputeHeldTx(ctx, tx, subID); err != nil {
			return err
		} else if held {
			return ErrNotUndoable
		}
		if sub, err = getSubscription(ctx, tx, subID); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{
			At: now, Actor: audit.Actor{ID: customerID, Role: account.RoleCustomer}, SubjectType: "subscription", SubjectID: subID,
			Action: "subscription.cancel_undone", Before: map[string]any{"cancel_at_period_end": true},
			After: map[string]any{"cancel_at_period_end": false, "next_charge_at": sub.CurrentPeriodEnd},
		}); err != nil {
			return err
		}
		// The customer must know billing resumes, and when.
		lang := p.lang(sub)
		d := s.data(sub, p, lang)
		d.NextCharge = s.formatDate(sub.CurrentPeriodEnd, lang)
		return s.send(ctx, tx, MailCancelUndone, lang, p, d)
	})
	if err != nil {
		return Subscription{}, err
	}
	return sub, nil
}

// AcceptPolicy records that the customer accepted the refund policy version
// in force (version must be it): from then on the subscription's claims and
// renewals are under that version. Until then they stay under the one
// accepted before.
func (s *Service) AcceptPolicy(ctx context.Context, customerID, subID, version string) (Subscription, error) {
	inForce, err := s.PolicyVersion(ctx)
	if err != nil {
		return Subscription{}, err
	}
	if version == "" || version != inForce {
		return Subscription{}, ErrPolicyNotAccepted
	}
	sub, err := s.GetForCustomer(ctx, customerID, subID)
	if err != nil {
		return Subscription{}, err
	}
	if sub.PolicyVersion == version {
		return sub, nil
	}
	now := s.clock.Now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE subscriptions SET policy_version = $3, updated_at = $4
			WHERE id = $1 AND customer_id = $2 AND status <> 'canceled'`, subID, customerID, version, now)
		if err != nil {
			return wrapDB("accept policy", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		if err := audit.Record(ctx, tx, audit.Entry{
			At: now, Actor: audit.Actor{ID: customerID, Role: account.RoleCustomer}, SubjectType: "subscription", SubjectID: subID,
			Action: "subscription.accept_policy", Before: map[string]any{"policy_version": sub.PolicyVersion},
			After: map[string]any{"policy_version": version},
		}); err != nil {
			return err
		}
		sub, err = getSubscription(ctx, tx, subID)
		return err
	})
	if err != nil {
		return Subscription{}, err
	}
	return sub, nil
}

// MarkRefundedTx records, in the caller's transaction, that a paid period
// was refunded (by the refund policy's decision), so that LastPayment no
// longer offers it. ErrNotFound unless the period is paid.
func (s *Service) MarkRefundedTx(ctx context.Context, tx *sql.Tx, periodID string, actor audit.Actor) error {
	now := s.clock.Now()
	res, err := tx.ExecContext(ctx, `UPDATE subscription_periods SET status = 'refunded', refunded_at = $2, updated_at = $2
		WHERE id = $1 AND status = 'paid'`, periodID, now)
	if err != nil {
		return wrapDB("mark refunded", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	p, err := getPeriod(ctx, tx, periodID)
	if err != nil {
		return err
	}
	return audit.Record(ctx, tx, audit.Entry{
		At: now, Actor: actor, SubjectType: "subscription", SubjectID: p.SubscriptionID, Action: "subscription.period_refunded",
		After: map[string]any{"period_id": p.ID, "amount": p.Amount, "payment_reference": p.PaymentReference},
	})
}

// periodRefundSucceededTx issues the credit note of a card refund of the
// period that succeeded. A refund Stripe reports succeeded after it was
// reported failed (periodRefundFailedTx made the period paid again) marks
// the period refunded again: the money did leave.
func (s *Service) periodRefundSucceededTx(ctx context.Context, tx *sql.Tx, periodID, refundID string, amount money.Amount) error {
	now := s.clock.Now()
	if _, err := tx.ExecContext(ctx, `UPDATE subscription_periods SET status = 'refunded', refunded_at = $2, updated_at = $2
		WHERE id = $1 AND status = 'paid'`, periodID, now); err != nil {
		return wrapDB("period refunded", err)
	}
	period, err := getPeriod(ctx, tx, periodID)
	if err != nil {
		return err
	}
	sub, err := getSubscription(ctx, tx, period.SubscriptionID)
	if err != nil {
		return err
	}
	return s.creditPeriod(ctx, tx, sub, period, refundID, amount)
}

// periodRefundFailedTx undoes MarkRefundedTx for a card refund that failed:
// the money never left, so the period is paid again and its payment is
// what a claim or an agent may refund. A period that is not refunded (the
// refund was not a period's) changes nothing.
func (s *Service) periodRefundFailedTx(ctx context.Context, tx *sql.Tx, periodID, refundID string, amount money.Amount) error {
	now := s.clock.Now()
	res, err := tx.ExecContext(ctx, `UPDATE subscription_periods SET status = 'paid', refunded_at = NULL, updated_at = $2
		WHERE id = $1 AND status = 'refunded'`, periodID, now)
	if err != nil {
		return wrapDB("release period refund", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil
	}
	p, err := getPeriod(ctx, tx, periodID)
	if err != nil {
		return err
	}
	return audit.Record(ctx, tx, audit.Entry{
		At: now, Actor: audit.System, SubjectType: "subscription", SubjectID: p.SubscriptionID, Action: "subscription.period_refund_released",
		Before: map[string]any{"status": PeriodRefunded},
		After:  map[string]any{"period_id": p.ID, "status": PeriodPaid, "card_refund": refundID, "amount": amount},
	})
}

// releaseUnpaidTx releases the card payments of the periods of subID not
// paid yet: those being retried, and those whose charge is pending. A
// pending period whose charge was released (never sent to the bank) is
// closed as failed, without retry; one whose charge is already being made
// stays pending for its outcome (PeriodPaidTx records a success, paid
// after the end, and refunds it).
func (s *Service) releaseUnpaidTx(ctx context.Context, tx *sql.Tx, r CardReleaser, subID string, now time.Time) error {
	ids, err := db.Strings(ctx, tx, `SELECT id FROM subscription_periods
		WHERE subscription_id = $1 AND (next_attempt_at IS NOT NULL OR status = 'pending') ORDER BY id`, subID)
	if err != nil {
		return wrapDB("periods not paid", err)
	}
	for _, id := range ids {
		released, err := r.ReleasePeriodTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if !released {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subscription_periods SET status = 'failed', next_attempt_at = NULL,
			last_error = 'canceled: charge stopped before it was made', updated_at = $2
			WHERE id = $1 AND status = 'pending'`, id, now); err != nil {
			return wrapDB("close unpaid period", err)
		}
	}
	return nil
}
