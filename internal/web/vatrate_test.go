package web

import "testing"

// The admin's VAT rate is a percentage with at most two decimals, digits
// only: strconv.Atoi took a sign in either part, so "5.+1" was saved as
// 5.01 % and "+5" as 5 %.
func TestParseRateBP(t *testing.T) {
	for in, want := range map[string]int{"20": 2000, "5.5": 550, "5.50": 550, "0": 0, "25.5": 2550, "8.01": 801} {
		if got, ok := parseRateBP(in); !ok || got != want {
			t.Errorf("parseRateBP(%q) = %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "5.+1", "+5", "-1", "5.-1", "100", "5.555", ".5", "5,5", "5 %", "x"} {
		if got, ok := parseRateBP(in); ok {
			t.Errorf("parseRateBP(%q) = %d, want a refusal", in, got)
		}
	}
}
