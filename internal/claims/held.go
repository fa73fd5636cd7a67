package claims

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/policy"
)

// RuleRefundHeld is the rule of a claim recorded while the refund its
// decision gives cannot be made: the customer disputed the card payment it
// would refund (an order's, or a subscription period's) with their bank,
// and refunds are held until the bank decides (a refund on top of a
// chargeback would pay twice).
const RuleRefundHeld = "claims.refund_held_by_dispute"

// heldRecheck is how often a held claim is decided again; heldFor is how
// long after filing that goes on (the networks' longest dispute cycles are
// about four months). Past it the claim stays with the agents, in review.
const (
	heldRecheck = 6 * time.Hour
	heldFor     = 150 * 24 * time.Hour
)

// paymentDisputed reports whether err is the card processor's refusal to
// refund a disputed payment (cardpay.ErrPaymentDisputed, read by its code
// so that claims does not import cardpay).
func paymentDisputed(err error) bool {
	var coded interface{ ErrorCode() string }
	return errors.As(err, &coded) && coded.ErrorCode() == "payment_disputed"
}

// refundHeld is the decision of a claim whose refund d cannot be made while
// the payment's dispute is open. The claim is recorded anyway, as of when
// the customer wrote: refusing to file it lost their written contact, and
// with it the window it was filed in (a withdrawal went unacknowledged,
// though Directive 2011/83/EU art. 11a asks for the acknowledgement at
// once). It waits in review, where an agent may decide it, and is decided
// again every heldRecheck: the engine's decision, refund included, as soon
// as the hold lifts (a dispute the store won); on the facts the dispute
// left (a lost one counted the chargeback on the line) otherwise. No answer
// clock runs meanwhile: the claim waits for the bank, not for an agent
// (who could not refund it either), as a claim waiting for the processing
// time does; a re-decision that leaves it to an agent starts one.
//
// A subscription cancellation's decision is carried out but for its
// refund: the subscription ends as d says (a refund decision ends it now),
// since "future billing always stops", and only the money waits. Once the
// bank has decided, the engine's decision counts a lost dispute's
// chargeback as refunded (subscriptions' ClaimSubject), so nothing is paid
// on top of it.
//
// The engine's facts know nothing of disputes: like renewedAfterRequest,
// the rule and its customer text live here.
func refundHeld(d policy.Decision, subscription bool) policy.Decision {
	if subscription {
		return policy.Decision{
			Outcome: policy.OutcomeReview, Cancel: d.Cancel, Rule: RuleRefundHeld, Statutory: d.Statutory,
			PolicyVersion: d.PolicyVersion,
			Reason: policy.Reason{
				EN: "Your subscription is cancelled as decided, and nothing more will be charged. Your bank is handling a dispute about " +
					"its payment, and no refund can be made while it is open. Your request is recorded as of the moment you sent it; " +
					"the refund will be decided as soon as the bank has closed the dispute, and an agent follows it meanwhile.",
				FR: "Votre abonnement est résilié comme décidé, et plus rien ne vous sera prélevé. Votre banque traite une contestation " +
					"de son paiement, et aucun remboursement n’est possible tant qu’elle est ouverte. Votre demande est enregistrée à la date " +
					"et à l’heure où vous l’avez envoyée\u00a0; le remboursement sera décidé dès que la banque aura clos la contestation, " +
					"et un conseiller la suit d’ici là.",
			},
		}
	}
	return policy.Decision{
		Outcome: policy.OutcomeReview, Cancel: policy.CancelNone, Rule: RuleRefundHeld, Statutory: d.Statutory,
		PolicyVersion: d.PolicyVersion,
		Reason: policy.Reason{
			EN: "Your bank is handling a dispute about the payment of this order, and no refund can be made while it is open. " +
				"Your claim is recorded as of the moment you sent it; it will be decided as soon as the bank has closed the dispute, " +
				"and an agent follows it meanwhile.",
			FR: "Votre banque traite une contestation du paiement de cette commande, et aucun remboursement n’est possible tant qu’elle est ouverte. " +
				"Votre réclamation est enregistrée à la date et à l’heure où vous l’avez envoyée\u00a0; elle sera décidée dès que la banque " +
				"aura clos la contestation, et un conseiller la suit d’ici là.",
		},
	}
}

// fileHeld records claim cl, whose decision d could not be carried out
// because the payment is disputed, with refundHeld(d) instead (see there),
// in one transaction with its re-decision, the audit line and
// the customer's email; a subscription's cancellation is carried out in it
// as the held decision says (the refund alone waits). cl is the claim as File built it, without its
// decision.
func (s *Service) fileHeld(ctx context.Context, in FileInput, subj *subject, cl Claim, d policy.Decision, now time.Time) (Claim, error) {
	held := refundHeld(d, cl.SubscriptionID != "")
	// What the rolled-back filing set on cl is gone with it.
	cl.AnswerTargetAt, cl.AnswerPromiseAt, cl.AnsweredAt, cl.AnswerBreached = time.Time{}, time.Time{}, time.Time{}, false
	cl.Status, cl.Decision, cl.DecidedAt, cl.DecidedBy = statusFor(held.Outcome), held, now, ""
	cl.Revision, cl.CreatedAt, cl.UpdatedAt = 1, now, now
	subj.claim = cl
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// An open claim an erasure must see, or that finds the account
		// erased and is refused (holdFilerTx); its refund is decided
		// later, by redecide, which checks the account then.
		if err := holdFilerTx(ctx, tx, cl.CustomerID); err != nil {
			return err
		}
		if err := insertClaimTx(ctx, tx, &cl); err != nil {
			return err
		}
		if err := takeSubjectTx(ctx, tx, cl.subjectID(), subj.version, true); err != nil {
			return err
		}
		decisionID, err := insertDecisionTx(ctx, tx, cl.ID, 1, held, "", "", now, "")
		if err != nil {
			return err
		}
		// A subscription ends as decided; only its refund waits.
		if err := s.carryOutTx(ctx, tx, subj, &cl, held, decisionID, audit.System, time.Time{}); err != nil {
			return err
		}
		if err := s.scheduleRedecideTx(ctx, tx, cl.ID, now.Add(heldRecheck)); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: in.Actor, SubjectType: "claim", SubjectID: cl.ID, Action: "file",
			After: claimState(cl)}); err != nil {
			return err
		}
		template := "claim_filed"
		if cl.Kind == policy.Withdrawal {
			template = "claim_withdrawal"
		}
		if err := s.notifyTx(ctx, tx, template, subj, cl); err != nil {
			return err
		}
		if in.Then != nil {
			return in.Then(ctx, tx, cl)
		}
		return nil
	})
	return cl, err
}

// keepHeld schedules the next re-decision of a held claim whose refund the
// dispute still holds, until heldFor after filing; then the claim is the
// agents' alone.
func (s *Service) keepHeld(ctx context.Context, c Claim, now time.Time) error {
	if now.Sub(c.FiledAt) > heldFor {
		s.opts.Logger.Warn("claims: refund still held by a dispute; left to the agents", "claim", c.ID)
		return nil
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error { return s.scheduleRedecideTx(ctx, tx, c.ID, now.Add(heldRecheck)) })
}
