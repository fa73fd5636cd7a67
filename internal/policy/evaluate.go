package policy

import (
	"strings"
	"time"

	"comptoir/internal/money"
)

// Decision is the engine's answer to a claim (API.md). Refund is present
// only when money goes back; Cancel is CancelNone for every kind but
// subscription_cancel.
type Decision struct {
	Outcome       Outcome       `json:"outcome"`
	Refund        *money.Amount `json:"refund,omitempty"`
	Cancel        Cancel        `json:"cancel"`
	Rule          string        `json:"rule"`
	Statutory     bool          `json:"statutory"`
	PolicyVersion string        `json:"policy_version"`
	Reason        Reason        `json:"reason"`
}

// Reason is the sentence the customer reads, in both languages.
type Reason struct {
	EN string `json:"en"`
	FR string `json:"fr"`
}

// The statutory floors (POLICY.md "The law comes first").
const (
	// withdrawalDays: 14 calendar days after the order, the order day not
	// counted (Directive 2011/83/EU art. 9).
	withdrawalDays = 14
	// liabilityYears: the trader is liable for digital content and
	// services for at least two years (Directive 2019/770 art. 11).
	liabilityYears = 2
)

// Evaluate decides a claim under policy p, as of now: the single decision
// function, used by `comptoir policy eval` and by the server alike. It is
// pure: same arguments, same decision.
//
// now decides whether a processing time has passed and which evidence is
// known (evidence sent after now is not); whether the claim is in time is
// always judged on filed_at, so that an agent's delay never costs the
// customer their window. A zero now, or one before filed_at, is filed_at.
// A nil p is the default policy.
//
// Facts that fail Validate get outcome review (rule facts.incomplete): the
// engine never guesses money out of incomplete facts, and an agent looks.
func Evaluate(p *Policy, f Facts, now time.Time) Decision {
	if p == nil {
		p = Default()
	}
	e := evaluation{p: p, f: &f, now: now}
	if now.IsZero() || now.Before(f.FiledAt) {
		e.now = f.FiledAt
	}
	var r rule
	if f.Validate() != nil {
		r = ruleFactsIncomplete
	} else {
		switch f.Kind {
		case NonDelivery:
			r = e.nonDelivery()
		case NotAsDescribed:
			r = e.notAsDescribed()
		case SubscriptionCancel:
			r = e.subscriptionCancel()
		case Dissatisfied:
			r = e.dissatisfied()
		case Withdrawal:
			r = e.withdrawal()
		}
	}
	spec := &rules[r]
	d := Decision{
		Outcome:       spec.outcome,
		Cancel:        CancelNone,
		Rule:          spec.name,
		Statutory:     spec.statutory,
		PolicyVersion: p.ID(),
		Reason: Reason{
			EN: p.wording[r][langEN].render(&e, langEN),
			FR: p.wording[r][langFR].render(&e, langFR),
		},
	}
	if spec.outcome == OutcomeRefund {
		refund := e.refund
		d.Refund = &refund
	}
	if f.Kind == SubscriptionCancel {
		switch {
		case r != ruleFactsIncomplete:
			d.Cancel = e.cancel
		case f.Choice == CancelPeriodEnd || f.Choice == CancelNow:
			// Future billing always stops (POLICY.md), whatever an agent
			// later makes of the money: facts the engine cannot decide
			// the refund on still end the subscription as chosen.
			d.Cancel = f.Choice
		}
	}
	return d
}

// evaluation is one run of Evaluate: the facts, and what the rules
// computed that the reason may show.
type evaluation struct {
	p   *Policy
	f   *Facts
	now time.Time

	window        Window
	anchor        time.Time
	deadline      time.Time // last in-time instant
	legalDeadline time.Time
	paid          money.Amount
	refunded      money.Amount
	refund        money.Amount
	cancel        Cancel
}

// inTime sets the window fields and reports whether filed_at is in time.
func (e *evaluation) inTime(w Window, anchor time.Time) bool {
	e.window, e.anchor = w, anchor
	e.deadline = w.end(anchor, e.p.Location)
	return !e.f.FiledAt.After(e.deadline)
}

// consumerUnderEU reports whether the EU consumer floors apply.
func (e *evaluation) consumerUnderEU() bool {
	return e.p.Law == LawEU && e.f.Customer.Type == Consumer
}

// setMoney reads what was paid and refunded; refundable is paid − refunded,
// never negative.
func (e *evaluation) setMoney(paid, refunded *money.Amount) money.Amount {
	if paid != nil {
		e.paid = *paid
	}
	e.refunded = money.Zero(e.paid.Currency)
	if refunded != nil && refunded.Currency == e.paid.Currency {
		e.refunded = *refunded
	}
	refundable, err := e.paid.Sub(e.refunded)
	if err != nil || refundable.IsNegative() {
		refundable = money.Zero(e.paid.Currency)
	}
	return refundable
}

// undeliveredShare is refundable × (ordered − delivered) / ordered, half
// up, never above refundable (money.ProRata guarantees both).
func (e *evaluation) undeliveredShare(refundable money.Amount) money.Amount {
	o := e.f.Order
	share, err := money.ProRata(refundable, o.Quantity-o.Delivered, o.Quantity)
	if err != nil { // only on facts Validate refuses; never pay out on them
		return money.Zero(refundable.Currency)
	}
	return share
}

// unpaidForUndelivered is what a consumer who withdraws from a service
// begun at their request gets back: all they paid but the price of what was
// delivered ("the consumer pays only for what was delivered", POLICY.md;
// Directive 2011/83/EU art. 14(3)). That is the undelivered part of what
// was paid, paid × (ordered − delivered) / ordered half up, less what was
// already refunded for the line, never negative and never above refundable.
// Nothing refunded before, it is undeliveredShare's amount; after a refund
// of the undelivered part (a non_delivery claim), it is nothing: taking
// refundable × the undelivered fraction instead would pay that part a
// second time, and leave the consumer paying less than what was delivered.
func (e *evaluation) unpaidForUndelivered(refundable money.Amount) money.Amount {
	o := e.f.Order
	zero := money.Zero(refundable.Currency)
	undelivered, err := money.ProRata(e.paid, o.Quantity-o.Delivered, o.Quantity)
	if err != nil { // only on facts Validate refuses; never pay out on them
		return zero
	}
	left, err := undelivered.Sub(e.refunded)
	if err != nil || !left.IsPositive() {
		return zero
	}
	more, err := left.Cmp(refundable)
	switch {
	case err != nil:
		return zero
	case more > 0:
		return refundable
	}
	return left
}

func (e *evaluation) nonDelivery() rule {
	kr := e.p.kinds[0]
	o := e.f.Order
	if !kr.Enabled {
		return ruleNDDisabled
	}
	if !e.inTime(kr.Window, o.PlacedAt) {
		return ruleNDOutOfTime
	}
	if o.Delivered >= o.Quantity {
		return ruleNDDelivered
	}
	if !o.ProcessingUntil.IsZero() && e.now.Before(o.ProcessingUntil) {
		return ruleNDProcessing
	}
	if kr.Remedy == RemedyRedeliver {
		return ruleNDRedeliver
	}
	e.refund = e.undeliveredShare(e.setMoney(o.Paid, o.Refunded))
	switch {
	case !e.refund.IsPositive():
		return ruleNDNothingRefundable
	case o.Delivered == 0:
		return ruleNDUndelivered
	default:
		return ruleNDPartial
	}
}

func (e *evaluation) notAsDescribed() rule {
	kr := e.p.kinds[1]
	o := e.f.Order
	evidence := e.hasEvidence()
	if kr.Enabled && e.inTime(kr.Window, o.PaidAt) {
		if evidence {
			return ruleNADReview
		}
		return ruleNADAwaitingEvidence
	}
	if !kr.Enabled {
		e.window, e.anchor = kr.Window, o.PaidAt
	}
	// The store's window has passed (or the store does not take these
	// claims): a consumer under EU law still has the 2-year liability for
	// digital content and services, counted from payment, whole local days.
	if e.consumerUnderEU() {
		y, m, d := o.PaidAt.In(e.p.Location).Date()
		e.legalDeadline = time.Date(y+liabilityYears, m, d, 23, 59, 59, 999_000_000, e.p.Location)
		if !e.f.FiledAt.After(e.legalDeadline) {
			if evidence {
				return ruleNADStatutoryReview
			}
			return ruleNADStatutoryAwaitingEvidence
		}
	}
	if !kr.Enabled {
		return ruleNADDisabled
	}
	return ruleNADOutOfTime
}

// hasEvidence reports whether any evidence was sent by now. Evidence from
// before the claim was filed counts (it came with the first message), and so
// does evidence sent after filing, however late: the claim was filed in
// time, and that is what POLICY.md judges.
func (e *evaluation) hasEvidence() bool {
	for _, ev := range e.f.Evidence {
		if !ev.At.After(e.now) {
			return true
		}
	}
	return false
}

// subscriptionCancel: future billing always stops; only the refund of the
// last payment depends on the window. Read literally, POLICY.md gives:
//   - within the window, refund asked (the default) → refund in full, cancel now;
//   - within the window, refund not asked → outcome none, cancel as chosen;
//   - after the window → outcome refused, cancel as chosen, whether or not
//     a refund was asked ("After 7 days the outcome is refused");
//   - no payment yet (trial) → none, cancel as chosen.
//
// A store that disabled subscription refunds is treated like one whose
// window has passed: refused (money), cancel as chosen.
func (e *evaluation) subscriptionCancel() rule {
	kr := e.p.kinds[2]
	s := e.f.Subscription
	e.cancel = e.f.Choice
	if s.LastPaymentAt.IsZero() || s.LastPayment == nil || s.LastPayment.IsZero() {
		return ruleSCTrial
	}
	refundable := e.setMoney(s.LastPayment, s.Refunded)
	if !kr.Enabled {
		if r, ok := e.subscriptionWithdrawal(refundable); ok {
			return r
		}
		return ruleSCDisabled
	}
	if !e.inTime(kr.Window, s.LastPaymentAt) {
		// The store's window has passed; the law's may not have (its
		// window fields replace the store's only when it applies).
		window, anchor, deadline := e.window, e.anchor, e.deadline
		if r, ok := e.subscriptionWithdrawal(refundable); ok {
			return r
		}
		e.window, e.anchor, e.deadline = window, anchor, deadline
		return ruleSCOutOfTime
	}
	if !e.f.WantsRefund() {
		return ruleSCNoRefundRequested
	}
	// A refunded period does not keep running: the subscription stops now,
	// whatever end was chosen.
	e.cancel = CancelNow
	if !refundable.IsPositive() {
		return ruleSCNothingRefundable
	}
	e.refund = refundable
	return ruleSCRefund
}

// subscriptionWithdrawal is a consumer's statutory withdrawal from a
// subscription, for a cancellation the store's own rules would not refund:
// a subscription is a contract for a service, which a consumer under EU law
// may withdraw from within 14 calendar days of taking it out, the first day
// not counted (Directive 2011/83/EU art. 9), whatever the store's refund
// window. It applies when the facts say when the subscription was taken
// out (subscription.started_at), the cancellation is filed in that time
// and a refund is asked for; the subscription then stops now, and:
//   - the consumer asked, when subscribing, for the service to start at
//     once: they pay for the part of the paid period already provided
//     (art. 14(3)), and get back the rest of the last payment, in
//     proportion to the time left until period_end;
//   - no such request was recorded: they owe nothing, and the last payment
//     comes back in full.
//
// ok is false when the floor does not apply, and the store's rule stands.
func (e *evaluation) subscriptionWithdrawal(refundable money.Amount) (r rule, ok bool) {
	s := e.f.Subscription
	if !e.consumerUnderEU() || s.StartedAt.IsZero() || !e.f.WantsRefund() {
		return 0, false
	}
	w := Window{Counting: Calendar, Days: withdrawalDays}
	if e.f.FiledAt.After(w.end(s.StartedAt, e.p.Location)) {
		return 0, false
	}
	e.inTime(w, s.StartedAt)
	e.cancel = CancelNow
	if s.Consent != nil && s.Consent.ImmediatePerformance {
		e.refund, r = e.unprovidedShare(refundable), ruleSCStatutoryUnprovided
	} else {
		e.refund, r = refundable, ruleSCStatutoryNoRequest
	}
	if !e.refund.IsPositive() {
		return ruleSCNothingRefundable, true
	}
	return r, true
}

// unprovidedShare is what a consumer withdrawing from a subscription they
// asked to start at once gets back of the last payment: the part of the
// period it paid for (last_payment_at to period_end) that is still to come
// at filed_at, paid × (period_end − filed_at) / (period_end −
// last_payment_at) half up, to the second, less what was already refunded
// of it, never negative and never above refundable.
func (e *evaluation) unprovidedShare(refundable money.Amount) money.Amount {
	s := e.f.Subscription
	zero := money.Zero(refundable.Currency)
	whole := int64(s.PeriodEnd.Sub(s.LastPaymentAt) / time.Second)
	left := int64(s.PeriodEnd.Sub(e.f.FiledAt) / time.Second)
	if whole <= 0 || left <= 0 {
		return zero
	}
	unprovided, err := money.ProRata(e.paid, min(left, whole), whole)
	if err != nil {
		return zero
	}
	rest, err := unprovided.Sub(e.refunded)
	if err != nil || !rest.IsPositive() {
		return zero
	}
	if more, err := rest.Cmp(refundable); err != nil {
		return zero
	} else if more > 0 {
		return refundable
	}
	return rest
}

func (e *evaluation) dissatisfied() rule {
	kr := e.p.kinds[3]
	if !kr.Enabled {
		return ruleDisDisabled
	}
	if !e.inTime(kr.Window, e.f.Order.PlacedAt) {
		return ruleDisOutOfTime
	}
	return ruleDisSolution
}

// withdrawal follows POLICY.md's four steps. The right is the law's: a
// policy cannot disable or shorten it for EU consumers, only lengthen it
// (a longer [kinds.withdrawal] window, when enabled, is honoured too).
func (e *evaluation) withdrawal() rule {
	o := e.f.Order
	if e.p.Law != LawEU {
		return ruleWLawNone
	}
	if e.f.Customer.Type != Consumer {
		return ruleWBusiness
	}
	statutory := Window{Counting: Calendar, Days: withdrawalDays}
	w := statutory
	if kr := e.p.kinds[4]; kr.Enabled && kr.Window.end(o.PlacedAt, e.p.Location).After(statutory.end(o.PlacedAt, e.p.Location)) {
		w = kr.Window
	}
	// 1. Out of time (business customers were refused above).
	if !e.inTime(w, o.PlacedAt) {
		return ruleWOutOfTime
	}
	refundable := e.setMoney(o.Paid, o.Refunded)
	c := o.Consent
	requested := c != nil && c.ImmediatePerformance
	var r rule
	switch {
	// 2. A service the consumer asked to start at once: the right ends
	// with full performance; before that, they pay for what was delivered.
	case o.ProductKind == Service && requested:
		if o.Delivered >= o.Quantity {
			return ruleWServicePerformed
		}
		e.refund, r = e.unpaidForUndelivered(refundable), ruleWStatutoryUndelivered
	// 3. A service without that request: the consumer owes nothing.
	case o.ProductKind == Service:
		e.refund, r = refundable, ruleWServiceNoRequest
	// 4. Digital content: the right ends when supply begins, but only with
	// both the express consent and the acknowledgement recorded.
	case requested && c.WithdrawalWaiver && o.Delivered > 0:
		return ruleWDigitalSupplyBegun
	case o.Delivered == 0:
		e.refund, r = refundable, ruleWDigitalNotBegun
	default:
		e.refund, r = refundable, ruleWDigitalNoConsent
	}
	if !e.refund.IsPositive() {
		return ruleWNothingRefundable
	}
	return r
}

// writeField renders one field of the reason; Parse made sure that a
// template only names fields its rule fills.
func (e *evaluation) writeField(b *strings.Builder, f field, lang int) {
	p := e.p
	switch f {
	case fieldPolicy:
		b.WriteString(p.ID())
	case fieldElapsed:
		elapsed := e.f.FiledAt.Sub(e.anchor)
		// All units when two would make a late claim look in time.
		late := !e.deadline.IsZero() && e.f.FiledAt.After(e.deadline)
		writeSpan(b, elapsed, lang, late && e.window.Counting != Calendar && truncated(elapsed) <= e.window.Length)
	case fieldWindow:
		writeWindow(b, e.window, lang)
	case fieldDeadline:
		writeDateTime(b, e.deadline, p.Location, lang)
	case fieldRefund:
		b.WriteString(money.Format(e.refund, langNames[lang]))
	case fieldPaid:
		b.WriteString(money.Format(e.paid, langNames[lang]))
	case fieldRefunded:
		b.WriteString(money.Format(e.refunded, langNames[lang]))
	case fieldOrdered:
		writeQuantity(b, e.f.Order.Quantity, lang)
	case fieldDelivered:
		writeQuantity(b, e.f.Order.Delivered, lang)
	case fieldUndelivered:
		writeQuantity(b, e.f.Order.Quantity-e.f.Order.Delivered, lang)
	case fieldExpected:
		writeDateTime(b, e.f.Order.ProcessingUntil, p.Location, lang)
	case fieldCancel:
		e.writeCancel(b, lang)
	case fieldLegalDeadline:
		writeDate(b, e.legalDeadline, p.Location, lang)
	}
}

// count is the number a count field holds (see countFields), which a
// plural chooses its form by.
func (e *evaluation) count(f field) int64 {
	o := e.f.Order
	if o == nil {
		return 0
	}
	switch f {
	case fieldOrdered:
		return o.Quantity
	case fieldDelivered:
		return o.Delivered
	case fieldUndelivered:
		return o.Quantity - o.Delivered
	}
	return 0
}

// truncated is d as writeSpan shows it with its two largest units.
func truncated(d time.Duration) time.Duration {
	for _, u := range spanUnits {
		if d >= u.d {
			first := d / u.d * u.d
			rest := d - first
			for _, v := range spanUnits {
				if v.d < u.d && rest >= v.d {
					return first + rest/v.d*v.d
				}
			}
			return first
		}
	}
	return 0
}

func (e *evaluation) writeCancel(b *strings.Builder, lang int) {
	if e.cancel == CancelNow {
		if lang == langFR {
			b.WriteString("immédiatement")
		} else {
			b.WriteString("immediately")
		}
		return
	}
	if lang == langFR {
		b.WriteString("à la fin de la période payée")
	} else {
		b.WriteString("at the end of the paid period")
	}
	if s := e.f.Subscription; s != nil && !s.PeriodEnd.IsZero() {
		if lang == langFR {
			b.WriteString(", le ")
		} else {
			b.WriteString(", on ")
		}
		writeDate(b, s.PeriodEnd, e.p.Location, lang)
	}
}
