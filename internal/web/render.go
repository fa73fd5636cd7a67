package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"text/template/parse"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/db"
	"comptoir/internal/locale"
	"comptoir/internal/localtime"
	"comptoir/internal/money"
)

//go:embed templates
var templateFS embed.FS

// pages holds one parsed template set per page, each made of the layout and
// the page's own file: as written (byName), and per language with the plain
// messages written in (byLang, see bakeMessages).
type pages struct {
	byName map[string]*template.Template
	byLang map[string]map[string]*langPage // lang → page → set
	// hasHead: the pages with a "head" block of their own.
	hasHead map[string]bool
	// layouts is the layout's text per language and state (layout.go);
	// nil renders every page through the layout's template.
	layouts *layouts
}

// langPage is a page's set in one language, its constants folded
// (foldConstants) before its first use.
type langPage struct {
	t    *template.Template
	fold sync.Once
}

// get returns page's template set for lang.
func (p *pages) get(page, lang string) (*template.Template, bool) {
	if lp, ok := p.byLang[lang][page]; ok {
		// An escaping error stops the folding and shows when the page
		// executes, as without it.
		lp.fold.Do(func() { _ = foldConstants(lp.t, "layout") })
		return lp.t, true
	}
	t, ok := p.byName[page]
	return t, ok
}

func loadPages(st *staticFiles, messages *locale.Catalog) (*pages, error) {
	funcs := template.FuncMap{
		"static": st.URL,
		"list":   func(v ...string) []string { return v },
		// fields hands a template a group of a form's fields with the
		// page's view: {{template "product_fields" (fields . "service" "min_quantity")}}.
		"fields": func(v *view, group string, names ...string) fieldGroup { return fieldGroup{v, group, names} },
		"deref":  func(a *money.Amount) money.Amount { return *a },
		// hours is a duration in whole hours, the count a plural message
		// takes ("delivered within 1 hour", not "1 hours"), rounded up: a
		// promised time is never written shorter than it is (90 minutes
		// are "within 2 hours", not 1; 30 minutes not 0).
		"hours": func(d time.Duration) int { return int((d + time.Hour - 1) / time.Hour) },
		// fieldLang is the language a form field is for: "name_fr" → "fr".
		"fieldLang": func(field string) string {
			if i := strings.LastIndexByte(field, '_'); i >= 0 && locale.Known(field[i+1:]) {
				return field[i+1:]
			}
			return ""
		},
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}, hasHead: map[string]bool{}}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", e.Name(), err)
		}
		p.byName[name] = t
		if h := t.Lookup("head"); h != nil && h.Tree != nil && len(h.Tree.Root.Nodes) > 0 {
			p.hasHead[name] = true
		}
	}
	if messages == nil {
		return p, nil
	}
	p.byLang = make(map[string]map[string]*langPage, len(locale.Supported))
	p.layouts = &layouts{sets: make(map[string]*template.Template, len(locale.Supported))}
	for _, lang := range locale.Supported {
		l, err := template.Must(base.Clone()).Parse(markDefinitions())
		if err != nil {
			return nil, fmt.Errorf("layout: %w", err)
		}
		bakeMessages(l, lang, messages)
		p.layouts.sets[lang] = l
		p.byLang[lang] = make(map[string]*langPage, len(p.byName))
		for name, t := range p.byName {
			// Clone copies the parse trees, so each language edits its own.
			c, err := t.Clone()
			if err != nil {
				return nil, fmt.Errorf("template %s: %w", name, err)
			}
			bakeMessages(c, lang, messages)
			p.byLang[lang][name] = &langPage{t: c}
		}
	}
	return p, nil
}

// bakeMessages writes the plain messages of lang into t: each command
// {{.T "key"}} or {{$.T "key"}} whose message has no template action
// becomes the constant {{"its text"}}, which html/template then escapes for
// its context like any value. A page says "{{.T …}}" some thirty times, and
// each call cost a method lookup by name and a reflective call, most of the
// template's time. Messages with fields, keys built at run time and plurals
// are left to View.T and View.N.
func bakeMessages(t *template.Template, lang string, messages *locale.Catalog) {
	bake := func(cmd *parse.CommandNode) {
		if len(cmd.Args) != 2 || !isViewT(cmd.Args[0]) {
			return
		}
		key, ok := cmd.Args[1].(*parse.StringNode)
		if !ok {
			return
		}
		if text, ok := messages.Plain(lang, key.Text); ok {
			key.Text, key.Quoted = text, strconv.Quote(text)
			cmd.Args = cmd.Args[1:]
		}
	}
	for _, x := range t.Templates() {
		if x.Tree != nil {
			walkCommands(x.Tree.Root, bake)
		}
	}
}

// foldConstants writes into the page's text what an escaped tree of t
// prints as constants: a baked message, which html/template escapes for its
// context at every execution ({{"Panier" | _html_template_htmlescaper}}),
// a call through reflection each time. In HTML text, RCDATA and a quoted
// attribute's value a string is escaped as escapeHTML does, so the action
// becomes the escaped text; constants in other contexts (a URL, a script)
// are left to their escapers.
//
// html/template escapes a set on its first execution and offers no other
// way to do it: t executes entry ("layout") once with no data (what a
// missing value prints is zero, and nothing it calls acts), which escapes
// the layout, the page's blocks and what they call, as every page uses
// them. An escaping error is returned, and nothing folded. pages.get folds
// a set before handing it out the first time, the moment html/template
// would have escaped it: done for every page at start-up, it doubled the
// time to load the templates.
func foldConstants(t *template.Template, entry string) error {
	if err := t.ExecuteTemplate(io.Discard, entry, nil); err != nil {
		var escapeErr *template.Error
		if errors.As(err, &escapeErr) {
			return err
		}
	}
	for _, x := range t.Templates() {
		if x.Tree != nil && x.Tree.Root != nil {
			foldList(x.Tree.Root)
		}
	}
	return nil
}

// htmlTextEscapers are html/template's escapers that escape a string as
// escapeHTML does: in HTML text, in an attribute's quoted value, in RCDATA.
var htmlTextEscapers = map[string]bool{
	"_html_template_htmlescaper":   true,
	"_html_template_attrescaper":   true,
	"_html_template_rcdataescaper": true,
}

// foldList folds the constant actions of l and what it holds, and joins
// the texts that end next to each other.
func foldList(l *parse.ListNode) {
	if l == nil {
		return
	}
	nodes := l.Nodes[:0]
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			if text, ok := constantText(n.Pipe); ok {
				var b bytes.Buffer
				escapeHTML(&b, text)
				nodes = appendText(nodes, &parse.TextNode{NodeType: parse.NodeText, Pos: n.Pos, Text: b.Bytes()})
				continue
			}
		case *parse.TextNode:
			nodes = appendText(nodes, n)
			continue
		case *parse.IfNode:
			foldList(n.List)
			foldList(n.ElseList)
		case *parse.RangeNode:
			foldList(n.List)
			foldList(n.ElseList)
		case *parse.WithNode:
			foldList(n.List)
			foldList(n.ElseList)
		case *parse.ListNode:
			foldList(n)
		}
		nodes = append(nodes, n)
	}
	clear(l.Nodes[len(nodes):])
	l.Nodes = nodes
}

// appendText appends t to nodes, joined to the text nodes ends with.
func appendText(nodes []parse.Node, t *parse.TextNode) []parse.Node {
	if len(nodes) > 0 {
		if last, ok := nodes[len(nodes)-1].(*parse.TextNode); ok {
			joined := append(append(make([]byte, 0, len(last.Text)+len(t.Text)), last.Text...), t.Text...)
			nodes[len(nodes)-1] = &parse.TextNode{NodeType: parse.NodeText, Pos: last.Pos, Text: joined}
			return nodes
		}
	}
	return append(nodes, t)
}

// constantText tells whether pipe prints a string constant through one of
// htmlTextEscapers, and which.
func constantText(pipe *parse.PipeNode) (string, bool) {
	if pipe == nil || len(pipe.Decl) > 0 || len(pipe.Cmds) != 2 || len(pipe.Cmds[0].Args) != 1 || len(pipe.Cmds[1].Args) != 1 {
		return "", false
	}
	s, ok := pipe.Cmds[0].Args[0].(*parse.StringNode)
	if !ok {
		return "", false
	}
	esc, ok := pipe.Cmds[1].Args[0].(*parse.IdentifierNode)
	if !ok || !htmlTextEscapers[esc.Ident] {
		return "", false
	}
	return s.Text, true
}

// isViewT tells whether a command starts with .T or $.T.
func isViewT(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.FieldNode:
		return len(n.Ident) == 1 && n.Ident[0] == "T"
	case *parse.VariableNode:
		return len(n.Ident) == 2 && n.Ident[0] == "$" && n.Ident[1] == "T"
	}
	return false
}

// walkCommands calls f on every command that starts a pipeline under n,
// nested pipelines included (a later command of a pipeline receives the
// previous one's value, so it must stay a call).
func walkCommands(n parse.Node, f func(*parse.CommandNode)) {
	branch := func(b *parse.BranchNode) {
		walkCommands(b.Pipe, f)
		walkCommands(b.List, f)
		if b.ElseList != nil {
			walkCommands(b.ElseList, f)
		}
	}
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkCommands(c, f)
		}
	case *parse.ActionNode:
		walkCommands(n.Pipe, f)
	case *parse.TemplateNode:
		if n.Pipe != nil {
			walkCommands(n.Pipe, f)
		}
	case *parse.IfNode:
		branch(&n.BranchNode)
	case *parse.RangeNode:
		branch(&n.BranchNode)
	case *parse.WithNode:
		branch(&n.BranchNode)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for i, cmd := range n.Cmds {
			if i == 0 {
				f(cmd)
			}
			for _, a := range cmd.Args {
				walkCommands(a, f)
			}
		}
	case *parse.ChainNode:
		walkCommands(n.Node, f)
	}
}

// fieldGroup is a named group of a form's fields, with the view that
// renders them (the "fields" template function).
type fieldGroup struct {
	View  *view
	Group string
	Names []string
}

// view is what every page template receives: the page's own data plus what
// the layout needs.
type view struct {
	Lang      string
	Title     string
	User      *account.User
	Path      string // the current path, for the language switcher's return
	Flash     string
	StoreName string
	Errors    map[string]string // field → localized message
	Form      url.Values        // what the visitor typed, to fill the form again
	Data      any
	now       time.Time
	zone      localtime.Zone
	messages  *locale.Catalog
	// docs names document versions (PolicyDoc, TermsDoc); nil on the
	// cached layouts.
	docs *docNamer

	// ProofToast loads the purchase-notice script (storefront pages).
	ProofToast bool
}

// T translates a message in the page's language. Extra arguments are
// key/value pairs for the message's fields: {{.T "auth.password_too_short" "Min" 10}}.
func (v *view) T(id string, kv ...any) string { return v.messages.TPairs(v.Lang, id, kv...) }

// Money formats an amount for the page's language.
func (v *view) Money(a money.Amount) string { return money.Format(a, v.Lang) }

// Int formats a count for the page's language, grouped by thousands as
// amounts are: "1 000" (a narrow no-break space) in French, "1,000" in
// English. Quantities read "10 – 1000" beside a description's "1 000".
func (v *view) Int(n int) string { return formatInt(n, v.Lang) }

func formatInt(n int, lang string) string { return locale.Int(n, lang) }

// Size is a file's size for the page's language, as people read one:
// "512 octets", "179 Ko", "2,4 Mo" in French; "512 bytes", "179 KB",
// "2.4 MB" in English (1 KB = 1024 bytes, as file managers count).
// Every page that shows a size shows it through here.
func (v *view) Size(n int64) string { return formatSize(v.messages, n, v.Lang) }

func formatSize(m *locale.Catalog, n int64, lang string) string { return m.Size(lang, n) }

// Country names a country, given by its ISO code, in the page's language
// ("FR" → "France"; "DE" → "Allemagne", "Germany"): an address the
// customer reads ends with a name, not a code.
func (v *view) Country(code string) string { return locale.CountryName(code, v.Lang) }

// Time formats a moment for the page's language, in the store's time zone
// and naming it ("01/12/2026 00:30 CET").
func (v *view) Time(t time.Time) string { return v.zone.Time(t, v.Lang) }

// LongDate is a moment's local date in words, as a document's version is
// named: "12 mars 2026", "12 March 2026".
func (v *view) LongDate(t time.Time) string { return v.zone.LongDate(t, v.Lang) }

// Now is the request's moment, for overdue badges.
func (v *view) Now() time.Time { return v.now }

// N translates a plural message, in the form count selects; kv are more
// of the message's fields, as T's.
func (v *view) N(id string, count int, kv ...any) string {
	return v.messages.NPairs(v.Lang, id, count, kv...)
}

// Value is what the visitor typed in a field.
func (v *view) Value(field string) string { return v.Form.Get(field) }

// Invalid gives a form control the attributes that tie it to its help and,
// when its field was refused, to the message saying why (the paragraph
// "<field>-error" next to it): aria-invalid, and aria-describedby naming
// the help ids then the message, so a screen reader reads the reason when
// the control takes focus, not only where the paragraph stands.
func (v *view) Invalid(field string, helpIDs ...string) template.HTMLAttr {
	ids := helpIDs
	refused := v.Errors[field] != ""
	if refused {
		ids = append(ids[:len(ids):len(ids)], field+"-error")
	}
	if len(ids) == 0 {
		return ""
	}
	attr := ` aria-describedby="` + html.EscapeString(strings.Join(ids, " ")) + `"`
	if refused {
		attr = ` aria-invalid="true"` + attr
	}
	return template.HTMLAttr(attr)
}

// StaffOutcome words a claim's outcome for staff: the customer's wording
// speaks to the customer ("An agent proposes a solution to you", "Waiting
// for your evidence"), which the console showed agents as it was.
func (v *view) StaffOutcome(outcome any) string {
	id := fmt.Sprint(outcome)
	if v.messages.Has(v.Lang, "claim.outcome_staff."+id) {
		return v.messages.T(v.Lang, "claim.outcome_staff."+id)
	}
	return v.messages.T(v.Lang, "claim.outcome."+id)
}

// Code words a code from outside (a card network's dispute reason) with
// message prefix+code when the catalog has one, and shows the code itself
// otherwise: a code the store has not met yet is no message key on a page.
func (v *view) Code(prefix, code string) string {
	if code != "" && v.messages.Has(v.Lang, prefix+code) {
		return v.messages.T(v.Lang, prefix+code)
	}
	return code
}

// Written marks an element holding what a person wrote (a ticket's
// message, a claim's description or evidence, an agent's note), lang the
// language the store knows it in ("" when unknown). The text need not be
// in the page's language, nor in a language of the store, nor even run
// left to right, so it gives ` lang="fr" dir="auto"` (or "en") when the
// language is known, and ` lang="" dir="auto"` when it is not: HTML's
// empty lang says "unknown" where leaving it out would claim the page's
// language, and dir="auto" lets an Arabic or Hebrew message read right to
// left inside a French page. It does not say translate="no": a reader may
// want a browser to translate what a customer wrote. Every user-written
// text on the pages goes through it.
func (v *view) Written(lang string) template.HTMLAttr {
	if locale.Known(lang) {
		return template.HTMLAttr(` lang="` + lang + `" dir="auto"`)
	}
	return ` lang="" dir="auto"`
}

// LangOf marks an element holding text the store wrote in a known
// language, which need not be the page's: a product's name as an order
// recorded it in the order's language, a field meant for one language. It
// gives ` lang="fr"` or ` lang="en"`, so that a screen reader pronounces
// the text in its own language, and nothing when lang is not a language of
// the store. What people wrote is marked by Written instead.
func (v *view) LangOf(lang string) template.HTMLAttr {
	if locale.Known(lang) {
		return template.HTMLAttr(` lang="` + lang + `"`)
	}
	return ""
}

// OtherLang is the language the switcher offers.
func (v *view) OtherLang() string {
	if v.Lang == locale.FR {
		return locale.EN
	}
	return locale.FR
}

func (s *Server) newView(r *http.Request, titleKey string, data any) *view {
	st := state(r)
	v := &view{
		Lang: st.lang, User: st.user, Path: s.returnPath(r), StoreName: s.StoreName,
		Data: data, messages: s.Messages, Form: url.Values{}, now: s.Clock.Now(), zone: s.Zone,
		ProofToast: s.proofToast(r), docs: &docNamer{ctx: r.Context(), s: s},
	}
	if titleKey != "" {
		v.Title = s.Messages.T(st.lang, titleKey)
	}
	return v
}

// render writes a page. It renders into a buffer first so that a template
// error becomes a clean 500 page, never half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	t, ok := s.pages.get(page, v.Lang)
	if !ok {
		s.serverError(w, r, fmt.Errorf("no page template %q", page))
		return
	}
	if v.Flash == "" {
		v.Flash = s.takeFlash(w, r, v.Lang)
	}
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	var err error
	if lt := s.pages.layouts.get(v); lt != nil {
		err = lt.write(buf, t, s.pages.hasHead[page], v)
	} else {
		err = t.ExecuteTemplate(buf, "layout", v)
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", v.Lang)
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Cookie, Accept-Language")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderBuffers keeps page buffers between requests: a page is rendered
// whole before it is sent, and growing a fresh buffer to a page's size each
// time cost a few per cent of a product page's CPU.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putRenderBuffer returns a buffer to the pool, unless an unusually large
// page grew it (it would stay allocated for the small ones).
func putRenderBuffer(b *bytes.Buffer) {
	if b.Cap() > 256<<10 {
		return
	}
	b.Reset()
	renderBuffers.Put(b)
}

// renderError shows an error page in the visitor's language.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, messageKey string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeError(w, status, apiCode(status), s.Messages.T(state(r).lang, messageKey))
		return
	}
	data := map[string]any{"Status": status, "Message": s.Messages.T(state(r).lang, messageKey)}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// A form's refusal (sent from another site, too large, too
		// often…) leads back to the form's page, where it can be sent
		// again: "reload the page" reloaded this answer.
		if back := s.returnPath(r); back != "/" {
			data["Back"] = back
		}
	}
	v := s.newView(r, "", data)
	v.Title = s.Messages.T(v.Lang, "error.title", map[string]any{"Status": status})
	s.render(w, r, status, "error", v)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	// A page's address asked with a method it does not take (a form's
	// address opened from the history or a link, as /balance/topup, which
	// takes POST only) is there: 405 with Allow, saying the form must be
	// sent from its page, and leading to that page. Before, "Page not
	// found: it does not exist or has moved".
	if allow := s.methodsBesides(r, "/"); allow != "" {
		w.Header().Set("Allow", allow)
		data := map[string]any{"Status": http.StatusMethodNotAllowed, "Message": s.Messages.T(st.lang, "error.method_not_allowed.page")}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// A page that is only read: open it.
			data["Message"] = s.Messages.T(st.lang, "error.method_not_allowed.read")
		} else if back := s.formPageOf(r.URL.EscapedPath()); back != "/" {
			data["Back"] = back
		}
		v := s.newView(r, "", data)
		v.Title = s.Messages.T(v.Lang, "error.title", map[string]any{"Status": http.StatusMethodNotAllowed})
		s.render(w, r, http.StatusMethodNotAllowed, "error", v)
		return
	}
	v := s.newView(r, "error.not_found.title", map[string]any{"Status": http.StatusNotFound, "Message": s.Messages.T(st.lang, "error.not_found.body")})
	s.render(w, r, http.StatusNotFound, "error", v)
}

func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		s.Logger.Error("request failed", "method", r.Method, "path", loggedPath(r.URL.Path), "err", err)
	}
	// A request past its budget (a silent connection, a writer locked by
	// another process) is the database not answering in time, whatever
	// error the driver made of its interruption.
	if db.IsUnavailable(err) || errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		s.storageUnavailable(w, r)
		return
	}
	// A transaction PostgreSQL kept aborting for conflicts with
	// concurrent ones (deadlocks), though db.Tx ran it again: nothing was
	// written, and in a moment it will most likely go through. Before, a
	// 500, as if the store were broken.
	if db.IsConflict(err) {
		s.unavailable(w, r, "1", "error.conflict")
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeError(w, http.StatusInternalServerError, "internal", s.Messages.T(state(r).lang, "error.internal"))
		return
	}
	// A plain page without templates: the template system may be what
	// broke. It still says its language and leads back to the store.
	lang := state(r).lang
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", lang)
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<!doctype html><html lang="%s"><meta charset="utf-8"><title>500</title><p>%s</p><p><a href="/">%s</a></p></html>`,
		lang, template.HTMLEscapeString(s.Messages.T(lang, "error.internal")), template.HTMLEscapeString(s.Messages.T(lang, "nav.home")))
}

// secretPaths are the routes whose next path segment is a bearer secret:
// whoever holds a reset, survey or guest ticket link's token can use it.
var secretPaths = []string{"/reset/", "/survey/", "/support/t/"}

// loggedPath is a request path as logs may keep it: the token of a
// secret-bearing link is replaced by "{token}". Logs are read, shipped and
// kept by more people, for longer, than the links they would reveal.
func loggedPath(path string) string {
	for _, prefix := range secretPaths {
		if rest, ok := strings.CutPrefix(path, prefix); ok && rest != "" {
			_, tail, more := strings.Cut(rest, "/")
			if more {
				return prefix + "{token}/" + tail
			}
			return prefix + "{token}"
		}
	}
	return path
}

// storageUnavailable answers a request the database could not take (full,
// read-only): 503, nothing was written, the client may try again later.
func (s *Server) storageUnavailable(w http.ResponseWriter, r *http.Request) {
	s.unavailable(w, r, "60", "error.storage_unavailable")
}

// unavailable answers 503 with Retry-After (seconds) and the message: the
// API's error (its code storage_unavailable: nothing was written, try
// again), or the store's page in the visitor's language.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, retryAfter, messageKey string) {
	msg := s.Messages.T(state(r).lang, messageKey)
	w.Header().Set("Retry-After", retryAfter)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeError(w, http.StatusServiceUnavailable, "storage_unavailable", msg)
		return
	}
	// The templates work: the store's page, in the visitor's language, with
	// its links on.
	v := s.newView(r, "", map[string]any{"Status": http.StatusServiceUnavailable, "Message": msg})
	v.Title = s.Messages.T(v.Lang, "error.title", map[string]any{"Status": http.StatusServiceUnavailable})
	s.render(w, r, http.StatusServiceUnavailable, "error", v)
}

// badForm answers a request whose form could not be read: 413 when too
// large, 400 otherwise.
func (s *Server) badForm(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		s.renderError(w, r, http.StatusRequestEntityTooLarge, "error.too_large")
		return
	}
	s.renderError(w, r, http.StatusBadRequest, "error.bad_request")
}

// flash messages survive one redirect in a short-lived cookie holding a
// message id, which is checked against the catalog before display.
func (s *Server) flash(w http.ResponseWriter, messageKey string) {
	s.setCookie(w, flashCookie, messageKey, 60)
}

func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request, lang string) string {
	c, err := r.Cookie(flashCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	s.clearCookie(w, flashCookie)
	if !s.Messages.Has(lang, c.Value) {
		return ""
	}
	return s.Messages.T(lang, c.Value)
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// formPages names the page of a form whose action is no page of its own
// and lies under none: the checkout's form is on the cart.
var formPages = map[string]string{"/checkout": "/cart"}

// returnPath is the page a request stands for, where the language switcher
// and a sign-in come back to: for a GET the request itself; for a form's
// POST, whose URI may be no page at all (/orders/{id}/claims answers POST
// only), the page the form is on, or the nearest page above it. Without
// it, switching language on a refused form's answer, or signing in again
// after a form sent with an expired session, landed on "Page not found".
func (s *Server) returnPath(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return r.URL.RequestURI()
	}
	return s.formPageOf(r.URL.EscapedPath())
}

// formPageOf is the page of a form sent to p: formPages's, or the nearest
// page above p.
func (s *Server) formPageOf(p string) string {
	if page, ok := formPages[p]; ok {
		return page
	}
	for ; p != "/" && p != "." && p != ""; p = path.Dir(p) {
		if s.isPage(p) {
			return p
		}
	}
	return "/"
}

// isPage reports whether a GET of p reaches a page's route rather than the
// catch-all "not found".
func (s *Server) isPage(p string) bool {
	u, err := url.Parse(p)
	if err != nil {
		return false
	}
	_, pattern := s.mux.Handler(&http.Request{Method: http.MethodGet, URL: u, Host: "localhost"})
	return pattern != "" && pattern != "/" && pattern != "/api/" && !strings.HasPrefix(pattern, "GET /api/")
}

// safeNext keeps a post-sign-in redirect on this site: a path, never a
// scheme-relative or absolute URL that would send the visitor elsewhere.
// Browsers drop tabs and line breaks from a URL and read a backslash as a
// slash, so "/\t/evil.example" or "/\\evil.example" lands on another site:
// a next holding any control character or backslash is refused whole, and
// what is left must parse as a bare path.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}
