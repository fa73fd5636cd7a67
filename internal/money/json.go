package money

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MarshalJSON renders a as {"amount":600,"currency":"EUR"}: the minor units
// as a JSON integer (never a decimal string, never a float) and the code.
//
// An amount with a malformed currency (such as the zero Amount) is an
// error rather than output that UnmarshalJSON, or an API client, would
// refuse later: a response that cannot be read back is a bug to catch here.
func (a Amount) MarshalJSON() ([]byte, error) {
	if err := CheckCurrency(a.Currency); err != nil {
		return nil, fmt.Errorf("%w: marshal %d: %w", ErrInvalidJSON, a.Minor, err)
	}
	b := make([]byte, 0, 48)
	b = append(b, `{"amount":`...)
	b = strconv.AppendInt(b, a.Minor, 10)
	b = append(b, `,"currency":"`...)
	b = append(b, a.Currency...) // 3 letters A-Z: nothing to escape
	b = append(b, `"}`...)
	return b, nil
}

// UnmarshalJSON reads exactly {"amount": <integer>, "currency": "<code>"}
// and refuses anything else with an error wrapping ErrInvalidJSON:
//
//   - a missing "amount" or "currency", or a field given twice;
//   - an unknown field (names are matched exactly, unlike encoding/json's
//     case-insensitive matching, so "Amount" is unknown);
//   - an amount that is not written as a JSON integer: 6.5, 6.0, 6e2, "600"
//     and null are all refused, because an amount in minor units that
//     arrives as a decimal means the client confused units (6.00 € sent as
//     6 instead of 600 cannot be detected, but 6.5 can);
//   - an amount outside int64;
//   - a currency that is not 3 upper-case letters (also wraps
//     ErrInvalidCurrency);
//   - null in place of the whole object: an optional amount is a *Amount,
//     which encoding/json sets to nil on null without calling this method,
//     so null reaching here is a required amount that is missing.
//
// On error the receiver is left unchanged.
func (a *Amount) UnmarshalJSON(data []byte) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidJSON}, args...)...)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()

	tok, err := dec.Token()
	if err != nil {
		return bad("%v", err)
	}
	if tok != json.Delim('{') {
		return bad(`want an object {"amount": <minor units>, "currency": "<ISO 4217 code>"}, got %s`, describe(tok))
	}

	var (
		out                      Amount
		haveAmount, haveCurrency bool
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad("%v", err)
		}
		key, _ := tok.(string) // inside an object, keys are always strings
		tok, err = dec.Token()
		if err != nil {
			return bad("%v", err)
		}
		switch key {
		case "amount":
			if haveAmount {
				return bad(`"amount" given twice`)
			}
			haveAmount = true
			n, ok := tok.(json.Number)
			if !ok {
				return bad(`"amount" must be an integer number of minor units, got %s`, describe(tok))
			}
			// ParseInt accepts only an optional '-' and digits, which
			// is exactly JSON integer syntax: "6.0" and "6e2" fail here.
			v, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				if errors.Is(err, strconv.ErrRange) {
					return fmt.Errorf("%w: %w: \"amount\" does not fit in 64 bits", ErrInvalidJSON, ErrOverflow)
				}
				return bad(`"amount" must be an integer number of minor units, got %s`, describe(n))
			}
			out.Minor = v
		case "currency":
			if haveCurrency {
				return bad(`"currency" given twice`)
			}
			haveCurrency = true
			s, ok := tok.(string)
			if !ok {
				return bad(`"currency" must be a string such as "EUR", got %s`, describe(tok))
			}
			if err := CheckCurrency(s); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalidJSON, err)
			}
			out.Currency = s
		default:
			return bad(`unknown field %q (want only "amount" and "currency")`, key)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return bad("%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("unexpected data after the object")
	}
	if !haveAmount {
		return bad(`missing "amount"`)
	}
	if !haveCurrency {
		return bad(`missing "currency"`)
	}
	*a = out
	return nil
}

// describe names a JSON token for an error message without echoing large
// values back.
func describe(tok json.Token) string {
	switch t := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		switch t {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return strconv.Quote(t.String())
	case bool:
		return "a boolean"
	case json.Number:
		if len(t) > 24 {
			return "a number"
		}
		return "the number " + t.String()
	case string:
		if len(t) > 16 {
			return "a string"
		}
		return "the string " + strconv.Quote(t)
	}
	return fmt.Sprintf("%T", tok)
}
