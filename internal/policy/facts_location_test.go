package policy

import (
	"errors"
	"strings"
	"testing"

	"comptoir/internal/locale"
)

// JSON facts that cannot be read say where, by line and column in the
// text (counted in characters), for a page to show: the decoder's own
// offset counted from the member it was reading, so the French words gave
// a byte that was not the one at fault ("à l’octet 33" for the 43rd), and
// the English none. Error, what `comptoir policy eval` prints, is
// unchanged, and so is JSON cut short (it ends too early, at the end).
func TestFactsSyntaxErrorsSayWhere(t *testing.T) {
	for _, tt := range []struct {
		facts        string
		line, column int
		err          string
	}{
		{`{"kind":"non_delivery",,}`, 1, 24, "not JSON: invalid character ',' looking for beginning of object key string"},
		{"{\n  \"kind\": \"non_delivery\",\n  \"filed_at\": x\n}", 3, 15, "filed_at: not JSON: invalid character 'x' looking for beginning of value"},
		{"{\n\t\"kind\": \"non_delivery\",\n\t\"order\": {\"paid\": {\"amount\": 1000, \"currency\": \"EUR\"}},\n\t\"customer\": {\"type\": \"consumer\" \"country\": \"FR\"}\n}", 4, 34, "customer: not JSON: invalid character '\"' after object key:value pair"},
		{`{"kind": "é\q"}`, 1, 13, `kind: not JSON: invalid character 'q' in string escape code`},
		{"\xff", 1, 1, "not JSON: invalid character 'ÿ' looking for beginning of value"},
		{`{"kind":`, 0, 0, "kind: not JSON: it ends too early"},
		{`{"kind":"non_delivery","filed_at":"nope"}`, 0, 0, `filed_at: "nope" is not an RFC 3339 time such as 2026-03-08T10:00:00Z`},
	} {
		_, err := DecodeFacts([]byte(tt.facts))
		var fe *FactsError
		if !errors.As(err, &fe) {
			t.Fatalf("%q: %v, want a *FactsError", tt.facts, err)
		}
		if fe.Line != tt.line || fe.Column != tt.column || err.Error() != tt.err {
			t.Errorf("%q: line %d, column %d, %q; want line %d, column %d, %q", tt.facts, fe.Line, fe.Column, err, tt.line, tt.column, tt.err)
		}
		if fr := fe.Localize(locale.FR, translator(locale.FR)); strings.Contains(fr, "octet") || strings.Contains(fr, "invalid") {
			t.Errorf("%q in French: %q", tt.facts, fr)
		}
	}
}
