package subscriptions

import (
	"context"
	"database/sql"
	"fmt"

	"comptoir/internal/account"
	"comptoir/internal/alerts"
	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/db"
	"comptoir/internal/money"
)

// Alerter tells the store's staff (internal/alerts), in the caller's
// transaction.
type Alerter interface {
	NotifyTx(ctx context.Context, tx *sql.Tx, role, kind string, d alerts.Data) error
}

// PaymentDisputeEventTx implements cardpay.DisputeFollower: a card payment
// of a subscription (its first period or a renewal) that the customer
// disputes with their bank stops the subscription's renewals, so the same
// card is not charged again while the bank decides, nor after the store
// lost. The subscription ends at the end of the period already paid
// (mode period_end, which ends it now when nothing paid is left to keep:
// past due, retries stopped), without the customer's confirmation email
// (they did not ask; the admins follow up), and the admins are alerted
// ("subscription_disputed") when this stop is what ended the renewals.
//
// It acts on every event whose status is not a decision for the store (an
// inquiry, needs_response, under_review, lost): events come in any order
// and one may be missing. A dispute the store wins, or an inquiry closed,
// changes nothing here: the end stays scheduled, and the customer may keep
// the subscription from its page again (Undo, refused while any payment of
// the subscription is held by a dispute).
//
// The event that closes the case as lost (Decided) also issues the
// period's credit note for the amount the bank took back
// (creditChargeback): the period's invoice no longer says what was paid.
// The period itself stays "paid": its payment's refunds are held for good.
func (h CardHandler) PaymentDisputeEventTx(ctx context.Context, tx *sql.Tx, p cardpay.Payment, d cardpay.Dispute) error {
	if d.Closed() && !d.Lost() {
		return nil
	}
	if d.Lost() && d.Decided {
		if err := h.S.creditChargeback(ctx, tx, p.ReferenceID, d.StripeID, d.Amount); err != nil {
			return err
		}
		// A card refund of the period still pending may fail later: the
		// dispute will take it over (takeOverForChargebacksTx).
		if _, err := tx.ExecContext(ctx, `INSERT INTO period_chargebacks (dispute_id, period_id, currency, disputed, created_at)
			VALUES ($1, $2, $3, $4, $5)`, d.StripeID, p.ReferenceID, d.Amount.Currency, d.Amount.Minor, h.S.clock.Now()); err != nil {
			return wrapDB("record chargeback", err)
		}
	}
	period, err := getPeriod(ctx, tx, p.ReferenceID)
	if err != nil {
		return fmt.Errorf("subscriptions: period of disputed payment %s: %w", p.ID, err)
	}
	now := h.S.clock.Now()
	// Hold the row first: an Undo committing meanwhile either came before
	// (and the end is scheduled again below) or reads this dispute's hold
	// once this commits.
	if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET updated_at = $2 WHERE id = $1`, period.SubscriptionID, now); err != nil {
		return wrapDB("hold disputed subscription", err)
	}
	before, err := getSubscription(ctx, tx, period.SubscriptionID)
	if err != nil {
		return err
	}
	if before.Status == StatusCanceled || before.CancelAtPeriodEnd {
		return nil // no renewal will be charged already
	}
	sub, err := h.S.CancelTx(ctx, tx, CancelInput{SubscriptionID: before.ID, Mode: CancelAtPeriodEnd, Actor: audit.System, Quiet: true})
	if err != nil {
		return err
	}
	if h.Alerts == nil {
		return nil
	}
	ends := sub.EndedAt
	if sub.Status != StatusCanceled {
		ends = sub.CurrentPeriodEnd
	}
	// The dispute's case, where the admin follows it; the list of cases
	// where no recorder keeps one.
	link := "/console/disputes"
	if d.CaseID != "" {
		link += "/" + d.CaseID
	}
	about, err := h.S.alertAboutTx(ctx, tx, sub)
	if err != nil {
		return err
	}
	return h.Alerts.NotifyTx(ctx, tx, account.RoleAdmin, "subscription_disputed", alerts.Data{
		SubjectIn: about, Link: link,
		// In the admin's language, the end in the store's zone.
		DetailIn: func(w alerts.Words) string {
			amount, ends := money.Format(d.Amount, w.Lang), w.Zone.LongTime(ends, w.Lang)
			return w.Messages.TPairs(w.Lang, "subscription.alert_disputed", "Amount", amount,
				"Reason", w.Word("dispute.reason.", d.Reason), "Payment", p.ID, "Ends", ends)
		},
	})
}

// disputeLinkTx is where the console follows the dispute of card payment
// paymentID, of period periodID: its case (the latest, should the bank have opened two), or
// the list of cases when none records it (no recorder). The alert of a
// refund the dispute held linked the list, where the agent had to find
// the case.
func disputeLinkTx(ctx context.Context, tx *sql.Tx, periodID, paymentID string) (string, error) {
	// By the period, which the cases are indexed by.
	ids, err := db.Strings(ctx, tx, `SELECT id FROM disputes WHERE reference_id = $1 AND payment_id = $2
		ORDER BY created_at DESC, id DESC LIMIT 1`, periodID, paymentID)
	if err != nil {
		return "", wrapDB("dispute of payment", err)
	}
	if len(ids) == 0 {
		return "/console/disputes", nil
	}
	return "/console/disputes/" + ids[0], nil
}

// disputeHeldTx reports whether a card payment of subID is held by a
// dispute (open, or lost).
func (s *Service) disputeHeldTx(ctx context.Context, tx *sql.Tx, subID string) (bool, error) {
	ids, err := db.Strings(ctx, tx, `SELECT id FROM subscription_periods WHERE subscription_id = $1 AND payment_method = 'card'`, subID)
	if err != nil {
		return false, wrapDB("card periods", err)
	}
	return cardpay.DisputeHeldTx(ctx, tx, cardpay.PurposeRenewal, ids)
}

// takeOverForChargebacksTx lets the lost disputes of a period's payment
// take over, up to what each returned and has not yet taken over, the
// amount of a card refund of the period that failed: the bank gave that
// money back already. Each dispute's share is a conditional update within
// what it disputed. It returns how much was taken over.
func (s *Service) takeOverForChargebacksTx(ctx context.Context, tx *sql.Tx, periodID, refundID string, amount money.Amount) (money.Amount, error) {
	taken := money.Amount{Currency: amount.Currency}
	lefts, err := db.KeyedInts(ctx, tx, `SELECT dispute_id, disputed - taken_over FROM period_chargebacks
		WHERE period_id = $1 AND currency = $2 AND taken_over < disputed ORDER BY created_at, dispute_id`, periodID, amount.Currency)
	if err != nil {
		return taken, wrapDB("chargebacks of period", err)
	}
	for _, l := range lefts {
		take := min(l.N, amount.Minor-taken.Minor)
		if take <= 0 {
			break
		}
		res, err := tx.ExecContext(ctx, `UPDATE period_chargebacks SET taken_over = taken_over + $2
			WHERE dispute_id = $1 AND taken_over + $2 <= disputed`, l.Key, take)
		if err != nil {
			return taken, wrapDB("take over refund", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return taken, fmt.Errorf("subscriptions: chargeback %s changed while counting it", l.Key)
		}
		taken.Minor += take
	}
	if taken.Minor > 0 {
		period, err := getPeriod(ctx, tx, periodID)
		if err != nil {
			return taken, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{At: s.clock.Now(), Actor: audit.System, SubjectType: "subscription",
			SubjectID: period.SubscriptionID, Action: "subscription.period_refund_charged_back",
			After: map[string]any{"period_id": periodID, "card_refund": refundID, "amount": taken}}); err != nil {
			return taken, err
		}
	}
	return taken, nil
}
