// Package eu holds the facts about the European Union that the store's legal
// rules need: which countries are members. Consumer-protection floors
// (withdrawal, consent before immediate performance) and VAT rules apply by
// the buyer's country.
package eu

import "strings"

// members are the ISO 3166-1 alpha-2 codes of the EU member states. Greece
// is "GR" here (ISO), though EU VAT numbers use the prefix "EL".
var members = map[string]bool{
	"AT": true, "BE": true, "BG": true, "CY": true, "CZ": true, "DE": true, "DK": true,
	"EE": true, "ES": true, "FI": true, "FR": true, "GR": true, "HR": true, "HU": true,
	"IE": true, "IT": true, "LT": true, "LU": true, "LV": true, "MT": true, "NL": true,
	"PL": true, "PT": true, "RO": true, "SE": true, "SI": true, "SK": true,
}

// Member reports whether the country (ISO alpha-2, any case) is an EU member
// state.
func Member(country string) bool { return members[strings.ToUpper(country)] }
