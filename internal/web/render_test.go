package web

import (
	"bytes"
	"html/template"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/locale"
)

// Baking plain messages into a language's templates, then folding the
// constants into the text once escaped, changes no byte of what a page
// says, in any context html/template escapes for, and leaves alone what
// must stay a call (fields, keys built at run time, a T fed by a pipe,
// unknown keys) and the constants escaped otherwise than as HTML text.
func TestBakeMessagesRendersAsTheCalls(t *testing.T) {
	messages := locale.MustLoad()
	const src = `{{define "page"}}<title>{{.T "footer.terms"}} · {{"Zoé & <co>"}}</title>
<p title="{{.T "footer.terms"}}">{{.T "footer.terms"}}</p>
<a href="/x?q={{.T "footer.terms"}}">{{$.T "nav.home"}}</a> <p class={{.T "footer.terms"}}>x</p>
{{with .Data}}{{$.T "nav.home"}} {{$.T (print "nav." .)}}{{end}}
{{.T "ticket.due_by" "Time" "today"}} {{.T "no.such.key"}} {{"x" | printf "%s-%s" (.T "nav.home")}}
{{if eq (.T "nav.home") "Home"}}english{{else}}{{"other <'+'>"}}{{end}}
<textarea>{{.T "footer.terms"}}</textarea>
<script>var s = {{.T "footer.terms"}};</script>{{end}}`
	for _, lang := range locale.Supported {
		plain := template.Must(template.New("t").Parse(src))
		baked := template.Must(template.Must(template.New("t").Parse(src)).Clone())
		bakeMessages(baked, lang, messages)
		if tree := baked.Lookup("page").Tree.Root.String(); strings.Contains(tree, `.T "footer.terms"`) || strings.Contains(tree, `$.T "nav.home"`) ||
			!strings.Contains(tree, `.T "ticket.due_by" "Time" "today"`) || !strings.Contains(tree, `.T "no.such.key"`) {
			t.Errorf("%s: baked tree\n%s", lang, tree)
		}
		if err := foldConstants(baked, "page"); err != nil {
			t.Fatal(err)
		}
		terms := messages.T(lang, "footer.terms")
		if tree := baked.Lookup("page").Tree.Root.String(); strings.Count(tree, "_html_template_htmlescaper") != 4 || strings.Count(tree, "_html_template_attrescaper") != 1 ||
			strings.Contains(tree, "_html_template_rcdataescaper") || strings.Count(tree, `{{"`+terms+`" |`) != 3 || !strings.Contains(tree, "Zoé &amp; &lt;co&gt;") {
			// Left: the message with a field, the key built by print,
			// the unknown key and the pipe in text; the URL's, the
			// unquoted attribute's and the script's constants.
			t.Errorf("%s: folded tree\n%s", lang, tree)
		}
		v := &view{Lang: lang, messages: messages, Form: url.Values{}, Data: "shop"}
		var want, got bytes.Buffer
		if err := plain.ExecuteTemplate(&want, "page", v); err != nil {
			t.Fatal(err)
		}
		if err := baked.ExecuteTemplate(&got, "page", v); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: baked\n%s\nwant\n%s", lang, got.String(), want.String())
		}
		if !strings.Contains(got.String(), messages.T(lang, "nav.shop")) || !strings.Contains(got.String(), messages.T(lang, "footer.terms")) {
			t.Errorf("%s: messages missing from\n%s", lang, got.String())
		}
	}
}

// The token of a password reset, survey or guest ticket link never reaches
// the logs: whoever reads them could use the link.
func TestLoggedPathHidesLinkTokens(t *testing.T) {
	for in, want := range map[string]string{
		"/reset/Zq8s-secret":                    "/reset/{token}",
		"/survey/abc123":                        "/survey/{token}",
		"/support/t/tok_9f8e":                   "/support/t/{token}",
		"/support/t/tok_9f8e/attachments/att_1": "/support/t/{token}/attachments/att_1",
		"/reset":                                "/reset",
		"/reset/":                               "/reset/",
		"/orders/ord_1":                         "/orders/ord_1",
		"/api/v1/claims/clm_1/decision":         "/api/v1/claims/clm_1/decision",
		"/support/tickets/tck_1":                "/support/tickets/tck_1",
	} {
		if got := loggedPath(in); got != want {
			t.Errorf("loggedPath(%q) = %q, want %q", in, got, want)
		}
	}
}
