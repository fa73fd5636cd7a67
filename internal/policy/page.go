package policy

import (
	"fmt"
	"strings"
	"time"
)

// The policy page: the text customers read before they buy and whenever
// they look the policy up (the [page] table of a document). It lives in the
// same document as the rules, under the same name@version, so that the page
// an order's customer accepted is exactly the one published with the rules
// that decide their claims.

// page is one language of the page, ready to render: the placeholders are
// expanded and the French spacing applied at Parse time, since a Policy
// never changes.
type page struct {
	title      string
	paragraphs []string
}

// pageKeys are the keys of [page], in the order messages list them.
var pageKeys = []string{"title_en", "title_fr", "en", "fr"}

// Page returns the policy page in lang: its title and its paragraphs, plain
// text, in order. lang is a language tag; "fr", "fr-FR", "FR"… give French,
// anything else English (the store's fallback language, as in the catalog).
// The slice is the caller's to keep or change.
func (p *Policy) Page(lang string) (title string, paragraphs []string) {
	pg := p.page[langEN]
	if isFrench(lang) {
		pg = p.page[langFR]
	}
	return pg.title, append([]string(nil), pg.paragraphs...)
}

func isFrench(lang string) bool {
	return len(lang) >= 2 && strings.EqualFold(lang[:2], "fr") && (len(lang) == 2 || lang[2] == '-' || lang[2] == '_')
}

// page reads [page]. It runs after the kinds, because the page's
// {window.<kind>} placeholders are expanded from them.
func (d *doc) page(p *Policy) error {
	base := []string{"page"}
	t, ok, err := d.table(base)
	if err != nil {
		return err
	}
	if !ok {
		return d.errf(base, CodePageMissing, Args{List: strings.Join(pageKeys, ", ")}, "missing: the page customers read, a [page] table with %s", strings.Join(pageKeys, ", "))
	}
	for lang := range 2 {
		titlePath := []string{"page", "title_" + langNames[lang]}
		title, err := d.pageString(t, titlePath)
		if err != nil {
			return err
		}
		if strings.ContainsAny(title, "\r\n") {
			return d.pageErrf(titlePath, CodeMultiLine, Args{}, "must be one line")
		}
		bodyPath := []string{"page", langNames[lang]}
		body, err := d.pageString(t, bodyPath)
		if err != nil {
			return err
		}
		text, err := d.expandPage(p, bodyPath, body, lang)
		if err != nil {
			return err
		}
		title = strings.TrimSpace(title)
		if lang == langFR {
			title, text = frenchSpaces(title), frenchSpaces(text)
		}
		p.page[lang] = page{title: title, paragraphs: splitParagraphs(text)}
	}
	return nil
}

// pageString returns a required, non-blank string of [page].
func (d *doc) pageString(t map[string]any, path []string) (string, error) {
	v, ok := t[path[1]]
	if !ok {
		return "", d.errf(path, CodePageTextMissing, Args{List: strings.Join(pageKeys, ", ")}, "missing: the page needs a title and a text in both languages (%s)", strings.Join(pageKeys, ", "))
	}
	s, isStr := v.(string)
	if !isStr {
		return "", d.pageErrf(path, CodeNotString, Args{Type: typeOf(v)}, "must be a string, not %s", describe(v))
	}
	if strings.TrimSpace(s) == "" {
		return "", d.pageErrf(path, CodeEmpty, Args{}, "must not be empty")
	}
	return s, nil
}

// expandPage replaces each {window.<kind>} with that window in words, in
// lang, and "{{" "}}" with literal braces. A window is taken from the rules
// rather than typed in the text so that the page can never announce a
// deadline the engine does not apply; for the same reason a placeholder that
// has no true answer (a disabled kind, withdrawal where no law gives it) is
// an error, not a blank.
func (d *doc) expandPage(p *Policy, path []string, s string, lang int) (string, error) {
	var b strings.Builder
	b.Grow(len(s) + 64)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			b.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			b.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(s[i+1:], '}')
			if nl := strings.IndexByte(s[i+1:], '\n'); end < 0 || (nl >= 0 && nl < end) {
				return "", d.pageErr(path, s[i:i+1+lineEnd(s[i+1:])], problem(CodeUnclosedBrace, Args{}, "a { is never closed (write {{ for a literal brace)"))
			}
			name := s[i+1 : i+1+end]
			k, isWindow := strings.CutPrefix(name, "window.")
			if !isWindow || Kind(k).index() < 0 {
				return "", d.pageErr(path, "{"+name+"}", problem(CodeBadPlaceholder, Args{Name: name, List: pagePlaceholders()},
					"{%s} is not a placeholder (the page has %s)", name, pagePlaceholders()))
			}
			w, werr := p.pageWindow(Kind(k))
			if werr != nil {
				werr.msg = "{" + name + "}: " + werr.msg
				werr.arg.Name = name
				return "", d.pageErr(path, "{"+name+"}", werr)
			}
			writeWindow(&b, w, lang)
			i += end + 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func lineEnd(s string) int {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return i
	}
	return len(s)
}

// pageErr is a ParseError about a piece of the page's text. A page is many
// lines long, so the message points at the line of the piece (the first
// line at or after the key that contains it) rather than at the key.
func (d *doc) pageErr(path []string, piece string, c *coded) error {
	line := d.keyLine(path)
	if line > 0 {
		lines := strings.Split(d.loc.src, "\n")
		for n := line - 1; n < len(lines); n++ {
			if strings.Contains(lines[n], piece) {
				line = n + 1
				break
			}
		}
	}
	return &ParseError{Line: line, Path: strings.Join(path, "."), Msg: c.msg, Code: c.code, Arg: c.arg}
}

// keyLine is the line where the key at path is written. The locator gives
// the line where a value ends, which for a multi-line page text is its
// closing """; an author looks for the key, so walk back to the line that
// assigns it ("en = ", or "page.en = " at the top level).
func (d *doc) keyLine(path []string) int {
	line := d.loc.line(path)
	if line <= 0 {
		return line
	}
	lines := strings.Split(d.loc.src, "\n")
	key := path[len(path)-1]
	for n := min(line, len(lines)) - 1; n >= 0; n-- {
		l := strings.TrimSpace(lines[n])
		l = strings.TrimPrefix(l, "page.")
		if rest, ok := strings.CutPrefix(l, key); ok && strings.HasPrefix(strings.TrimSpace(rest), "=") {
			return n + 1
		}
	}
	return line
}

// pageErrf is errf for the keys of [page], at the line of the key.
func (d *doc) pageErrf(path []string, code string, arg Args, format string, args ...any) error {
	return &ParseError{Line: d.keyLine(path), Path: strings.Join(path, "."), Msg: fmt.Sprintf(format, args...), Code: code, Arg: arg}
}

func pagePlaceholders() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = "{window." + string(k) + "}"
	}
	return strings.Join(names, ", ")
}

// pageWindow is the window the page may announce for kind k: the one
// Evaluate applies.
//
// Withdrawal is the law's, not the store's (see Evaluate): under law "eu" a
// consumer has the longer of the statutory 14 calendar days and the
// policy's window, whatever [kinds.withdrawal] says, and under law "none"
// nobody has it. A policy window counts as longer only when it is longer
// for every order: more calendar days, or an exact span of at least 15 days
// and an hour (the 14th calendar day can end up to 15 days after the order,
// one hour more across a DST change). In between, the engine sometimes
// grants a little more than 14 calendar days and never less, so the page
// announces the 14 days, the promise that always holds.
func (p *Policy) pageWindow(k Kind) (Window, *coded) {
	kr := p.Kind(k)
	if k == Withdrawal {
		if p.Law != LawEU {
			return Window{}, problem(CodeNoWithdrawal, Args{Value: string(p.Law)}, "under law = %q nobody has a right of withdrawal, so the page cannot give its window", p.Law)
		}
		statutory := Window{Counting: Calendar, Days: withdrawalDays}
		switch {
		case !kr.Enabled:
		case kr.Window.Counting == Calendar && kr.Window.Days > withdrawalDays:
			return kr.Window, nil
		case kr.Window.Counting == Exact && kr.Window.Length >= (withdrawalDays+1)*24*time.Hour+time.Hour:
			return kr.Window, nil
		}
		return statutory, nil
	}
	if !kr.Enabled {
		return Window{}, problem(CodeKindDisabled, Args{Kind: string(k)}, "kinds.%s is disabled, so the page cannot announce a window for it", k)
	}
	return kr.Window, nil
}

// splitParagraphs cuts plain text into paragraphs at blank lines. The lines
// of one paragraph are joined with a space, so that an author can wrap a
// long paragraph in the document without the wrapping showing on the page.
func splitParagraphs(s string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = cur[:0]
		}
	}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line) // also drops the \r of CRLF text
		if line == "" {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return out
}
