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
	for _, k := range SyntaxKinds {
		ids = append(ids, "policy.syntax."+k)
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

// A TOML syntax error is the TOML reader's English in English (the words of
// `comptoir policy check`), and in French the kind of mistake, worded:
// before, the French page quoted the reader's English. Its column is kept
// for the page.
func TestSyntaxErrorsInFrench(t *testing.T) {
	doc := testDoc("eu", nil)
	for _, c := range []struct{ name, doc, kind string }{
		{"unclosed string", strings.Replace(doc, `window = "7d"`, `window = "7d`, 1), SyntaxStringNewline},
		{"bare word", strings.Replace(doc, `window = "7d"`, `window = seven`, 1), SyntaxValue},
		{"text after the value", strings.Replace(doc, `window = "7d"`, `window = 7d`, 1), SyntaxLineEnd},
		{"cut short", doc + "\nx = ", SyntaxEOF},
		{"unclosed table header", doc + "\n[kinds.withdrawal", SyntaxTable},
		{"key twice", strings.Replace(doc, `window = "7d"`, "window = \"7d\"\nwindow = \"8d\"", 1), SyntaxDuplicate},
		{"no equals", strings.Replace(doc, `window = "7d"`, `window "7d"`, 1), SyntaxKey},
		{"two values", strings.Replace(doc, `window = "7d"`, `window = "7d" "8d"`, 1), SyntaxLineEnd},
		{"bad escape", strings.Replace(doc, `window = "7d"`, `window = "7\q"`, 1), SyntaxEscape},
		{"bad table", doc + "\n[]\n", SyntaxTable},
		{"bad list", doc + "\nx = [1 2]\n", SyntaxList},
	} {
		_, err := Parse([]byte(c.doc))
		pe, ok := err.(*ParseError)
		if !ok || pe.Code != CodeSyntax {
			t.Errorf("%s: %v, want a syntax error", c.name, err)
			continue
		}
		if pe.Arg.Syntax != c.kind || pe.Line == 0 || pe.Column == 0 {
			t.Errorf("%s: %q is kind %q at %d:%d, want %q with its line and column", c.name, pe.Msg, pe.Arg.Syntax, pe.Line, pe.Column, c.kind)
		}
		checkErrorWorded(t, pe)
		fr := pe.Localize(locale.FR, translator(locale.FR))
		if want := "erreur de syntaxe TOML\u00a0: " + catalog.T(locale.FR, "policy.syntax."+c.kind); fr != want || strings.Contains(fr, pe.Msg) {
			t.Errorf("%s in French: %q, want %q", c.name, fr, want)
		}
	}
}
