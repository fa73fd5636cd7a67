package mail_test

import (
	"maps"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/mail"
)

// frenchSpacing finds, in French text, an ordinary space before a high
// punctuation mark (or inside guillemets) and a typewriter apostrophe:
// French puts a non-breaking space there, so that a mail reader wrapping
// the line never starts one with ":" or "?", and writes ’.
var frenchSpacing = regexp.MustCompile(`\S [:;?!»](\s|$)|« |\p{L}'\p{L}`)

func TestFrenchMailsKeepTheirPunctuationOnTheLine(t *testing.T) {
	all, err := mail.Templates()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range all["fr"] {
		subject, text, err := mail.Render("fr", kind, samples[kind])
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(subject+"\n"+text, "\n") {
			if m := frenchSpacing.FindString(line); m != "" {
				t.Errorf("fr/%s: %q in %q", kind, m, line)
			}
		}
	}
}

// A staff account may have no name: the warning then greets without one,
// as the claims' warning does, not "Hello ,".
func TestSLAWarningGreetsAnAgentWithoutAName(t *testing.T) {
	d := maps.Clone(samples["ticket_sla_warning"].(map[string]any))
	d["Name"] = ""
	for lang, want := range map[string]string{"fr": "Bonjour,\n", "en": "Hello,\n"} {
		_, text, err := mail.Render(lang, "ticket_sla_warning", d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(text, want) {
			t.Errorf("%s: %q", lang, text)
		}
	}
}
