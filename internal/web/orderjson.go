package web

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"comptoir/internal/money"
)

// marshalOrderJSON is json.Marshal(o), byte for byte, without reflection:
// every checkout encodes its answer inside its transaction (the answer its
// Idempotency-Key stores), on SQLite on the single writer every checkout
// waits for, and encoding/json's reflection, its MarshalJSON calls and the
// compaction of what they return took several times what this takes. What
// it cannot write exactly as encoding/json would (a currency MarshalJSON
// refuses, a time out of RFC 3339's range) it leaves to json.Marshal.
func marshalOrderJSON(o orderJSONBody) ([]byte, error) {
	b, ok := appendOrderJSON(make([]byte, 0, 400+360*len(o.Lines)), o)
	if !ok {
		return json.Marshal(o)
	}
	return b, nil
}

func appendOrderJSON(b []byte, o orderJSONBody) ([]byte, bool) {
	ok := true
	b = append(b, `{"id":`...)
	b = appendJSONString(b, o.ID)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, o.Status)
	b = append(b, `,"customer_id":`...)
	b = appendJSONString(b, o.CustomerID)
	b = append(b, `,"lines":`...)
	if o.Lines == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, l := range o.Lines {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendLineJSON(b, l); !ok {
				return nil, false
			}
		}
		b = append(b, ']')
	}
	for _, f := range [...]struct {
		name string
		a    money.Amount
	}{{`,"total":`, o.Total}, {`,"paid":`, o.Paid}, {`,"refunded":`, o.Refunded}} {
		b = append(b, f.name...)
		if b, ok = appendAmountJSON(b, f.a); !ok {
			return nil, false
		}
	}
	b = append(b, `,"payment":`...)
	b = appendJSONString(b, o.Payment)
	b = append(b, `,"policy_version":`...)
	b = appendJSONString(b, o.PolicyVersion)
	b = append(b, `,"overdue":`...)
	b = strconv.AppendBool(b, o.Overdue)
	b = append(b, `,"placed_at":`...)
	if b, ok = appendTimeJSON(b, o.PlacedAt); !ok {
		return nil, false
	}
	if o.CheckoutURL != "" {
		b = append(b, `,"checkout_url":`...)
		b = appendJSONString(b, o.CheckoutURL)
	}
	return append(b, '}'), true
}

func appendLineJSON(b []byte, l lineJSON) ([]byte, bool) {
	ok := true
	b = append(b, `{"id":`...)
	b = appendJSONString(b, l.ID)
	b = append(b, `,"product_id":`...)
	b = appendJSONString(b, l.ProductID)
	b = append(b, `,"product_revision":`...)
	b = strconv.AppendInt(b, int64(l.ProductRevision), 10)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, l.Kind)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, l.Name)
	b = append(b, `,"quantity":`...)
	b = strconv.AppendInt(b, int64(l.Quantity), 10)
	b = append(b, `,"delivered":`...)
	b = strconv.AppendInt(b, int64(l.Delivered), 10)
	b = append(b, `,"amount":`...)
	if b, ok = appendAmountJSON(b, l.Amount); !ok {
		return nil, false
	}
	b = append(b, `,"refunded":`...)
	if b, ok = appendAmountJSON(b, l.Refunded); !ok {
		return nil, false
	}
	if l.ProcessingUntil != nil {
		b = append(b, `,"processing_until":`...)
		if b, ok = appendTimeJSON(b, *l.ProcessingUntil); !ok {
			return nil, false
		}
	}
	b = append(b, `,"overdue":`...)
	b = strconv.AppendBool(b, l.Overdue)
	if l.LicenceKey != "" {
		b = append(b, `,"licence_key":`...)
		b = appendJSONString(b, l.LicenceKey)
	}
	return append(b, '}'), true
}

// appendAmountJSON is money.Amount's MarshalJSON; false where it fails.
func appendAmountJSON(b []byte, a money.Amount) ([]byte, bool) {
	if money.CheckCurrency(a.Currency) != nil {
		return nil, false
	}
	b = append(b, `{"amount":`...)
	b = strconv.AppendInt(b, a.Minor, 10)
	b = append(b, `,"currency":"`...)
	b = append(b, a.Currency...)
	return append(b, `"}`...), true
}

// appendTimeJSON is time.Time's MarshalJSON (RFC 3339 with nanoseconds)
// for the times it writes as RFC3339Nano formats them: a year of four
// digits and a zone offset of whole minutes. false for the others, which
// MarshalJSON refuses or words otherwise.
func appendTimeJSON(b []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, false
	}
	if _, off := t.Zone(); off%60 != 0 || off <= -24*60*60 || off >= 24*60*60 {
		return nil, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// appendJSONString writes s as encoding/json does (HTML characters
// escaped): a string of printable ASCII with nothing to escape, which ids,
// statuses and most names are, as it is; any other by encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
