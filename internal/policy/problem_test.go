package policy

import (
	"slices"
	"strings"
	"testing"

	"comptoir/internal/locale"
)

var catalog = locale.MustLoad()

func translator(lang string) Translator {
	return func(id string, data map[string]any) string { return catalog.T(lang, id, data) }
}

// checkWorded checks that a problem worded from its code and arguments says
// in English exactly what Msg (the CLI's words) says, and has its own French.
func checkWorded(t *testing.T, code string, codes []string, msg string, localize func(string, Translator) string) {
	t.Helper()
	if !slices.Contains(codes, code) {
		t.Errorf("code %q (for %q) is not in the list of codes", code, msg)
		return
	}
	if en := localize(locale.EN, translator(locale.EN)); en != msg {
		t.Errorf("%s in English from its code:\n got: %s\nwant: %s", code, en, msg)
	}
	fr := localize(locale.FR, translator(locale.FR))
	if fr == msg || fr == "" || strings.HasPrefix(fr, "policy.") || strings.Contains(fr, "<no value>") || strings.Contains(fr, "%!") {
		t.Errorf("%s in French: %q", code, fr)
	}
}

func checkErrorWorded(t *testing.T, pe *ParseError) {
	t.Helper()
	checkWorded(t, pe.Code, ErrorCodes, pe.Msg, pe.Localize)
}

func checkWarningWorded(t *testing.T, w Warning) {
	t.Helper()
	checkWorded(t, w.Code, WarningCodes, w.Msg, w.Localize)
}

// Every code and every type has its message in both languages.
func TestProblemMessagesExist(t *testing.T) {
	ids := []string{}
	for _, c := range ErrorCodes {
		ids = append(ids, "policy.error."+c)
	}
	for _, c := range WarningCodes {
		ids = append(ids, "policy.warning."+c)
	}
	for _, ty := range Types {
		ids = append(ids, "policy.type."+ty)
	}
	for _, id := range ids {
		for _, lang := range locale.Supported {
			if !catalog.Has(lang, id) {
				t.Errorf("%s: no %s message", id, lang)
			}
		}
	}
}

// The French words of an error and of a type, as the admin reads them.
func TestProblemInFrench(t *testing.T) {
	_, err := Parse([]byte(strings.Replace(testDoc("eu", nil), "window = \"7d\"", "window = 7", 1)))
	pe := err.(*ParseError)
	if got, want := pe.Localize("fr-FR", translator(locale.FR)), "doit être une chaîne de caractères, pas un nombre entier"; got != want {
		t.Errorf("French: %q, want %q", got, want)
	}
	ws := Check(mustParse(t, testDoc("eu", map[Kind]string{Withdrawal: "enabled = true\nwindow = \"14d\"", NotAsDescribed: "enabled = true\nwindow = \"730d\""})))
	for _, w := range ws {
		if w.Code == CodeWithdrawalExact {
			if got := w.Localize(locale.FR, translator(locale.FR)); !strings.HasPrefix(got, "un délai exact de 14 jours ") {
				t.Errorf("French warning: %q", got)
			}
		}
	}
}
