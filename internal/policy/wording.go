package policy

import (
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"

	"comptoir/internal/localtime"
)

// Languages of the customer wording, as indexes into a Policy's templates.
const (
	langEN = 0
	langFR = 1
)

var langNames = [2]string{langEN: "en", langFR: "fr"}

// template is a customer text with {field} placeholders, split once at
// Parse time so that rendering a decision is a few string copies.
type template struct {
	parts []part
	size  int // total length of the literal parts, to size the output
}

type part struct {
	lit     string
	f       field
	isField bool
	// plural, when set, makes the part a choice of text by the number
	// field f holds: {delivered, plural, one {…} other {…}}.
	plural *pluralChoice
}

// pluralChoice is the choice of a text by a count, with the forms of the CLDR
// plural rules (golang.org/x/text/feature/plural): a language's rules say
// which form a number takes (in French 0 and 1 take "one", in English only
// 1 does), so a document says "a été livré" and "ont été livrés" once each
// and never spells out which numbers take which. An exact form (=0) wins
// over the rules; a form the language's rules give but the text leaves out
// falls back to other, which is required.
type pluralChoice struct {
	exact []exactForm
	forms [numPluralForms]*template // by plural.Form; nil where not given
}

type exactForm struct {
	n int64
	t template
}

// numPluralForms is the number of CLDR plural forms (plural.Other … Many).
const numPluralForms = int(plural.Many) + 1

// pluralForms names the forms as a document writes them, by plural.Form.
var pluralForms = [numPluralForms]string{
	plural.Other: "other", plural.Zero: "zero", plural.One: "one",
	plural.Two: "two", plural.Few: "few", plural.Many: "many",
}

// pluralTags are the languages whose plural rules choose the forms, by
// langEN / langFR.
var pluralTags = [2]language.Tag{langEN: language.English, langFR: language.French}

// countFields are the fields a plural may choose its form by: the counts.
// Amounts, times and spans are not counts (their wording is the engine's).
var countFields = fields(fieldOrdered, fieldDelivered, fieldUndelivered) &^ fields()

// maxPluralDepth bounds plurals inside plurals, so that a hostile document
// cannot make parsing recurse without end.
const maxPluralDepth = 4

// choose returns the text for n in language lang.
func (p *pluralChoice) choose(n int64, lang int) *template {
	for i := range p.exact {
		if p.exact[i].n == n {
			return &p.exact[i].t
		}
	}
	if n < 0 { // never for a count Validate accepts; the rules index by n
		n = -n
	}
	form := plural.Cardinal.MatchPlural(pluralTags[lang], int(n), 0, 0, 0, 0)
	if t := p.forms[form]; t != nil {
		return t
	}
	return p.forms[plural.Other]
}

// parseTemplate splits s into literal text and {field} placeholders, and
// refuses a placeholder that is not in allowed: a reason must never render
// with a hole in it, so a field the engine does not fill for that reason is
// a document error, not a blank at run time. "{{" and "}}" stand for
// literal braces. {count, plural, one {…} other {…}} chooses a text by a
// count (see plural).
func parseTemplate(s string, allowed fieldSet) (template, *coded) {
	return parseTemplateDepth(s, allowed, 0)
}

func parseTemplateDepth(s string, allowed fieldSet, depth int) (template, *coded) {
	var t template
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{lit: lit.String()})
			t.size += lit.Len()
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexAny(s[i+1:], "},")
			if end < 0 {
				return template{}, problem(CodeUnclosedBrace, Args{}, "a { is never closed (write {{ for a literal brace)")
			}
			name := s[i+1 : i+1+end]
			f, ok := fieldByName(name)
			if !ok {
				return template{}, problem(CodeUnknownField, Args{Name: name, List: describeFields(allowed)}, "{%s} is not a field (this reason has %s)", name, describeFields(allowed))
			}
			if !allowed.has(f) {
				return template{}, problem(CodeUnavailableField, Args{Name: name, List: describeFields(allowed)}, "{%s} is not available in this reason (it has %s)", name, describeFields(allowed))
			}
			flush()
			if s[i+1+end] == '}' {
				t.parts = append(t.parts, part{f: f, isField: true})
				i += end + 1
				continue
			}
			if !countFields.has(f) {
				list := describeFields(countFields)
				return template{}, problem(CodePluralNotCount, Args{Name: name, List: list}, "{%s} is not a count: a plural form is chosen by one of %s", name, list)
			}
			pl, n, perr := parsePlural(s[i+1+end+1:], name, allowed, depth)
			if perr != nil {
				return template{}, perr
			}
			t.parts = append(t.parts, part{f: f, isField: true, plural: pl})
			i += end + 1 + n
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return t, nil
}

// parsePlural reads the rest of {name, plural, form {text} …}: s starts
// after the comma that follows name. It returns the plural and how many
// bytes of s it took, up to and including the closing brace.
func parsePlural(s, name string, allowed fieldSet, depth int) (*pluralChoice, int, *coded) {
	bad := func() *coded {
		return problem(CodeBadPlural, Args{Name: name}, "{%s, plural, …} is not well formed: write {%s, plural, one {…} other {…}}, with the forms zero, one, two, few, many, other or =N", name, name)
	}
	if depth >= maxPluralDepth {
		return nil, 0, bad()
	}
	i := skipSpaces(s, 0)
	if !strings.HasPrefix(s[i:], "plural") {
		return nil, 0, bad()
	}
	i = skipSpaces(s, i+len("plural"))
	if i >= len(s) || s[i] != ',' {
		return nil, 0, bad()
	}
	pl := &pluralChoice{}
	for {
		i = skipSpaces(s, i+1)
		if i >= len(s) {
			return nil, 0, bad()
		}
		if s[i] == '}' {
			break
		}
		// The form: a keyword or =N, up to a space or the text's brace.
		j := i
		for j < len(s) && s[j] != '{' && s[j] != '}' && s[j] != ' ' && s[j] != '\n' && s[j] != '\t' {
			j++
		}
		key := s[i:j]
		j = skipSpaces(s, j)
		if key == "" || j >= len(s) || s[j] != '{' {
			return nil, 0, bad()
		}
		// The text, up to its matching brace ({{ and }} inside balance).
		level, k := 1, j+1
		for ; k < len(s) && level > 0; k++ {
			switch s[k] {
			case '{':
				level++
			case '}':
				level--
			}
		}
		if level > 0 {
			return nil, 0, problem(CodeUnclosedBrace, Args{}, "a { is never closed (write {{ for a literal brace)")
		}
		text, err := parseTemplateDepth(s[j+1:k-1], allowed, depth+1)
		if err != nil {
			return nil, 0, err
		}
		if !pl.add(key, text) {
			return nil, 0, bad()
		}
		i = k - 1 // the text's closing brace; the loop steps past it
	}
	if pl.forms[plural.Other] == nil {
		return nil, 0, problem(CodePluralOther, Args{Name: name}, "{%s, plural, …} has no other {…}: the form of every number the other forms leave", name)
	}
	return pl, i + 1, nil
}

// add sets the form key ("one", "=0") to t; false when key is not a form
// or is given twice.
func (p *pluralChoice) add(key string, t template) bool {
	if rest, ok := strings.CutPrefix(key, "="); ok {
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || n < 0 || rest != strconv.FormatInt(n, 10) {
			return false
		}
		for _, e := range p.exact {
			if e.n == n {
				return false
			}
		}
		p.exact = append(p.exact, exactForm{n: n, t: t})
		return true
	}
	for form, name := range pluralForms {
		if name == key {
			if p.forms[form] != nil {
				return false
			}
			p.forms[form] = &t
			return true
		}
	}
	return false
}

func skipSpaces(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	return i
}

func fieldByName(name string) (field, bool) {
	for f := range numFields {
		if fieldNames[f] == name {
			return f, true
		}
	}
	return 0, false
}

func describeFields(s fieldSet) string {
	var names []string
	for f := range numFields {
		if s.has(f) {
			names = append(names, "{"+fieldNames[f]+"}")
		}
	}
	return strings.Join(names, ", ")
}

func (t template) empty() bool { return len(t.parts) == 0 }

// canBeBlank tells whether t renders as nothing but spaces for some count:
// a text that is only a plural with an empty form. A field always writes
// something.
func (t template) canBeBlank() bool {
	for _, p := range t.parts {
		switch {
		case p.plural != nil:
			if !p.plural.canBeBlank() {
				return false
			}
		case p.isField:
			return false
		case strings.TrimSpace(p.lit) != "":
			return false
		}
	}
	return true
}

func (p *pluralChoice) canBeBlank() bool {
	for _, e := range p.exact {
		if e.t.canBeBlank() {
			return true
		}
	}
	for _, t := range p.forms {
		if t != nil && t.canBeBlank() {
			return true
		}
	}
	return false
}

// render writes the template with e's fields. It takes the concrete
// *evaluation rather than an interface so that Evaluate's state stays on
// the stack: a decision costs a handful of allocations, not dozens.
func (t template) render(e *evaluation, lang int) string {
	if len(t.parts) == 1 && !t.parts[0].isField {
		return t.parts[0].lit
	}
	var b strings.Builder
	b.Grow(t.size + 24*len(t.parts))
	t.write(&b, e, lang)
	return b.String()
}

func (t *template) write(b *strings.Builder, e *evaluation, lang int) {
	for i := range t.parts {
		p := &t.parts[i]
		switch {
		case p.plural != nil:
			p.plural.choose(e.count(p.f), lang).write(b, e, lang)
		case p.isField:
			e.writeField(b, p.f, lang)
		default:
			b.WriteString(p.lit)
		}
	}
}

// frenchSpaces gives French text the no-break spaces its typography wants
// (U+00A0 before a colon and inside « », U+202F before ; ! ?), so a line
// never starts with a lone colon or question mark. Authors write ordinary
// spaces in the document, which keeps it readable in any editor; only a
// space directly before the sign (or after «) is changed.
func frenchSpaces(s string) string {
	if !strings.ContainsAny(s, ":;!?«»") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' && i+1 < len(s) {
			switch s[i+1] {
			case ':':
				b.WriteString("\u00a0")
				continue
			case ';', '!', '?':
				b.WriteString("\u202f")
				continue
			}
			if strings.HasPrefix(s[i+1:], "»") {
				b.WriteString("\u00a0")
				continue
			}
		}
		if strings.HasPrefix(s[i:], "« ") {
			b.WriteString("«\u00a0")
			i += len("« ") - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Units of a span of time, largest first. A person reads a span to the
// minute: seconds and milliseconds are no measure of how late a claim was
// ("4 secondes et 332 millisecondes après le dernier paiement"), and
// windows are written in days, hours and minutes (parseWindow).
var spanUnits = [...]struct {
	d                time.Duration
	en1, en, fr1, fr string
}{
	{24 * time.Hour, "day", "days", "jour", "jours"},
	{time.Hour, "hour", "hours", "heure", "heures"},
	{time.Minute, "minute", "minutes", "minute", "minutes"},
}

// writeSpan writes a duration the way a customer reads it: "9 days 4 hours"
// / "9 jours et 4 heures", each unit in the plural form the language's
// CLDR rules give its number (French 0 and 1 take the singular, English
// only 1). It shows the two largest non-zero units, which is precise enough
// to see how late a claim was, and less than a minute as such ("less than a
// minute" / "moins d’une minute"). full shows every non-zero unit down to
// the minute, and says "more than" what is left of a minute, for the case
// where two units would make a late claim look in time ("more than 7 days"
// for 7 days and 1 ms, against a 7-day window, where "7 days" would not
// say it was late).
func writeSpan(b *strings.Builder, d time.Duration, lang int, full bool) {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		if lang == langFR {
			b.WriteString("moins d’une minute")
		} else {
			b.WriteString("less than a minute")
		}
		return
	}
	var vals [len(spanUnits)]int64
	rest := d
	for i, u := range spanUnits {
		vals[i] = int64(rest / u.d)
		rest %= u.d
	}
	if full && rest > 0 {
		// Never understate lateness by what is left of a minute.
		if lang == langFR {
			b.WriteString("plus de ")
		} else {
			b.WriteString("more than ")
		}
	}
	var idx [len(spanUnits)]int
	n := 0
	for i, v := range vals {
		if v != 0 {
			idx[n] = i
			n++
			if !full && n == 2 {
				break
			}
		}
	}
	for k := 0; k < n; k++ {
		i := idx[k]
		if k > 0 {
			switch {
			case lang == langEN:
				b.WriteByte(' ')
			case k == n-1:
				b.WriteString(" et ")
			default:
				b.WriteString(", ")
			}
		}
		u := spanUnits[i]
		writeInt(b, vals[i])
		b.WriteByte(' ')
		one := plural.Cardinal.MatchPlural(pluralTags[lang], int(vals[i]), 0, 0, 0, 0) == plural.One
		switch {
		case lang == langEN && one:
			b.WriteString(u.en1)
		case lang == langEN:
			b.WriteString(u.en)
		case one:
			b.WriteString(u.fr1)
		default:
			b.WriteString(u.fr)
		}
	}
}

// writeWindow writes a window: "7 days", "1 day 12 hours",
// "14 calendar days" / "14 jours calendaires".
func writeWindow(b *strings.Builder, w Window, lang int) {
	if w.Counting != Calendar {
		writeSpan(b, w.Length, lang, true)
		return
	}
	writeInt(b, int64(w.Days))
	switch {
	case lang == langEN && w.Days == 1:
		b.WriteString(" calendar day")
	case lang == langEN:
		b.WriteString(" calendar days")
	case w.Days <= 1:
		b.WriteString(" jour calendaire")
	default:
		b.WriteString(" jours calendaires")
	}
}

// writeDate writes t's local date as every page and email of the store
// does (localtime.Zone.LongDate): "8 March 2026" / "1er mars 2026".
func writeDate(b *strings.Builder, t time.Time, loc *time.Location, lang int) {
	b.WriteString(localtime.Of(loc).LongDate(t, langNames[lang]))
}

// writeInt writes n without allocating.
func writeInt(b *strings.Builder, n int64) {
	var buf [20]byte
	b.Write(strconv.AppendInt(buf[:0], n, 10))
}

// writeDateTime writes t to the minute in the policy's time zone, naming
// the zone as every email and page of the store writes a time
// (localtime.Zone.LongTime, one writer of times for each language):
// "15 March 2026 at 10:00 CET" / "15 mars 2026 à 10:00 CET". It wrote
// "15 mars 2026 à 10 h 00, heure de Paris" where the customer's emails
// said "21:10 CET".
func writeDateTime(b *strings.Builder, t time.Time, loc *time.Location, lang int) {
	b.WriteString(localtime.Of(loc).LongTime(t, langNames[lang]))
}

// writeQuantity writes a count with the language's digit grouping:
// "1,000" / "1 000" (U+202F, as money.Format groups French amounts).
func writeQuantity(b *strings.Builder, n int64, lang int) {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], n, 10)
	if s[0] == '-' {
		b.WriteByte('-')
		s = s[1:]
	}
	sep := ","
	if lang == langFR {
		sep = "\u202f"
	}
	first := len(s) % 3
	if first == 0 {
		first = 3
	}
	b.Write(s[:first])
	for i := first; i < len(s); i += 3 {
		b.WriteString(sep)
		b.Write(s[i : i+3])
	}
}
