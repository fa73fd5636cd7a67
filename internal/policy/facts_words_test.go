package policy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"comptoir/internal/locale"
)

// checkFactsInFrench is checkFactsWorded, and no English phrase is left in
// the French (the values the facts gave are quoted as given: the table's
// have no English words).
func checkFactsInFrench(t *testing.T, fe *FactsError) {
	t.Helper()
	checkFactsWorded(t, fe)
	fr := fe.Localize(locale.FR, translator(locale.FR))
	for _, en := range []string{"missing", " not ", "must ", "an object", "an array", "a string", "the facts", "too early", "looking for", "invalid character"} {
		if strings.Contains(fr, en) {
			t.Errorf("%s in French still says %q: %q", fe.Code, en, fr)
		}
	}
}

// checkFactsWorded checks that a facts error worded from its code says in
// English exactly what Msg (`comptoir policy eval`'s words) says, and has its
// own French.
func checkFactsWorded(t *testing.T, fe *FactsError) {
	t.Helper()
	if fe.Code == "" {
		t.Errorf("%q has no code", fe.Msg)
		return
	}
	if en := fe.Localize(locale.EN, translator(locale.EN)); en != fe.Msg {
		t.Errorf("%s in English from its code:\n got: %s\nwant: %s", fe.Code, en, fe.Msg)
	}
	fr := fe.Localize(locale.FR, translator(locale.FR))
	if fr == fe.Msg || fr == "" || strings.Contains(fr, "policy.") || strings.Contains(fr, "<no value>") || strings.Contains(fr, "%!") {
		t.Errorf("%s in French: %q", fe.Code, fr)
	}
}

// Every facts error's code, and every phrase, has its message in both
// languages.
func TestFactsMessagesExist(t *testing.T) {
	var ids []string
	for _, c := range FactsCodes() {
		ids = append(ids, "policy.facts."+c)
	}
	for _, p := range Phrases() {
		ids = append(ids, "policy.facts.phrase."+p)
	}
	for _, id := range ids {
		for _, lang := range locale.Supported {
			if !catalog.Has(lang, id) {
				t.Errorf("%s: no %s message", id, lang)
			}
		}
	}
}

// Every message facts.go gives a facts error (factsErr's format, the phrase
// unknownField names) has a code: one without would be English on a French
// page.
func TestEveryFactsErrorHasACode(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "facts.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		call, ok := node.(*ast.CallExpr)
		if !ok {
			return true
		}
		id, ok := call.Fun.(*ast.Ident)
		if !ok || (id.Name != "factsErr" && id.Name != "unknownField") || len(call.Args) < 2 {
			return true
		}
		lit, ok := call.Args[1].(*ast.BasicLit)
		if !ok {
			return true // unknownField passing its phrase on
		}
		v, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		n++
		switch id.Name {
		case "factsErr":
			if factsCodes[v] == "" {
				t.Errorf("%s: %q has no code", fset.Position(call.Pos()), v)
			}
		case "unknownField":
			if _, ok := phrasesEN[phrase(v)]; !ok {
				t.Errorf("%s: %q is no phrase", fset.Position(call.Pos()), v)
			}
		}
		return true
	})
	if n < 60 {
		t.Errorf("only %d messages found in facts.go", n)
	}
}
