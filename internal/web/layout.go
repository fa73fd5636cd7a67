package web

import (
	"bytes"
	"fmt"
	"html/template"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"comptoir/internal/account"
)

// The layout (templates/layout.html) is most of a page's template work
// and little of it depends on the request: its head, navigation and footer
// are the same for every visitor of a language and role. A layoutText is
// the layout rendered once through its template for one such state, cut
// where the request's values go (the holes): render writes the cut text
// around the escaped values and the page's own blocks, and html/template
// runs only for the page. layout.html stays the one source: a state's text
// comes from executing it, and a state whose text cannot be cut safely
// (a value in a context escaped otherwise than as HTML text) is rendered
// through the template as before. TestLayoutTextRendersAsTheTemplate
// compares the two for every state.

// layoutHole is a place in the layout where a request's value goes: an
// escaped string of the view (text), or a template of the page's set.
type layoutHole struct {
	name     string
	text     func(*view) string
	set      func(*view, string) // for the state's rendering
	template string
}

// layoutHoles are the layout's request-dependent values. A value the
// layout prints that is not here (or a condition not in layoutKey) would be
// baked into the text with the value the state was rendered with: the test
// renders every state with other values to catch it.
var layoutHoles = []layoutHole{
	{name: "title", text: func(v *view) string { return v.Title }, set: func(v *view, s string) { v.Title = s }},
	{name: "name", text: func(v *view) string {
		if v.User == nil {
			return ""
		}
		return v.User.Name
	}, set: func(v *view, s string) {
		if v.User != nil {
			v.User.Name = s
		}
	}},
	{name: "path", text: func(v *view) string { return v.Path }, set: func(v *view, s string) { v.Path = s }},
	{name: "flash", text: func(v *view) string { return v.Flash }, set: func(v *view, s string) { v.Flash = s }},
	{name: "head", template: "head"},
	{name: "content", template: "content"},
}

// layoutKey is what the layout's text depends on besides the language's
// messages and the store's name: whether there are errors, whether the
// purchase notice script loads, who is signed in (their role, "" for a
// visitor), and which text holes are empty (bit i for layoutHoles[i]: the
// layout may say more around a value than the value, like " · " after the
// title).
type layoutKey struct {
	lang   string
	role   string
	errors bool
	proof  bool
	empty  uint8
}

func keyOf(v *view) layoutKey {
	k := layoutKey{lang: v.Lang, errors: len(v.Errors) > 0, proof: v.ProofToast}
	if v.User != nil {
		k.role = v.User.Role
	}
	for i, h := range layoutHoles {
		if h.text != nil && h.text(v) == "" {
			k.empty |= 1 << i
		}
	}
	return k
}

// layoutPiece is fixed text followed by a hole (hole < 0 after the last).
type layoutPiece struct {
	text string
	hole int
}

// layoutText is the layout of one state, cut at its holes.
type layoutText struct{ pieces []layoutPiece }

// layouts renders and keeps each state's layoutText, on first use.
type layouts struct {
	sets   map[string]*template.Template // lang → the layout, with marks for the page's blocks
	store  view                          // what the store's views share: StoreName, messages, zone
	texts  sync.Map                      // layoutKey → *layoutText (nil: render through the template)
	logger *slog.Logger
}

// holeMark is what stands for hole i when a state is rendered: private use
// characters, which no escaper of html/template's text contexts changes,
// around a name no context changes either, then, for a text hole, the
// characters the HTML escapers replace, and some the escaper of an
// unquoted attribute's value replaces too. The cut finds each mark followed by
// those characters escaped as escapeHTML does; anywhere else the name
// shows, the value went through another escaper, and the state is refused.
const (
	markOpen  = "\ue000comptoirhole"
	markClose = "\ue001"
	markTail  = "<&'\"+> =`\x00"
)

func holeMark(i int) string { return markOpen + strconv.Itoa(i) + markClose }

func textMark(i int) string { return holeMark(i) + markTail + markClose }

// markDefinitions defines the page's blocks as their marks, for the sets
// the states are rendered with.
func markDefinitions() string {
	var b strings.Builder
	for i, h := range layoutHoles {
		if h.template != "" {
			fmt.Fprintf(&b, "{{define %q}}%s{{end}}", h.template, holeMark(i))
		}
	}
	return b.String()
}

// get returns the text of v's state, or nil when v renders through the
// template.
func (l *layouts) get(v *view) *layoutText {
	if l == nil || l.sets[v.Lang] == nil {
		return nil
	}
	k := keyOf(v)
	if t, ok := l.texts.Load(k); ok {
		return t.(*layoutText)
	}
	t, err := l.build(k)
	if err != nil && l.logger != nil {
		// A layout.html the cut cannot follow: its pages are right,
		// only slower, and TestLayoutTextRendersAsTheTemplate fails.
		l.logger.Warn("layout rendered through its template", "lang", k.lang, "role", k.role, "err", err)
	}
	l.texts.Store(k, t)
	return t
}

// build renders the layout for k with marks in its holes and cuts it.
func (l *layouts) build(k layoutKey) (*layoutText, error) {
	set, ok := l.sets[k.lang]
	if !ok {
		return nil, fmt.Errorf("layout: no language %q", k.lang)
	}
	v := l.store
	v.Lang, v.ProofToast = k.lang, k.proof
	if k.errors {
		v.Errors = map[string]string{"form": "error"}
	}
	if k.role != "" {
		v.User = &account.User{Role: k.role}
	}
	for i, h := range layoutHoles {
		if h.text != nil && k.empty&(1<<i) == 0 {
			h.set(&v, textMark(i))
		}
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, "layout", &v); err != nil {
		return nil, err
	}
	return cutLayout(buf.String())
}

// cutLayout cuts a layout rendered with marks at its holes.
func cutLayout(out string) (*layoutText, error) {
	var escapedTail bytes.Buffer
	escapeHTML(&escapedTail, markTail)
	t := &layoutText{}
	for {
		i := strings.Index(out, markOpen)
		if i < 0 {
			break
		}
		rest := out[i+len(markOpen):]
		j := strings.Index(rest, markClose)
		n, err := strconv.Atoi(rest[:max(j, 0)])
		if j < 0 || err != nil || n < 0 || n >= len(layoutHoles) {
			return nil, fmt.Errorf("layout: a hole's mark was changed: %.40q", out[i:])
		}
		rest = rest[j+len(markClose):]
		if layoutHoles[n].text != nil {
			tail := escapedTail.String() + markClose
			if !strings.HasPrefix(rest, tail) {
				return nil, fmt.Errorf("layout: %s is not escaped as HTML text: %.60q", layoutHoles[n].name, out[i:])
			}
			rest = rest[len(tail):]
		}
		t.pieces = append(t.pieces, layoutPiece{text: out[:i], hole: n})
		out = rest
	}
	if strings.Contains(out, "comptoirhole") {
		return nil, fmt.Errorf("layout: a hole's mark went through another escaper")
	}
	for _, p := range t.pieces {
		if strings.Contains(p.text, "comptoirhole") {
			return nil, fmt.Errorf("layout: a hole's mark went through another escaper")
		}
	}
	t.pieces = append(t.pieces, layoutPiece{text: out, hole: -1})
	return t, nil
}

// write renders v's page in the layout: the text, the escaped values, and
// page's blocks from its template set. hasHead tells whether the page has a
// "head" block.
func (t *layoutText) write(buf *bytes.Buffer, page *template.Template, hasHead bool, v *view) error {
	for _, p := range t.pieces {
		buf.WriteString(p.text)
		if p.hole < 0 {
			continue
		}
		h := &layoutHoles[p.hole]
		if h.text != nil {
			escapeHTML(buf, h.text(v))
			continue
		}
		if h.template == "head" && !hasHead {
			continue
		}
		if err := page.ExecuteTemplate(buf, h.template, v); err != nil {
			return err
		}
	}
	return nil
}

// escapeHTML writes s escaped as html/template escapes a string in HTML
// text, an attribute's quoted value or RCDATA (its htmlEscaper, attrEscaper
// and rcdataEscaper): NUL becomes U+FFFD and " & ' + < > references; every
// other byte is kept, invalid UTF-8 included.
func escapeHTML(buf *bytes.Buffer, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		buf.WriteString(s[last:i])
		buf.WriteString(repl)
		last = i + 1
	}
	buf.WriteString(s[last:])
}
