package web

import (
	"slices"
	"strings"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"comptoir/internal/eu"
	"comptoir/internal/locale"
)

// signupCountries are the countries the sign-up form offers by name: the
// EU's member states, France's outermost regions, and the neighbours and
// French-speaking countries the store's customers most often live in.
// The API (and a form sent by hand) still takes any valid ISO code.
var signupCountries = []string{
	"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
	"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
	"GP", "MQ", "GF", "RE", "YT",
	"AD", "CH", "GB", "IS", "LI", "MC", "NO",
	"CA", "US", "MA", "DZ", "TN", "SN", "CI",
}

// countryOption is one country of a <select>: its ISO code, sent, and its
// name in the page's language, shown.
type countryOption struct {
	Code, Name string
	Selected   bool
}

// CountryCode names a country for an admin who also needs its code (a
// VAT filing asks for it): "Allemagne (DE)", "Germany (DE)"; "—" for none,
// the code alone when it names no country.
func (v *view) CountryCode(code string) string {
	if code == "" {
		return "—"
	}
	name := locale.CountryName(code, v.Lang)
	if name == code {
		return code
	}
	return name + " (" + code + ")"
}

// VATCountryOptions lists the EU member states, the countries a VAT rate
// is recorded for, by name and code in the page's language, the one whose
// code is selected marked; with none chosen, the first option asks for one.
func (v *view) VATCountryOptions(selected string) []countryOption {
	selected = strings.ToUpper(strings.TrimSpace(selected))
	opts := make([]countryOption, 0, len(eu.Members())+1)
	found := false
	for _, code := range eu.Members() {
		opts = append(opts, countryOption{Code: code, Name: v.CountryCode(code), Selected: code == selected})
		found = found || code == selected
	}
	v.sortOptions(opts)
	if !found {
		opts = slices.Insert(opts, 0, countryOption{Name: v.T("auth.country_choose"), Selected: true})
	}
	return opts
}

// sortOptions sorts countries by name as the page's language does.
func (v *view) sortOptions(opts []countryOption) {
	tag := language.English
	if v.Lang == locale.FR {
		tag = language.French
	}
	c := collate.New(tag)
	slices.SortFunc(opts, func(a, b countryOption) int { return c.CompareString(a.Name, b.Name) })
}

// CountryOptions lists signupCountries by name in the page's language,
// the one whose code is selected (any case) marked; a code not listed,
// sent by hand, is kept as an option of its own so that the form shown
// again still holds it (a code that names no country is not: the visitor
// is asked to choose); with none chosen, the first option asks for one.
func (v *view) CountryOptions(selected string) []countryOption {
	selected = strings.ToUpper(strings.TrimSpace(selected))
	opts := make([]countryOption, 0, len(signupCountries)+1)
	found := false
	for _, code := range signupCountries {
		opts = append(opts, countryOption{Code: code, Name: locale.CountryName(code, v.Lang), Selected: code == selected})
		found = found || code == selected
	}
	if !found && len(selected) == 2 && locale.CountryName(selected, v.Lang) != selected {
		opts = append(opts, countryOption{Code: selected, Name: locale.CountryName(selected, v.Lang), Selected: true})
		found = true
	}
	v.sortOptions(opts)
	if !found {
		// Nothing chosen yet (or a name typed by hand): a first, empty
		// choice asks for one, and the field's required refuses it.
		opts = slices.Insert(opts, 0, countryOption{Name: v.T("auth.country_choose"), Selected: true})
	}
	return opts
}
