package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// ParseError is what is wrong with a policy document, and where: the line
// (0 when it cannot be told) and the key path, as in
//
//	line 12: kinds.non_delivery.window: "7x" is not a duration such as 7d or 168h
//
// Msg is in English, the words `comptoir policy check` prints; Code and Arg
// say the same for a page that words it in another language (Localize).
type ParseError struct {
	Line int
	// Column is where on Line a syntax error is (from 1); 0 when the
	// error is about a key's value as a whole. Error does not say it (the
	// CLI's words are fixed); a page does.
	Column int
	Path   string
	Msg    string
	Code   string
	Arg    Args
}

func (e *ParseError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxDocument bounds what Parse reads: a policy is a page of text, and a
// bound keeps a hostile upload from costing more than that.
const maxDocument = 1 << 20

// maxWindowDays bounds windows (ten years) so that every deadline stays far
// inside time.Duration's range.
const maxWindowDays = 3650

// Parse reads a policy document (TOML; the format is described in doc.go
// and at the top of default.toml). Every problem is a *ParseError naming
// the line and the key. Unknown keys are errors, not ignored: a misspelt
// "windw" must not silently leave a store with a rule it did not mean.
//
// Wording the document does not give is taken from the default policy, so a
// store can override a few reasons only; Check reports what was missing.
func Parse(data []byte) (*Policy, error) {
	p, err := parse(data)
	if err != nil {
		return nil, err
	}
	if len(p.missing) > 0 {
		def := Default()
		for r := range numRules {
			for lang := range 2 {
				if p.wording[r][lang].empty() {
					p.wording[r][lang] = def.wording[r][lang]
				}
			}
		}
	}
	return p, nil
}

// doc is a decoded document on its way to a Policy.
type doc struct {
	md   toml.MetaData
	tree map[string]any
	loc  locator
}

func parse(data []byte) (*Policy, error) {
	if len(data) > maxDocument {
		return nil, &ParseError{Code: CodeTooLarge, Arg: Args{Number: int64(len(data)), Max: maxDocument},
			Msg: fmt.Sprintf("the document is %d bytes; a policy is at most %d", len(data), maxDocument)}
	}
	if !utf8.Valid(data) {
		return nil, &ParseError{Code: CodeNotUTF8, Msg: "the document is not valid UTF-8"}
	}
	src := string(data)
	var tree map[string]any
	md, err := toml.Decode(src, &tree)
	if err != nil {
		return nil, syntaxError(err)
	}
	d := &doc{md: md, tree: tree, loc: locator{src: src}}
	if err := d.checkKeys(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	p := &Policy{Digest: hex.EncodeToString(sum[:]), source: data}
	if err := d.header(p); err != nil {
		return nil, err
	}
	for i, k := range Kinds {
		kr, err := d.kind(k)
		if err != nil {
			return nil, err
		}
		p.kinds[i] = kr
	}
	if err := d.wording(p); err != nil {
		return nil, err
	}
	if err := d.page(p); err != nil {
		return nil, err
	}
	p.id = p.Name + "@" + strconv.FormatInt(p.Version, 10)
	return p, nil
}

// syntaxError turns the TOML library's error into a ParseError.
func syntaxError(err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &ParseError{Line: pe.Position.Line, Column: pe.Position.Col, Path: pe.LastKey, Msg: pe.Message, Code: CodeSyntax,
			Arg: Args{Detail: pe.Message, Syntax: syntaxKind(pe.Message)}}
	}
	return &ParseError{Msg: err.Error(), Code: CodeSyntax, Arg: Args{Detail: err.Error(), Syntax: SyntaxOther}}
}

// The kinds of TOML syntax error, as Args.Syntax names them: the TOML
// reader's messages exist in English only, so French says which kind of
// mistake it is ("policy.syntax.<kind>").
const (
	SyntaxEOF           = "eof"
	SyntaxDuplicate     = "duplicate"
	SyntaxStringNewline = "string_newline"
	SyntaxInlineNewline = "inline_newline"
	SyntaxEscape        = "escape"
	SyntaxCharacter     = "character"
	SyntaxValue         = "value"
	SyntaxLineEnd       = "line_end"
	SyntaxKey           = "key"
	SyntaxTable         = "table"
	SyntaxList          = "list"
	SyntaxOther         = "other"
)

// SyntaxKinds are the values of Args.Syntax.
var SyntaxKinds = []string{SyntaxEOF, SyntaxDuplicate, SyntaxStringNewline, SyntaxInlineNewline, SyntaxEscape,
	SyntaxCharacter, SyntaxValue, SyntaxLineEnd, SyntaxKey, SyntaxTable, SyntaxList, SyntaxOther}

// syntaxKinds sorts the TOML reader's messages by what they contain, the
// first match deciding; one it does not know is SyntaxOther.
var syntaxKinds = []struct{ kind, in string }{
	{SyntaxEOF, "unexpected EOF"},
	{SyntaxDuplicate, "already been defined"},
	{SyntaxDuplicate, "already created"},
	{SyntaxStringNewline, "strings cannot contain newlines"},
	{SyntaxInlineNewline, "newlines not allowed within inline tables"},
	{SyntaxEscape, "escape"},
	{SyntaxEscape, "hexadecimal digits after"},
	{SyntaxCharacter, "UTF-8"},
	{SyntaxCharacter, "control character"},
	{SyntaxLineEnd, "to end with a newline"},
	{SyntaxTable, "table name"},
	{SyntaxTable, "table array name"},
	{SyntaxTable, "is not a table"},
	{SyntaxList, "comma"},
	{SyntaxList, "terminator"},
	{SyntaxKey, "key name appears blank"},
	{SyntaxKey, "keys cannot"},
	{SyntaxKey, "bare keys"},
	{SyntaxKey, "key separator"},
	{SyntaxKey, "expected '.' or '='"},
	{SyntaxKey, "unexpected '='"},
	{SyntaxKey, "unexpected '.'"},
	{SyntaxValue, "expected value"},
	{SyntaxValue, "digit"},
	{SyntaxValue, "float"},
	{SyntaxValue, "number"},
	{SyntaxValue, "datetime"},
	{SyntaxValue, "out of range"},
	{SyntaxValue, "duration"},
}

func syntaxKind(msg string) string {
	for _, k := range syntaxKinds {
		if strings.Contains(msg, k.in) {
			return k.kind
		}
	}
	return SyntaxOther
}

// errf is the ParseError of code about the key at path, with its English
// message.
func (d *doc) errf(path []string, code string, arg Args, format string, args ...any) error {
	return d.errAt(path, problem(code, arg, format, args...))
}

// errAt is the ParseError of c about the key at path.
func (d *doc) errAt(path []string, c *coded) error {
	return &ParseError{Line: d.loc.line(path), Path: strings.Join(path, "."), Msg: c.msg, Code: c.code, Arg: c.arg}
}

var topKeys = []string{"name", "version", "law", "timezone", "kinds", "wording", "page"}

var kindKeys = []string{"enabled", "window", "counting", "remedy"}

// checkKeys refuses, in document order, the first key the format does not
// have. Keys below a value that should not be a table are left to the type
// checks, which say so more clearly.
func (d *doc) checkKeys() error {
	for _, k := range d.md.Keys() {
		path := []string(k)
		switch {
		case !contains(topKeys, path[0]):
			return d.errf(path[:1], CodeUnknownKey, Args{List: strings.Join(topKeys, ", ")}, "unknown key (a policy has %s)", strings.Join(topKeys, ", "))
		case path[0] == "kinds" && len(path) >= 2:
			if Kind(path[1]).index() < 0 {
				return d.errf(path[:2], CodeUnknownKind, Args{List: kindList()}, "unknown claim kind (want %s)", kindList())
			}
			if len(path) >= 3 {
				allowed := kindKeys[:3]
				if Kind(path[1]) == NonDelivery {
					allowed = kindKeys
				}
				if !contains(allowed, path[2]) {
					return d.errf(path[:3], CodeUnknownKindKey, Args{List: strings.Join(allowed, ", ")}, "unknown key (a claim kind has %s)", strings.Join(allowed, ", "))
				}
			}
		case path[0] == "wording" && len(path) >= 3:
			name := path[1] + "." + path[2]
			if _, ok := ruleByName(name); !ok {
				return d.errf(path[:3], CodeUnknownRule, Args{Name: name}, "no rule is called %s (see the list in doc.go)", name)
			}
			if len(path) >= 4 && path[3] != "en" && path[3] != "fr" {
				return d.errf(path[:4], CodeUnknownLanguage, Args{}, "unknown language (want en and fr)")
			}
		case path[0] == "page" && len(path) >= 2:
			if !contains(pageKeys, path[1]) {
				return d.pageErrf(path[:2], CodeUnknownPageKey, Args{List: strings.Join(pageKeys, ", ")}, "unknown key (the page has %s)", strings.Join(pageKeys, ", "))
			}
		case path[0] == "wording" && len(path) == 2:
			if !isRuleGroup(path[1]) {
				return d.errf(path[:2], CodeUnknownRuleGroup, Args{Name: path[1]}, "no rules are called %s.* (see the list in doc.go)", path[1])
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func isRuleGroup(g string) bool {
	for r := range numRules {
		if strings.HasPrefix(rules[r].name, g+".") {
			return true
		}
	}
	return false
}

// value returns the value at path, whether it is there, and an error when
// a key on the way is not a table.
func (d *doc) value(path []string) (any, bool, error) {
	var cur any = d.tree
	for i, k := range path {
		t, ok := cur.(map[string]any)
		if !ok {
			return nil, false, d.errf(path[:i], CodeNotTable, Args{Type: typeOf(cur)}, "must be a table, not %s", describe(cur))
		}
		if cur, ok = t[k]; !ok {
			return nil, false, nil
		}
	}
	return cur, true, nil
}

func (d *doc) str(path []string, required bool) (string, bool, error) {
	v, ok, err := d.value(path)
	if err != nil || !ok {
		if err == nil && required {
			err = d.errf(path, CodeMissing, Args{}, "missing")
		}
		return "", false, err
	}
	s, isStr := v.(string)
	if !isStr {
		return "", false, d.errf(path, CodeNotString, Args{Type: typeOf(v)}, "must be a string, not %s", describe(v))
	}
	return s, true, nil
}

func (d *doc) table(path []string) (map[string]any, bool, error) {
	v, ok, err := d.value(path)
	if err != nil || !ok {
		return nil, false, err
	}
	t, isTable := v.(map[string]any)
	if !isTable {
		return nil, false, d.errf(path, CodeNotTable, Args{Type: typeOf(v)}, "must be a table, not %s", describe(v))
	}
	return t, true, nil
}

// describe names a TOML value's type for an error message.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a number with decimals"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date-time"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	case nil:
		return "nothing"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

func (d *doc) header(p *Policy) error {
	name, _, err := d.str([]string{"name"}, true)
	if err != nil {
		return err
	}
	if !validName(name) {
		return d.errf([]string{"name"}, CodeBadName, Args{Value: name}, "%q is not a policy name: 1 to 64 lower-case letters, digits, - or _, starting with a letter", name)
	}
	p.Name = name

	v, ok, _ := d.value([]string{"version"})
	if !ok {
		return d.errf([]string{"version"}, CodeMissing, Args{}, "missing")
	}
	n, isInt := v.(int64)
	if !isInt {
		return d.errf([]string{"version"}, CodeNotInteger, Args{Type: typeOf(v)}, "must be an integer such as 1, not %s", describe(v))
	}
	if n < 1 || n > 1<<31 {
		return d.errf([]string{"version"}, CodeBadVersion, Args{Number: n}, "%d is not a version number (1, 2, 3…)", n)
	}
	p.Version = n

	law, ok, err := d.str([]string{"law"}, false)
	if err != nil {
		return err
	}
	switch {
	case !ok:
		p.Law = LawEU // POLICY.md: eu by default
	case law == string(LawEU) || law == string(LawNone):
		p.Law = Law(law)
	default:
		return d.errf([]string{"law"}, CodeBadLaw, Args{Value: law}, "%q is not a law comptoir knows (want \"eu\" or \"none\")", law)
	}

	tz, _, err := d.str([]string{"timezone"}, true)
	if err != nil {
		return err
	}
	loc, zerr := loadZone(tz)
	if zerr != nil {
		return d.errAt([]string{"timezone"}, zerr)
	}
	p.TimeZone, p.Location = tz, loc
	return nil
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// loadZone loads an IANA zone by name, refusing "Local" (the host's zone,
// which would make a decision depend on the machine it runs on) and the
// empty name (which time.LoadLocation reads as UTC).
func loadZone(name string) (*time.Location, *coded) {
	bad := problem(CodeBadTimeZone, Args{Value: name}, "%q is not an IANA time zone such as Europe/Paris or UTC", name)
	if name == "" || name == "Local" || len(name) > 64 {
		return nil, bad
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, bad
	}
	return loc, nil
}

func (d *doc) kind(k Kind) (KindRule, error) {
	base := []string{"kinds", string(k)}
	t, ok, err := d.table(base)
	if err != nil {
		return KindRule{}, err
	}
	if !ok {
		return KindRule{}, d.errf(base, CodeKindMissing, Args{Kind: string(k)}, "missing: every claim kind needs its table, at least [kinds.%s] enabled = true or false", k)
	}
	at := func(key string) []string { return []string{"kinds", string(k), key} }
	var kr KindRule
	en, ok := t["enabled"]
	if !ok {
		return KindRule{}, d.errf(at("enabled"), CodeEnabledMissing, Args{}, "missing (true or false)")
	}
	if kr.Enabled, ok = en.(bool); !ok {
		return KindRule{}, d.errf(at("enabled"), CodeNotBoolean, Args{Type: typeOf(en)}, "must be true or false, not %s", describe(en))
	}

	kr.Window.Counting = Exact // POLICY.md: default counting is exact
	if c, ok, err := d.str(at("counting"), false); err != nil {
		return KindRule{}, err
	} else if ok {
		switch Counting(c) {
		case Exact, Calendar:
			kr.Window.Counting = Counting(c)
		default:
			return KindRule{}, d.errf(at("counting"), CodeBadCounting, Args{Value: c}, "%q is not a way of counting (want \"exact\" or \"calendar\")", c)
		}
	}

	w, ok, err := d.str(at("window"), false)
	if err != nil {
		return KindRule{}, err
	}
	switch {
	case !ok && kr.Enabled:
		return KindRule{}, d.errf(at("window"), CodeWindowMissing, Args{}, "missing (a duration such as 7d or 168h)")
	case ok:
		length, days, werr := parseWindow(w)
		if werr != nil {
			return KindRule{}, d.errAt(at("window"), werr)
		}
		kr.Window.Length, kr.Window.Days = length, days
		if kr.Window.Counting == Calendar && days == 0 {
			return KindRule{}, d.errf(at("window"), CodeCalendarDays, Args{Value: w}, "%q: calendar counting counts whole days, so write the window in days, such as 14d", w)
		}
	}

	kr.Remedy = RemedyRefund
	if k == NonDelivery {
		if r, ok, err := d.str(at("remedy"), false); err != nil {
			return KindRule{}, err
		} else if ok {
			switch Remedy(r) {
			case RemedyRefund, RemedyRedeliver:
				kr.Remedy = Remedy(r)
			default:
				return KindRule{}, d.errf(at("remedy"), CodeBadRemedy, Args{Value: r}, "%q is not a remedy (want \"refund\" or \"redeliver\")", r)
			}
		}
	}
	return kr, nil
}

// parseWindow reads "7d", "168h", "1d12h", "90m": whole numbers of days,
// hours and minutes, in that order, each at most once. It returns the
// length, and the number of days when the window is written in days only
// (what calendar counting needs). Years and months are left out on purpose:
// they are not fixed lengths, and "730d" says exactly what is meant.
func parseWindow(s string) (time.Duration, int, *coded) {
	bad := problem(CodeBadWindow, Args{Value: s}, "%q is not a duration such as 7d or 168h", s)
	units := []struct {
		c byte
		d time.Duration
	}{{'d', 24 * time.Hour}, {'h', time.Hour}, {'m', time.Minute}}
	var total time.Duration
	days, onlyDays, next := 0, true, 0
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i || j == len(s) || j-i > 7 {
			return 0, 0, bad
		}
		n, _ := strconv.Atoi(s[i:j]) // at most 7 digits: cannot fail or overflow
		u := -1
		for k := next; k < len(units); k++ {
			if units[k].c == s[j] {
				u = k
				break
			}
		}
		if u < 0 {
			return 0, 0, bad
		}
		total += time.Duration(n) * units[u].d
		if units[u].c == 'd' {
			days = n
		} else if n != 0 {
			onlyDays = false
		}
		next = u + 1
		i = j + 1
	}
	if s == "" {
		return 0, 0, bad
	}
	if total <= 0 {
		return 0, 0, problem(CodeWindowEmpty, Args{Value: s}, "%q: a window must be longer than nothing", s)
	}
	if total > maxWindowDays*24*time.Hour {
		return 0, 0, problem(CodeWindowTooLong, Args{Value: s, Max: maxWindowDays}, "%q: a window is at most %d days", s, maxWindowDays)
	}
	if !onlyDays {
		days = 0
	}
	return total, days, nil
}

func (d *doc) wording(p *Policy) error {
	if _, _, err := d.table([]string{"wording"}); err != nil {
		return err
	}
	for r := range numRules {
		group, name, _ := strings.Cut(rules[r].name, ".")
		base := []string{"wording", group, name}
		if _, _, err := d.table(base[:2]); err != nil {
			return err
		}
		t, ok, err := d.table(base)
		if err != nil {
			return err
		}
		for lang := range 2 {
			path := append(base[:3:3], langNames[lang])
			v, present := t[langNames[lang]]
			if !ok || !present {
				p.missing = append(p.missing, strings.Join(path, "."))
				continue
			}
			s, isStr := v.(string)
			if !isStr {
				return d.errf(path, CodeNotString, Args{Type: typeOf(v)}, "must be a string, not %s", describe(v))
			}
			if strings.TrimSpace(s) == "" {
				return d.errf(path, CodeEmpty, Args{}, "must not be empty")
			}
			if lang == langFR {
				s = frenchSpaces(s)
			}
			tpl, terr := parseTemplate(s, rules[r].fields)
			if terr != nil {
				return d.errAt(path, terr)
			}
			if tpl.canBeBlank() { // a plural whose chosen form says nothing
				return d.errf(path, CodeEmpty, Args{}, "must not be empty")
			}
			p.wording[r][lang] = tpl
		}
	}
	return nil
}

// locator finds the line of a key. The TOML library keeps key positions
// private, but it reports them in a ParseError when decoding a value fails;
// decoding a key's Primitive into lineProbe, which always fails, makes it
// tell us. It costs a second parse, so it runs only when a message needs a
// line.
type locator struct {
	src    string
	parsed bool
	md     toml.MetaData
	root   map[string]toml.Primitive
}

type lineProbe struct{}

var errProbe = errors.New("probe")

func (lineProbe) UnmarshalTOML(any) error { return errProbe }

// line returns the line of path, or of its nearest ancestor that has one,
// or 0.
func (l *locator) line(path []string) int {
	if !l.parsed {
		l.parsed = true
		md, err := toml.Decode(l.src, &l.root)
		if err != nil {
			return 0
		}
		l.md = md
	}
	for n := len(path); n > 0; n-- {
		if line := l.exact(path[:n]); line > 0 {
			return line
		}
		// A table that only exists through its children ([kinds.x] without
		// [kinds]) has no line of its own: use its first child's.
		for _, k := range l.md.Keys() {
			if len(k) > n && hasPrefix(k, path[:n]) {
				if line := l.exact(k); line > 0 {
					return line
				}
			}
		}
	}
	return 0
}

func hasPrefix(k toml.Key, p []string) bool {
	for i := range p {
		if k[i] != p[i] {
			return false
		}
	}
	return true
}

func (l *locator) exact(path []string) int {
	cur := l.root
	var prim toml.Primitive
	for i, k := range path {
		p, ok := cur[k]
		if !ok {
			return 0
		}
		prim = p
		if i < len(path)-1 {
			var next map[string]toml.Primitive
			if err := l.md.PrimitiveDecode(prim, &next); err != nil {
				return 0
			}
			cur = next
		}
	}
	var probe lineProbe
	var pe toml.ParseError
	if errors.As(l.md.PrimitiveDecode(prim, &probe), &pe) {
		return pe.Position.Line
	}
	return 0
}
