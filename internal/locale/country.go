package locale

import (
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// CountryName is the name of a country in lang, from its ISO 3166-1
// alpha-2 code ("FR" → "France", "DE" → "Allemagne" in French, "Germany"
// in English); the code itself when it names no country.
func CountryName(code, lang string) string {
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
