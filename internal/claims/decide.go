package claims

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"comptoir/internal/account"
	"comptoir/internal/alerts"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/db"
	"comptoir/internal/id"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

// carryOutTx does what decision d entails, in tx: money back, a redelivery,
// the job that decides again later, a subscription's end. decisionID is
// the decision that caused it; acceptedCredit is when the customer accepted
// store credit (an agent's credit decision only).
func (s *Service) carryOutTx(ctx context.Context, tx *sql.Tx, subj *subject, c *Claim, d policy.Decision, decisionID string, actor audit.Actor, acceptedCredit time.Time) error {
	if c.SubscriptionID != "" {
		return s.cancelSubscriptionTx(ctx, tx, subj, c, d, decisionID, actor)
	}
	if err := s.settleLineTx(ctx, tx, subj, c, d, actor); err != nil {
		return err
	}
	if subj.sw != nil && d.Rule == RuleSwitch {
		return s.carryOutSwitchTx(ctx, tx, subj, c, d, decisionID, actor, acceptedCredit)
	}
	switch d.Outcome {
	case policy.OutcomeRefund:
		_, err := s.refundTx(ctx, tx, c, subj.order, *d.Refund, destinationOf(subj.order), decisionID, actor, time.Time{})
		return err
	case policy.OutcomeCredit:
		_, err := s.refundTx(ctx, tx, c, subj.order, *d.Refund, DestCredit, decisionID, actor, acceptedCredit)
		return err
	case policy.OutcomeWaitingDelivery:
		return s.scheduleRedecideTx(ctx, tx, c.ID, subj.line.ProcessingUntil)
	case policy.OutcomeRedeliver:
		if subj.line.Kind != "service" {
			// Digital lines are supplied at once; there is no processing
			// time to start again, and an agent follows the claim up.
			s.opts.Logger.Warn("claims: redeliver on a digital line", "claim", c.ID, "line", c.LineID)
			return nil
		}
		return s.orders.RedeliverTx(ctx, tx, c.OrderID, c.LineID, processingTime(subj.order, subj.line), actor)
	}
	return nil
}

// settlesLine says decision d on c ends what the store owes on its line's
// undelivered part: a withdrawal carried out (refunded, or with nothing
// left to refund: the contract is withdrawn from all the same), or a
// non_delivery refund of the undelivered part, or a dissatisfied customer's
// line exchanged for another product (RuleSwitch). The line is then no longer
// late, and takes no more deliveries (orders.Line.SettledAt).
func settlesLine(c *Claim, d policy.Decision) bool {
	switch c.Kind {
	case policy.Withdrawal:
		return d.Outcome == policy.OutcomeRefund || d.Outcome == policy.OutcomeNone
	case policy.NonDelivery:
		return d.Outcome == policy.OutcomeRefund && (d.Rule == ruleNDPartial || d.Rule == ruleNDUndelivered)
	case policy.Dissatisfied:
		// Exchanged for another product: the line is not owed any more.
		return d.Rule == RuleSwitch
	}
	return false
}

// The engine's non_delivery rules that refund the undelivered part.
const (
	ruleNDPartial     = "non_delivery.partial"
	ruleNDUndelivered = "non_delivery.undelivered"
)

// settleLineTx settles the claim's line when d does (settlesLine), on the
// delivery the decision was taken on: a delivery recorded since makes the
// decision stale, and it is taken again on what was delivered.
func (s *Service) settleLineTx(ctx context.Context, tx *sql.Tx, subj *subject, c *Claim, d policy.Decision, actor audit.Actor) error {
	if c.OrderID == "" || !settlesLine(c, d) {
		return nil
	}
	err := s.orders.SettleLineTx(ctx, tx, c.OrderID, c.LineID, subj.line.Delivered, actor)
	if errors.Is(err, orders.ErrLineMoved) {
		return errStale
	}
	return err
}

// toBalance says an agent's decision d puts money into the customer's
// balance: store credit, or a refund of an order or a subscription payment
// paid from the balance.
func toBalance(subj *subject, d policy.Decision) bool {
	switch {
	case subj.sw != nil:
		return true // the line's value goes through the balance
	case d.Refund == nil:
		return false
	case subj.claim.SubscriptionID != "":
		return d.Outcome == policy.OutcomeRefund && subj.sub.FromBalance
	}
	return d.Outcome == policy.OutcomeCredit || (d.Outcome == policy.OutcomeRefund && destinationOf(subj.order) == DestBalance)
}

// destinationOf is where a refund of the order goes by default: back to the
// means of payment (POLICY.md "Money").
func destinationOf(o orders.Order) string {
	if o.PaymentMethod == orders.PayCard {
		return DestCard
	}
	return DestBalance
}

// processingTime is the line's stated processing time, as it was when
// ordered: a redelivery starts it again.
func processingTime(o orders.Order, l orders.Line) time.Duration {
	if l.ProcessingUntil.IsZero() || !l.ProcessingUntil.After(o.PlacedAt) {
		return 0
	}
	return l.ProcessingUntil.Sub(o.PlacedAt)
}

// refundTx gives amount of the claim's line back to dest, in tx. The line's
// refunded total moves first, by the conditional update in orders that
// keeps refunds within what was paid however many run at once
// (ErrOverRefund); then the money: a ledger entry referencing this refund
// (balance, store credit) or a card refund the processor settles later.
func (s *Service) refundTx(ctx context.Context, tx *sql.Tx, c *Claim, o orders.Order, amount money.Amount, dest, decisionID string,
	actor audit.Actor, acceptedCredit time.Time) (Refund, error) {
	if dest == DestCard && s.card == nil {
		return Refund{}, ErrCardRefundUnavailable
	}
	if dest == DestCredit && acceptedCredit.IsZero() {
		return Refund{}, ErrCreditNotAccepted
	}
	if dest != DestCard && o.PaymentMethod == orders.PayCard && s.card != nil {
		// A card-paid order's money to the balance (store credit): not
		// while the bank may still award the payment's chargeback (the
		// check card refunds pass), or the customer is paid twice.
		if err := s.card.RefundableTx(ctx, tx, o.ID); err != nil {
			if paymentDisputed(err) {
				return Refund{}, fmt.Errorf("%w: %w", ErrCreditDisputed, err)
			}
			return Refund{}, err
		}
	}
	now := s.clock.Now()
	r := Refund{
		ID: id.New("crf"), ClaimID: c.ID, DecisionID: decisionID, OrderID: o.ID, LineID: c.LineID, Amount: amount,
		Destination: dest, CustomerAcceptedCreditAt: acceptedCredit, CreatedAt: now, UpdatedAt: now,
	}
	count := s.orders.RefundLineTx
	if dest == DestCard {
		// The credit note waits for the processor's confirmation
		// (CardRefundSettledTx): a card refund can still fail.
		count = s.orders.RefundLinePendingTx
	}
	if err := count(ctx, tx, o.ID, c.LineID, amount, actor); err != nil {
		if errors.Is(err, orders.ErrOverRefund) {
			return Refund{}, fmt.Errorf("%w: %v on line %s", ErrOverRefund, amount, c.LineID)
		}
		return Refund{}, err
	}
	switch dest {
	case DestBalance, DestCredit:
		entry, err := s.ledger.CreditTx(ctx, tx, billing.Entry{
			CustomerID: c.CustomerID, Amount: amount, Kind: billing.KindRefund,
			ReferenceType: "claim_refund", ReferenceID: r.ID, Reason: "claim " + c.ID, Actor: actor,
		})
		if err != nil {
			return Refund{}, err
		}
		r.Status, r.LedgerEntryID = RefundSucceeded, entry.ID
	case DestCard:
		refundID, err := s.card.RefundOrderTx(ctx, tx, o.ID, amount, "claim "+c.ID)
		if err != nil {
			return Refund{}, err
		}
		r.Status, r.CardRefundID = RefundPending, refundID
	}
	if err := insertRefundTx(ctx, tx, r); err != nil {
		return Refund{}, err
	}
	return r, audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "claim_refund", SubjectID: r.ID, Action: "create",
		After: refundState(r)})
}

func insertRefundTx(ctx context.Context, tx *sql.Tx, r Refund) error {
	var accepted any
	if !r.CustomerAcceptedCreditAt.IsZero() {
		accepted = r.CustomerAcceptedCreditAt
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO claim_refunds (id, claim_id, decision_id, order_id, order_line_id, subscription_id, amount,
		currency, destination, status, card_refund_id, ledger_entry_id, customer_accepted_credit_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)`,
		r.ID, r.ClaimID, r.DecisionID, nullString(r.OrderID), nullString(r.LineID), nullString(r.SubscriptionID), r.Amount.Minor,
		r.Amount.Currency, r.Destination, r.Status, nullString(r.CardRefundID), nullString(r.LedgerEntryID), accepted, r.CreatedAt)
	return wrapDB("insert refund", err)
}

func refundState(r Refund) map[string]any {
	m := map[string]any{"claim_id": r.ClaimID, "amount": r.Amount, "destination": r.Destination, "status": r.Status}
	if r.CardRefundID != "" {
		m["card_refund_id"] = r.CardRefundID
	}
	if r.LedgerEntryID != "" {
		m["ledger_entry_id"] = r.LedgerEntryID
	}
	return m
}

// cancelSubscriptionTx carries out a subscription_cancel decision: future
// billing stops and the subscription ends as decided, with the refund of
// the last payment when the decision gives one.
func (s *Service) cancelSubscriptionTx(ctx context.Context, tx *sql.Tx, subj *subject, c *Claim, d policy.Decision, decisionID string, actor audit.Actor) error {
	subj.mailed = false // a transaction run again starts afresh
	if d.Cancel == policy.CancelNone {
		return nil // facts.incomplete: an agent looks first
	}
	if s.subs == nil {
		return ErrSubscriptionsUnavailable
	}
	var refund *money.Amount
	if d.Outcome == policy.OutcomeRefund {
		refund = d.Refund
	}
	in := SubscriptionCancel{
		SubscriptionID: c.SubscriptionID, ClaimID: c.ID, Cancel: d.Cancel, Refund: refund, Actor: actor,
		LastPaymentAt: subj.sub.LastPaymentAt,
		// Read when the email is written, with the claim as decided.
		Mail: func(lang string) ClaimMail { return s.cancelMail(subj, *c, lang) },
	}
	if refund != nil && d.Rule == RuleRenewedAfterRequest {
		// Every renewal charged after the request, not only the last.
		in.RefundSince = c.FiledAt
	}
	res, err := s.subs.CancelForClaimTx(ctx, tx, in)
	if err != nil {
		return err
	}
	subj.mailed = res.Mailed
	if refund == nil {
		return nil
	}
	now := s.clock.Now()
	for _, part := range append([]SubscriptionRefund{res}, res.More...) {
		r := Refund{
			ID: id.New("crf"), ClaimID: c.ID, DecisionID: decisionID, SubscriptionID: c.SubscriptionID, Amount: *refund,
			Destination: part.Destination, Status: RefundSucceeded, CardRefundID: part.CardRefundID, LedgerEntryID: part.LedgerEntryID,
			CreatedAt: now, UpdatedAt: now,
		}
		if part.Amount.Minor > 0 {
			r.Amount = part.Amount
		}
		if part.Pending {
			r.Status = RefundPending
		}
		if err := insertRefundTx(ctx, tx, r); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "claim_refund", SubjectID: r.ID, Action: "create",
			After: refundState(r)}); err != nil {
			return err
		}
	}
	return nil
}

// CardRefundSettledTx records the outcome of a claim's card refund, in the
// card payment service's transaction (the composition root calls it from
// cardpay's Handler.RefundSettled). A refund that is not a claim's, or was
// already settled, changes nothing: the report may come more than once.
//
// A failed card refund is marked failed (the claim refund keeps the
// failure) and the agents are alerted; its amount is released on the order
// line in the same transaction (orders.ReleaseLineRefundTx), so it can be
// refunded again. The part of it that a lost dispute had already returned
// to the customer is not released, and nobody is alerted for it: the order
// line's release says how much that was, the caller (the subscription's
// card handler) says it in chargedBack for a period. The
// conditional pending → failed update is what makes the release happen
// once per failed refund.
//
// A card refund that succeeded gets its credit note here, in the
// transaction that records the success (orders.CreditLineRefundTx): the
// credit note's number is taken only for money that really went back, and
// the conditional pending → succeeded update issues it once however often
// the outcome is reported. A subscription claim's refund is credited and
// released by the subscription's card handler, which then calls this.

func (s *Service) CardRefundSettledTx(ctx context.Context, tx *sql.Tx, cardRefundID string, succeeded bool, chargedBack money.Amount) error {
	status := RefundFailed
	if succeeded {
		status = RefundSucceeded
	}
	now := s.clock.Now()
	var refundID, claimID, currency string
	var orderID, lineID, subID sql.NullString
	var amount int64
	err := tx.QueryRowContext(ctx, `UPDATE claim_refunds SET status = $2, updated_at = $3
		WHERE card_refund_id = $1 AND status = 'pending' RETURNING id, claim_id, order_id, order_line_id, subscription_id, amount, currency`,
		cardRefundID, status, now).Scan(&refundID, &claimID, &orderID, &lineID, &subID, &amount, &currency)
	if errors.Is(err, sql.ErrNoRows) {
		if succeeded {
			return s.lateSuccessTx(ctx, tx, cardRefundID, now)
		}
		return s.failedAfterSuccessTx(ctx, tx, cardRefundID, now)
	}
	if err != nil {
		return wrapDB("settle card refund", err)
	}
	if succeeded && orderID.Valid && lineID.Valid {
		if err := s.orders.CreditLineRefundTx(ctx, tx, orderID.String, lineID.String, cardRefundID,
			money.Amount{Minor: amount, Currency: currency}); err != nil {
			return fmt.Errorf("claims: credit note of card refund %s: %w", cardRefundID, err)
		}
	}
	if !succeeded {
		if subID.Valid {
			// The subscription's last payment is refundable again: a
			// decision read before must not commit on the old facts.
			if err := takeSubjectTx(ctx, tx, subID.String, 0, false); err != nil {
				return err
			}
		}
		if orderID.Valid && lineID.Valid {
			back, err := s.orders.ReleaseLineRefundTx(ctx, tx, orderID.String, lineID.String, cardRefundID,
				money.Amount{Minor: amount, Currency: currency}, audit.System)
			if err != nil {
				return fmt.Errorf("claims: release failed card refund %s on line %s: %w", cardRefundID, lineID.String, err)
			}
			chargedBack = back
			// The line's facts changed: a decision read before must not
			// commit on them.
			if err := takeSubjectTx(ctx, tx, lineID.String, 0, false); err != nil {
				return err
			}
		}
		if chargedBack.Minor == amount {
			s.opts.Logger.Info("claims: card refund failed, but a lost dispute had already returned the money",
				"claim", claimID, "claim_refund", refundID, "card_refund", cardRefundID)
		} else {
			back := chargedBack
			detail := func(w alerts.Words) string {
				b := ""
				if back.Minor > 0 {
					b = money.Format(back, w.Lang)
				}
				return w.Say("alert.claim_refund_failed", "Refund", cardRefundID, "ChargedBack", b)
			}
			s.opts.Logger.Error("claims: card refund failed; an agent must give the money back another way",
				"claim", claimID, "claim_refund", refundID, "card_refund", cardRefundID, "charged_back", chargedBack.Minor)
			if err := s.alertCardRefundTx(ctx, tx, claimID, detail); err != nil {
				return err
			}
		}
	}
	return audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "claim_refund", SubjectID: refundID,
		Action: "settle", Before: map[string]any{"status": RefundPending}, After: map[string]any{"status": status}})
}

// alertCardRefundTx tells the agents, in tx, that a card refund decided on
// claimID went wrong (detail says how, in each one's language), the claim
// named by its reference and its customer.
func (s *Service) alertCardRefundTx(ctx context.Context, tx *sql.Tx, claimID string, detail func(alerts.Words) string) error {
	if s.alerts == nil {
		return nil
	}
	var customerID string
	if err := tx.QueryRowContext(ctx, `SELECT customer_id FROM claims WHERE id = $1`, claimID).Scan(&customerID); err != nil {
		return wrapDB("claim's customer", err)
	}
	customer, err := alerts.CustomerTx(ctx, tx, customerID)
	if err != nil {
		return err
	}
	return s.alerts.NotifyTx(ctx, tx, account.RoleAgent, "card_refund_failed", alerts.Data{
		SubjectIn: func(w alerts.Words) string { return w.Say("alert.about.claim", "Claim", claimID, "Customer", customer) },
		DetailIn:  detail, Link: "/console/claims/" + claimID,
	})
}

// failedAfterSuccessTx handles Stripe reporting failed a card refund that
// had succeeded (the card was closed since: the bank sent the money back to
// the store). The customer has not been paid after all, yet the claim said
// so, and the line and its credit note count the refund: the claim refund
// becomes failed, once (the conditional succeeded → failed update), and
// the agents are alerted to give the money back another way. The line
// stays counted, matching its credit note: releasing it would let a second
// refund of the same amount be credited again on the same invoice.
func (s *Service) failedAfterSuccessTx(ctx context.Context, tx *sql.Tx, cardRefundID string, now time.Time) error {
	var refundID, claimID string
	err := tx.QueryRowContext(ctx, `UPDATE claim_refunds SET status = 'failed', updated_at = $2
		WHERE card_refund_id = $1 AND status = 'succeeded' RETURNING id, claim_id`,
		cardRefundID, now).Scan(&refundID, &claimID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return wrapDB("settle card refund failed after success", err)
	}
	s.opts.Logger.Error("claims: a card refund that had succeeded failed at the bank; an agent must give the money back another way",
		"claim", claimID, "claim_refund", refundID, "card_refund", cardRefundID)
	if err := s.alertCardRefundTx(ctx, tx, claimID, func(w alerts.Words) string {
		return w.Say("alert.claim_refund_failed_late", "Refund", cardRefundID)
	}); err != nil {
		return err
	}
	return audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "claim_refund", SubjectID: refundID,
		Action: "settle", Before: map[string]any{"status": RefundSucceeded}, After: map[string]any{"status": RefundFailed}})
}

// lateSuccessTx handles Stripe reporting succeeded a card refund recorded
// failed (cardpay reserves it on the payment again when it still fits): the
// money did leave after all. The claim refund becomes succeeded, its amount
// is counted on the line again and its credit note issued, once (the
// conditional failed → succeeded update). If the line was refunded again
// meanwhile and the amount no longer fits, nothing is counted and the
// agents are alerted: the customer got the money twice.
func (s *Service) lateSuccessTx(ctx context.Context, tx *sql.Tx, cardRefundID string, now time.Time) error {
	var refundID, claimID, currency string
	var orderID, lineID sql.NullString
	var amount int64
	err := tx.QueryRowContext(ctx, `UPDATE claim_refunds SET status = 'succeeded', updated_at = $2
		WHERE card_refund_id = $1 AND status = 'failed' RETURNING id, claim_id, order_id, order_line_id, amount, currency`,
		cardRefundID, now).Scan(&refundID, &claimID, &orderID, &lineID, &amount, &currency)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return wrapDB("settle card refund late", err)
	}
	if orderID.Valid && lineID.Valid {
		a := money.Amount{Minor: amount, Currency: currency}
		err := s.orders.RefundLinePendingTx(ctx, tx, orderID.String, lineID.String, a, audit.System)
		switch {
		case errors.Is(err, orders.ErrOverRefund):
			s.opts.Logger.Error("claims: a card refund reported failed then succeeded no longer fits its line; the customer was paid twice",
				"claim", claimID, "claim_refund", refundID, "card_refund", cardRefundID)
			if err := s.alertCardRefundTx(ctx, tx, claimID, func(w alerts.Words) string {
				return w.Say("alert.claim_refund_succeeded_late", "Refund", cardRefundID)
			}); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if err := s.orders.CreditLineRefundTx(ctx, tx, orderID.String, lineID.String, cardRefundID, a); err != nil {
				return err
			}
		}
		if err := takeSubjectTx(ctx, tx, lineID.String, 0, false); err != nil {
			return err
		}
	}
	return audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "claim_refund", SubjectID: refundID,
		Action: "settle", Before: map[string]any{"status": RefundFailed}, After: map[string]any{"status": RefundSucceeded}})
}

// AgentDecision is an agent's decision on a claim (POST
// /claims/{id}/decision).
type AgentDecision struct {
	ClaimID string
	// Outcome is refund, refused, redeliver, credit or switch (OutcomeSwitch:
	// another product instead, a dissatisfied claim only); refund or
	// refused for a subscription_cancel claim.
	Outcome policy.Outcome
	// Refund is the amount for refund and credit: at most what is left to
	// refund on the line. For a subscription it may be left out: the
	// refund is the last payment in full.
	Refund *money.Amount
	// ReasonCode: for refused, one of policy.AgentReasons (the customer
	// reads its wording from the policy); optional otherwise.
	ReasonCode string
	// Note is internal, never shown to the customer.
	Note  string
	Actor audit.Actor
	// CustomerAcceptedCredit records that the customer accepted store
	// credit instead of the original means of payment, now (credit, and
	// what an exchange leaves over).
	CustomerAcceptedCredit bool
	// Switch is the product the line is exchanged for (Outcome
	// OutcomeSwitch, a dissatisfied claim only).
	Switch *SwitchTo
	// Then, when set, runs last in the decision's transaction: the API
	// stores its Idempotency-Key answer there, since deciding again is
	// allowed and would refund again. Its error rolls the decision back.
	Then func(ctx context.Context, tx *sql.Tx, c Claim) error
}

const maxNote = 5000

var codePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Decide records an agent's decision and carries it out in one transaction,
// keeping the claim's history: a refund (never above what is left on the
// line: ErrOverRefund, even with many agents at once), store credit (only
// with the customer's acceptance), a redelivery, or a refusal with a reason
// from the policy. An agent may decide a claim again (a further partial
// refund, a refusal overturned); automatic re-decisions stop once an agent
// has decided. The customer is emailed the decision in their language.
//
// A subscription_cancel claim is decided the same way, with the outcomes
// POLICY.md allows it (subscriptionDecision): the last payment refunded in
// full where it came from, once (the paid period's conditional update), or
// no refund; its subscription ends either way.
func (s *Service) Decide(ctx context.Context, in AgentDecision) (Claim, error) {
	if in.Actor.ID == "" || (in.Actor.Role != account.RoleAgent && in.Actor.Role != account.RoleAdmin) {
		return Claim{}, ErrForbidden
	}
	// A subscription that moved on between reading its facts and the
	// decision's transaction (a renewal charged meanwhile: the
	// subscriptions service's ErrSubjectChanged) is read again and the
	// decision checked on it: without this the agent got a server error.
	var out Claim
	err := s.retry(ctx, func() (err error) {
		out, err = s.decideOnce(ctx, in)
		return err
	})
	return out, err
}

// decideOnce is one attempt of Decide, on the facts as they are now.
func (s *Service) decideOnce(ctx context.Context, in AgentDecision) (Claim, error) {
	c, err := s.Get(ctx, in.ClaimID)
	if err != nil {
		return Claim{}, err
	}
	subj, err := s.gather(ctx, c)
	if err != nil {
		return Claim{}, err
	}
	fields := map[string]string{}
	if len(in.Note) > maxNote {
		fields["note"] = "too_long"
	} else if !db.ValidText(in.Note) {
		// NUL or invalid UTF-8: PostgreSQL refuses it (a server error).
		fields["note"] = "invalid"
	}
	if in.ReasonCode != "" && !codePattern.MatchString(in.ReasonCode) {
		fields["reason_code"] = "invalid"
	}
	var d policy.Decision
	switch {
	case c.SubscriptionID != "":
		d, err = subscriptionDecision(subj, in, fields)
	case in.Outcome == OutcomeSwitch:
		d, subj.sw, err = s.switchDecision(ctx, subj, in, fields)
	default:
		d, err = orderDecision(subj, in, fields)
	}
	if err != nil {
		return Claim{}, err
	}
	return s.recordAgentDecision(ctx, in, subj, c, d)
}

// orderDecision checks an agent's decision on an order line's claim and
// shapes it as the engine's; fields collects what is wrong with it.
func orderDecision(subj *subject, in AgentDecision, fields map[string]string) (policy.Decision, error) {
	c, p, line := subj.claim, subj.policy, subj.line
	d := policy.Decision{Outcome: in.Outcome, Cancel: policy.CancelNone, Statutory: c.Decision.Statutory, PolicyVersion: p.ID()}
	switch in.Outcome {
	case policy.OutcomeRefund, policy.OutcomeCredit:
		switch {
		case in.Refund == nil:
			fields["refund"] = "required"
		case in.Refund.Currency != line.Amount.Currency:
			fields["refund.currency"] = "invalid"
		case !in.Refund.IsPositive():
			fields["refund.amount"] = "not_positive"
		}
		if in.Outcome == policy.OutcomeCredit && !in.CustomerAcceptedCredit {
			return policy.Decision{}, ErrCreditNotAccepted
		}
	case policy.OutcomeRefused:
		if !slices.Contains(policy.AgentReasons, in.ReasonCode) {
			fields["reason_code"] = "invalid"
			if in.ReasonCode == "" {
				fields["reason_code"] = "required"
			}
		}
		if in.Refund != nil {
			fields["refund"] = "not_applicable"
		}
	case policy.OutcomeRedeliver:
		if line.Kind != "service" {
			fields["outcome"] = "not_redeliverable"
		}
		if in.Refund != nil {
			fields["refund"] = "not_applicable"
		}
	default:
		fields["outcome"] = "invalid"
	}
	if len(fields) > 0 {
		return policy.Decision{}, &ValidationError{Fields: fields}
	}
	if in.Refund != nil {
		// What is left on the line now; the conditional update in orders
		// decides for good if another refund lands meanwhile.
		left, err := line.Amount.Sub(line.Refunded)
		if err != nil {
			return policy.Decision{}, err
		}
		if cmp, _ := in.Refund.Cmp(left); cmp > 0 {
			return policy.Decision{}, fmt.Errorf("%w: %v asked, %v left on line %s", ErrOverRefund, *in.Refund, left, line.ID)
		}
		refund := *in.Refund
		d.Refund = &refund
	}
	if in.Outcome == policy.OutcomeRefused {
		d.Rule = "agent." + in.ReasonCode
		d.Reason, _ = p.AgentReason(in.ReasonCode)
	} else {
		d.Rule, d.Reason = upheldReason(in.Outcome, d.Refund)
	}
	return d, nil
}

// subscriptionDecision checks an agent's decision on a subscription_cancel
// claim (one the engine left in review, or one decided again) and shapes
// it as the engine's. POLICY.md allows two: refund, of the last payment in
// full (refund may be left out; if given it must be that amount), and the
// subscription stops now; or refused, no refund, and the subscription ends
// as the customer chose. Future billing stops either way. A refusal's
// reason code is optional and internal: the agent reasons of the policy
// are about products, so the customer reads what happens instead.
func subscriptionDecision(subj *subject, in AgentDecision, fields map[string]string) (policy.Decision, error) {
	c, sub := subj.claim, subj.sub
	d := policy.Decision{Outcome: in.Outcome, Cancel: c.Choice, Statutory: c.Decision.Statutory, PolicyVersion: subj.policy.ID()}
	if d.Cancel != policy.CancelNow {
		d.Cancel = policy.CancelPeriodEnd
	}
	left, err := sub.LeftToRefund()
	if err != nil {
		return policy.Decision{}, err
	}
	switch in.Outcome {
	case policy.OutcomeRefund:
		switch {
		case in.Refund == nil:
		case sub.LastPayment == nil || in.Refund.Currency != sub.LastPayment.Currency:
			fields["refund.currency"] = "invalid"
		case !in.Refund.IsPositive():
			fields["refund.amount"] = "not_positive"
		case *in.Refund != left && left.IsPositive():
			// In full or not at all (POLICY.md subscription_cancel).
			fields["refund.amount"] = "not_full"
		}
	case policy.OutcomeRefused:
		if in.Refund != nil {
			fields["refund"] = "not_applicable"
		}
	default:
		fields["outcome"] = "invalid"
	}
	if len(fields) > 0 {
		return policy.Decision{}, &ValidationError{Fields: fields}
	}
	if in.Outcome == policy.OutcomeRefund {
		// What is left of the last payment now; the conditional update of
		// the paid period decides for good if another refund lands
		// meanwhile.
		if !left.IsPositive() {
			return policy.Decision{}, fmt.Errorf("%w: nothing left to refund of the last payment of %s", ErrOverRefund, c.SubscriptionID)
		}
		d.Refund = &left
		// A refunded period does not keep running.
		d.Cancel = policy.CancelNow
		d.Rule, d.Reason = "agent.refund", subscriptionReason(d)
	} else {
		d.Rule, d.Reason = "agent.no_refund", subscriptionReason(d)
	}
	return d, nil
}

// subscriptionReason is what the customer reads when an agent decides a
// subscription cancellation.
func subscriptionReason(d policy.Decision) policy.Reason {
	if d.Refund != nil {
		return policy.Reason{
			EN: "An agent reviewed your cancellation: we refund your last payment, " + money.Format(*d.Refund, "en") +
				", to your original means of payment, and your subscription ends now. Nothing more will be charged.",
			FR: "Un conseiller a examiné votre résiliation\u00a0: nous vous remboursons votre dernier paiement, " + money.Format(*d.Refund, "fr") +
				", sur votre moyen de paiement d’origine, et votre abonnement prend fin dès maintenant. Plus rien ne vous sera prélevé.",
		}
	}
	if d.Cancel == policy.CancelNow {
		return policy.Reason{
			EN: "An agent reviewed your cancellation: your last payment is not refunded, and your subscription ends now, as you asked. Nothing more will be charged.",
			FR: "Un conseiller a examiné votre résiliation\u00a0: votre dernier paiement n’est pas remboursé, et votre abonnement prend fin dès maintenant, comme vous l’avez demandé. Plus rien ne vous sera prélevé.",
		}
	}
	return policy.Reason{
		EN: "An agent reviewed your cancellation: your last payment is not refunded, and your subscription ends at the end of the period already paid for, as you asked. Nothing more will be charged.",
		FR: "Un conseiller a examiné votre résiliation\u00a0: votre dernier paiement n’est pas remboursé, et votre abonnement prend fin à l’issue de la période déjà payée, comme vous l’avez demandé. Plus rien ne vous sera prélevé.",
	}
}

// recordAgentDecision makes d, an agent's checked decision, the claim's
// current one and carries it out in one transaction.
func (s *Service) recordAgentDecision(ctx context.Context, in AgentDecision, subj *subject, c Claim, d policy.Decision) (Claim, error) {
	now := s.clock.Now()
	var accepted time.Time
	if d.Outcome == policy.OutcomeCredit {
		accepted = now // an agent's credit, or an exchange's rest as credit
	}
	before := c
	subj.claim = c
	// An agent's redelivery of an undelivered line is followed at once by
	// the automatic decision that waits for it (followRedelivery).
	next, d2, follows := s.followRedelivery(subj, d, now)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// First in the transaction, as an erasure takes the account
		// first: the two never wait on each other's rows.
		final, by, n := d, in.Actor.ID, int64(1)
		if follows {
			final, by, n = d2, "", 2
		}
		// An erased customer's claim is decided only in ways that close
		// it (ErrErasedReopen) and give nothing to the balance
		// (ErrCustomerErased).
		var ifErased error
		switch {
		case toBalance(subj, d) || (follows && toBalance(next, d2)):
			ifErased = ErrCustomerErased
		case d.Outcome == policy.OutcomeRedeliver || statusFor(final.Outcome) == StatusOpen:
			ifErased = ErrErasedReopen
		}
		if err := holdAccountTx(ctx, tx, c.CustomerID, ifErased); err != nil {
			return err
		}
		if err := setDecisionTx(ctx, tx, &c, final, now, by, 0, n); err != nil {
			return err
		}
		// The first human answer: the clock stops (counted late if the
		// promise passed and the scan has not flagged it yet).
		if err := s.updateClockTx(ctx, tx, &c, true, now); err != nil {
			return err
		}
		// An agent's amount is explicit, not computed from the facts, so
		// the subject is taken whatever its version; bumping it makes
		// automatic decisions computed before this one retry.
		if err := takeSubjectTx(ctx, tx, c.subjectID(), 0, false); err != nil {
			return err
		}
		decisionID, err := insertDecisionTx(ctx, tx, c.ID, c.Revision-n+1, d, in.ReasonCode, in.Note, now, in.Actor.ID)
		if err != nil {
			return err
		}
		subj.claim = c
		if err := s.carryOutTx(ctx, tx, subj, &c, d, decisionID, in.Actor, accepted); err != nil {
			return err
		}
		notified := subj
		if follows {
			if err := s.recordFollowUpTx(ctx, tx, next, &c, d2, now); err != nil {
				return err
			}
			notified = next
		}
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: in.Actor, SubjectType: "claim", SubjectID: c.ID, Action: "decide",
			Before: decisionState(before), After: decisionState(c)}); err != nil {
			return err
		}
		if err := s.notifyTx(ctx, tx, "claim_decided", notified, c); err != nil {
			return err
		}
		if in.Then != nil {
			return in.Then(ctx, tx, c)
		}
		return nil
	})
	if err != nil {
		return Claim{}, err
	}
	return c, nil
}

func decisionState(c Claim) map[string]any {
	m := map[string]any{"status": c.Status, "outcome": c.Decision.Outcome, "rule": c.Decision.Rule}
	if c.Decision.Refund != nil {
		m["refund"] = *c.Decision.Refund
	}
	return m
}

// upheldReason is what the customer reads when an agent upholds a claim.
// The policy words refusals (agent.*), which are the store's to phrase;
// upholding only says what happens, so its wording lives here.
func upheldReason(o policy.Outcome, amount *money.Amount) (string, policy.Reason) {
	switch o {
	case policy.OutcomeRefund:
		return "agent.refund", policy.Reason{
			EN: "An agent reviewed your claim and upheld it: we refund " + money.Format(*amount, "en") + " to your original means of payment.",
			FR: "Un conseiller a examiné votre réclamation et l’a acceptée\u00a0: nous vous remboursons " + money.Format(*amount, "fr") +
				" sur votre moyen de paiement d’origine.",
		}
	case policy.OutcomeCredit:
		return "agent.credit", policy.Reason{
			EN: "An agent reviewed your claim and upheld it: as you accepted, " + money.Format(*amount, "en") +
				" of store credit has been added to your balance instead of a refund to your means of payment.",
			FR: "Un conseiller a examiné votre réclamation et l’a acceptée\u00a0: comme vous l’avez accepté, un avoir de " +
				money.Format(*amount, "fr") + " a été ajouté à votre solde à la place d’un remboursement sur votre moyen de paiement.",
		}
	}
	return "agent.redeliver", policy.Reason{
		EN: "An agent reviewed your claim and upheld it: the missing part goes back to processing and will be delivered again; we will tell you when it is done.",
		FR: "Un conseiller a examiné votre réclamation et l’a acceptée\u00a0: la part manquante repart en traitement et sera de nouveau livrée\u202f; nous vous préviendrons dès que ce sera fait.",
	}
}

// RedecideArgs is the job that decides an open claim again, scheduled at
// the end of the processing time of a waiting_delivery claim.
type RedecideArgs struct {
	ClaimID string `json:"claim_id"`
}

// Kind names the job for River; renaming it would orphan queued jobs.
func (RedecideArgs) Kind() string { return "claims.redecide" }

// RedecideWorker runs RedecideArgs jobs.
type RedecideWorker struct {
	river.WorkerDefaults[RedecideArgs]
	s *Service
}

// RedecideWorker returns the worker of the re-decision job.
func (s *Service) RedecideWorker() *RedecideWorker { return &RedecideWorker{s: s} }

// AddWorkers registers claims' jobs with the application's River workers.
func (s *Service) AddWorkers(workers *river.Workers) {
	river.AddWorker(workers, s.RedecideWorker())
	river.AddWorker(workers, &breachScanWorker{s: s})
}

// Work decides the claim again. It is idempotent, as a job run at least
// once must be: a claim no longer open, or whose decision has not changed,
// is left as it is. A claim still waiting (its line was sent back to
// processing, or this node's clock is behind the one that scheduled the
// job) gets a new job at the new expected time.
//
// A claim whose decision would now put money into the balance of an
// erased account (ErrCustomerErased) stays open, for an agent: retrying
// would not change that.
func (w *RedecideWorker) Work(ctx context.Context, job *river.Job[RedecideArgs]) error {
	_, err := w.s.redecide(ctx, job.Args.ClaimID, true)
	switch {
	case errors.Is(err, ErrNotFound):
		return river.JobCancel(err)
	case errors.Is(err, ErrCustomerErased):
		w.s.opts.Logger.Warn("claims: a re-decision would refund to an erased account's balance; left to an agent", "claim", job.Args.ClaimID)
		return river.JobCancel(err)
	}
	return err
}

// Redecide decides an open claim again on today's facts, and carries out
// the new decision if it differs from the current one. Claims that are not
// open are returned unchanged.
func (s *Service) Redecide(ctx context.Context, claimID string) (Claim, error) {
	return s.redecide(ctx, claimID, false)
}

// minReschedule keeps a job whose claim is still waiting from running again
// in a tight loop when clocks disagree.
const minReschedule = time.Minute

func (s *Service) redecide(ctx context.Context, claimID string, fromJob bool) (Claim, error) {
	var out Claim
	err := s.retry(ctx, func() error {
		c, err := s.Get(ctx, claimID)
		if err != nil {
			return err
		}
		out = c
		if !c.Open() {
			return nil
		}
		subj, err := s.gather(ctx, c)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		d := s.evaluate(subj, now)
		if reflect.DeepEqual(d, c.Decision) {
			if fromJob && d.Outcome == policy.OutcomeWaitingDelivery {
				at := subj.line.ProcessingUntil
				if min := now.Add(minReschedule); at.Before(min) {
					at = min
				}
				return s.db.Tx(ctx, func(tx *sql.Tx) error { return s.scheduleRedecideTx(ctx, tx, c.ID, at) })
			}
			return nil
		}
		before := c
		apply := func(d policy.Decision, then func(tx *sql.Tx) error) error {
			c = before
			return s.db.Tx(ctx, func(tx *sql.Tx) error {
				notified, err := s.applyAutomaticTx(ctx, tx, subj, &c, d, now, c.Revision)
				if err != nil {
					return err
				}
				if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "claim", SubjectID: c.ID,
					Action: "redecide", Before: decisionState(before), After: decisionState(c)}); err != nil {
					return err
				}
				if err := s.notifyTx(ctx, tx, "claim_decided", notified, c); err != nil {
					return err
				}
				if then != nil {
					return then(tx)
				}
				return nil
			})
		}
		err = apply(d, nil)
		if paymentDisputed(err) {
			if before.Decision.Rule == RuleRefundHeld {
				// The dispute still holds the refund: again later.
				out = before
				if !fromJob {
					return nil
				}
				return s.keepHeld(ctx, before, now)
			}
			// The refund fell due during the dispute (a claim waiting
			// for its processing time): held, as if filed now.
			err = apply(refundHeld(d, c.SubscriptionID != ""), func(tx *sql.Tx) error { return s.scheduleRedecideTx(ctx, tx, c.ID, now.Add(heldRecheck)) })
		}
		if errors.Is(err, ErrClaimNotOpen) {
			// Decided meanwhile (another run of the job, an agent): what
			// this run would have done is done or overruled; a job run at
			// least once must not fail for that.
			out, err = s.Get(ctx, claimID)
			return err
		}
		out = c
		return err
	})
	return out, err
}

// applyAutomaticTx makes the engine's decision d the claim's current one
// and carries it out, provided neither the claim (revision expect) nor its
// subject (the version gathered) changed since the facts were read. A
// redelivery is followed by the decision that waits for it
// (followRedelivery); the subject returned is the one the claim's current
// decision was taken on, for the email.
//
// It runs first in its transaction (redecide's, addEvidenceTx's): it holds
// the customer's account first, and refuses with ErrCustomerErased a
// decision that would put money into an erased account's balance (a
// claim waiting for its processing time when the account was erased,
// before erasures waited for open claims).
func (s *Service) applyAutomaticTx(ctx context.Context, tx *sql.Tx, subj *subject, c *Claim, d policy.Decision, now time.Time, expect int64) (*subject, error) {
	subj.claim = *c
	next, d2, follows := s.followRedelivery(subj, d, now)
	if err := holdCustomerTx(ctx, tx, c.CustomerID, toBalance(subj, d) || (follows && toBalance(next, d2))); err != nil {
		return nil, err
	}
	final, n := d, int64(1)
	if follows {
		final, n = d2, 2
	}
	if err := setDecisionTx(ctx, tx, c, final, now, "", expect, n); err != nil {
		return nil, err
	}
	if err := s.updateClockTx(ctx, tx, c, false, now); err != nil {
		return nil, err
	}
	if err := takeSubjectTx(ctx, tx, c.subjectID(), subj.version, true); err != nil {
		return nil, err
	}
	decisionID, err := insertDecisionTx(ctx, tx, c.ID, c.Revision-n+1, d, "", "", now, "")
	if err != nil {
		return nil, err
	}
	subj.claim = *c
	if err := s.carryOutTx(ctx, tx, subj, c, d, decisionID, audit.System, time.Time{}); err != nil {
		return nil, err
	}
	if !follows {
		return subj, nil
	}
	return next, s.recordFollowUpTx(ctx, tx, next, c, d2, now)
}

// followRedelivery: a non_delivery claim whose undelivered line is sent
// back to processing (redeliver, the policy's "redelivery first" or an
// agent's remedy) does not end there. It stays open and waits for the
// redelivery: the decision that follows at once is the policy's on the
// line as the redelivery leaves it (due again after its processing time)
// with the redelivery spent (Policy.RedeliveryDone), which is
// waiting_delivery until the new due time, then the refund of what is still
// undelivered, as POLICY.md's refund rule computes it. Without this, the
// claim closed on redeliver and a customer whose redelivery never came had
// nothing left: filing again is refused as a duplicate or out of time.
//
// It returns the subject the follow-up is decided on and the follow-up,
// or false when d is not such a redelivery (a line the record shows fully
// delivered cannot be tracked that way: an agent's redelivery of it closes
// the claim as before).
func (s *Service) followRedelivery(subj *subject, d policy.Decision, now time.Time) (*subject, policy.Decision, bool) {
	c := subj.claim
	if c.Kind != policy.NonDelivery || d.Outcome != policy.OutcomeRedeliver || subj.facts.Order == nil ||
		subj.line.Delivered >= subj.line.Quantity {
		return nil, policy.Decision{}, false
	}
	next := *subj
	next.policy = subj.policy.RedeliveryDone()
	next.before = append(append([]policy.Reason(nil), subj.before...), d.Reason)
	if subj.line.Kind == "service" {
		// What carryOutTx's RedeliverTx makes of the line: due again after
		// its processing time, counted from now.
		line := subj.line
		line.ProcessingUntil = now.Add(processingTime(subj.order, subj.line))
		next.line = line
		of := *subj.facts.Order
		of.ProcessingUntil = line.ProcessingUntil
		next.facts.Order = &of
	}
	return &next, policy.Evaluate(next.policy, next.facts, now), true
}

// recordFollowUpTx records and carries out d, the automatic decision that
// follows a redelivery (followRedelivery), already made the claim's
// current one by setDecisionTx.
func (s *Service) recordFollowUpTx(ctx context.Context, tx *sql.Tx, next *subject, c *Claim, d policy.Decision, now time.Time) error {
	next.claim = *c
	decisionID, err := insertDecisionTx(ctx, tx, c.ID, c.Revision, d, "", "", now, "")
	if err != nil {
		return err
	}
	return s.carryOutTx(ctx, tx, next, c, d, decisionID, audit.System, time.Time{})
}

func (s *Service) scheduleRedecideTx(ctx context.Context, tx *sql.Tx, claimID string, at time.Time) error {
	if _, err := s.jobs.InsertTx(ctx, tx, RedecideArgs{ClaimID: claimID}, &river.InsertOpts{ScheduledAt: at}); err != nil {
		return fmt.Errorf("claims: schedule re-decision: %w", err)
	}
	return nil
}
