package desk_test

import (
	"testing"

	"comptoir/internal/desk"
)

func TestSubjectReference(t *testing.T) {
	for subject, want := range map[string]string{
		"Re: [#T-7K3M9QXA] Commande": "T-7K3M9QXA",
		"TR: suivi #t-7k3m9qxa":      "T-7K3M9QXA",
		"#T-7K3M9QXA7":               "",
		"T-7K3M9QXA without hash":    "",
		"[#T-7K3M9QXI]":              "", // I is not Crockford
		"":                           "",
	} {
		if got := desk.SubjectReference(subject); got != want {
			t.Errorf("SubjectReference(%q) = %q, want %q", subject, got, want)
		}
	}
}
