package claims

import (
	"strings"
	"time"

	"comptoir/internal/money"
	"comptoir/internal/policy"
)

// RuleRenewedAfterRequest is the rule of a subscription_cancel decision
// whose request (filed_at: the customer's first written contact) came before
// the subscription's last payment was charged.
const RuleRenewedAfterRequest = "subscription_cancel.renewed_after_request"

// evaluate is the decision on the subject's facts as of now: the engine's
// (policy.Evaluate), except for the two cases its facts cannot express.
func (s *Service) evaluate(subj *subject, now time.Time) policy.Decision {
	if d, ok := renewedAfterRequest(subj); ok {
		return d
	}
	if d, ok := withdrawnBefore(subj); ok {
		return d
	}
	return policy.Evaluate(subj.policy, subj.facts, now)
}

// renewedAfterRequest decides a subscription_cancel claim whose customer
// asked to stop in writing before the last payment was charged: an agent
// filed it from the customer's message, so filed_at is the message's time
// and precedes the renewal. POLICY.md: "Future billing always stops: no
// renewal is charged after the request." Every renewal charged after the
// request is refunded in full (the message may have waited past more than
// one renewal date), whatever the refund window and whether or not a
// refund was asked (none should have been charged), and the subscription
// stops at once (the refunded period does not run).
//
// The engine cannot take this: its facts refuse a filed_at before
// subscription.last_payment_at (policy eval exits 2 on them) and give
// facts.incomplete, which left the claim open for an agent who has no way
// to decide a subscription claim. The rule and its customer text live here,
// beside the agents' (upheldReason), so the published policy documents and
// policy eval stay as they are. Nothing left to refund (already refunded):
// false, and the engine's answer stands (billing stops as chosen).
func renewedAfterRequest(subj *subject) (policy.Decision, bool) {
	c, sub := subj.claim, subj.sub
	if c.Kind != policy.SubscriptionCancel || sub.LastPayment == nil || sub.LastPaymentAt.IsZero() ||
		c.FiledAt.IsZero() || !c.FiledAt.Before(sub.LastPaymentAt) {
		return policy.Decision{}, false
	}
	refund, charged, err := chargedAfter(sub, c.FiledAt)
	if err != nil || !refund.IsPositive() {
		return policy.Decision{}, false
	}
	asked := func(lang string) string { return formatReceived(c.FiledAt, subj.policy, lang) }
	dates := func(lang string) string {
		words := make([]string, len(charged))
		for i, at := range charged {
			words[i] = formatReceived(at, subj.policy, lang)
		}
		and := " and "
		if lang == "fr" {
			and = " et "
		}
		if len(words) == 1 {
			return words[0]
		}
		return strings.Join(words[:len(words)-1], ", ") + and + words[len(words)-1]
	}
	reason := policy.Reason{
		EN: "You asked us in writing on " + asked("en") + " to stop your subscription, before its renewal of " + dates("en") +
			" was charged. No renewal is charged after a request to stop: we refund that payment in full, " +
			money.Format(refund, "en") + ", to your original means of payment, and your subscription stops immediately.",
		FR: "Vous nous avez demandé par écrit le " + asked("fr") + " d’arrêter votre abonnement, avant que son renouvellement du " +
			dates("fr") + " soit prélevé. Aucun renouvellement n’est facturé après une demande d’arrêt\u00a0: nous vous remboursons " +
			"intégralement ce paiement, soit " + money.Format(refund, "fr") +
			", sur votre moyen de paiement d’origine, et votre abonnement s’arrête immédiatement.",
	}
	if len(charged) > 1 {
		reason = policy.Reason{
			EN: "You asked us in writing on " + asked("en") + " to stop your subscription, before its renewals of " + dates("en") +
				" were charged. No renewal is charged after a request to stop: we refund these payments in full, " +
				money.Format(refund, "en") + " in all, to your original means of payment, and your subscription stops immediately.",
			FR: "Vous nous avez demandé par écrit le " + asked("fr") + " d’arrêter votre abonnement, avant que ses renouvellements du " +
				dates("fr") + " soient prélevés. Aucun renouvellement n’est facturé après une demande d’arrêt\u00a0: nous vous remboursons " +
				"intégralement ces paiements, soit " + money.Format(refund, "fr") +
				" au total, sur votre moyen de paiement d’origine, et votre abonnement s’arrête immédiatement.",
		}
	}
	return policy.Decision{
		Outcome: policy.OutcomeRefund, Refund: &refund, Cancel: policy.CancelNow, Rule: RuleRenewedAfterRequest,
		PolicyVersion: subj.policy.ID(), Reason: reason,
	}, true
}

// chargedAfter is the total of the subscription's payments not refunded
// that were made after since, and when each was made, oldest first. A
// subject that lists no payments (Unrefunded nil) has only its last one
// to offer, as before payments were listed.
func chargedAfter(sub SubscriptionSubject, since time.Time) (money.Amount, []time.Time, error) {
	if sub.Unrefunded == nil {
		left, err := sub.LeftToRefund()
		return left, []time.Time{sub.LastPaymentAt}, err
	}
	total := money.Amount{Currency: sub.LastPayment.Currency}
	var at []time.Time
	for i := len(sub.Unrefunded) - 1; i >= 0; i-- {
		p := sub.Unrefunded[i]
		if !p.PaidAt.After(since) {
			continue
		}
		var err error
		if total, err = total.Add(p.Amount); err != nil {
			return money.Amount{}, nil, err
		}
		at = append(at, p.PaidAt)
	}
	return total, at, nil
}
