package policystore

// Sample is a set of facts for the admin's preview: a typical claim of each
// kind, so that an admin editing a policy sees at once what it decides
// without writing facts by hand. Key names it for the page's own wording.
type Sample struct {
	Key   string
	Facts []byte // API.md's facts JSON; At is the facts' filed_at
}

// Samples returns the preview's sample facts. Orders are placed (and paid)
// on Sunday 8 March 2026 at 11:00 Paris time; each claim comes a few days
// later, within the default policy's windows unless its key says otherwise,
// so that a policy with shorter windows shows its refusals.
func Samples() []Sample {
	out := make([]Sample, len(samples))
	for i, s := range samples {
		out[i] = Sample{Key: s.key, Facts: []byte(s.facts)}
	}
	return out
}

var samples = []struct{ key, facts string }{
	{"non_delivery_partial", `{"kind":"non_delivery","filed_at":"2026-03-13T10:00:00Z","customer":{"type":"consumer","country":"FR"},
		"order":{"placed_at":"2026-03-08T10:00:00Z","paid_at":"2026-03-08T10:00:00Z","paid":{"amount":1000,"currency":"EUR"},
		"product_kind":"service","quantity":1000,"delivered":400,"processing_until":"2026-03-11T10:00:00Z"}}`},
	{"non_delivery_processing", `{"kind":"non_delivery","filed_at":"2026-03-09T10:00:00Z","customer":{"type":"consumer","country":"FR"},
		"order":{"placed_at":"2026-03-08T10:00:00Z","paid_at":"2026-03-08T10:00:00Z","paid":{"amount":1000,"currency":"EUR"},
		"product_kind":"service","quantity":1000,"delivered":400,"processing_until":"2026-03-11T10:00:00Z"}}`},
	{"not_as_described_evidence", `{"kind":"not_as_described","filed_at":"2026-03-12T10:00:00Z","customer":{"type":"consumer","country":"FR"},
		"order":{"placed_at":"2026-03-08T10:00:00Z","paid_at":"2026-03-08T10:00:00Z","paid":{"amount":2500,"currency":"EUR"},
		"product_kind":"digital","quantity":1,"delivered":1},
		"evidence":[{"kind":"file","at":"2026-03-12T10:00:00Z"}]}`},
	{"not_as_described_late_consumer", `{"kind":"not_as_described","filed_at":"2026-06-01T10:00:00Z","customer":{"type":"consumer","country":"FR"},
		"order":{"placed_at":"2026-03-08T10:00:00Z","paid_at":"2026-03-08T10:00:00Z","paid":{"amount":2500,"currency":"EUR"},
		"product_kind":"digital","quantity":1,"delivered":1},
		"evidence":[{"kind":"text","at":"2026-06-01T10:00:00Z"}]}`},
	{"subscription_cancel_refund", `{"kind":"subscription_cancel","filed_at":"2026-03-12T10:00:00Z","customer":{"type":"consumer","country":"FR"},
		"subscription":{"last_payment_at":"2026-03-08T10:00:00Z","last_payment":{"amount":990,"currency":"EUR"},"period_end":"2026-04-08T10:00:00Z"},
		"choice":"period_end","refund_requested":true}`},
	{"subscription_cancel_late", `{"kind":"subscription_cancel","filed_at":"2026-03-20T10:00:00Z","customer":{"type":"consumer","country":"FR"},
		"subscription":{"last_payment_at":"2026-03-08T10:00:00Z","last_payment":{"amount":990,"currency":"EUR"},"period_end":"2026-04-08T10:00:00Z"},
		"choice":"period_end","refund_requested":true}`},
	{"dissatisfied", `{"kind":"dissatisfied","filed_at":"2026-03-10T10:00:00Z","customer":{"type":"consumer","country":"FR"},
		"order":{"placed_at":"2026-03-08T10:00:00Z","paid_at":"2026-03-08T10:00:00Z","paid":{"amount":1500,"currency":"EUR"},
		"product_kind":"service","quantity":100,"delivered":100}}`},
	{"withdrawal_service_started", `{"kind":"withdrawal","filed_at":"2026-03-18T10:00:00Z","customer":{"type":"consumer","country":"FR"},
		"order":{"placed_at":"2026-03-08T10:00:00Z","paid_at":"2026-03-08T10:00:00Z","paid":{"amount":1000,"currency":"EUR"},
		"product_kind":"service","quantity":1000,"delivered":250,
		"consent":{"immediate_performance":true,"withdrawal_waiver":true,"at":"2026-03-08T10:00:00Z"}}}`},
	{"withdrawal_business", `{"kind":"withdrawal","filed_at":"2026-03-10T10:00:00Z","customer":{"type":"business","country":"FR"},
		"order":{"placed_at":"2026-03-08T10:00:00Z","paid_at":"2026-03-08T10:00:00Z","paid":{"amount":1000,"currency":"EUR"},
		"product_kind":"digital","quantity":1,"delivered":0}}`},
}
