package money

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestMarshalJSON(t *testing.T) {
	tests := []struct {
		a    Amount
		want string
	}{
		{eur(600), `{"amount":600,"currency":"EUR"}`},
		{eur(0), `{"amount":0,"currency":"EUR"}`},
		{eur(-150), `{"amount":-150,"currency":"EUR"}`},
		{MustNew(1234, "JPY"), `{"amount":1234,"currency":"JPY"}`},
		{eur(math.MaxInt64), `{"amount":9223372036854775807,"currency":"EUR"}`},
		{eur(math.MinInt64), `{"amount":-9223372036854775808,"currency":"EUR"}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.a)
		if err != nil || string(got) != tt.want {
			t.Errorf("json.Marshal(%#v) = %s, %v; want %s", tt.a, got, err, tt.want)
		}
		// Through a pointer and inside a struct, as handlers use it.
		got, err = json.Marshal(struct {
			Refund *Amount `json:"refund,omitempty"`
			Paid   Amount  `json:"paid"`
		}{&tt.a, tt.a})
		if want := `{"refund":` + tt.want + `,"paid":` + tt.want + `}`; err != nil || string(got) != want {
			t.Errorf("json.Marshal(struct) = %s, %v; want %s", got, err, want)
		}
	}
}

func TestMarshalJSONRefusesBadCurrency(t *testing.T) {
	for _, a := range []Amount{{}, {600, "eur"}, {600, `E"R`}} {
		_, err := json.Marshal(a)
		if !errors.Is(err, ErrInvalidJSON) || !errors.Is(err, ErrInvalidCurrency) {
			t.Errorf("json.Marshal(%#v) error = %v, want ErrInvalidJSON and ErrInvalidCurrency", a, err)
		}
	}
}

func TestUnmarshalJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Amount
		wantErr error  // besides ErrInvalidJSON, which every failure wraps
		msg     string // part of the error message
	}{
		{name: "API shape", in: `{"amount": 600, "currency": "EUR"}`, want: eur(600)},
		{name: "compact", in: `{"amount":600,"currency":"EUR"}`, want: eur(600)},
		{name: "fields reversed", in: `{"currency":"JPY","amount":5}`, want: MustNew(5, "JPY")},
		{name: "negative", in: `{"amount":-150,"currency":"EUR"}`, want: eur(-150)},
		{name: "minus zero", in: `{"amount":-0,"currency":"EUR"}`, want: eur(0)},
		{name: "max", in: `{"amount":9223372036854775807,"currency":"EUR"}`, want: eur(math.MaxInt64)},
		{name: "min", in: `{"amount":-9223372036854775808,"currency":"EUR"}`, want: eur(math.MinInt64)},
		{name: "whitespace", in: " \n{ \"amount\" :\t1 , \"currency\" : \"USD\" }\n ", want: MustNew(1, "USD")},

		{name: "missing currency", in: `{"amount":600}`, msg: `missing "currency"`},
		{name: "missing amount", in: `{"currency":"EUR"}`, msg: `missing "amount"`},
		{name: "empty object", in: `{}`, msg: `missing "amount"`},
		{name: "unknown field", in: `{"amount":600,"currency":"EUR","cents":true}`, msg: `unknown field "cents"`},
		{name: "field names are case-sensitive", in: `{"Amount":600,"currency":"EUR"}`, msg: `unknown field "Amount"`},
		{name: "duplicate amount", in: `{"amount":600,"amount":700,"currency":"EUR"}`, msg: `"amount" given twice`},
		{name: "duplicate currency", in: `{"amount":600,"currency":"EUR","currency":"USD"}`, msg: `"currency" given twice`},
		{name: "decimal amount", in: `{"amount":6.5,"currency":"EUR"}`, msg: "integer number of minor units, got the number 6.5"},
		{name: "decimal that is whole", in: `{"amount":600.0,"currency":"EUR"}`, msg: "integer"},
		{name: "exponent", in: `{"amount":6e2,"currency":"EUR"}`, msg: "integer"},
		{name: "string amount", in: `{"amount":"600","currency":"EUR"}`, msg: `got the string "600"`},
		{name: "null amount", in: `{"amount":null,"currency":"EUR"}`, msg: "got null"},
		{name: "bool amount", in: `{"amount":true,"currency":"EUR"}`, msg: "got a boolean"},
		{name: "object amount", in: `{"amount":{"v":1},"currency":"EUR"}`, msg: "got an object"},
		{name: "too large", in: `{"amount":9223372036854775808,"currency":"EUR"}`, wantErr: ErrOverflow},
		{name: "too small", in: `{"amount":-9223372036854775809,"currency":"EUR"}`, wantErr: ErrOverflow},
		{name: "lower-case currency", in: `{"amount":600,"currency":"eur"}`, wantErr: ErrInvalidCurrency},
		{name: "empty currency", in: `{"amount":600,"currency":""}`, wantErr: ErrInvalidCurrency},
		{name: "long currency", in: `{"amount":600,"currency":"EURO"}`, wantErr: ErrInvalidCurrency},
		{name: "symbol as currency", in: `{"amount":600,"currency":"€"}`, wantErr: ErrInvalidCurrency},
		{name: "numeric currency", in: `{"amount":600,"currency":978}`, msg: `"currency" must be a string`},
		{name: "null currency", in: `{"amount":600,"currency":null}`, msg: `"currency" must be a string`},
		{name: "null", in: `null`, msg: "want an object"},
		{name: "bare number", in: `600`, msg: "want an object"},
		{name: "string", in: `"6.00 EUR"`, msg: "want an object"},
		{name: "array", in: `[600,"EUR"]`, msg: "want an object"},
		{name: "empty input", in: ``},
		{name: "truncated", in: `{"amount":600,"currency":"EUR"`},
		{name: "trailing data", in: `{"amount":600,"currency":"EUR"} {}`, msg: "after the object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Directly, so that cases encoding/json would catch first
			// (syntax, trailing data) still exercise our checks.
			sentinel := Amount{Minor: 42, Currency: "GBP"}
			got := sentinel
			err := got.UnmarshalJSON([]byte(tt.in))
			wantOK := tt.want != (Amount{})
			if wantOK {
				if err != nil || got != tt.want {
					t.Fatalf("UnmarshalJSON(%s) = %#v, %v; want %#v", tt.in, got, err, tt.want)
				}
			} else {
				if !errors.Is(err, ErrInvalidJSON) {
					t.Fatalf("UnmarshalJSON(%s) error = %v, want ErrInvalidJSON", tt.in, err)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("UnmarshalJSON(%s) error = %v, want it to wrap %v", tt.in, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("UnmarshalJSON(%s) error = %q, want it to mention %q", tt.in, err, tt.msg)
				}
				if got != sentinel {
					t.Errorf("UnmarshalJSON(%s) changed the receiver to %#v on error", tt.in, got)
				}
			}

			// Through encoding/json inside a struct, as request bodies are read.
			var body struct {
				Paid Amount `json:"paid"`
			}
			err = json.Unmarshal([]byte(`{"paid":`+tt.in+`}`), &body)
			if wantOK && (err != nil || body.Paid != tt.want) {
				t.Errorf("json.Unmarshal in a struct = %#v, %v; want %#v", body.Paid, err, tt.want)
			}
			if !wantOK && err == nil {
				t.Errorf("json.Unmarshal in a struct accepted %s as %#v", tt.in, body.Paid)
			}
		})
	}
}

// An optional amount is a pointer: null and absence leave it nil, without
// reaching UnmarshalJSON.
func TestUnmarshalJSONOptional(t *testing.T) {
	for _, in := range []string{`{}`, `{"refund":null}`} {
		var body struct {
			Refund *Amount `json:"refund"`
		}
		if err := json.Unmarshal([]byte(in), &body); err != nil || body.Refund != nil {
			t.Errorf("json.Unmarshal(%s) = %v, %v; want nil, nil", in, body.Refund, err)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, a := range []Amount{
		eur(0), eur(600), eur(-1), eur(math.MaxInt64), eur(math.MinInt64),
		MustNew(1, "JPY"), MustNew(1, "KWD"), MustNew(99, "XYZ"),
	} {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("json.Marshal(%v): %v", a, err)
		}
		var back Amount
		if err := json.Unmarshal(b, &back); err != nil || back != a {
			t.Errorf("round trip of %#v through %s = %#v, %v", a, b, back, err)
		}
	}
}
