// Package locale holds comptoir's French and English message catalogs and
// chooses the language of a request.
//
// Messages live in messages/<lang>.toml (go-i18n v2 TOML format, embedded in
// the binary). Every message ID is a quoted top-level key such as
// "auth.email"; plural messages are tables with "one" and "other" keys.
// Both files must define exactly the same IDs (a test enforces it).
//
// The web and mail layers call Negotiate once per request or recipient, then
// Catalog.T / Catalog.N with the resulting language. T and N never panic: an
// unknown ID renders as the ID itself, so a forgotten key shows up on the page
// (and in tests) instead of breaking the render.
package locale

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Supported language codes.
const FR, EN = "fr", "en"

// Supported lists the languages comptoir is translated into, in the order a
// language switcher shows them.
var Supported = []string{FR, EN}

// defaultLang is the bundle's default language: a message missing from
// another language falls back to it (the completeness test keeps that from
// happening in practice).
const defaultLang = EN

//go:embed messages/*.toml
var messageFS embed.FS

// Known reports whether lang is exactly a supported language code, as the
// store records one ("fr", "en"); anything else is an unknown language,
// never guessed from (Normalize reads tags, "fr-FR" included).
func Known(lang string) bool { return lang == FR || lang == EN }

// Normalize maps a BCP 47 language tag to a supported language code:
// "fr-FR" → "fr", "EN" → "en", "en_GB" → "en". It reports false when the tag
// is malformed or its primary language is not supported.
func Normalize(tag string) (string, bool) {
	tag = strings.TrimSpace(tag)
	if tag == "" || len(tag) > 64 {
		return "", false
	}
	primary, rest, hasRest := strings.Cut(strings.ReplaceAll(tag, "_", "-"), "-")
	if hasRest {
		// Subtags after the primary one: 1–8 ASCII letters or digits each.
		for sub := range strings.SplitSeq(rest, "-") {
			if len(sub) == 0 || len(sub) > 8 || !isAlnum(sub) {
				return "", false
			}
		}
	}
	switch strings.ToLower(primary) {
	case FR:
		return FR, true
	case EN:
		return EN, true
	}
	return "", false
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // ASCII lower case; digits are unaffected
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Negotiate picks the request language: saved (signed-in customer's choice)
// if supported, else cookie if supported, else the best match in the
// Accept-Language header, else fallback.
//
// Header entries are tried by decreasing q-value (equal q-values keep the
// header's order); "q=0" means "not acceptable" and is skipped; a region or
// script is ignored ("fr-CA" matches fr); "*" accepts the fallback; a
// malformed entry is skipped, not fatal. The result is always a member of
// Supported: an unsupported fallback is replaced by English.
func Negotiate(saved, cookie, acceptLanguage, fallback string) string {
	if l, ok := Normalize(saved); ok {
		return l
	}
	if l, ok := Normalize(cookie); ok {
		return l
	}
	fb, ok := Normalize(fallback)
	if !ok {
		fb = defaultLang
	}
	for _, r := range parseAcceptLanguage(acceptLanguage) {
		if r == "*" {
			return fb
		}
		if l, ok := Normalize(r); ok {
			return l
		}
	}
	return fb
}

// maxAcceptEntries bounds the work done on a hostile Accept-Language header.
const maxAcceptEntries = 32

// parseAcceptLanguage returns the language ranges of an Accept-Language
// header (RFC 9110 §12.5.4), most preferred first, without those with q=0.
func parseAcceptLanguage(h string) []string {
	type weighted struct {
		lang string
		q    float64
	}
	var out []weighted
	seen := 0
	for entry := range strings.SplitSeq(h, ",") {
		if seen++; seen > maxAcceptEntries {
			break
		}
		lang, params, _ := strings.Cut(entry, ";")
		lang = strings.TrimSpace(lang)
		if lang == "" {
			continue
		}
		q := 1.0
		valid := true
		for p := range strings.SplitSeq(params, ";") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			name, val, _ := strings.Cut(p, "=")
			if !strings.EqualFold(strings.TrimSpace(name), "q") {
				continue // Accept-Language defines no other parameter; ignore extensions.
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil || v < 0 || v > 1 || len(strings.TrimSpace(val)) > 5 {
				valid = false
				break
			}
			q = v
		}
		if !valid || q == 0 {
			continue
		}
		out = append(out, weighted{lang, q})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].q > out[j].q })
	langs := make([]string, len(out))
	for i, w := range out {
		langs[i] = w.lang
	}
	return langs
}

// Catalog holds the parsed message files. It is safe for concurrent use and
// is meant to be loaded once at start-up.
type Catalog struct {
	localizers map[string]*i18n.Localizer          // one per supported language
	messages   map[string]map[string]*i18n.Message // lang → id → message
	// static holds, per language, the text of messages whose "other" form
	// contains no template action: T returns it with a map lookup.
	static map[string]map[string]string
	keys   map[string][]string // lang → sorted ids
}

// Load parses the embedded message files. It fails if a file does not parse,
// a supported language has no file, an ID is defined twice, a message has no
// "other" form, or a message template does not parse.
func Load() (*Catalog, error) {
	return load(messageFS)
}

func load(fsys fs.FS) (*Catalog, error) {
	bundle := i18n.NewBundle(language.English)
	c := &Catalog{
		localizers: make(map[string]*i18n.Localizer, len(Supported)),
		messages:   make(map[string]map[string]*i18n.Message, len(Supported)),
		static:     make(map[string]map[string]string, len(Supported)),
		keys:       make(map[string][]string, len(Supported)),
	}
	var errs []error
	for _, lang := range Supported {
		name := path.Join("messages", lang+".toml")
		buf, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("locale: %w", err))
			continue
		}
		msgs, err := i18n.ParseMessageBytes(buf, toml.Unmarshal)
		if err != nil {
			errs = append(errs, fmt.Errorf("locale: %s: %w", name, err))
			continue
		}
		byID := make(map[string]*i18n.Message, len(msgs))
		static := make(map[string]string, len(msgs))
		for _, m := range msgs {
			if err := checkMessage(m); err != nil {
				errs = append(errs, fmt.Errorf("locale: %s: %w", name, err))
				continue
			}
			if _, dup := byID[m.ID]; dup {
				errs = append(errs, fmt.Errorf("locale: %s: message %q defined twice", name, m.ID))
				continue
			}
			byID[m.ID] = m
			if !strings.Contains(m.Other, leftDelim(m)) {
				static[m.ID] = m.Other
			}
		}
		if err := bundle.AddMessages(language.Make(lang), msgs...); err != nil {
			errs = append(errs, fmt.Errorf("locale: %s: %w", name, err))
			continue
		}
		keys := make([]string, 0, len(byID))
		for id := range byID {
			keys = append(keys, id)
		}
		slices.Sort(keys)
		c.messages[lang], c.static[lang], c.keys[lang] = byID, static, keys
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Localizers are built once all languages are in the bundle, so that each
	// one's fallback to the default language works.
	for _, lang := range Supported {
		c.localizers[lang] = i18n.NewLocalizer(bundle, lang)
	}
	return c, nil
}

// MustLoad is Load for program start-up: it panics if the catalogs are broken.
func MustLoad() *Catalog {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

func leftDelim(m *i18n.Message) string {
	if m.LeftDelim != "" {
		return m.LeftDelim
	}
	return "{{"
}

// checkMessage rejects what go-i18n would otherwise only report (or silently
// swallow) when the message is first rendered.
func checkMessage(m *i18n.Message) error {
	if m.ID == "" {
		return errors.New("message without an ID")
	}
	if m.Other == "" {
		return fmt.Errorf("message %q has no \"other\" text", m.ID)
	}
	for _, src := range []string{m.Zero, m.One, m.Two, m.Few, m.Many, m.Other} {
		if src == "" || !strings.Contains(src, leftDelim(m)) {
			continue
		}
		right := m.RightDelim
		if right == "" {
			right = "}}"
		}
		if _, err := template.New(m.ID).Delims(leftDelim(m), right).Parse(src); err != nil {
			return fmt.Errorf("message %q: %w", m.ID, err)
		}
	}
	return nil
}

// lang maps a caller's language to a catalog language: a supported code is
// used as is, a tag like "fr-FR" is normalized, anything else is English.
func (c *Catalog) lang(lang string) string {
	if _, ok := c.localizers[lang]; ok {
		return lang
	}
	if l, ok := Normalize(lang); ok {
		return l
	}
	return defaultLang
}

// T returns message id in lang. data is optional: a map[string]any or a
// struct whose fields the message's template uses ({{.Field}}); several
// arguments are merged into one map. A missing id returns the id itself (an
// id missing only from lang falls back to English); T never panics.
func (c *Catalog) T(lang, id string, data ...any) string {
	if s, ok := c.static[lang][id]; ok {
		return s // fast path: plain text, nothing to execute
	}
	lang = c.lang(lang)
	if s, ok := c.static[lang][id]; ok {
		return s
	}
	var td any
	switch len(data) {
	case 0:
	case 1:
		td = data[0]
	default:
		m := map[string]any{}
		for _, d := range data {
			addFields(m, d)
		}
		td = m
	}
	return c.localize(lang, id, &i18n.LocalizeConfig{MessageID: id, TemplateData: td})
}

// TPairs is T with the message's fields given as key/value pairs, the way
// templates and document renderers pass them: TPairs("fr", "invoice.total",
// "Amount", "12,00 €"). A key that is not a string is skipped.
func (c *Catalog) TPairs(lang, id string, kv ...any) string {
	if len(kv) == 0 {
		return c.T(lang, id)
	}
	return c.T(lang, id, pairs(kv))
}

// NPairs is N with the message's other fields given as key, value pairs,
// as TPairs takes them (a template's call).
func (c *Catalog) NPairs(lang, id string, count int, kv ...any) string {
	if len(kv) == 0 {
		return c.N(lang, id, count)
	}
	return c.N(lang, id, count, pairs(kv))
}

// pairs makes key, value pairs a message's data; a key that is not a
// string is skipped.
func pairs(kv []any) map[string]any {
	data := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok {
			data[k] = kv[i+1]
		}
	}
	return data
}

// Plain returns the text of message id in lang when it has no template
// action, so that T returns that text whatever the data (a caller may
// compute it once). It reports false otherwise, and for an unknown id or
// language.
func (c *Catalog) Plain(lang, id string) (string, bool) {
	s, ok := c.static[lang][id]
	return s, ok
}

// N returns message id in lang in the plural form that count selects in that
// language (French: 0 and 1 are singular; English: only 1 is). The template
// sees {{.Count}} plus the fields of data (a map[string]any or a struct).
func (c *Catalog) N(lang, id string, count int, data ...any) string {
	lang = c.lang(lang)
	td := make(map[string]any, 4)
	for _, d := range data {
		addFields(td, d)
	}
	td["Count"] = count
	return c.localize(lang, id, &i18n.LocalizeConfig{MessageID: id, TemplateData: td, PluralCount: count})
}

func (c *Catalog) localize(lang, id string, cfg *i18n.LocalizeConfig) (s string) {
	if !c.Has(lang, id) && !c.Has(defaultLang, id) {
		return id // unknown everywhere: skip go-i18n's lookup and error
	}
	defer func() {
		// Belt and braces: a template calling a method that panics must not
		// take the page down.
		if recover() != nil {
			s = id
		}
	}()
	// go-i18n returns a best-effort text along with an error when it falls
	// back to English or to the "other" form (e.g. French "many" for 1 000 000,
	// which our files leave to "other"); that text is what we want.
	s, err := c.localizers[lang].Localize(cfg)
	if s == "" && err != nil {
		return id
	}
	return s
}

// addFields copies the fields of data into m: the entries of a map with
// string keys, or the exported fields of a struct (or pointer to one).
// Other values are ignored.
func addFields(m map[string]any, data any) {
	if data == nil {
		return
	}
	if mm, ok := data.(map[string]any); ok {
		for k, v := range mm {
			m[k] = v
		}
		return
	}
	v := reflect.ValueOf(data)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		for it := v.MapRange(); it.Next(); {
			m[it.Key().String()] = it.Value().Interface()
		}
	case reflect.Struct:
		for _, f := range reflect.VisibleFields(v.Type()) {
			if !f.IsExported() || f.Anonymous {
				continue
			}
			fv, err := v.FieldByIndexErr(f.Index)
			if err != nil || !fv.CanInterface() {
				continue // promoted through a nil embedded pointer
			}
			m[f.Name] = fv.Interface()
		}
	}
}

// Keys returns the sorted message IDs defined in lang's file (nil for an
// unsupported language). The slice is the caller's to keep.
func (c *Catalog) Keys(lang string) []string {
	return slices.Clone(c.keys[lang])
}

// Has reports whether lang's file defines id.
func (c *Catalog) Has(lang, id string) bool {
	_, ok := c.messages[lang][id]
	return ok
}
