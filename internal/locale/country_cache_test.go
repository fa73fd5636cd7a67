package locale

import "testing"

// CountryName reads its names from a table made once, and gives what
// x/text gives (countryNameOf) for every two-character code, in any case,
// in every language.
func TestCountryNameIsXTextsName(t *testing.T) {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz09-é"
	for _, lang := range []string{"fr", "en", "de", ""} {
		for _, a := range chars {
			for _, b := range chars {
				code := string(a) + string(b)
				if got, want := CountryName(code, lang), countryNameOf(code, lang); got != want {
					t.Errorf("CountryName(%q, %q) = %q, x/text says %q", code, lang, got, want)
				}
			}
		}
		for _, code := range []string{"", "F", "FRA", "250", "ZZZ"} {
			if got := CountryName(code, lang); got != code {
				t.Errorf("CountryName(%q, %q) = %q, want the code", code, lang, got)
			}
		}
	}
}

// A look-up allocates nothing: it parsed the code and built a namer
// every time (two allocations), for every invoice PDF's countries.
func TestCountryNameAllocatesNothing(t *testing.T) {
	CountryName("FR", FR)
	if n := testing.AllocsPerRun(100, func() {
		CountryName("DE", FR)
		CountryName("be", EN)
	}); n != 0 {
		t.Fatalf("CountryName allocates %v times", n)
	}
}
