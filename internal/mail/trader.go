package mail

import "strings"

// Trader is who a consumer writes to when withdrawing: the model
// withdrawal form (Directive 2011/83/EU, annex I(B)) is addressed to the
// trader's name, geographical address and email address, which the store
// fills in rather than leave the consumer to find.
type Trader struct {
	Name    string // the seller's legal name
	Address string // postal address, lines separated by newlines or commas
	Email   string
}

// Addressee is the form's "To …" line: the name, the address on one line
// and the email, the parts the store knows; fallback (the store's name)
// when it knows none.
func (t Trader) Addressee(fallback string) string {
	var parts []string
	var address []string
	for _, l := range strings.Split(t.Address, "\n") {
		if l = strings.Trim(strings.TrimSpace(l), ", "); l != "" {
			address = append(address, l)
		}
	}
	for _, p := range []string{strings.TrimSpace(t.Name), strings.Join(address, ", "), strings.TrimSpace(t.Email)} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return fallback
	}
	if t.Name == "" {
		parts = append([]string{fallback}, parts...)
	}
	return strings.Join(parts, ", ")
}
