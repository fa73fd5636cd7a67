package policy

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

// FuzzParse: the parser never panics, every failure is a *ParseError, and a
// document it accepts can be checked and evaluated.
func FuzzParse(f *testing.F) {
	f.Add(DefaultDocument())
	f.Add(Newest().Source())
	f.Add([]byte(testDoc("eu", nil) + "\n[wording.non_delivery.partial]\nen = \"{delivered, plural, =0 {none} one {{ordered, plural, other {x}}} other {{{y}}}}\"\nfr = \"{undelivered,plural,other{}}\"\n"))
	f.Add([]byte(testDoc("eu", nil)))
	f.Add([]byte(testDoc("none", map[Kind]string{NonDelivery: "enabled = true\nwindow = \"1d12h\"\nremedy = \"redeliver\""})))
	f.Add([]byte(testDoc("eu", nil) + "\n[wording.non_delivery.partial]\nen = \"{refund} {{x}}\"\nfr = \"« {refund} » : ok\"\n"))
	f.Add([]byte("name = \"x\"\nversion = 1\n[kinds]\nnon_delivery = { enabled = true, window = \"7d\" }\n"))
	f.Add([]byte("a.b.c = [[1], {x = 2}]\n[[kinds.withdrawal]]\n"))
	f.Add([]byte(pageDoc("eu", nil, "A {window.withdrawal} {{b}}\n\nc {window.non_delivery", "« d » ?\r\n\r\n{x}")))
	facts := []Facts{
		claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400)),
		claim(Withdrawal, "2026-03-22T23:00:00Z", line(1000, 10, 0), digital),
		claim(NotAsDescribed, "2026-06-01T10:00:00Z", line(1000, 1, 1)),
		sub("2026-03-10T10:00:00Z", placed, 990, CancelPeriodEnd),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			_ = err.Error()
			if !slices.Contains(ErrorCodes, pe.Code) {
				t.Fatalf("error %v has code %q", err, pe.Code)
			}
			return
		}
		for _, w := range Check(p) {
			_ = w.String()
		}
		// An accepted document has a page in both languages.
		for _, lang := range []string{"en", "fr"} {
			if title, paras := p.Page(lang); title == "" || len(paras) == 0 {
				t.Fatalf("page %s: %q %q", lang, title, paras)
			}
		}
		for _, fc := range facts {
			d := Evaluate(p, fc, time.Time{})
			if d.PolicyVersion != p.ID() || d.Rule == "" || d.Reason.EN == "" || d.Reason.FR == "" {
				t.Fatalf("decision %+v", d)
			}
		}
	})
}

// FuzzFacts: the facts decoder never panics, every failure is a
// *FactsError, and facts it accepts give a decision that never refunds more
// than is refundable and always encodes to JSON.
func FuzzFacts(f *testing.F) {
	f.Add([]byte(apiExample))
	f.Add([]byte(`{"kind":"withdrawal","filed_at":"2026-03-10T10:00:00Z","customer":{"type":"consumer"},"order":{"placed_at":"2026-03-08T10:00:00Z","paid":{"amount":999,"currency":"EUR"},"product_kind":"digital","quantity":2,"delivered":1,"refunded":{"amount":1,"currency":"EUR"},"consent":{"immediate_performance":true,"withdrawal_waiver":false}}}`))
	f.Add([]byte(`{"kind":"subscription_cancel","filed_at":"2026-03-10T10:00:00Z","choice":"now","refund_requested":false,"subscription":{"last_payment_at":"2026-03-08T10:00:00Z","last_payment":{"amount":990,"currency":"EUR"},"refunded":{"amount":990,"currency":"EUR"}}}`))
	f.Add([]byte(`{"kind":"not_as_described","filed_at":"2027-03-10T10:00:00+01:00","customer":{"type":"consumer"},"order":{"paid_at":"2026-03-08T10:00:00Z"},"evidence":[{"kind":"text","at":"2026-03-10T10:00:00Z"}]}`))
	f.Add([]byte(`{"kind":"dissatisfied","filed_at":"2026-03-10T10:00:00Z","order":null,"customer":null,"evidence":null}`))
	f.Add([]byte(`{"kind":"non_delivery","kind":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		facts, err := DecodeFacts(data)
		if err != nil {
			var fe *FactsError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FactsError", err, err)
			}
			checkFactsWorded(t, fe)
			return
		}
		d := Evaluate(nil, facts, facts.FiledAt.Add(time.Hour))
		if d.Refund != nil {
			paid, refunded := facts.Order, int64(0)
			var whole int64
			if paid != nil && paid.Paid != nil {
				whole = paid.Paid.Minor
				if paid.Refunded != nil {
					refunded = paid.Refunded.Minor
				}
			} else if s := facts.Subscription; s != nil && s.LastPayment != nil {
				whole = s.LastPayment.Minor
				if s.Refunded != nil {
					refunded = s.Refunded.Minor
				}
			}
			if d.Refund.Minor <= 0 || d.Refund.Minor > whole-refunded {
				t.Fatalf("refund %v of %d paid, %d refunded", d.Refund, whole, refunded)
			}
		}
		if _, err := json.Marshal(d); err != nil {
			t.Fatalf("decision does not encode: %v", err)
		}
	})
}
