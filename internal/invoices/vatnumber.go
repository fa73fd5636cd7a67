package invoices

import (
	"regexp"
	"strings"
)

// vatFormats are the shapes of EU VAT numbers after the country prefix
// (the VIES formats). Greece's prefix is EL though its ISO code is GR. A
// number of valid format may still not be registered: the store does not
// call VIES, and says so to the admin; a registration check belongs to
// the accountant.
var vatFormats = map[string]*regexp.Regexp{
	"AT": regexp.MustCompile(`^U\d{8}$`),
	"BE": regexp.MustCompile(`^[01]\d{9}$`),
	"BG": regexp.MustCompile(`^\d{9,10}$`),
	"CY": regexp.MustCompile(`^\d{8}[A-Z]$`),
	"CZ": regexp.MustCompile(`^\d{8,10}$`),
	"DE": regexp.MustCompile(`^\d{9}$`),
	"DK": regexp.MustCompile(`^\d{8}$`),
	"EE": regexp.MustCompile(`^\d{9}$`),
	"EL": regexp.MustCompile(`^\d{9}$`),
	"ES": regexp.MustCompile(`^[A-Z0-9]\d{7}[A-Z0-9]$`),
	"FI": regexp.MustCompile(`^\d{8}$`),
	"FR": regexp.MustCompile(`^[A-HJ-NP-Z0-9]{2}\d{9}$`),
	"HR": regexp.MustCompile(`^\d{11}$`),
	"HU": regexp.MustCompile(`^\d{8}$`),
	"IE": regexp.MustCompile(`^(\d{7}[A-W][A-I]?|\d[A-Z+*]\d{5}[A-W])$`),
	"IT": regexp.MustCompile(`^\d{11}$`),
	"LT": regexp.MustCompile(`^(\d{9}|\d{12})$`),
	"LU": regexp.MustCompile(`^\d{8}$`),
	"LV": regexp.MustCompile(`^\d{11}$`),
	"MT": regexp.MustCompile(`^\d{8}$`),
	"NL": regexp.MustCompile(`^\d{9}B\d{2}$`),
	"PL": regexp.MustCompile(`^\d{10}$`),
	"PT": regexp.MustCompile(`^\d{9}$`),
	"RO": regexp.MustCompile(`^\d{2,10}$`),
	"SE": regexp.MustCompile(`^\d{10}01$`),
	"SI": regexp.MustCompile(`^\d{8}$`),
	"SK": regexp.MustCompile(`^\d{10}$`),
}

// VATPrefix is the prefix of a country's VAT numbers (EL for Greece).
func VATPrefix(country string) string {
	c := strings.ToUpper(country)
	if c == "GR" {
		return "EL"
	}
	return c
}

// ValidVATNumber reports whether number has the format of a VAT number of
// country (ISO alpha-2): its prefix and the digits after it. Spaces, dots
// and dashes are ignored.
func ValidVATNumber(number, country string) bool {
	n := strings.ToUpper(strings.NewReplacer(" ", "", ".", "", "-", "").Replace(number))
	prefix := VATPrefix(country)
	re, ok := vatFormats[prefix]
	if !ok || !strings.HasPrefix(n, prefix) {
		return false
	}
	return re.MatchString(n[len(prefix):])
}
