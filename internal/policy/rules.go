package policy

// This file lists every rule the engine can apply: its name (what a
// Decision's rule says and what a document's wording table is keyed by),
// the outcome and statutory flag it always gives, and the fields its
// customer text may use. Keeping them in one table is what lets Parse refuse
// a template that names a field the engine does not fill for that reason,
// and Check list the reasons a document forgot to word.

// Outcome is what a decision does about money or the remedy.
type Outcome string

// The outcomes of POLICY.md.
const (
	OutcomeRefund           Outcome = "refund"
	OutcomeRefused          Outcome = "refused"
	OutcomeReview           Outcome = "review"
	OutcomeAwaitingEvidence Outcome = "awaiting_evidence"
	OutcomeWaitingDelivery  Outcome = "waiting_delivery"
	OutcomeSolution         Outcome = "solution"
	OutcomeRedeliver        Outcome = "redeliver"
	OutcomeCredit           Outcome = "credit"
	OutcomeNone             Outcome = "none"
)

// Cancel says what happens to a subscription.
type Cancel string

const (
	CancelNone      Cancel = "none"
	CancelPeriodEnd Cancel = "period_end"
	CancelNow       Cancel = "now"
)

// field is a value a reason template can show.
type field uint8

const (
	fieldPolicy        field = iota // name@version
	fieldElapsed                    // from the anchor to filed_at: "9 days 4 hours"
	fieldWindow                     // the window: "7 days", "14 calendar days"
	fieldDeadline                   // last moment in time, local: "15 March 2026 at 10:00 CET"
	fieldRefund                     // the refund
	fieldPaid                       // what was paid (order line or last subscription payment)
	fieldRefunded                   // what was already refunded
	fieldOrdered                    // quantity ordered
	fieldDelivered                  // quantity delivered
	fieldUndelivered                // ordered − delivered
	fieldExpected                   // end of the processing time
	fieldCancel                     // when the subscription ends: "immediately", "at the end of the paid period, on …"
	fieldLegalDeadline              // end of the 2-year statutory liability: "8 March 2028"
	numFields
)

var fieldNames = [numFields]string{
	fieldPolicy:        "policy",
	fieldElapsed:       "elapsed",
	fieldWindow:        "window",
	fieldDeadline:      "deadline",
	fieldRefund:        "refund",
	fieldPaid:          "paid",
	fieldRefunded:      "refunded",
	fieldOrdered:       "ordered",
	fieldDelivered:     "delivered",
	fieldUndelivered:   "undelivered",
	fieldExpected:      "expected",
	fieldCancel:        "cancel",
	fieldLegalDeadline: "legal_deadline",
}

type fieldSet uint32

func fields(fs ...field) fieldSet {
	s := fieldSet(1) << fieldPolicy // every reason may name the policy
	for _, f := range fs {
		s |= 1 << f
	}
	return s
}

func (s fieldSet) has(f field) bool { return s&(1<<f) != 0 }

// rule identifies one of the engine's rules.
type rule uint8

const (
	ruleFactsIncomplete rule = iota

	ruleNDDisabled
	ruleNDOutOfTime
	ruleNDDelivered
	ruleNDProcessing
	ruleNDPartial
	ruleNDUndelivered
	ruleNDRedeliver
	ruleNDNothingRefundable

	ruleNADDisabled
	ruleNADOutOfTime
	ruleNADAwaitingEvidence
	ruleNADReview
	ruleNADStatutoryAwaitingEvidence
	ruleNADStatutoryReview

	ruleSCRefund
	ruleSCNoRefundRequested
	ruleSCOutOfTime
	ruleSCDisabled
	ruleSCTrial
	ruleSCNothingRefundable
	ruleSCStatutoryUnprovided
	ruleSCStatutoryNoRequest

	ruleDisDisabled
	ruleDisOutOfTime
	ruleDisSolution

	ruleWLawNone
	ruleWBusiness
	ruleWOutOfTime
	ruleWServicePerformed
	ruleWStatutoryUndelivered
	ruleWServiceNoRequest
	ruleWDigitalSupplyBegun
	ruleWDigitalNotBegun
	ruleWDigitalNoConsent
	ruleWNothingRefundable

	// Reasons an agent gives when deciding a claim by hand; the engine never
	// returns them, but their customer text lives with the policy too.
	ruleAgentExpectationOnly
	ruleAgentInsufficientEvidence
	ruleAgentDeliveryRecord

	numRules
)

type ruleSpec struct {
	name      string
	outcome   Outcome // empty for agent reasons
	statutory bool
	fields    fieldSet
}

var (
	timeFields     = []field{fieldElapsed, fieldWindow, fieldDeadline}
	quantityFields = []field{fieldOrdered, fieldDelivered, fieldUndelivered}
)

func join(groups ...[]field) []field {
	var out []field
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

var rules = [numRules]ruleSpec{
	ruleFactsIncomplete: {"facts.incomplete", OutcomeReview, false, fields()},

	ruleNDDisabled:          {"non_delivery.disabled", OutcomeRefused, false, fields()},
	ruleNDOutOfTime:         {"non_delivery.out_of_time", OutcomeRefused, false, fields(timeFields...)},
	ruleNDDelivered:         {"non_delivery.delivered", OutcomeReview, false, fields(join(timeFields, quantityFields)...)},
	ruleNDProcessing:        {"non_delivery.processing", OutcomeWaitingDelivery, false, fields(join(timeFields, quantityFields, []field{fieldExpected})...)},
	ruleNDPartial:           {"non_delivery.partial", OutcomeRefund, false, fields(join(timeFields, quantityFields, []field{fieldRefund, fieldPaid, fieldRefunded})...)},
	ruleNDUndelivered:       {"non_delivery.undelivered", OutcomeRefund, false, fields(join(timeFields, quantityFields, []field{fieldRefund, fieldPaid, fieldRefunded})...)},
	ruleNDRedeliver:         {"non_delivery.redeliver", OutcomeRedeliver, false, fields(join(timeFields, quantityFields)...)},
	ruleNDNothingRefundable: {"non_delivery.nothing_refundable", OutcomeNone, false, fields(join(timeFields, quantityFields, []field{fieldPaid, fieldRefunded})...)},

	ruleNADDisabled:                  {"not_as_described.disabled", OutcomeRefused, false, fields()},
	ruleNADOutOfTime:                 {"not_as_described.out_of_time", OutcomeRefused, false, fields(timeFields...)},
	ruleNADAwaitingEvidence:          {"not_as_described.awaiting_evidence", OutcomeAwaitingEvidence, false, fields(timeFields...)},
	ruleNADReview:                    {"not_as_described.review", OutcomeReview, false, fields(timeFields...)},
	ruleNADStatutoryAwaitingEvidence: {"not_as_described.statutory_awaiting_evidence", OutcomeAwaitingEvidence, true, fields(fieldElapsed, fieldLegalDeadline)},
	ruleNADStatutoryReview:           {"not_as_described.statutory_review", OutcomeReview, true, fields(fieldElapsed, fieldLegalDeadline)},

	ruleSCRefund:            {"subscription_cancel.refund", OutcomeRefund, false, fields(join(timeFields, []field{fieldRefund, fieldPaid, fieldRefunded})...)},
	ruleSCNoRefundRequested: {"subscription_cancel.no_refund_requested", OutcomeNone, false, fields(join(timeFields, []field{fieldCancel, fieldPaid})...)},
	ruleSCOutOfTime:         {"subscription_cancel.out_of_time", OutcomeRefused, false, fields(join(timeFields, []field{fieldCancel, fieldPaid})...)},
	ruleSCDisabled:          {"subscription_cancel.disabled", OutcomeRefused, false, fields(fieldCancel)},
	ruleSCTrial:             {"subscription_cancel.trial", OutcomeNone, false, fields(fieldCancel)},
	ruleSCNothingRefundable: {"subscription_cancel.nothing_refundable", OutcomeNone, false, fields(join(timeFields, []field{fieldPaid, fieldRefunded})...)},
	// A consumer's withdrawal from a subscription within 14 days of taking
	// it out, once the store's own window has passed (Directive 2011/83/EU
	// art. 9, 14(3)).
	ruleSCStatutoryUnprovided: {"subscription_cancel.statutory_unprovided", OutcomeRefund, true, fields(join(timeFields, []field{fieldRefund, fieldPaid, fieldRefunded})...)},
	ruleSCStatutoryNoRequest:  {"subscription_cancel.statutory_no_request", OutcomeRefund, true, fields(join(timeFields, []field{fieldRefund, fieldPaid, fieldRefunded})...)},

	ruleDisDisabled:  {"dissatisfied.disabled", OutcomeRefused, false, fields()},
	ruleDisOutOfTime: {"dissatisfied.out_of_time", OutcomeRefused, false, fields(timeFields...)},
	ruleDisSolution:  {"dissatisfied.solution", OutcomeSolution, false, fields(timeFields...)},

	ruleWLawNone:              {"withdrawal.law_none", OutcomeRefused, false, fields()},
	ruleWBusiness:             {"withdrawal.business", OutcomeRefused, false, fields()},
	ruleWOutOfTime:            {"withdrawal.out_of_time", OutcomeRefused, true, fields(timeFields...)},
	ruleWServicePerformed:     {"withdrawal.service_performed", OutcomeRefused, true, fields(join(timeFields, quantityFields)...)},
	ruleWStatutoryUndelivered: {"withdrawal.statutory_undelivered", OutcomeRefund, true, fields(join(timeFields, quantityFields, []field{fieldRefund, fieldPaid, fieldRefunded})...)},
	ruleWServiceNoRequest:     {"withdrawal.service_no_request", OutcomeRefund, true, fields(join(timeFields, []field{fieldRefund, fieldPaid, fieldRefunded})...)},
	ruleWDigitalSupplyBegun:   {"withdrawal.digital_supply_begun", OutcomeRefused, true, fields(join(timeFields, quantityFields)...)},
	ruleWDigitalNotBegun:      {"withdrawal.digital_not_begun", OutcomeRefund, true, fields(join(timeFields, []field{fieldRefund, fieldPaid, fieldRefunded})...)},
	ruleWDigitalNoConsent:     {"withdrawal.digital_no_consent", OutcomeRefund, true, fields(join(timeFields, []field{fieldRefund, fieldPaid, fieldRefunded})...)},
	ruleWNothingRefundable:    {"withdrawal.nothing_refundable", OutcomeNone, true, fields(join(timeFields, []field{fieldPaid, fieldRefunded})...)},

	ruleAgentExpectationOnly:      {"agent.expectation_only", "", false, fields()},
	ruleAgentInsufficientEvidence: {"agent.insufficient_evidence", "", false, fields()},
	ruleAgentDeliveryRecord:       {"agent.delivery_record", "", false, fields()},
}

// ruleByName finds a rule by its name.
func ruleByName(name string) (rule, bool) {
	for r := range numRules {
		if rules[r].name == name {
			return r, true
		}
	}
	return 0, false
}

// RuleNames lists the name of every rule a decision can carry, then the
// agent reasons ("agent.expectation_only"…), in a stable order: the keys a
// document's [wording] table may have.
func RuleNames() []string {
	out := make([]string, numRules)
	for r := range numRules {
		out[r] = rules[r].name
	}
	return out
}

// AgentReasons are the reason codes an agent can give when deciding a claim
// by hand (POLICY.md: expectation_only, insufficient_evidence, and a
// non-delivery refused on the delivery record).
var AgentReasons = []string{"expectation_only", "insufficient_evidence", "delivery_record"}

// AgentReason returns the customer text of an agent's reason code (one of
// AgentReasons) under p.
func (p *Policy) AgentReason(code string) (Reason, bool) {
	r, ok := ruleByName("agent." + code)
	if !ok {
		return Reason{}, false
	}
	e := &evaluation{p: p} // agent reasons may only name {policy}
	return Reason{EN: p.wording[r][langEN].render(e, langEN), FR: p.wording[r][langFR].render(e, langFR)}, true
}
