// Package eu holds the facts about the European Union that the store's legal
// rules need: which countries are members, and where the Union's consumer
// law applies. Consumer-protection floors (withdrawal, consent before
// immediate performance) apply by where the buyer lives; VAT rules by the
// Union's VAT territory, which is smaller.
package eu

import (
	"slices"
	"strings"
)

// members are the ISO 3166-1 alpha-2 codes of the EU member states. Greece
// is "GR" here (ISO), though EU VAT numbers use the prefix "EL".
var members = map[string]bool{
	"AT": true, "BE": true, "BG": true, "CY": true, "CZ": true, "DE": true, "DK": true,
	"EE": true, "ES": true, "FI": true, "FR": true, "GR": true, "HR": true, "HU": true,
	"IE": true, "IT": true, "LT": true, "LU": true, "LV": true, "MT": true, "NL": true,
	"PL": true, "PT": true, "RO": true, "SE": true, "SI": true, "SK": true,
}

// partsWithTheirOwnCode are the parts of member states that ISO 3166-1
// codes apart from their state yet belong to the Union, so that its
// consumer law applies there as in the rest of the state: France's
// outermost regions (TFEU art. 349, 355(1)) and Åland (part of Finland).
// They are outside the Union's VAT territory (Directive 2006/112/EC art. 6),
// which is why Member, the VAT rules' test, leaves them out. The overseas
// countries and territories (New Caledonia, French Polynesia,
// Saint-Barthélemy, Saint-Pierre-et-Miquelon, Wallis and Futuna) are not
// part of the Union and are not listed.
var partsWithTheirOwnCode = map[string]bool{
	"GP": true, // Guadeloupe
	"MQ": true, // Martinique
	"GF": true, // French Guiana
	"RE": true, // Réunion
	"YT": true, // Mayotte
	"MF": true, // Saint-Martin (French part)
	"AX": true, // Åland Islands
}

// Member reports whether the country (ISO alpha-2, any case) is an EU member
// state, the test of the VAT rules: the regions listed in
// partsWithTheirOwnCode are outside the VAT territory and are not members
// here.
func Member(country string) bool { return members[strings.ToUpper(country)] }

// Members lists the member states' codes, in code order.
func Members() []string {
	out := make([]string, 0, len(members))
	for c := range members {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// ConsumerLawApplies reports whether a consumer living in the country (ISO
// alpha-2, any case) has the rights of the Union's consumer law: a member
// state, or a part of one with its own code (a consumer in Réunion has the
// same 14-day withdrawal right as one in Paris).
func ConsumerLawApplies(country string) bool {
	c := strings.ToUpper(country)
	return members[c] || partsWithTheirOwnCode[c]
}
