package policy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"comptoir/internal/money"
)

// apiExample is API.md's facts example, made concrete.
const apiExample = `{
  "kind": "non_delivery",
  "filed_at": "2026-03-08T10:00:00Z",
  "customer": {"type": "consumer", "country": "FR"},
  "order": {
    "placed_at": "2026-03-05T10:00:00Z", "paid_at": "2026-03-05T10:01:00Z", "paid": {"amount": 1000, "currency": "EUR"},
    "product_kind": "service",
    "quantity": 1000, "delivered": 400, "refunded": {"amount": 0, "currency": "EUR"},
    "processing_until": "2026-03-07T10:00:00Z",
    "consent": {"immediate_performance": true, "withdrawal_waiver": true, "at": "2026-03-05T10:00:00Z"}
  },
  "subscription": {"last_payment_at": "2026-03-01T00:00:00Z", "last_payment": {"amount": 990, "currency": "EUR"},
                   "period_end": "2026-04-01T00:00:00Z"},
  "evidence": [{"kind": "text", "at": "2026-03-08T10:00:00Z"}, {"kind": "file", "at": "2026-03-08T10:05:00+01:00"}],
  "choice": "period_end",
  "refund_requested": true
}`

func TestDecodeFactsAPIExample(t *testing.T) {
	f, err := DecodeFacts([]byte(apiExample))
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != NonDelivery || f.Order.Quantity != 1000 || f.Order.Delivered != 400 || f.Order.Paid.Minor != 1000 ||
		!f.Order.Consent.WithdrawalWaiver || len(f.Evidence) != 2 || f.Choice != CancelPeriodEnd || !f.WantsRefund() ||
		f.Subscription.LastPayment.Minor != 990 || f.Customer.Country != "FR" {
		t.Errorf("decoded %+v", f)
	}
	d := Evaluate(nil, f, time.Time{})
	if d.Rule != "non_delivery.partial" || d.Refund.Minor != 600 {
		t.Errorf("decision %+v", d)
	}
	// Facts survive a round trip through JSON (the server may store them).
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := DecodeFacts(b)
	if err != nil {
		t.Fatalf("re-decoding %s: %v", b, err)
	}
	if !reflect.DeepEqual(f, g) {
		t.Errorf("round trip changed the facts:\n%+v\n%+v", f, g)
	}
}

func TestDecodeFactsDefaults(t *testing.T) {
	f, err := DecodeFacts([]byte(`{"kind":"non_delivery","filed_at":"2026-03-08T10:00:00Z",
		"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000,"currency":"CHF"},"quantity":10,"delivered":0}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !f.WantsRefund() || f.RefundRequested != nil {
		t.Error("refund_requested does not default to true")
	}
	if f.Order.Refunded == nil || *f.Order.Refunded != money.Zero("CHF") {
		t.Errorf("refunded = %v, want 0 CHF", f.Order.Refunded)
	}
	f, err = DecodeFacts([]byte(`{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","choice":"now",
		"refund_requested":false,"subscription":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if f.WantsRefund() {
		t.Error("refund_requested false read as true")
	}
	// When it was taken out, and what was ticked then: the consumer's
	// withdrawal from a subscription counts from it.
	f, err = DecodeFacts([]byte(`{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","choice":"now",
		"subscription":{"started_at":"2026-03-01T09:00:00Z","consent":{"immediate_performance":true,"withdrawal_waiver":true,"at":"2026-03-01T09:00:00Z"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Subscription; !s.StartedAt.Equal(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) || s.Consent == nil || !s.Consent.ImmediatePerformance {
		t.Errorf("subscription = %+v", s)
	}
}

func TestDecodeFactsErrors(t *testing.T) {
	const nd = `"kind":"non_delivery","filed_at":"2026-03-08T10:00:00Z"`
	const ord = `"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000,"currency":"EUR"},"quantity":10,"delivered":4`
	tests := []struct {
		name, json, path, msg string
	}{
		{"not JSON", `{"kind":`, "kind", "not JSON: it ends too early"},
		{"not JSON at all", `kind=1`, "", "not JSON"},
		{"not an object", `[1]`, "", "must be an object, not an array"},
		{"trailing data", `{` + nd + `,"order":{` + ord + `}} {}`, "", "unexpected data after the facts"},
		{"unknown field", `{` + nd + `,"order":{` + ord + `},"colour":"red"}`, "colour", "unknown field"},
		{"field given twice", `{` + nd + `,"kind":"withdrawal"}`, "kind", "given twice"},
		{"kind missing", `{"filed_at":"2026-03-08T10:00:00Z"}`, "kind", "missing"},
		{"kind unknown", `{"kind":"refund_me"}`, "kind", `"refund_me" is not a claim kind`},
		{"filed_at missing", `{"kind":"non_delivery","order":{` + ord + `}}`, "filed_at", "missing"},
		{"filed_at not RFC 3339", `{"kind":"non_delivery","filed_at":"08/03/2026"}`, "filed_at", `"08/03/2026" is not an RFC 3339 time`},
		{"filed_at a number", `{"kind":"non_delivery","filed_at":1741428000}`, "filed_at", "must be an RFC 3339 time"},
		{"filed before the order", `{"kind":"non_delivery","filed_at":"2026-03-01T10:00:00Z","order":{` + ord + `}}`, "filed_at", "is before order.placed_at"},
		{"order missing", `{` + nd + `}`, "order", "missing"},
		{"unknown order field", `{` + nd + `,"order":{` + ord + `,"sku":"x"}}`, "order.sku", "unknown field"},
		{"placed_at missing", `{` + nd + `,"order":{"paid":{"amount":1000,"currency":"EUR"},"quantity":10,"delivered":4}}`, "order.placed_at", "missing"},
		{"paid_at malformed", `{"kind":"not_as_described","filed_at":"2026-03-08T10:00:00Z","customer":{"type":"consumer"},"order":{"paid_at":"yesterday"}}`, "order.paid_at", `"yesterday" is not an RFC 3339 time`},
		{"paid_at missing for not_as_described", `{"kind":"not_as_described","filed_at":"2026-03-08T10:00:00Z","customer":{"type":"consumer"},"order":{"placed_at":"2026-03-05T10:00:00Z"}}`, "order.paid_at", "missing"},
		{"paid missing", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","quantity":10,"delivered":4}}`, "order.paid", "missing"},
		{"paid as a decimal", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":10.5,"currency":"EUR"},"quantity":10,"delivered":4}}`, "order.paid.amount", "must be an integer number of minor units, not 10.5"},
		{"paid without currency", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000},"quantity":10,"delivered":4}}`, "order.paid.currency", "missing"},
		{"paid amount a string", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":"1000","currency":"EUR"},"quantity":10,"delivered":4}}`, "order.paid.amount", "not a string"},
		{"paid without amount", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"currency":"EUR"},"quantity":10,"delivered":4}}`, "order.paid.amount", "missing"},
		{"paid currency malformed", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000,"currency":"eur"},"quantity":10,"delivered":4}}`, "order.paid.currency", `"eur" is not a currency code`},
		{"paid currency null", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000,"currency":null},"quantity":10,"delivered":4}}`, "order.paid.currency", "not null"},
		{"paid unknown field", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000,"currency":"EUR","vat":200},"quantity":10,"delivered":4}}`, "order.paid.vat", "unknown field"},
		{"paid amount given twice", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000,"amount":1,"currency":"EUR"},"quantity":10,"delivered":4}}`, "order.paid.amount", "given twice"},
		{"paid amount beyond 64 bits", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":99999999999999999999,"currency":"EUR"},"quantity":10,"delivered":4}}`, "order.paid.amount", "does not fit in 64 bits"},
		{"refunded unknown field", `{` + nd + `,"order":{` + ord + `,"refunded":{"amount":0,"currency":"EUR","when":"now"}}}`, "order.refunded.when", "unknown field"},
		{"subscription payment amount malformed", `{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","choice":"now","subscription":{"last_payment_at":"2026-03-01T00:00:00Z","last_payment":{"amount":9.9,"currency":"EUR"}}}`, "subscription.last_payment.amount", "integer number of minor units"},
		{"paid negative", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":-1,"currency":"EUR"},"quantity":10,"delivered":4}}`, "order.paid.amount", "must not be negative"},
		{"refunded in another currency", `{` + nd + `,"order":{` + ord + `,"refunded":{"amount":0,"currency":"USD"}}}`, "order.refunded.currency", "is USD but order.paid is in EUR"},
		// Impossible facts: more refunded than paid, a subscription's
		// refund in another currency or above what was paid. They decided (outcome none, "€20.00 of the €10.00
		// paid has already been refunded").
		{"refunded above paid", `{` + nd + `,"order":{` + ord + `,"refunded":{"amount":1001,"currency":"EUR"}}}`, "order.refunded", "is 10.01 EUR, more than the 10.00 EUR paid (order.paid)"},
		{"subscription refunded above its payment", `{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","choice":"now","subscription":{"last_payment_at":"2026-03-01T00:00:00Z","last_payment":{"amount":990,"currency":"EUR"},"refunded":{"amount":991,"currency":"EUR"}}}`, "subscription.refunded", "is 9.91 EUR, more than the 9.90 EUR paid (subscription.last_payment)"},
		{"subscription refunded in another currency", `{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","choice":"now","subscription":{"last_payment_at":"2026-03-01T00:00:00Z","last_payment":{"amount":990,"currency":"EUR"},"refunded":{"amount":990,"currency":"USD"}}}`, "subscription.refunded.currency", "is USD but subscription.last_payment is in EUR"},
		{"quantity a decimal", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000,"currency":"EUR"},"quantity":1.5,"delivered":0}}`, "order.quantity", "must be a whole number, not 1.5"},
		{"quantity zero", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000,"currency":"EUR"},"quantity":0,"delivered":0}}`, "order.quantity", "must be at least 1"},
		{"quantity missing", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000,"currency":"EUR"},"delivered":0}}`, "order.quantity", "missing"},
		{"quantity a string", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000,"currency":"EUR"},"quantity":"10","delivered":0}}`, "order.quantity", "must be a whole number, not a string"},
		{"delivered missing", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000,"currency":"EUR"},"quantity":10}}`, "order.delivered", "missing"},
		{"delivered negative", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000,"currency":"EUR"},"quantity":10,"delivered":-1}}`, "order.delivered", "must not be negative"},
		{"delivered above quantity", `{` + nd + `,"order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000,"currency":"EUR"},"quantity":10,"delivered":11}}`, "order.delivered", "is 11, more than the 10 ordered"},
		{"product_kind unknown", `{` + nd + `,"order":{` + ord + `,"product_kind":"physical"}}`, "order.product_kind", `"physical" is not a product kind`},
		{"product_kind missing for withdrawal", `{"kind":"withdrawal","filed_at":"2026-03-08T10:00:00Z","customer":{"type":"consumer"},"order":{` + ord + `}}`, "order.product_kind", "missing"},
		{"consent unknown field", `{` + nd + `,"order":{` + ord + `,"consent":{"immediate_performance":true,"ip":"1.2.3.4"}}}`, "order.consent.ip", "unknown field"},
		{"consent not a boolean", `{` + nd + `,"order":{` + ord + `,"consent":{"immediate_performance":"yes"}}}`, "order.consent.immediate_performance", "must be true or false"},
		{"customer type unknown", `{` + nd + `,"customer":{"type":"reseller"}}`, "customer.type", `"reseller" is not a customer type`},
		{"customer country malformed", `{` + nd + `,"customer":{"country":"France"}}`, "customer.country", `"France" is not a country code`},
		{"customer type missing for withdrawal", `{"kind":"withdrawal","filed_at":"2026-03-08T10:00:00Z","order":{` + ord + `,"product_kind":"digital"}}`, "customer.type", "missing"},
		{"evidence not an array", `{` + nd + `,"evidence":{"kind":"text"}}`, "evidence", "must be an array"},
		{"evidence time malformed", `{` + nd + `,"evidence":[{"kind":"text","at":"2026-03-08T10:00:00Z"},{"kind":"file","at":"now"}]}`, "evidence[1].at", `"now" is not an RFC 3339 time`},
		{"evidence time missing", `{` + nd + `,"evidence":[{"kind":"file"}]}`, "evidence[0].at", "missing"},
		{"evidence kind unknown", `{` + nd + `,"evidence":[{"kind":"video","at":"2026-03-08T10:00:00Z"}]}`, "evidence[0].kind", `"video" is not a kind of evidence`},
		{"evidence unknown field", `{` + nd + `,"evidence":[{"kind":"file","at":"2026-03-08T10:00:00Z","name":"a.png"}]}`, "evidence[0].name", "unknown field"},
		{"choice missing for subscription_cancel", `{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","subscription":{}}`, "choice", "missing"},
		{"choice unknown", `{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","choice":"later","subscription":{}}`, "choice", `"later" is not a choice`},
		{"subscription missing", `{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","choice":"now"}`, "subscription", "missing"},
		{"subscription payment without its time", `{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","choice":"now","subscription":{"last_payment":{"amount":990,"currency":"EUR"}}}`, "subscription.last_payment_at", "missing"},
		{"subscription time without its payment", `{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","choice":"now","subscription":{"last_payment_at":"2026-03-01T00:00:00Z"}}`, "subscription.last_payment", "missing"},
		{"subscription unknown field", `{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","choice":"now","subscription":{"plan":"gold"}}`, "subscription.plan", "unknown field"},
		{"subscription started after the claim", `{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","choice":"now","subscription":{"started_at":"2026-03-09T00:00:00Z"}}`, "filed_at", "before subscription.started_at"},
		{"subscription paid before it started", `{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","choice":"now","subscription":{"started_at":"2026-03-02T00:00:00Z","last_payment_at":"2026-03-01T00:00:00Z","last_payment":{"amount":990,"currency":"EUR"}}}`, "subscription.last_payment_at", "before subscription.started_at"},
		{"subscription consent unknown field", `{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","choice":"now","subscription":{"consent":{"ticked":true}}}`, "subscription.consent.ticked", "unknown field"},
		{"refund_requested not a boolean", `{"kind":"subscription_cancel","filed_at":"2026-03-08T10:00:00Z","choice":"now","subscription":{},"refund_requested":"yes"}`, "refund_requested", "must be true or false"},
		{"year out of range", `{"kind":"non_delivery","filed_at":"0001-01-01T00:00:00Z"}`, "filed_at", "the year must be between 1900 and 9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeFacts([]byte(tt.json))
			var fe *FactsError
			if !errors.As(err, &fe) {
				t.Fatalf("DecodeFacts = %v, want a *FactsError at %q", err, tt.path)
			}
			if fe.Path != tt.path || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("error %q (path %q), want path %q and a message containing %q", err, fe.Path, tt.path, tt.msg)
			}
			checkFactsInFrench(t, fe)
		})
	}
}

// TestValidateGoFacts: facts built in Go get the same checks as JSON ones.
func TestValidateGoFacts(t *testing.T) {
	f := claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 10, 4))
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	f.Order.Refunded = &money.Amount{Minor: 1, Currency: "USD"}
	var fe *FactsError
	if err := f.Validate(); !errors.As(err, &fe) || fe.Path != "order.refunded.currency" {
		t.Errorf("Validate = %v, want order.refunded.currency", err)
	}
	f.Order.Refunded = eur(1001)
	if err := f.Validate(); !errors.As(err, &fe) || fe.Path != "order.refunded" {
		t.Errorf("Validate = %v, want order.refunded", err)
	}
	f.Order.Refunded = eur(1000) // all of it: possible
	if err := f.Validate(); err != nil {
		t.Errorf("Validate with everything refunded = %v", err)
	}
}

// TestDecodeFactsLowercaseTAndZ: RFC 3339 §5.6 lets the "T" between date
// and time and the "Z" of UTC be lower case; facts with them were refused
// as not RFC 3339. They read as the upper-case ones, in every time field,
// and the rest of a time is as strict as before.
func TestDecodeFactsLowercaseTAndZ(t *testing.T) {
	const upper = `{"kind":"withdrawal","filed_at":"2026-03-08T10:00:00Z","customer":{"type":"consumer"},
		"order":{"placed_at":"2026-03-01T10:00:00.5+01:00","paid_at":"2026-03-01T10:00:01Z","paid":{"amount":1000,"currency":"EUR"},
		"product_kind":"service","quantity":10,"delivered":4,"processing_until":"2026-03-09T10:00:00Z",
		"consent":{"immediate_performance":true,"withdrawal_waiver":true,"at":"2026-03-01T10:00:00Z"}},
		"evidence":[{"kind":"text","at":"2026-03-08T10:00:00Z"}]}`
	lower := strings.NewReplacer("T1", "t1", "Z\"", "z\"").Replace(upper)
	if strings.Count(lower, "t1") != 6 || strings.Count(lower, "z\"") != 5 {
		t.Fatalf("the lower-case facts are not what the test means:\n%s", lower)
	}
	want, err := DecodeFacts([]byte(upper))
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeFacts([]byte(lower))
	if err != nil {
		t.Fatalf("DecodeFacts with t and z: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("with t and z:\n got %+v\nwant %+v", got, want)
	}
	for _, s := range []string{"2026-03-08t10:00:00z", "2026-03-08t10:00:00Z", "2026-03-08T10:00:00z", "2026-03-08t10:00:00.123+02:00"} {
		if _, err := ParseTime(s); err != nil {
			t.Errorf("ParseTime(%q) = %v", s, err)
		}
	}
	// Still refused: not RFC 3339 in other ways.
	for _, s := range []string{"2026-03-08x10:00:00Z", "2026-03-08t10:00:00", "2026-03-08 10:00:00z", "2026-03-08t10:00:00zz", "z", "t"} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) accepted it", s)
		}
	}
}
