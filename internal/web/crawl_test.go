package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"comptoir/internal/apptest"
	"comptoir/internal/locale"
)

// The crawl: for each kind of visitor and each language, every page
// reachable from the store's shell on a seeded store (authzSetup's objects)
// is fetched by following every same-origin <a href> and GET form, as a
// browser without JavaScript would. No link may lead to an error, and no
// page may show template leftovers, an untranslated message key, or a
// message of the other language.

// crawlMaxPages bounds one visitor's crawl: the seeded store has far fewer
// pages, so reaching it means a link generates endless new URLs.
const crawlMaxPages = 400

var (
	crawlAnchorRE = regexp.MustCompile(`(?is)<a\b[^>]*?\bhref="([^"]*)"`)
	crawlFormRE   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	crawlAttrRE   = regexp.MustCompile(`(?is)\b([a-z-]+)="([^"]*)"`)
	crawlInputRE  = regexp.MustCompile(`(?is)<(input|select|textarea)\b([^>]*)>`)
	crawlOptionRE = regexp.MustCompile(`(?is)<option\b([^>]*)>`)
	crawlLangRE   = regexp.MustCompile(`<html lang="([^"]*)"`)
	crawlTagRE    = regexp.MustCompile(`(?s)<script\b.*?</script>|<style\b.*?</style>|<[^>]*>`)
	// A word shaped like a message key: "order.error.x".
	crawlKeyRE = regexp.MustCompile(`\b[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+\b`)
	// Visible attribute texts (labels read by screen readers, placeholders).
	crawlTextAttrRE = regexp.MustCompile(`(?is)\b(?:aria-label|placeholder|title|alt)="([^"]*)"`)
	// Month names are the dates' language: the other language's must not show.
	crawlMonthsRE = map[string]*regexp.Regexp{
		locale.FR: regexp.MustCompile(`\b(?:January|February|March|April|June|July|August|September|October|November|December)\b`),
		locale.EN: regexp.MustCompile(`(?i)\b(?:janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre)\b`),
	}
	// Dates as the other language writes them: "2026-12-01" is English's,
	// "01/12/2026" French's (localtime.Zone.Date); a time is written in
	// words ("1er décembre 2026 à 00:30 CET", localtime.Zone.Time), its
	// month names checked above.
	crawlDateRE = map[string]*regexp.Regexp{
		locale.FR: regexp.MustCompile(`\b\d{4}-\d\d-\d\d(?: \d\d:\d\d)?\b`),
		locale.EN: regexp.MustCompile(`\b\d\d/\d\d/\d{4}\b`),
	}
	// Amounts: "12,00 €" in French, "€12.00" in English.
	crawlMoneyRE = map[string]*regexp.Regexp{
		locale.FR: regexp.MustCompile(`€\s?\d`),
		locale.EN: regexp.MustCompile(`\d,\d\d[\s\x{a0}\x{202f}]€`),
	}
)

// crawlTexts are a catalog's facts the page checks need.
type crawlTexts struct {
	namespaces map[string]bool              // first segments of message keys
	other      map[string]map[string]string // lang → text of the other language only → key
	// otherParts are, per language, the long literal pieces of the other
	// language's messages with fields ("Draft {{.Version}} saved. Check
	// it with a preview…"): a page showing one shows that message.
	otherParts map[string]map[string]string // lang → piece → key
}

func newCrawlTexts(c *locale.Catalog) crawlTexts {
	ct := crawlTexts{namespaces: map[string]bool{}, other: map[string]map[string]string{}}
	for _, k := range c.Keys(locale.FR) {
		ns, _, _ := strings.Cut(k, ".")
		ct.namespaces[ns] = true
	}
	for _, lang := range locale.Supported {
		other := locale.EN
		if lang == locale.EN {
			other = locale.FR
		}
		own := map[string]bool{}
		for _, k := range c.Keys(lang) {
			if t, ok := c.Plain(lang, k); ok {
				own[normSpace(t)] = true
			}
		}
		ct.other[lang] = map[string]string{}
		for _, k := range c.Keys(other) {
			t, ok := c.Plain(other, k)
			t = normSpace(t)
			// Short texts (codes, "OK", "TVA") may be the same word in both.
			if !ok || len([]rune(t)) < 5 || own[t] {
				continue
			}
			ct.other[lang][t] = k
		}
	}
	ct.otherParts = crawlMessageParts()
	return ct
}

var crawlActionRE = regexp.MustCompile(`(?s)\{\{.*?\}\}`)

// crawlMessageParts reads the message files for the literal pieces of the
// messages with fields: per language, the other language's pieces of at
// least 16 characters that no message of the language itself contains.
func crawlMessageParts() map[string]map[string]string {
	raw := map[string]map[string]string{} // lang → key → text (the "other" form)
	for _, lang := range locale.Supported {
		var doc map[string]any
		if _, err := toml.DecodeFile("../locale/messages/"+lang+".toml", &doc); err != nil {
			panic(err)
		}
		raw[lang] = map[string]string{}
		for k, v := range doc {
			switch v := v.(type) {
			case string:
				raw[lang][k] = v
			case map[string]any:
				if o, ok := v["other"].(string); ok {
					raw[lang][k] = o
				}
			}
		}
	}
	out := map[string]map[string]string{}
	for _, lang := range locale.Supported {
		other := locale.EN
		if lang == locale.EN {
			other = locale.FR
		}
		var own []string
		for _, t := range raw[lang] {
			own = append(own, normSpace(t))
		}
		out[lang] = map[string]string{}
		for k, t := range raw[other] {
			if !strings.Contains(t, "{{") {
				continue // plain: ct.other has it whole
			}
			for _, piece := range crawlActionRE.Split(t, -1) {
				piece = normSpace(piece)
				if len([]rune(piece)) < 16 {
					continue
				}
				shared := false
				for _, o := range own {
					if strings.Contains(o, piece) {
						shared = true
						break
					}
				}
				if !shared {
					out[lang][piece] = k
				}
			}
		}
	}
	return out
}

func normSpace(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\u00a0", " ", "\u202f", " ").Replace(s)), " ")
}

// pageProblems lists what is wrong with an HTML page in lang.
func (ct crawlTexts) pageProblems(body, lang string) []string {
	var out []string
	if m := crawlLangRE.FindStringSubmatch(body); m == nil || m[1] != lang {
		out = append(out, "<html lang> is not "+lang)
	}
	for _, bad := range []string{"%!", "<no value>"} {
		if strings.Contains(body, bad) {
			out = append(out, "raw template output "+bad)
		}
	}
	out = append(out, crawlFormProblems(body)...)
	out = append(out, crawlHeadingProblems(body)...)
	// Text in another language marked as such (an invoice issued in its
	// buyer's language), and what people wrote (messages, descriptions,
	// evidence as recorded, a document being edited), are not the page's
	// own words.
	body = crawlStripOwnWords(body, lang)
	for _, bad := range []string{"{{", "}}"} {
		if strings.Contains(body, bad) {
			out = append(out, "raw template output "+bad)
		}
	}
	var texts []string
	for _, chunk := range crawlTagRE.Split(body, -1) {
		if t := normSpace(html.UnescapeString(chunk)); t != "" {
			texts = append(texts, t)
		}
	}
	for _, m := range crawlTextAttrRE.FindAllStringSubmatch(body, -1) {
		texts = append(texts, normSpace(html.UnescapeString(m[1])))
	}
	for _, t := range texts {
		for _, loc := range crawlKeyRE.FindAllStringIndex(t, -1) {
			k := t[loc[0]:loc[1]]
			ns, _, _ := strings.Cut(k, ".")
			last := k[strings.LastIndex(k, ".")+1:]
			// An e-mail's domain or a file's name is no key.
			if loc[0] > 0 && strings.ContainsAny(t[loc[0]-1:loc[0]], "@/") || crawlNotKeyEnds[last] {
				continue
			}
			if ct.namespaces[ns] {
				out = append(out, "message key shown as text: "+k)
			}
		}
		if k, ok := ct.other[lang][t]; ok {
			out = append(out, "other language's "+k+": "+t)
		}
		if len(t) >= 16 {
			for piece, k := range ct.otherParts[lang] {
				if strings.Contains(t, piece) {
					out = append(out, "other language's "+k+" ("+piece+"): "+t)
				}
			}
		}
		if m := crawlMonthsRE[lang].FindString(t); m != "" {
			out = append(out, "other language's month "+m+" in "+t)
		}
		if m := crawlDateRE[lang].FindString(t); m != "" {
			out = append(out, "other language's date "+m+" in "+t)
		}
		if m := crawlMoneyRE[lang].FindString(t); m != "" {
			out = append(out, "other language's amount "+m+" in "+t)
		}
	}
	return out
}

var crawlNotKeyEnds = map[string]bool{"png": true, "jpg": true, "pdf": true, "txt": true, "zip": true, "csv": true,
	"js": true, "css": true, "json": true, "test": true, "fr": true, "org": true, "com": true}

var crawlOpenRE = regexp.MustCompile(`(?is)<(pre|[a-z][a-z0-9]*)\b([^>]*)>`)

// crawlStripOwnWords removes from body the elements whose lang attribute is
// not lang, the <pre> blocks and the elements of class "description".
func crawlStripOwnWords(body, lang string) string {
	var b strings.Builder
	for {
		loc := crawlOpenRE.FindStringSubmatchIndex(body)
		if loc == nil {
			b.WriteString(body)
			return b.String()
		}
		tag, attrs := strings.ToLower(body[loc[2]:loc[3]]), crawlAttrs(body[loc[4]:loc[5]])
		l, marked := attrs["lang"]
		strip := tag == "pre" || tag == "textarea" || strings.Contains(" "+attrs["class"]+" ", " description ") || marked && l != lang && tag != "html" && tag != "button"
		if !strip {
			b.WriteString(body[:loc[1]])
			body = body[loc[1]:]
			continue
		}
		b.WriteString(body[:loc[0]])
		// Skip to the matching close tag, counting nested ones.
		rest, depth := body[loc[1]:], 1
		openRE := regexp.MustCompile(`(?i)<(/?)` + tag + `\b[^>]*>`)
		for depth > 0 {
			m := openRE.FindStringSubmatchIndex(rest)
			if m == nil {
				rest = ""
				break
			}
			if m[3] > m[2] {
				depth--
			} else {
				depth++
			}
			rest = rest[m[1]:]
		}
		body = rest
	}
}

var (
	crawlLabelForRE = regexp.MustCompile(`(?is)<label\b[^>]*\bfor="([^"]*)"`)
	crawlLabelRE    = regexp.MustCompile(`(?is)<label\b[^>]*>(.*?)</label>`)
	crawlHeadingRE  = regexp.MustCompile(`(?i)<h([1-6])\b`)
)

// crawlFormProblems names the fields no label names: a screen reader
// would read them as "edit text".
func crawlFormProblems(body string) []string {
	labelled := map[string]bool{}
	for _, m := range crawlLabelForRE.FindAllStringSubmatch(body, -1) {
		labelled[m[1]] = true
	}
	wrapped := map[string]bool{}
	for _, m := range crawlLabelRE.FindAllStringSubmatch(body, -1) {
		for _, in := range crawlInputRE.FindAllString(m[1], -1) {
			wrapped[in] = true
		}
	}
	var out []string
	for _, in := range crawlInputRE.FindAllStringSubmatch(body, -1) {
		a := crawlAttrs(in[2])
		switch a["type"] {
		case "hidden", "submit", "button", "image", "reset":
			continue
		}
		for _, id := range strings.Fields(a["aria-describedby"]) {
			if !strings.Contains(body, `id="`+id+`"`) {
				out = append(out, "aria-describedby names no element: "+id)
			}
		}
		if wrapped[in[0]] || labelled[a["id"]] && a["id"] != "" || a["aria-label"] != "" || a["aria-labelledby"] != "" {
			continue
		}
		out = append(out, "field without a label: "+in[0])
	}
	return out
}

// crawlHeadingProblems checks the outline: one <h1>, first, and no level
// skipped on the way down.
func crawlHeadingProblems(body string) []string {
	var out []string
	prev, h1s := 0, 0
	for _, m := range crawlHeadingRE.FindAllStringSubmatch(body, -1) {
		level := int(m[1][0] - '0')
		if level == 1 {
			h1s++
		}
		if prev == 0 && level != 1 {
			out = append(out, "the first heading is <h"+m[1]+">, not <h1>")
		}
		if prev != 0 && level > prev+1 {
			out = append(out, "heading <h"+m[1]+"> after <h"+string(rune('0'+prev))+">")
		}
		prev = level
	}
	if h1s != 1 {
		out = append(out, "not one <h1>")
	}
	return out
}

// crawlLinks returns the same-origin URLs a page links to: its anchors and
// its GET forms submitted as they stand.
func crawlLinks(base *url.URL, body string) []string {
	var out []string
	add := func(ref string) {
		u, err := base.Parse(html.UnescapeString(ref))
		if err != nil || u.Host != base.Host || (u.Scheme != "http" && u.Scheme != "https") {
			return
		}
		u.Fragment = ""
		out = append(out, u.RequestURI())
	}
	for _, m := range crawlAnchorRE.FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(m[1], "#") {
			add(m[1])
		}
	}
	for _, m := range crawlFormRE.FindAllStringSubmatch(body, -1) {
		attrs := crawlAttrs(m[1])
		if method := strings.ToLower(attrs["method"]); method != "" && method != "get" {
			continue
		}
		q, skip := url.Values{}, false
		for _, in := range crawlInputRE.FindAllStringSubmatch(m[2], -1) {
			a := crawlAttrs(in[2])
			if a["name"] == "" || a["type"] == "submit" || (a["type"] == "checkbox" || a["type"] == "radio") && !crawlHas(in[2], "checked") {
				continue
			}
			v := a["value"]
			if v == "" && crawlHas(in[2], "required") {
				// A browser refuses to send the form empty: fill what a
				// visitor would.
				if a["type"] != "date" {
					skip = true
					break
				}
				v = "2026-01-01"
			}
			if strings.EqualFold(in[1], "select") {
				v = ""
				rest := m[2][strings.Index(m[2], in[0]):]
				rest, _, _ = strings.Cut(rest, "</select>")
				for i, o := range crawlOptionRE.FindAllStringSubmatch(rest, -1) {
					if i == 0 || crawlHas(o[1], "selected") {
						v = crawlAttrs(o[1])["value"]
					}
				}
			}
			q.Add(a["name"], html.UnescapeString(v))
		}
		if skip {
			continue
		}
		action := attrs["action"]
		if action == "" {
			action = base.RequestURI()
		}
		action, _, _ = strings.Cut(action, "?")
		if len(q) > 0 {
			action += "?" + q.Encode()
		}
		add(action)
	}
	return out
}

func crawlAttrs(s string) map[string]string {
	a := map[string]string{}
	for _, m := range crawlAttrRE.FindAllStringSubmatch(s, -1) {
		a[strings.ToLower(m[1])] = m[2]
	}
	return a
}

func crawlHas(tag, attr string) bool {
	return regexp.MustCompile(`(?i)\s` + attr + `(?:[\s>=/]|$)`).MatchString(tag)
}

func TestCrawlEveryPage(t *testing.T) {
	h := apptest.Start(t)
	users := authzUsers(t, h)
	o := authzSetup(t, h, users)
	ct := newCrawlTexts(h.App.Messages)
	base, _ := url.Parse(h.URL)

	for _, who := range []string{anon, custA, agent, admin} {
		for _, lang := range locale.Supported {
			t.Run(strings.ReplaceAll(who, " ", "-")+"/"+lang, func(t *testing.T) {
				var c *apptest.Client
				if who == anon {
					c = h.NewClient(t)
					c.Lang = lang
				} else {
					_, c = signedInClient(t, h, users[who])
					if r := c.PostForm("/lang", url.Values{"lang": {lang}}); r.Status != http.StatusSeeOther {
						t.Fatalf("switch to %s: %d", lang, r.Status)
					}
				}
				seeds := []string{"/"}
				if who == anon {
					// The pages a link in a mail opens.
					seeds = append(seeds, "/support/t/"+o.guestToken, "/survey/"+o.surveyToken)
				}
				crawl(t, c, base, ct, lang, seeds)

				// A page that does not exist is a page of the store, in the
				// visitor's language, with a way on.
				r := c.Get("/no-such-page")
				if r.Status != http.StatusNotFound {
					t.Errorf("/no-such-page: %d", r.Status)
				}
				for _, p := range ct.pageProblems(r.Body, lang) {
					t.Errorf("/no-such-page: %s", p)
				}
				if !strings.Contains(r.Body, `<nav aria-label=`) || !strings.Contains(r.Body, `href="/"`) {
					t.Errorf("/no-such-page has no shell: %.300s", r.Body)
				}
			})
		}
	}
}

func crawl(t *testing.T, c *apptest.Client, base *url.URL, ct crawlTexts, lang string, seeds []string) {
	t.Helper()
	from := map[string]string{}
	var queue []string
	for _, s := range seeds {
		from[s] = "(seed)"
		queue = append(queue, s)
	}
	fetched := 0
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if fetched++; fetched > crawlMaxPages {
			t.Fatalf("more than %d pages: a link makes endless URLs (last %s from %s)", crawlMaxPages, u, from[u])
		}
		r := c.Get(u)
		var next []string
		switch {
		case r.Status >= 300 && r.Status < 400:
			next = []string{r.Location}
		case r.Status >= 400:
			t.Errorf("%s (linked from %s): %d %.200s", u, from[u], r.Status, r.Body)
			continue
		}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			for _, p := range ct.pageProblems(r.Body, lang) {
				t.Errorf("%s (linked from %s): %s", u, from[u], p)
			}
			pageURL, _ := base.Parse(u)
			next = append(next, crawlLinks(pageURL, r.Body)...)
		}
		for _, n := range next {
			if pu, err := base.Parse(n); err == nil && pu.Host == base.Host {
				n = pu.RequestURI()
			} else {
				continue
			}
			if _, seen := from[n]; !seen {
				from[n] = u
				queue = append(queue, n)
			}
		}
	}
	t.Logf("%d pages", fetched)
}

// The crawl's checks see what they look for: a crawl that finds nothing
// must mean the pages are right, not that the checks are blind.
func TestCrawlChecksSeeDefects(t *testing.T) {
	ct := newCrawlTexts(locale.MustLoad())
	page := func(lang, content string) string {
		return `<!doctype html><html lang="` + lang + `"><body><h1>Titre</h1>` + content + `</body></html>`
	}
	for _, c := range []struct{ lang, body, want string }{
		{"fr", `<!doctype html><html lang="en"><h1>x</h1></html>`, "<html lang>"},
		{"fr", page("fr", `<p>%!s(MISSING)</p>`), "raw template output %!"},
		{"fr", page("fr", `<p><no value></p>`), "raw template output <no value>"},
		{"fr", page("fr", `<p>order.error.x</p>`), "message key shown as text: order.error.x"},
		{"fr", page("fr", `<p>Sign in</p>`), "other language's"},
		{"en", page("en", `<button aria-label="Se connecter">x</button>`), "other language's"},
		{"fr", page("fr", `<p>March 3, 2026</p>`), "month March"},
		{"fr", page("fr", `<p>€12.00</p>`), "amount"},
		{"en", page("en", "<p>12,00\u00a0€</p>"), "amount"},
		{"fr", page("fr", `<p>Draft shop@2 saved. Check it with a preview, then publish it.</p>`), "other language's admin.policies.saved"},
		{"fr", page("fr", `<td>2026-12-01 00:30 CET</td>`), "date 2026-12-01 00:30"},
		{"en", page("en", `<td>01/12/2026 00:30 CET</td>`), "date 01/12/2026"},
		{"fr", page("fr", `<input id="q" name="q">`), "field without a label"},
		{"fr", page("fr", `<label for="q">Q</label><input id="q" name="q" aria-describedby="q-error">`), "aria-describedby names no element: q-error"},
		{"fr", page("fr", `<h3>x</h3>`), "heading <h3> after <h1>"},
		{"fr", `<html lang="fr"><h2>x</h2></html>`, "not one <h1>"},
	} {
		got := strings.Join(ct.pageProblems(c.body, c.lang), "\n")
		if !strings.Contains(got, c.want) {
			t.Errorf("%s page %q: problems %q, want one with %q", c.lang, c.body, got, c.want)
		}
	}
	// And they leave alone what is right: marked text of the other
	// language, what people wrote, a labelled field, an e-mail's domain.
	ok := page("fr", `<article lang="en"><h2>Seller</h2></article><pre>Refund policy</pre><p class="description">Sign in</p>
<label for="q">Recherche</label><input id="q" name="q"><label>Quantité <input name="n"></label><p>ana@shop.test, receipt.png</p>`)
	if got := ct.pageProblems(ok, "fr"); len(got) != 0 {
		t.Errorf("a right page has problems: %q", got)
	}
}
