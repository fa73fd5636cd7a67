package web

import (
	"bytes"
	"html/template"
	"maps"
	"net/url"
	"slices"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/locale"
	"comptoir/internal/localtime"
)

// The layout's text cut per state (layout.go) renders every page byte for
// byte as the layout's template does, in every language, for visitors and
// each role, with and without errors, flash, title and purchase notice,
// with values that need escaping: the text cannot drift from layout.html.
func TestLayoutTextRendersAsTheTemplate(t *testing.T) {
	st, err := loadStatic()
	if err != nil {
		t.Fatal(err)
	}
	messages := locale.MustLoad()
	p, err := loadPages(st, messages)
	if err != nil {
		t.Fatal(err)
	}
	const store = `L'atelier <"&+">`
	p.layouts.store = view{StoreName: store, messages: messages, zone: localtime.UTC}
	hostile := []string{"<b>\"O'Brien\" & co + 1 = 2</b>\x00\xff` x", "Zoé ✓ {{.Title}} \ue000comptoirhole0\ue001"}
	// The pages render here with a Data of one field: those whose
	// template needs more are left out, but the error page and the pages
	// with a head block of their own must be among those compared. Each
	// state renders the error page, those with a head block and, in turn,
	// one of the others.
	compared := map[string]int{}
	var heads, others []string
	for _, page := range slices.Sorted(maps.Keys(p.byName)) {
		if p.hasHead[page] {
			heads = append(heads, page)
		} else if page != "error" {
			others = append(others, page)
		}
	}
	turn := 0
	for _, lang := range locale.Supported {
		for _, role := range []string{"", account.RoleCustomer, account.RoleAgent, account.RoleAdmin} {
			for mask := range 1 << 6 {
				for _, value := range hostile {
					v := p.testView(lang, role, map[string]any{"Message": value})
					v.ProofToast = mask&1 != 0
					if mask&2 != 0 {
						v.Errors = map[string]string{"quantity": value}
					}
					if mask&4 != 0 {
						v.Title = value
					}
					if mask&8 != 0 && v.User != nil {
						v.User.Name = value
					}
					if mask&16 != 0 {
						v.Flash = value
					}
					v.Path = "/shop/x?q=" + url.QueryEscape(value)
					if mask&32 != 0 {
						v.Path = value
					}
					lt := p.layouts.get(v)
					if lt == nil {
						k := keyOf(v)
						_, err := p.layouts.build(k)
						t.Fatalf("%+v renders through the template: %v", k, err)
					}
					turn++
					for _, page := range append([]string{"error", others[turn%len(others)]}, heads...) {
						tmpl, _ := p.get(page, lang)
						var want, got bytes.Buffer
						if err := tmpl.ExecuteTemplate(&want, "layout", v); err != nil {
							continue
						}
						compared[page]++
						if err := lt.write(&got, tmpl, p.hasHead[page], v); err != nil {
							t.Fatal(err)
						}
						if got.String() != want.String() {
							t.Fatalf("%s, %s, role %q, state %06b: the layout's text renders\n%s\nthe template\n%s", page, lang, role, mask, got.String(), want.String())
						}
					}
				}
			}
		}
	}
	if compared["error"] != turn || !slices.ContainsFunc(heads, func(page string) bool { return compared[page] > 0 }) || len(compared) < len(others)/2 {
		t.Fatalf("pages compared: %v; want the error page in every state, a page with a head block (%v), and most others", compared, heads)
	}
}

// testView is a page's view as newView makes it, without a request.
func (p *pages) testView(lang, role string, data any) *view {
	v := p.layouts.store
	v.Lang, v.Data, v.Form, v.now = lang, data, url.Values{}, time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	if role != "" {
		v.User = &account.User{ID: "usr_1", Role: role, Name: "Camille", Language: lang}
	}
	return &v
}

// A layout whose value lands where html/template escapes it otherwise than
// as HTML text (a URL, a script, an unquoted attribute) is not cut: its
// pages go through the template.
func TestLayoutTextRefusesOtherContexts(t *testing.T) {
	for _, src := range []string{
		`<a href="{{.Title}}">x</a>`,
		`<a href="/x?q={{.Title}}">x</a>`,
		`<script>var t = {{.Title}};</script>`,
		`<p title={{.Title}}>x</p>`,
		`<style>p { font-family: "{{.Title}}" }</style>`,
	} {
		var out bytes.Buffer
		v := &view{}
		layoutHoles[0].set(v, textMark(0))
		if err := mustParse(t, src).Execute(&out, v); err != nil {
			t.Fatal(err)
		}
		if lt, err := cutLayout(out.String()); err == nil {
			t.Errorf("%s: cut as %+v", src, lt.pieces)
		}
	}
	var out bytes.Buffer
	v := &view{}
	layoutHoles[0].set(v, textMark(0))
	if err := mustParse(t, `<title>{{.Title}}</title><p class="{{.Title}}">{{.Title}}</p>`).Execute(&out, v); err != nil {
		t.Fatal(err)
	}
	if lt, err := cutLayout(out.String()); err != nil || len(lt.pieces) != 4 {
		t.Errorf("HTML text, RCDATA and a quoted attribute: %v, %v", lt, err)
	}
}

func mustParse(t *testing.T, src string) *template.Template {
	t.Helper()
	tmpl, err := template.New("layout").Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}
