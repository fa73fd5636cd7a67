package claims

import (
	"context"
	"database/sql"

	"comptoir/internal/policy"
)

// RuleWithdrawnBefore is the rule of a non_delivery decision on a line the
// customer's withdrawal already refunded.
const RuleWithdrawnBefore = "non_delivery.withdrawn"

// withdrawalRefundOf returns the withdrawal claim that got money back for
// c's order line (a refund not failed), or "" when there is none. Only a
// non_delivery claim asks: see withdrawnBefore.
func (s *Service) withdrawalRefundOf(ctx context.Context, c Claim) (string, error) {
	var prior sql.NullString
	err := s.db.Read.QueryRowContext(ctx, priorRefundQuery, c.OrderID, string(policy.Withdrawal), c.LineID, string(policy.Withdrawal)).Scan(&prior)
	if err != nil {
		return "", wrapDB("withdrawal refunds", err)
	}
	return prior.String, nil
}

// withdrawnBefore decides a non_delivery claim still open (waiting for the
// processing time to pass) on a line that a withdrawal refunded since: the
// withdrawal paid back the undelivered part (or everything), so nothing
// more is due for the non-delivery. Filing such a claim after the
// withdrawal is ErrAlreadyDecided (checkNoPriorRefund); a claim filed before
// it must not pay on the policy's formula either, which takes a share of
// what is left and would pay part of the undelivered part again.
//
// The engine cannot take this: its facts say how much was refunded for the
// line, not what for. Like renewedAfterRequest, the rule and its customer
// text live here, and the published policy documents and policy eval stay as
// they are.
func withdrawnBefore(subj *subject) (policy.Decision, bool) {
	if subj.claim.Kind != policy.NonDelivery || subj.withdrawnBy == "" {
		return policy.Decision{}, false
	}
	return policy.Decision{
		Outcome: policy.OutcomeNone, Cancel: policy.CancelNone, Rule: RuleWithdrawnBefore, PolicyVersion: subj.policy.ID(),
		Reason: policy.Reason{
			EN: "Your withdrawal from this order already refunded the part of this line that was not delivered: nothing more is due for its non-delivery.",
			FR: "Votre rétractation de cette commande vous a déjà remboursé la part non livrée de cette ligne\u00a0: rien de plus n’est dû au titre de sa non-livraison.",
		},
	}, true
}
