// Package fielderr words the errors of refused input for logs: every domain
// has a ValidationError of its own (the web layer tells them apart), and
// they all describe themselves the same way.
package fielderr

import (
	"slices"
	"strings"
)

// Message is "<domain>: invalid <field>: <code>, …" with the fields in
// name order, so the same refusal always reads the same.
func Message(domain string, fields map[string]string) string {
	parts := make([]string, 0, len(fields))
	for f, code := range fields {
		parts = append(parts, f+": "+code)
	}
	if len(parts) == 0 {
		return domain + ": invalid input"
	}
	slices.Sort(parts)
	return domain + ": invalid " + strings.Join(parts, ", ")
}
