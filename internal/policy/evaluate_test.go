package policy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"comptoir/internal/localtime"
)

// placed is when the test orders are placed: Sunday 8 March 2026, 11:00 in
// Paris (CET, UTC+1). It is also when they are paid.
const placed = "2026-03-08T10:00:00Z"

func line(paid, qty, delivered int64) *Order {
	return &Order{PlacedAt: ts(placed), PaidAt: ts(placed), Paid: eur(paid), ProductKind: Service,
		Quantity: qty, Delivered: delivered, Refunded: eur(0)}
}

func claim(kind Kind, filed string, o *Order, mods ...func(*Facts)) Facts {
	f := Facts{Kind: kind, FiledAt: ts(filed), Customer: Customer{Type: Consumer, Country: "FR"}, Order: o}
	for _, m := range mods {
		m(&f)
	}
	return f
}

func business(f *Facts) { f.Customer.Type = Business }
func digital(f *Facts)  { f.Order.ProductKind = Digital }
func refunded(n int64) func(*Facts) {
	return func(f *Facts) { f.Order.Refunded = eur(n) }
}
func processingUntil(s string) func(*Facts) {
	return func(f *Facts) { f.Order.ProcessingUntil = ts(s) }
}
func evidenceAt(times ...string) func(*Facts) {
	return func(f *Facts) {
		for _, s := range times {
			f.Evidence = append(f.Evidence, Evidence{Kind: "file", At: ts(s)})
		}
	}
}
func consent(immediate, waiver bool) func(*Facts) {
	return func(f *Facts) {
		f.Order.Consent = &Consent{ImmediatePerformance: immediate, WithdrawalWaiver: waiver, At: ts(placed)}
	}
}
func placedAt(s string) func(*Facts) {
	return func(f *Facts) { f.Order.PlacedAt, f.Order.PaidAt = ts(s), ts(s) }
}

// startedAt says when the subscription was taken out, and whether the
// customer asked, when subscribing, for it to start at once.
func startedAt(at string, immediate bool) func(*Facts) {
	return func(f *Facts) {
		f.Subscription.StartedAt = ts(at)
		f.Subscription.Consent = &Consent{ImmediatePerformance: immediate, WithdrawalWaiver: immediate, At: ts(at)}
	}
}

// sub builds a subscription_cancel claim; lastPayment "" is a trial.
func sub(filed, lastPayment string, amount int64, choice Cancel, mods ...func(*Facts)) Facts {
	f := Facts{Kind: SubscriptionCancel, FiledAt: ts(filed), Customer: Customer{Type: Consumer}, Choice: choice,
		Subscription: &Subscription{PeriodEnd: ts("2026-04-08T10:00:00Z")}}
	if lastPayment != "" {
		f.Subscription.LastPaymentAt = ts(lastPayment)
		f.Subscription.LastPayment = eur(amount)
	}
	for _, m := range mods {
		m(&f)
	}
	return f
}

func noRefund(f *Facts) { f.RefundRequested = no() }

type want struct {
	outcome   Outcome
	refund    int64 // 0: no refund in the decision
	cancel    Cancel
	rule      string
	statutory bool
	en, fr    []string // substrings of the reason
}

type evalCase struct {
	name   string
	policy *Policy // nil: the default policy
	facts  Facts
	now    string // "": filed_at
	want   want
}

func evalCases(t testing.TB) []evalCase {
	lawNone := mustParse(t, testDoc("none", nil))
	redeliver := mustParse(t, testDoc("eu", map[Kind]string{NonDelivery: "enabled = true\nwindow = \"7d\"\nremedy = \"redeliver\""}))
	allDisabled := mustParse(t, testDoc("eu", map[Kind]string{
		NonDelivery: "enabled = false", NotAsDescribed: "enabled = false", SubscriptionCancel: "enabled = false",
		Dissatisfied: "enabled = false", Withdrawal: "enabled = false"}))
	calendar := mustParse(t, testDoc("eu", map[Kind]string{
		NonDelivery:  "enabled = true\nwindow = \"7d\"\ncounting = \"calendar\"",
		Dissatisfied: "enabled = true\nwindow = \"36h\"",
		Withdrawal:   "enabled = true\nwindow = \"30d\"\ncounting = \"calendar\""}))
	longNAD := mustParse(t, testDoc("eu", map[Kind]string{NotAsDescribed: "enabled = true\nwindow = \"1000d\""}))

	return []evalCase{
		// ---- non_delivery -------------------------------------------------
		{name: "non_delivery partial refund, API.md example", facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400)),
			want: want{outcome: OutcomeRefund, refund: 600, rule: "non_delivery.partial",
				en: []string{"400 of 1,000 were delivered", "€6.00"}, fr: []string{"400 sur 1\u202f000", "6,00\u00a0€"}}},
		{name: "non_delivery nothing delivered refunds everything", facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 0)),
			want: want{outcome: OutcomeRefund, refund: 1000, rule: "non_delivery.undelivered"}},
		{name: "non_delivery rounding 1000 × 2/3 → 667", facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 3, 1)),
			want: want{outcome: OutcomeRefund, refund: 667, rule: "non_delivery.partial"}},
		{name: "non_delivery rounding 999 × 1/2 → 500 (half up)", facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(999, 2, 1)),
			want: want{outcome: OutcomeRefund, refund: 500, rule: "non_delivery.partial"}},
		{name: "non_delivery pro-rata of what is left after a refund", facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400), refunded(400)),
			want: want{outcome: OutcomeRefund, refund: 360, rule: "non_delivery.partial"}},
		{name: "non_delivery everything already refunded", facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400), refunded(1000)),
			want: want{outcome: OutcomeNone, rule: "non_delivery.nothing_refundable", en: []string{"€10.00 of the €10.00"}}},
		// More refunded than paid is impossible facts (order.refunded),
		// not "nothing left to refund": never a refund, never negative.
		{name: "non_delivery refunded above paid is refused as facts", facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 10, 0), refunded(1500)),
			want: want{outcome: OutcomeReview, rule: "facts.incomplete"}},
		{name: "non_delivery share below one cent", facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1, 1000, 999)),
			want: want{outcome: OutcomeNone, rule: "non_delivery.nothing_refundable"}},
		{name: "non_delivery fully delivered goes to review", facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 1000)),
			want: want{outcome: OutcomeReview, rule: "non_delivery.delivered", en: []string{"1,000 of 1,000"}}},
		{name: "non_delivery inside processing time waits", facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400), processingUntil("2026-03-12T17:30:00Z")),
			want: want{outcome: OutcomeWaitingDelivery, rule: "non_delivery.processing",
				en: []string{"expected by 12 March 2026 at 18:30 CET"}, fr: []string{"12 mars 2026 à 18:30 CET"}}},
		{name: "non_delivery decided again once processing time passed", facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400), processingUntil("2026-03-12T17:30:00Z")),
			now: "2026-03-12T17:30:00Z", want: want{outcome: OutcomeRefund, refund: 600, rule: "non_delivery.partial"}},
		{name: "non_delivery later evaluation after the window still in time (filed_at decides)", facts: claim(NonDelivery, "2026-03-14T10:00:00Z", line(1000, 1000, 400), processingUntil("2026-03-20T00:00:00Z")),
			now: "2026-03-25T00:00:00Z", want: want{outcome: OutcomeRefund, refund: 600, rule: "non_delivery.partial"}},
		{name: "non_delivery exactly 168 h is in time", facts: claim(NonDelivery, "2026-03-15T10:00:00Z", line(1000, 1000, 400)),
			want: want{outcome: OutcomeRefund, refund: 600, rule: "non_delivery.partial"}},
		{name: "non_delivery 168 h + 1 ms is out of time", facts: claim(NonDelivery, "2026-03-15T10:00:00.001Z", line(1000, 1000, 400)),
			want: want{outcome: OutcomeRefused, rule: "non_delivery.out_of_time",
				en: []string{"filed more than 7 days after the order; this policy allows 7 days"},
				fr: []string{"faite plus de 7 jours après la commande"}}},
		{name: "non_delivery reason spells out lateness", facts: claim(NonDelivery, "2026-03-17T14:00:00Z", line(1000, 1000, 400)),
			want: want{outcome: OutcomeRefused, rule: "non_delivery.out_of_time",
				en: []string{"filed 9 days 4 hours after the order; this policy allows 7 days (until 15 March 2026 at 11:00 CET)"},
				fr: []string{"9 jours et 4 heures après la commande\u202f; cette politique accorde 7 jours (jusqu’au 15 mars 2026 à 11:00 CET)"}}},
		{name: "non_delivery out of time even when fully delivered", facts: claim(NonDelivery, "2026-03-20T10:00:00Z", line(1000, 1000, 1000)),
			want: want{outcome: OutcomeRefused, rule: "non_delivery.out_of_time"}},
		{name: "non_delivery redeliver first", policy: redeliver, facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400)),
			want: want{outcome: OutcomeRedeliver, rule: "non_delivery.redeliver", en: []string{"missing 600"}}},
		{name: "non_delivery redeliver policy still waits for processing", policy: redeliver, facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400), processingUntil("2026-03-11T00:00:00Z")),
			want: want{outcome: OutcomeWaitingDelivery, rule: "non_delivery.processing"}},
		{name: "non_delivery disabled", policy: allDisabled, facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400)),
			want: want{outcome: OutcomeRefused, rule: "non_delivery.disabled"}},
		{name: "non_delivery same under law none", policy: lawNone, facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400), business),
			want: want{outcome: OutcomeRefund, refund: 600, rule: "non_delivery.partial"}},
		// Calendar counting, 7 days: placed Sun 22 March 2026 at 23:30 Paris
		// (22:30Z); the window ends Sun 29 March 23:59:59.999 CEST (the
		// clocks went forward that morning) = 21:59:59.999Z.
		{name: "calendar: last ms of the 7th local day across spring DST", policy: calendar,
			facts: claim(NonDelivery, "2026-03-29T21:59:59.999Z", line(1000, 10, 0), placedAt("2026-03-22T22:30:00Z")),
			want:  want{outcome: OutcomeRefund, refund: 1000, rule: "non_delivery.undelivered"}},
		{name: "calendar: midnight after is out across spring DST", policy: calendar,
			facts: claim(NonDelivery, "2026-03-29T22:00:00Z", line(1000, 10, 0), placedAt("2026-03-22T22:30:00Z")),
			want: want{outcome: OutcomeRefused, rule: "non_delivery.out_of_time",
				en: []string{"this policy allows 7 calendar days (until 29 March 2026 at 23:59 CEST)"},
				fr: []string{"7 jours calendaires (jusqu’au 29 mars 2026 à 23:59 CEST)"}}},
		// Autumn: placed Sun 18 October 2026 at 00:30 CEST (17 Oct 22:30Z);
		// the window ends Sun 25 October 23:59:59.999 CET (clocks went back
		// that morning) = 22:59:59.999Z. A 24 h-per-day count would end an
		// hour early.
		{name: "calendar: last ms of the 7th local day across autumn DST", policy: calendar,
			facts: claim(NonDelivery, "2026-10-25T22:59:59.999Z", line(1000, 10, 0), placedAt("2026-10-17T22:30:00Z")),
			want:  want{outcome: OutcomeRefund, refund: 1000, rule: "non_delivery.undelivered"}},
		{name: "calendar: midnight after is out across autumn DST", policy: calendar,
			facts: claim(NonDelivery, "2026-10-25T23:00:00Z", line(1000, 10, 0), placedAt("2026-10-17T22:30:00Z")),
			want:  want{outcome: OutcomeRefused, rule: "non_delivery.out_of_time"}},
		{name: "exact counting ignores DST: 168 h after, an hour later on the clock", facts: claim(NonDelivery, "2026-03-30T10:00:00Z", line(1000, 10, 0), placedAt("2026-03-23T10:00:00Z")),
			want: want{outcome: OutcomeRefund, refund: 1000, rule: "non_delivery.undelivered"}},

		// ---- not_as_described --------------------------------------------
		{name: "nad in time without evidence asks for it", facts: claim(NotAsDescribed, "2026-03-10T10:00:00Z", line(1000, 1, 1)),
			want: want{outcome: OutcomeAwaitingEvidence, rule: "not_as_described.awaiting_evidence"}},
		{name: "nad evidence sent with the first message (before filing)", facts: claim(NotAsDescribed, "2026-03-10T10:00:00Z", line(1000, 1, 1), evidenceAt("2026-03-10T09:00:00Z")),
			want: want{outcome: OutcomeReview, rule: "not_as_described.review"}},
		{name: "nad evidence after filing is not known at filing", facts: claim(NotAsDescribed, "2026-03-10T10:00:00Z", line(1000, 1, 1), evidenceAt("2026-04-30T09:00:00Z")),
			want: want{outcome: OutcomeAwaitingEvidence, rule: "not_as_described.awaiting_evidence"}},
		{name: "nad evidence weeks after filing still counts (filed in time)", facts: claim(NotAsDescribed, "2026-03-10T10:00:00Z", line(1000, 1, 1), evidenceAt("2026-04-30T09:00:00Z")),
			now: "2026-05-01T00:00:00Z", want: want{outcome: OutcomeReview, rule: "not_as_described.review"}},
		{name: "nad window counts from payment, not the order", facts: claim(NotAsDescribed, "2026-03-20T10:00:00Z", line(1000, 1, 1), func(f *Facts) { f.Order.PaidAt = ts("2026-03-14T10:00:00Z") }),
			want: want{outcome: OutcomeAwaitingEvidence, rule: "not_as_described.awaiting_evidence"}},
		{name: "nad out of time, consumer: statutory floor, awaiting evidence", facts: claim(NotAsDescribed, "2026-06-01T10:00:00Z", line(1000, 1, 1)),
			want: want{outcome: OutcomeAwaitingEvidence, rule: "not_as_described.statutory_awaiting_evidence", statutory: true,
				en: []string{"Directive 2019/770", "until 8 March 2028"}, fr: []string{"jusqu’au 8 mars 2028"}}},
		{name: "nad out of time, consumer with evidence: statutory review", facts: claim(NotAsDescribed, "2026-06-01T10:00:00Z", line(1000, 1, 1), evidenceAt("2026-06-01T10:00:00Z")),
			want: want{outcome: OutcomeReview, rule: "not_as_described.statutory_review", statutory: true}},
		{name: "nad last ms of the 2 years", facts: claim(NotAsDescribed, "2028-03-08T22:59:59.999Z", line(1000, 1, 1)),
			want: want{outcome: OutcomeAwaitingEvidence, rule: "not_as_described.statutory_awaiting_evidence", statutory: true}},
		{name: "nad after 2 years is refused", facts: claim(NotAsDescribed, "2028-03-08T23:00:00Z", line(1000, 1, 1)),
			want: want{outcome: OutcomeRefused, rule: "not_as_described.out_of_time", en: []string{"this policy allows 7 days"}}},
		{name: "nad out of time, business: refused", facts: claim(NotAsDescribed, "2026-03-15T10:00:01Z", line(1000, 1, 1), business),
			want: want{outcome: OutcomeRefused, rule: "not_as_described.out_of_time", en: []string{"filed more than 7 days after payment"}}},
		{name: "nad out of time, law none: refused", policy: lawNone, facts: claim(NotAsDescribed, "2026-06-01T10:00:00Z", line(1000, 1, 1), evidenceAt("2026-06-01T10:00:00Z")),
			want: want{outcome: OutcomeRefused, rule: "not_as_described.out_of_time"}},
		{name: "nad exactly 168 h in time", facts: claim(NotAsDescribed, "2026-03-15T10:00:00Z", line(1000, 1, 1), business),
			want: want{outcome: OutcomeAwaitingEvidence, rule: "not_as_described.awaiting_evidence"}},
		{name: "nad store window longer than the floor: store's rule, not statutory", policy: longNAD, facts: claim(NotAsDescribed, "2028-06-01T10:00:00Z", line(1000, 1, 1), evidenceAt("2028-06-01T10:00:00Z")),
			want: want{outcome: OutcomeReview, rule: "not_as_described.review"}},
		{name: "nad disabled, consumer: the law still takes it", policy: allDisabled, facts: claim(NotAsDescribed, "2026-03-10T10:00:00Z", line(1000, 1, 1)),
			want: want{outcome: OutcomeAwaitingEvidence, rule: "not_as_described.statutory_awaiting_evidence", statutory: true}},
		{name: "nad disabled, business: refused", policy: allDisabled, facts: claim(NotAsDescribed, "2026-03-10T10:00:00Z", line(1000, 1, 1), business),
			want: want{outcome: OutcomeRefused, rule: "not_as_described.disabled"}},

		// ---- subscription_cancel -----------------------------------------
		{name: "sub within 7 days: last payment back in full, stops now", facts: sub("2026-03-10T10:00:00Z", placed, 990, CancelPeriodEnd),
			want: want{outcome: OutcomeRefund, refund: 990, cancel: CancelNow, rule: "subscription_cancel.refund", en: []string{"€9.90"}}},
		{name: "sub exactly 168 h: refund", facts: sub("2026-03-15T10:00:00Z", placed, 990, CancelNow),
			want: want{outcome: OutcomeRefund, refund: 990, cancel: CancelNow, rule: "subscription_cancel.refund"}},
		{name: "sub within 7 days, refund not asked: none, as chosen", facts: sub("2026-03-10T10:00:00Z", placed, 990, CancelPeriodEnd, noRefund),
			want: want{outcome: OutcomeNone, cancel: CancelPeriodEnd, rule: "subscription_cancel.no_refund_requested",
				en: []string{"ends at the end of the paid period, on 8 April 2026"}, fr: []string{"prend fin à la fin de la période payée, le 8 avril 2026"}}},
		{name: "sub 168 h + 1 ms: refused, cancelled as chosen (now)", facts: sub("2026-03-15T10:00:00.001Z", placed, 990, CancelNow),
			want: want{outcome: OutcomeRefused, cancel: CancelNow, rule: "subscription_cancel.out_of_time", en: []string{"ends immediately"}, fr: []string{"prend fin immédiatement"}}},
		{name: "sub after 7 days, refund not asked: still refused, period end", facts: sub("2026-03-20T10:00:00Z", placed, 990, CancelPeriodEnd, noRefund),
			want: want{outcome: OutcomeRefused, cancel: CancelPeriodEnd, rule: "subscription_cancel.out_of_time"}},
		{name: "sub trial: none, as chosen", facts: sub("2026-03-10T10:00:00Z", "", 0, CancelPeriodEnd),
			want: want{outcome: OutcomeNone, cancel: CancelPeriodEnd, rule: "subscription_cancel.trial"}},
		{name: "sub payment of zero is a trial", facts: sub("2026-03-10T10:00:00Z", placed, 0, CancelNow),
			want: want{outcome: OutcomeNone, cancel: CancelNow, rule: "subscription_cancel.trial"}},
		{name: "sub part of last payment already refunded", facts: sub("2026-03-10T10:00:00Z", placed, 990, CancelPeriodEnd, func(f *Facts) { f.Subscription.Refunded = eur(490) }),
			want: want{outcome: OutcomeRefund, refund: 500, cancel: CancelNow, rule: "subscription_cancel.refund"}},
		{name: "sub last payment already refunded", facts: sub("2026-03-10T10:00:00Z", placed, 990, CancelPeriodEnd, func(f *Facts) { f.Subscription.Refunded = eur(990) }),
			want: want{outcome: OutcomeNone, cancel: CancelNow, rule: "subscription_cancel.nothing_refundable"}},
		{name: "sub refunds disabled: refused, cancelled as chosen", policy: allDisabled, facts: sub("2026-03-10T10:00:00Z", placed, 990, CancelPeriodEnd),
			want: want{outcome: OutcomeRefused, cancel: CancelPeriodEnd, rule: "subscription_cancel.disabled"}},
		// The consumer's withdrawal from a subscription: 14 calendar days
		// from taking it out (8 March; until 22 March, Paris time), once the
		// store's 7 days have passed. The last payment paid 8 March–8 April
		// (31 days); on 18 March, 21 days are still to come.
		{name: "sub withdrawal, asked to start at once: pays the days provided", facts: sub("2026-03-18T10:00:00Z", placed, 990, CancelPeriodEnd, startedAt(placed, true)),
			want: want{outcome: OutcomeRefund, refund: 671, cancel: CancelNow, rule: "subscription_cancel.statutory_unprovided", statutory: true,
				en: []string{"14 calendar days", "22 March 2026", "€9.90", "€6.71"}, fr: []string{"14 jours", "22 mars 2026", "6,71 €"}}},
		{name: "sub withdrawal, no request to start at once: last payment in full", facts: sub("2026-03-18T10:00:00Z", placed, 990, CancelPeriodEnd, startedAt(placed, false)),
			want: want{outcome: OutcomeRefund, refund: 990, cancel: CancelNow, rule: "subscription_cancel.statutory_no_request", statutory: true, en: []string{"€9.90"}}},
		{name: "sub withdrawal, last second of the 14th day", facts: sub("2026-03-22T22:59:59Z", placed, 990, CancelPeriodEnd, startedAt(placed, true)),
			want: want{outcome: OutcomeRefund, refund: 526, cancel: CancelNow, rule: "subscription_cancel.statutory_unprovided", statutory: true}},
		{name: "sub withdrawal too late: the store's rule and window", facts: sub("2026-03-22T23:00:00Z", placed, 990, CancelPeriodEnd, startedAt(placed, true)),
			want: want{outcome: OutcomeRefused, cancel: CancelPeriodEnd, rule: "subscription_cancel.out_of_time", en: []string{"this policy allows 7 days"}}},
		{name: "sub withdrawal within the store's window: the store's full refund", facts: sub("2026-03-10T10:00:00Z", placed, 990, CancelPeriodEnd, startedAt(placed, true)),
			want: want{outcome: OutcomeRefund, refund: 990, cancel: CancelNow, rule: "subscription_cancel.refund"}},
		{name: "sub withdrawal, refund not asked: cancelled as chosen", facts: sub("2026-03-18T10:00:00Z", placed, 990, CancelPeriodEnd, startedAt(placed, true), noRefund),
			want: want{outcome: OutcomeRefused, cancel: CancelPeriodEnd, rule: "subscription_cancel.out_of_time"}},
		{name: "sub withdrawal is a consumer's right only", facts: sub("2026-03-18T10:00:00Z", placed, 990, CancelPeriodEnd, startedAt(placed, true), business),
			want: want{outcome: OutcomeRefused, cancel: CancelPeriodEnd, rule: "subscription_cancel.out_of_time"}},
		{name: "sub withdrawal under law none: the store's rule", policy: lawNone, facts: sub("2026-03-18T10:00:00Z", placed, 990, CancelPeriodEnd, startedAt(placed, true)),
			want: want{outcome: OutcomeRefused, cancel: CancelPeriodEnd, rule: "subscription_cancel.out_of_time"}},
		{name: "sub withdrawal, store refunds disabled: the law still applies", policy: allDisabled, facts: sub("2026-03-18T10:00:00Z", placed, 990, CancelPeriodEnd, startedAt(placed, false)),
			want: want{outcome: OutcomeRefund, refund: 990, cancel: CancelNow, rule: "subscription_cancel.statutory_no_request", statutory: true}},
		{name: "sub withdrawal, part already refunded", facts: sub("2026-03-18T10:00:00Z", placed, 990, CancelPeriodEnd, startedAt(placed, true), func(f *Facts) { f.Subscription.Refunded = eur(600) }),
			want: want{outcome: OutcomeRefund, refund: 71, cancel: CancelNow, rule: "subscription_cancel.statutory_unprovided", statutory: true}},
		{name: "sub withdrawal, the days to come already refunded", facts: sub("2026-03-18T10:00:00Z", placed, 990, CancelPeriodEnd, startedAt(placed, true), func(f *Facts) { f.Subscription.Refunded = eur(700) }),
			want: want{outcome: OutcomeNone, cancel: CancelNow, rule: "subscription_cancel.nothing_refundable"}},
		{name: "sub withdrawal after a trial: counts from taking it out", facts: sub("2026-03-18T10:00:00Z", placed, 990, CancelPeriodEnd, startedAt("2026-03-05T10:00:00Z", true)),
			want: want{outcome: OutcomeRefund, refund: 671, cancel: CancelNow, rule: "subscription_cancel.statutory_unprovided", statutory: true, en: []string{"19 March 2026"}}},

		// ---- dissatisfied -------------------------------------------------
		{name: "dissatisfied within 7 days: an agent proposes", facts: claim(Dissatisfied, "2026-03-15T10:00:00Z", line(1000, 1, 1)),
			want: want{outcome: OutcomeSolution, rule: "dissatisfied.solution"}},
		{name: "dissatisfied after 7 days: refused", facts: claim(Dissatisfied, "2026-03-15T10:00:00.001Z", line(1000, 1, 1)),
			want: want{outcome: OutcomeRefused, rule: "dissatisfied.out_of_time"}},
		{name: "dissatisfied other window (36h), in", policy: calendar, facts: claim(Dissatisfied, "2026-03-09T22:00:00Z", line(1000, 1, 1)),
			want: want{outcome: OutcomeSolution, rule: "dissatisfied.solution"}},
		{name: "dissatisfied other window (36h), out", policy: calendar, facts: claim(Dissatisfied, "2026-03-09T22:00:00.001Z", line(1000, 1, 1)),
			want: want{outcome: OutcomeRefused, rule: "dissatisfied.out_of_time", en: []string{"this policy allows 1 day 12 hours"}, fr: []string{"1 jour et 12 heures"}}},
		{name: "dissatisfied disabled", policy: allDisabled, facts: claim(Dissatisfied, "2026-03-10T10:00:00Z", line(1000, 1, 1)),
			want: want{outcome: OutcomeRefused, rule: "dissatisfied.disabled"}},

		// ---- withdrawal ---------------------------------------------------
		// Placed Sunday 8 March 11:00 Paris: the 14 days are 9–22 March,
		// ending 22 March 23:59:59.999 CET = 22:59:59.999Z.
		{name: "withdrawal business customer: refused, not statutory", facts: claim(Withdrawal, "2026-03-09T10:00:00Z", line(1000, 1, 0), business),
			want: want{outcome: OutcomeRefused, rule: "withdrawal.business"}},
		{name: "withdrawal under law none: refused", policy: lawNone, facts: claim(Withdrawal, "2026-03-09T10:00:00Z", line(1000, 1, 0)),
			want: want{outcome: OutcomeRefused, rule: "withdrawal.law_none"}},
		{name: "withdrawal last ms of the 14th day", facts: claim(Withdrawal, "2026-03-22T22:59:59.999Z", line(1000, 10, 0)),
			want: want{outcome: OutcomeRefund, refund: 1000, rule: "withdrawal.service_no_request", statutory: true}},
		{name: "withdrawal the 15th day is out", facts: claim(Withdrawal, "2026-03-22T23:00:00Z", line(1000, 10, 0)),
			want: want{outcome: OutcomeRefused, rule: "withdrawal.out_of_time", statutory: true,
				en: []string{"lasted 14 calendar days after the order and ended on 22 March 2026 at 23:59 CET"},
				fr: []string{"durait 14 jours calendaires après la commande et a pris fin le 22 mars 2026 à 23:59 CET"}}},
		{name: "withdrawal order day is local: 23:30Z on the 8th is the 9th in Paris", facts: claim(Withdrawal, "2026-03-23T22:59:59.999Z", line(1000, 10, 0), placedAt("2026-03-08T23:30:00Z")),
			want: want{outcome: OutcomeRefund, refund: 1000, rule: "withdrawal.service_no_request", statutory: true}},
		{name: "withdrawal across spring DST: ends 23:59:59.999 CEST", facts: claim(Withdrawal, "2026-04-03T21:59:59.999Z", line(1000, 10, 0), placedAt("2026-03-20T10:00:00Z")),
			want: want{outcome: OutcomeRefund, refund: 1000, rule: "withdrawal.service_no_request", statutory: true}},
		{name: "withdrawal across spring DST: midnight CEST is out", facts: claim(Withdrawal, "2026-04-03T22:00:00Z", line(1000, 10, 0), placedAt("2026-03-20T10:00:00Z")),
			want: want{outcome: OutcomeRefused, rule: "withdrawal.out_of_time", statutory: true}},
		{name: "withdrawal across autumn DST: ends 23:59:59.999 CET", facts: claim(Withdrawal, "2026-11-03T22:59:59.999Z", line(1000, 10, 0), placedAt("2026-10-20T10:00:00Z")),
			want: want{outcome: OutcomeRefund, refund: 1000, rule: "withdrawal.service_no_request", statutory: true}},
		{name: "withdrawal across autumn DST: midnight CET is out", facts: claim(Withdrawal, "2026-11-03T23:00:00Z", line(1000, 10, 0), placedAt("2026-10-20T10:00:00Z")),
			want: want{outcome: OutcomeRefused, rule: "withdrawal.out_of_time", statutory: true}},
		{name: "withdrawal service started on request, fully performed: refused", facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 1000, 1000), consent(true, true)),
			want: want{outcome: OutcomeRefused, rule: "withdrawal.service_performed", statutory: true}},
		{name: "withdrawal service started on request, partly performed: pays what was delivered", facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 1000, 400), consent(true, true)),
			want: want{outcome: OutcomeRefund, refund: 600, rule: "withdrawal.statutory_undelivered", statutory: true, en: []string{"400 of 1,000", "€6.00"}}},
		{name: "withdrawal service request without the acknowledgement: still pays what was delivered", facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 3, 1), consent(true, false)),
			want: want{outcome: OutcomeRefund, refund: 667, rule: "withdrawal.statutory_undelivered", statutory: true}},
		// "The consumer pays only for what was delivered": what was already
		// refunded for the line comes off the undelivered part, not off a
		// share of what is left. After a non_delivery claim refunded the
		// undelivered 600, withdrawing gives nothing more (refundable × 6/10
		// paid 240 again, and the consumer 160 for 400 delivered).
		{name: "withdrawal service started on request, undelivered part already refunded: nothing more", facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 1000, 400), consent(true, true), refunded(600)),
			want: want{outcome: OutcomeNone, rule: "withdrawal.nothing_refundable", statutory: true, en: []string{"€6.00 of the €10.00"}}},
		{name: "withdrawal service started on request, part refunded before: pays exactly what was delivered", facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 1000, 400), consent(true, true), refunded(100)),
			want: want{outcome: OutcomeRefund, refund: 500, rule: "withdrawal.statutory_undelivered", statutory: true, en: []string{"400 of 1,000", "€5.00"}}},
		{name: "withdrawal service started on request, rounding of the undelivered part (1000 × 2/3 → 667) less a refund", facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 3, 1), consent(true, true), refunded(1)),
			want: want{outcome: OutcomeRefund, refund: 666, rule: "withdrawal.statutory_undelivered", statutory: true}},
		{name: "withdrawal service without request, fully delivered: refund everything", facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 1000, 1000)),
			want: want{outcome: OutcomeRefund, refund: 1000, rule: "withdrawal.service_no_request", statutory: true}},
		{name: "withdrawal service with only the acknowledgement ticked: no request", facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 1000, 1000), consent(false, true)),
			want: want{outcome: OutcomeRefund, refund: 1000, rule: "withdrawal.service_no_request", statutory: true}},
		{name: "withdrawal service, refundable is what is left", facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 1000, 1000), refunded(250)),
			want: want{outcome: OutcomeRefund, refund: 750, rule: "withdrawal.service_no_request", statutory: true}},
		{name: "withdrawal service, everything already refunded", facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 1000, 0), refunded(1000)),
			want: want{outcome: OutcomeNone, rule: "withdrawal.nothing_refundable", statutory: true}},
		{name: "withdrawal digital, consent and acknowledgement, supply begun: refused", facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 10, 1), digital, consent(true, true)),
			want: want{outcome: OutcomeRefused, rule: "withdrawal.digital_supply_begun", statutory: true}},
		{name: "withdrawal digital, consent recorded, supply not begun: refund in full", facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 10, 0), digital, consent(true, true)),
			want: want{outcome: OutcomeRefund, refund: 1000, rule: "withdrawal.digital_not_begun", statutory: true}},
		{name: "withdrawal digital, acknowledgement missing, supply begun: refund in full", facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 10, 10), digital, consent(true, false)),
			want: want{outcome: OutcomeRefund, refund: 1000, rule: "withdrawal.digital_no_consent", statutory: true}},
		{name: "withdrawal digital, no consent at all, supply begun: refund in full", facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 10, 5), digital),
			want: want{outcome: OutcomeRefund, refund: 1000, rule: "withdrawal.digital_no_consent", statutory: true}},
		{name: "withdrawal disabled by the store: the law still applies", policy: allDisabled, facts: claim(Withdrawal, "2026-03-10T10:00:00Z", line(1000, 10, 0)),
			want: want{outcome: OutcomeRefund, refund: 1000, rule: "withdrawal.service_no_request", statutory: true}},
		{name: "withdrawal store promises 30 calendar days", policy: calendar, facts: claim(Withdrawal, "2026-04-07T10:00:00Z", line(1000, 10, 0)),
			want: want{outcome: OutcomeRefund, refund: 1000, rule: "withdrawal.service_no_request", statutory: true}},
		{name: "withdrawal store's 30 days over", policy: calendar, facts: claim(Withdrawal, "2026-04-07T22:00:00Z", line(1000, 10, 0)),
			want: want{outcome: OutcomeRefused, rule: "withdrawal.out_of_time", statutory: true, en: []string{"30 calendar days"}}},

		// ---- facts the engine cannot decide on ----------------------------
		{name: "incomplete facts go to an agent", facts: claim(NonDelivery, "2026-03-10T10:00:00Z", &Order{PlacedAt: ts(placed)}),
			want: want{outcome: OutcomeReview, rule: "facts.incomplete"}},
		{name: "delivered above quantity goes to an agent", facts: claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 10, 11)),
			want: want{outcome: OutcomeReview, rule: "facts.incomplete"}},
		{name: "incomplete subscription facts keep cancel none", facts: sub("2026-03-10T10:00:00Z", placed, 990, ""),
			want: want{outcome: OutcomeReview, rule: "facts.incomplete"}},
		// Future billing always stops (POLICY.md subscription_cancel), even
		// when the money needs an agent: a request filed (from a message)
		// before the last payment still ends the subscription as chosen.
		{name: "incomplete subscription facts still stop billing as chosen", facts: sub("2026-03-07T10:00:00Z", placed, 990, CancelPeriodEnd),
			want: want{outcome: OutcomeReview, rule: "facts.incomplete", cancel: CancelPeriodEnd}},
	}
}

func TestEvaluate(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range evalCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var now time.Time
			if tc.now != "" {
				now = ts(tc.now)
			}
			d := Evaluate(tc.policy, tc.facts, now)
			seen[d.Rule] = true
			w := tc.want
			if w.cancel == "" {
				w.cancel = CancelNone
			}
			if d.Outcome != w.outcome || d.Rule != w.rule || d.Statutory != w.statutory || d.Cancel != w.cancel {
				t.Errorf("got %s %s statutory=%v cancel=%s, want %s %s statutory=%v cancel=%s\nreason: %s",
					d.Outcome, d.Rule, d.Statutory, d.Cancel, w.outcome, w.rule, w.statutory, w.cancel, d.Reason.EN)
			}
			switch {
			case w.refund == 0 && d.Refund != nil:
				t.Errorf("refund = %v, want none", d.Refund)
			case w.refund != 0 && (d.Refund == nil || d.Refund.Minor != w.refund || d.Refund.Currency != "EUR"):
				t.Errorf("refund = %v, want %d EUR", d.Refund, w.refund)
			}
			if (d.Refund != nil) != (d.Outcome == OutcomeRefund) {
				t.Errorf("refund %v with outcome %s: refund must be present exactly when money goes back", d.Refund, d.Outcome)
			}
			wantVersion := "default@1"
			if tc.policy != nil {
				wantVersion = tc.policy.ID()
			}
			if d.PolicyVersion != wantVersion {
				t.Errorf("policy_version = %q, want %q", d.PolicyVersion, wantVersion)
			}
			checkReason(t, d)
			for _, s := range w.en {
				if !strings.Contains(d.Reason.EN, s) {
					t.Errorf("reason.en = %q\nwant it to contain %q", d.Reason.EN, s)
				}
			}
			for _, s := range w.fr {
				if !strings.Contains(d.Reason.FR, s) {
					t.Errorf("reason.fr = %q\nwant it to contain %q", d.Reason.FR, s)
				}
			}
		})
	}
	// Every rule a decision can carry is reached by some case above.
	for r := range numRules {
		if rules[r].outcome != "" && !seen[rules[r].name] {
			t.Errorf("no test case reaches rule %s", rules[r].name)
		}
	}
}

// checkReason asserts what holds for every reason: both languages, no
// placeholder left, and French no-break spaces before colons.
func checkReason(t *testing.T, d Decision) {
	t.Helper()
	for lang, s := range map[string]string{"en": d.Reason.EN, "fr": d.Reason.FR} {
		if strings.TrimSpace(s) == "" {
			t.Errorf("reason.%s is empty", lang)
		}
		if strings.ContainsAny(s, "{}") {
			t.Errorf("reason.%s has a brace left: %q", lang, s)
		}
	}
	if strings.Contains(d.Reason.FR, " :") || strings.Contains(d.Reason.FR, " ;") {
		t.Errorf("reason.fr has a breaking space before : or ;: %q", d.Reason.FR)
	}
	if d.Reason.EN == d.Reason.FR {
		t.Errorf("reason.en and reason.fr are the same: %q", d.Reason.EN)
	}
}

// TestEvaluateNeverAboveRefundable sweeps quantities and refunds: no
// decision proposes more than paid − refunded.
func TestEvaluateNeverAboveRefundable(t *testing.T) {
	for _, kind := range []Kind{NonDelivery, Withdrawal} {
		for paid := int64(0); paid <= 1001; paid += 77 {
			for qty := int64(1); qty <= 7; qty++ {
				for del := int64(0); del <= qty; del++ {
					for _, ref := range []int64{0, 1, paid / 2, paid, paid + 5} {
						f := claim(kind, "2026-03-10T10:00:00Z", line(paid, qty, del), refunded(ref))
						d := Evaluate(nil, f, time.Time{})
						refundable := max(paid-ref, 0)
						if d.Refund != nil && (d.Refund.Minor > refundable || d.Refund.Minor <= 0) {
							t.Fatalf("%s paid %d qty %d delivered %d refunded %d: refund %d, refundable %d",
								kind, paid, qty, del, ref, d.Refund.Minor, refundable)
						}
					}
				}
			}
		}
	}
}

func TestEvaluateNowBeforeFiledIsFiled(t *testing.T) {
	f := claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 10, 0), processingUntil("2026-03-10T10:00:00Z"))
	early := Evaluate(nil, f, ts("2026-03-01T00:00:00Z"))
	atFiling := Evaluate(nil, f, time.Time{})
	if early.Rule != atFiling.Rule || early.Rule != "non_delivery.undelivered" {
		t.Errorf("now before filed_at: %s; at filing: %s; want both non_delivery.undelivered", early.Rule, atFiling.Rule)
	}
}

func TestDecisionJSONShape(t *testing.T) {
	f := claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400))
	b, err := json.Marshal(Evaluate(nil, f, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	keys := []string{"outcome", "refund", "cancel", "rule", "statutory", "policy_version", "reason"}
	if len(got) != len(keys) {
		t.Errorf("decision has keys %v, want exactly %v", got, keys)
	}
	want := `{"outcome":"refund","refund":{"amount":600,"currency":"EUR"},"cancel":"none","rule":"non_delivery.partial","statutory":false,"policy_version":"default@1","reason":{"en":`
	if !strings.HasPrefix(string(b), want) {
		t.Errorf("decision JSON\n%s\nwant it to start with\n%s", b, want)
	}
	reason := got["reason"].(map[string]any)
	if len(reason) != 2 || reason["en"] == nil || reason["fr"] == nil {
		t.Errorf("reason = %v, want {en, fr}", reason)
	}

	// No refund key at all when no money goes back.
	f = claim(NonDelivery, "2026-03-20T10:00:00Z", line(1000, 1000, 400))
	b, _ = json.Marshal(Evaluate(nil, f, time.Time{}))
	if strings.Contains(string(b), `"refund"`) {
		t.Errorf("refused decision has a refund: %s", b)
	}
}

func TestAgentReasons(t *testing.T) {
	p := Default()
	for _, code := range AgentReasons {
		r, ok := p.AgentReason(code)
		if !ok || r.EN == "" || r.FR == "" {
			t.Errorf("AgentReason(%q) = %v, %v", code, r, ok)
		}
	}
	if _, ok := p.AgentReason("nope"); ok {
		t.Error("AgentReason(nope) found something")
	}
}

func TestWriteSpan(t *testing.T) {
	tests := []struct {
		d      time.Duration
		full   bool
		en, fr string
	}{
		{9*24*time.Hour + 4*time.Hour + 12*time.Minute, false, "9 days 4 hours", "9 jours et 4 heures"},
		{7*24*time.Hour + time.Millisecond, true, "more than 7 days", "plus de 7 jours"},
		{7*24*time.Hour + time.Microsecond, true, "more than 7 days", "plus de 7 jours"},
		{7*24*time.Hour + 3*time.Hour + time.Minute + 30*time.Second, true, "more than 7 days 3 hours 1 minute", "plus de 7 jours, 3 heures et 1 minute"},
		{24*time.Hour + 2*time.Hour + 3*time.Minute, true, "1 day 2 hours 3 minutes", "1 jour, 2 heures et 3 minutes"},
		{168 * time.Hour, true, "7 days", "7 jours"},
		{90 * time.Minute, false, "1 hour 30 minutes", "1 heure et 30 minutes"},
		{0, false, "less than a minute", "moins d’une minute"},
		{30 * time.Second, false, "less than a minute", "moins d’une minute"},
		// Seconds and milliseconds are no measure a person reads: the
		// cancel form's preview said "4 secondes et 332 millisecondes".
		{4*time.Second + 332*time.Millisecond, false, "less than a minute", "moins d’une minute"},
		{time.Minute + 59*time.Second, false, "1 minute", "1 minute"},
		{2*time.Minute + 5*time.Second + time.Millisecond, false, "2 minutes", "2 minutes"},
		{time.Hour + 59*time.Second, false, "1 hour", "1 heure"},
		{2*24*time.Hour + 1*time.Hour + 59*time.Second, false, "2 days 1 hour", "2 jours et 1 heure"},
	}
	for _, tt := range tests {
		var en, fr strings.Builder
		writeSpan(&en, tt.d, langEN, tt.full)
		writeSpan(&fr, tt.d, langFR, tt.full)
		if en.String() != tt.en || fr.String() != tt.fr {
			t.Errorf("span %v full=%v = %q / %q, want %q / %q", tt.d, tt.full, en.String(), fr.String(), tt.en, tt.fr)
		}
	}
}

func TestFrenchSpaces(t *testing.T) {
	got := frenchSpaces("Attention : oui ; non ! vraiment ? « ceci »")
	want := "Attention\u00a0: oui\u202f; non\u202f! vraiment\u202f? «\u00a0ceci\u00a0»"
	if got != want {
		t.Errorf("frenchSpaces = %q, want %q", got, want)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	p := Default()
	cases := []struct {
		name string
		f    Facts
	}{
		{"non_delivery_partial", claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400))},
		{"non_delivery_late", claim(NonDelivery, "2026-03-17T14:00:00Z", line(1000, 1000, 400))},
		{"withdrawal_calendar", claim(Withdrawal, "2026-03-20T10:00:00Z", line(1000, 1000, 400), consent(true, true))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Evaluate(p, c.f, time.Time{})
			}
		})
	}
}

// "Redelivery first" is offered once: with the redelivery spent, the same
// facts get the refund rule's decision, under the same version; the policy
// itself still offers the redelivery, and a refund policy is unchanged.
func TestRedeliveryDoneRefundsTheUndeliveredPart(t *testing.T) {
	redeliver := mustParse(t, testDoc("eu", map[Kind]string{NonDelivery: "enabled = true\nwindow = \"7d\"\nremedy = \"redeliver\""}))
	f := claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400))
	if d := Evaluate(redeliver, f, time.Time{}); d.Outcome != OutcomeRedeliver {
		t.Fatalf("before: %+v", d)
	}
	done := redeliver.RedeliveryDone()
	d := Evaluate(done, f, time.Time{})
	if d.Outcome != OutcomeRefund || d.Rule != "non_delivery.partial" || d.Refund == nil || d.Refund.Minor != 600 || d.PolicyVersion != redeliver.ID() {
		t.Fatalf("after the redelivery: %+v", d)
	}
	if redeliver.Kind(NonDelivery).Remedy != RemedyRedeliver {
		t.Fatal("RedeliveryDone changed the policy it was called on")
	}
	// Still inside the new processing time: it waits.
	waiting := claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400), processingUntil("2026-03-13T00:00:00Z"))
	if d := Evaluate(done, waiting, time.Time{}); d.Outcome != OutcomeWaitingDelivery {
		t.Fatalf("waiting: %+v", d)
	}
	if p := Default(); p.RedeliveryDone() != p {
		t.Fatal("a refund policy is returned as it is")
	}
}

// The subscription cancel form's preview, a few seconds after the last
// payment, said "Votre demande est arrivée 4 secondes et 332 millisecondes
// après le dernier paiement" under default@1 and default@2 alike (the
// engine writes {elapsed}): a span is worded to what a person reads.
func TestElapsedIsWordedToTheMinute(t *testing.T) {
	for _, p := range []*Policy{Default(), Newest()} {
		for _, tc := range []struct {
			filed  string
			en, fr string
		}{
			{"2026-03-08T10:00:04.332Z", "came less than a minute after the last payment", "arrivée moins d’une minute après le dernier paiement"},
			{"2026-03-08T10:01:04.332Z", "came 1 minute after the last payment", "arrivée 1 minute après le dernier paiement"},
			{"2026-03-08T12:10:59Z", "came 2 hours 10 minutes after the last payment", "arrivée 2 heures et 10 minutes après le dernier paiement"},
			{"2026-03-09T11:00:00.5Z", "came 1 day 1 hour after the last payment", "arrivée 1 jour et 1 heure après le dernier paiement"},
		} {
			d := Evaluate(p, sub(tc.filed, placed, 990, CancelPeriodEnd), time.Time{})
			fr := strings.ReplaceAll(d.Reason.FR, "\u00a0", " ")
			if d.Rule != "subscription_cancel.refund" || !strings.Contains(d.Reason.EN, tc.en) || !strings.Contains(fr, tc.fr) {
				t.Errorf("%s, filed %s: %s\n%q\n%q\nwant %q / %q", p.ID(), tc.filed, d.Rule, d.Reason.EN, d.Reason.FR, tc.en, tc.fr)
			}
			if strings.Contains(d.Reason.EN, "second") || strings.Contains(d.Reason.FR, "seconde") {
				t.Errorf("%s, filed %s: seconds in %q / %q", p.ID(), tc.filed, d.Reason.EN, d.Reason.FR)
			}
		}
	}
}

// A decision wrote its times its own way, "15 mars 2026 à 11 h 00, heure
// de Paris", where the customer's emails and pages said "11:00 CET": it
// now writes them with the store's one writer of times for each language
// (localtime), in the policy's zone, whatever that zone.
func TestDecisionTimesAreWrittenAsEverywhereElse(t *testing.T) {
	for _, tz := range []string{"Europe/Paris", "America/New_York", "UTC"} {
		doc := strings.Replace(string(DefaultDocument()), `timezone = "Europe/Paris"`, `timezone = "`+tz+`"`, 1)
		p, err := Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		zone, _ := localtime.Load(tz)
		f := claim(NonDelivery, "2026-03-17T14:00:00Z", line(1000, 1000, 400))
		d := Evaluate(p, f, time.Time{})
		deadline := ts(placed).Add(7 * 24 * time.Hour)
		for _, r := range []struct{ lang, reason string }{{"en", d.Reason.EN}, {"fr", d.Reason.FR}} {
			if want := zone.LongTime(deadline, r.lang); !strings.Contains(r.reason, want) {
				t.Errorf("%s, %s: %q lacks the deadline as the emails write it, %q", tz, r.lang, r.reason, want)
			}
			if strings.Contains(r.reason, "heure de") || strings.Contains(r.reason, " time)") || strings.Contains(r.reason, "\u00a0h\u00a0") {
				t.Errorf("%s, %s: %q writes a time its own way", tz, r.lang, r.reason)
			}
		}
	}
}
