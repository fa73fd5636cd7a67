package locale

import (
	"strings"
	"sync"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// CountryName is the name of a country in lang, from its ISO 3166-1
// alpha-2 code ("FR" → "France", "DE" → "Allemagne" in French, "Germany"
// in English); the code itself when it names no country. The names are
// read from x/text's tables once (countryNames): every invoice PDF the
// mail worker draws names the seller's and the buyer's countries, and
// each look-up parsed the code and built a namer again (issue #9).
func CountryName(code, lang string) string {
	if len(code) != 2 {
		return code
	}
	var k [2]byte
	for i := range 2 {
		c := code[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		k[i] = c
	}
	names := countryNames()
	m := names.en
	if lang == FR {
		m = names.fr
	}
	if n, ok := m[string(k[:])]; ok {
		return n
	}
	return code
}

// countryNames are the names x/text gives every country code in French and
// English (countryNameOf), by upper-case code.
var countryNames = sync.OnceValue(func() struct{ fr, en map[string]string } {
	fr, en := map[string]string{}, map[string]string{}
	for a := byte('A'); a <= 'Z'; a++ {
		for b := byte('A'); b <= 'Z'; b++ {
			code := string([]byte{a, b})
			if n := countryNameOf(code, FR); n != code {
				fr[code] = n
			}
			if n := countryNameOf(code, EN); n != code {
				en[code] = n
			}
		}
	}
	return struct{ fr, en map[string]string }{fr, en}
})

// countryNameOf is CountryName read from x/text's tables.
func countryNameOf(code, lang string) string {
	r, err := language.ParseRegion(code)
	if err != nil || len(code) != 2 || !r.IsCountry() {
		return code
	}
	tag := language.English
	if lang == FR {
		tag = language.French
	}
	if n := display.Regions(tag).Name(r); n != "" {
		return n
	}
	return code
}

// NamesCountry reports whether s is country code's code or its name, in
// French, English or the country's own main language ("France", "fr",
// "Deutschland", "Allemagne"), whatever the case: an address typed with
// its country at the end already names it.
func NamesCountry(s, code string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	if strings.EqualFold(s, code) {
		return true
	}
	r, err := language.ParseRegion(code)
	if err != nil || len(code) != 2 || !r.IsCountry() {
		return false
	}
	tags := []language.Tag{language.French, language.English}
	if own, err := language.Compose(language.Und, r); err == nil {
		if base, _ := own.Base(); base.String() != "und" {
			tags = append(tags, language.Make(base.String()))
		}
	}
	for _, tag := range tags {
		if n := display.Regions(tag).Name(r); n != "" && strings.EqualFold(s, n) {
			return true
		}
	}
	return false
}
