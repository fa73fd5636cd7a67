package locale

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"unicode"

	"github.com/nicksnyder/go-i18n/v2/i18n"
)

const (
	nbsp  = "\u00a0" // no-break space
	nnbsp = "\u202f" // narrow no-break space
)

var testCatalog = MustLoad()

func TestNormalize(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"fr", FR, true},
		{"en", EN, true},
		{"fr-FR", FR, true},
		{"fr-CA", FR, true},
		{"EN", EN, true},
		{"En-gb", EN, true},
		{"en_US", EN, true},
		{" fr ", FR, true},
		{"fr-Latn-FR", FR, true},
		{"en-GB-oxendict", EN, true},
		{"", "", false},
		{"de", "", false},
		{"de-FR", "", false},
		{"french", "", false},
		{"f", "", false},
		{"fr-", "", false},
		{"fr--FR", "", false},
		{"fr-FR!", "", false},
		{"fr;q=1", "", false},
		{"fr-toolongsubtag", "", false},
		{"x-fr", "", false},
		{"*", "", false},
	}
	for _, tt := range tests {
		got, ok := Normalize(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name                            string
		saved, cookie, accept, fallback string
		want                            string
	}{
		{"saved beats cookie and header", "fr", "en", "en", "en", FR},
		{"saved tag is normalized", "fr-FR", "", "", "en", FR},
		{"unsupported saved is ignored", "de", "fr", "en", "en", FR},
		{"malformed saved is ignored", "fr!!", "", "fr", "en", FR},
		{"cookie beats header", "", "en", "fr", "fr", EN},
		{"unsupported cookie is ignored", "", "es", "fr", "en", FR},
		{"header only", "", "", "fr-FR,fr;q=0.9", "en", FR},
		{"q-values: higher q wins whatever the order", "", "", "en;q=0.5, fr;q=0.9", "en", FR},
		{"unsupported first choice", "", "", "de-DE, en;q=0.8", "fr", EN},
		{"unsupported first choices then region", "", "", "de-DE,de;q=0.9,fr-CA;q=0.7,en;q=0.6", "en", FR},
		{"equal q keeps header order", "", "", "fr;q=0.5, en;q=0.5", "en", FR},
		{"default q is 1", "", "", "en;q=0.99, fr", "en", FR},
		{"q=0 means not acceptable", "", "", "fr;q=0, en;q=0.1", "fr", EN},
		{"only q=0", "", "", "fr;q=0", "en", EN},
		{"case and spaces", "", "", "  EN-us ; Q=0.4 ,FR ; q=0.3", "fr", EN},
		{"wildcard accepts fallback", "", "", "de, *;q=0.5, en;q=0.1", "fr", FR},
		{"malformed entry skipped", "", "", "fr;q=abc, en;q=0.2", "fr", EN},
		{"q above 1 skipped", "", "", "fr;q=2, en;q=0.5", "fr", EN},
		{"garbage header", "", "", "!!!;;,,=;q", "fr", FR},
		{"garbage header, other fallback", "", "", "\x00\xff", "en", EN},
		{"unsupported header", "", "", "de, es;q=0.9", "fr", FR},
		{"empty everything", "", "", "", "fr", FR},
		{"fallback tag normalized", "", "", "", "fr-BE", FR},
		{"unsupported fallback becomes English", "", "", "", "de", EN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Negotiate(tt.saved, tt.cookie, tt.accept, tt.fallback)
			if got != tt.want {
				t.Errorf("Negotiate(%q, %q, %q, %q) = %q; want %q",
					tt.saved, tt.cookie, tt.accept, tt.fallback, got, tt.want)
			}
		})
	}
}

func TestNegotiateLongHeader(t *testing.T) {
	// Only the first maxAcceptEntries entries are considered.
	h := strings.Repeat("de, ", 1000) + "fr"
	if got := Negotiate("", "", h, EN); got != EN {
		t.Errorf("got %q; want the fallback", got)
	}
}

type resetMail struct {
	Name    string
	Link    string
	Minutes int
}

type named struct{ Name string }

type withEmbedded struct {
	named
	Link    string
	Minutes int
}

func TestT(t *testing.T) {
	c := testCatalog
	tests := []struct {
		name     string
		lang, id string
		data     []any
		want     string
	}{
		{"plain en", EN, "nav.home", nil, "Home"},
		{"plain fr", FR, "nav.home", nil, "Accueil"},
		{"spec wording", EN, "auth.invalid_credentials", nil, "Email or password is incorrect."},
		{"french typography", FR, "auth.forgot", nil, "Mot de passe oublié" + nnbsp + "?"},
		{"data map en", EN, "auth.password_too_short", []any{map[string]any{"Min": 12}},
			"Your password must be at least 12 characters long."},
		{"data map fr", FR, "auth.password_too_short", []any{map[string]any{"Min": 12}},
			"Votre mot de passe doit contenir au moins 12" + nbsp + "caractères."},
		{"data struct", FR, "auth.field_required", []any{struct{ Field string }{"Ville"}},
			"Le champ «" + nbsp + "Ville" + nbsp + "» est obligatoire."},
		{"data pointer to struct", EN, "auth.field_required", []any{&struct{ Field string }{"City"}},
			"City is required."},
		{"data map[string]string", EN, "auth.field_required", []any{map[string]string{"Field": "Email address"}},
			"Email address is required."},
		{"several data merged", EN, "auth.field_required", []any{map[string]any{"Field": "x"}, map[string]any{"Field": "Name"}},
			"Name is required."},
		{"data ignored by plain message", EN, "nav.shop", []any{map[string]any{"Min": 1}}, "Shop"},
		{"missing field renders placeholder", EN, "auth.password_too_short", nil,
			"Your password must be at least <no value> characters long."},
		{"missing id returns id", EN, "no.such.key", nil, "no.such.key"},
		{"missing id fr returns id", FR, "no.such.key", []any{map[string]any{"A": 1}}, "no.such.key"},
		{"region tag accepted", "fr-FR", "nav.shop", nil, "Boutique"},
		{"unsupported lang is English", "de", "nav.shop", nil, "Shop"},
		{"empty lang is English", "", "nav.shop", nil, "Shop"},
		{"struct lacking the field returns id", EN, "auth.field_required", []any{struct{ Other string }{"x"}},
			"auth.field_required"},
		{"string data does not panic", EN, "auth.field_required", []any{"oops"}, "auth.field_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.T(tt.lang, tt.id, tt.data...); got != tt.want {
				t.Errorf("T(%q, %q, %v) = %q; want %q", tt.lang, tt.id, tt.data, got, tt.want)
			}
		})
	}
}

func TestResetMail(t *testing.T) {
	c := testCatalog
	for _, data := range []any{
		resetMail{"Ada", "https://shop.example/reset/abc", 30},
		&resetMail{"Ada", "https://shop.example/reset/abc", 30},
		withEmbedded{named{"Ada"}, "https://shop.example/reset/abc", 30},
		map[string]any{"Name": "Ada", "Link": "https://shop.example/reset/abc", "Minutes": 30},
	} {
		for _, lang := range Supported {
			body := c.T(lang, "mail.reset.body", data)
			for _, want := range []string{"Ada", "https://shop.example/reset/abc\n", "30"} {
				if !strings.Contains(body, want) {
					t.Errorf("%s %T: body lacks %q:\n%s", lang, data, want, body)
				}
			}
			if strings.Contains(body, "<no value>") || strings.Contains(body, "{{") {
				t.Errorf("%s %T: unexpanded field:\n%s", lang, data, body)
			}
		}
	}
	if got := c.T(FR, "mail.reset.body", resetMail{"Ada", "L", 30}); !strings.HasPrefix(got, "Bonjour Ada,\n\n") ||
		!strings.Contains(got, "expire dans 30"+nbsp+"minutes") {
		t.Errorf("fr body = %q", got)
	}
}

func TestN(t *testing.T) {
	c := testCatalog
	tests := []struct {
		lang  string
		id    string
		count int
		want  string
	}{
		{EN, "time.minutes", 0, "0 minutes"},
		{EN, "time.minutes", 1, "1 minute"},
		{EN, "time.minutes", 2, "2 minutes"},
		{EN, "time.minutes", 21, "21 minutes"},
		{FR, "time.minutes", 0, "0" + nbsp + "minute"},
		{FR, "time.minutes", 1, "1" + nbsp + "minute"},
		{FR, "time.minutes", 2, "2" + nbsp + "minutes"},
		{FR, "time.minutes", 21, "21" + nbsp + "minutes"},
		{EN, "time.hours", 0, "0 hours"},
		{EN, "time.hours", 1, "1 hour"},
		{EN, "time.hours", 2, "2 hours"},
		{EN, "time.hours", 21, "21 hours"},
		{FR, "time.hours", 0, "0" + nbsp + "heure"},
		{FR, "time.hours", 1, "1" + nbsp + "heure"},
		{FR, "time.hours", 2, "2" + nbsp + "heures"},
		{FR, "time.hours", 21, "21" + nbsp + "heures"},
		{EN, "time.days", 0, "0 days"},
		{EN, "time.days", 1, "1 day"},
		{EN, "time.days", 2, "2 days"},
		{EN, "time.days", 21, "21 days"},
		{FR, "time.days", 0, "0" + nbsp + "jour"},
		{FR, "time.days", 1, "1" + nbsp + "jour"},
		{FR, "time.days", 2, "2" + nbsp + "jours"},
		{FR, "time.days", 21, "21" + nbsp + "jours"},
		// CLDR French "many" (1 000 000): our files leave it to "other".
		{FR, "time.days", 1000000, "1000000" + nbsp + "jours"},
		{EN, "time.days", -1, "-1 day"},
		{EN, "no.such.plural", 3, "no.such.plural"},
		// A plain message used with N still renders.
		{FR, "nav.home", 2, "Accueil"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/%d", tt.lang, tt.id, tt.count), func(t *testing.T) {
			if got := c.N(tt.lang, tt.id, tt.count); got != tt.want {
				t.Errorf("N(%q, %q, %d) = %q; want %q", tt.lang, tt.id, tt.count, got, tt.want)
			}
		})
	}
}

func TestNWithData(t *testing.T) {
	c := testCatalog
	// Count always wins over a Count in data; other fields pass through.
	if got := c.N(EN, "time.days", 3, map[string]any{"Count": 99}); got != "3 days" {
		t.Errorf("got %q", got)
	}
	if got := c.N(FR, "time.days", 1, struct{ Count, X int }{7, 8}); got != "1"+nbsp+"jour" {
		t.Errorf("got %q", got)
	}
}

func TestKeysAndHas(t *testing.T) {
	c := testCatalog
	for _, lang := range Supported {
		keys := c.Keys(lang)
		if !slices.IsSorted(keys) {
			t.Errorf("%s: keys not sorted", lang)
		}
		if !c.Has(lang, "nav.home") || c.Has(lang, "no.such.key") {
			t.Errorf("%s: Has is wrong", lang)
		}
		keys[0] = "mutated"
		if c.Keys(lang)[0] == "mutated" {
			t.Errorf("%s: Keys shares its slice with the catalog", lang)
		}
	}
	if c.Keys("de") != nil || c.Has("de", "nav.home") {
		t.Error("unsupported language has keys")
	}
}

// requiredKeys are the IDs the web shell and mail layers code against.
var requiredKeys = strings.Fields(`
site.name nav.home nav.shop nav.orders nav.account nav.support nav.console nav.admin nav.signin
nav.signup nav.signout lang.switch lang.fr lang.en
error.not_found.title error.not_found.body error.too_large error.bad_request error.internal
error.forbidden error.rate_limited error.csrf
auth.signin.title auth.signup.title auth.email auth.password auth.password_confirm auth.name
auth.country auth.region auth.city auth.customer_type auth.customer_type.consumer
auth.customer_type.business auth.vat_number auth.language auth.submit_signin auth.submit_signup
auth.forgot auth.invalid_credentials auth.email_taken auth.email_invalid auth.password_too_short
auth.passwords_differ auth.field_required auth.vat_required_for_business auth.signed_out
auth.session_expired
auth.reset.title auth.reset.request_submit auth.reset.sent auth.reset.new_password_title
auth.reset.invalid_link auth.reset.done
account.title account.password.title account.password.current account.password.new
account.password.changed account.password.wrong_current account.sessions.title
account.sessions.current account.sessions.revoke account.sessions.created
account.sessions.last_seen account.tokens.title account.tokens.revoke account.tokens.none
account.language_saved
home.title home.welcome footer.policy footer.contact footer.legal
mail.reset.subject mail.reset.body mail.signature
time.minutes time.hours time.days
`)

func TestRequiredKeys(t *testing.T) {
	for _, lang := range Supported {
		for _, id := range requiredKeys {
			if !testCatalog.Has(lang, id) {
				t.Errorf("%s.toml lacks %q", lang, id)
			}
		}
	}
	for _, id := range []string{"time.minutes", "time.hours", "time.days"} {
		for _, lang := range Supported {
			if m := testCatalog.messages[lang][id]; m.One == "" || m.Other == "" {
				t.Errorf("%s %s: plural message needs one and other", lang, id)
			}
		}
	}
}

// TestCatalogsComplete fails listing every ID present in one file but not in
// another, and every message whose plural forms or template fields differ
// between languages.
func TestCatalogsComplete(t *testing.T) {
	c := testCatalog
	for _, a := range Supported {
		for _, b := range Supported {
			if a == b {
				continue
			}
			var missing []string
			for _, id := range c.Keys(a) {
				if !c.Has(b, id) {
					missing = append(missing, id)
				}
			}
			if len(missing) > 0 {
				t.Errorf("in %s.toml but not in %s.toml:\n  %s", a, b, strings.Join(missing, "\n  "))
			}
		}
	}
	ref := c.messages[Supported[0]]
	for _, lang := range Supported[1:] {
		for id, m := range c.messages[lang] {
			r, ok := ref[id]
			if !ok {
				continue
			}
			if (r.One == "") != (m.One == "") {
				t.Errorf("%s: plural in one language, not in the other", id)
			}
			if rf, mf := fields(r), fields(m); !slices.Equal(rf, mf) {
				t.Errorf("%s: template fields %s: %v, %s: %v", id, Supported[0], rf, lang, mf)
			}
		}
	}
}

var fieldRE = regexp.MustCompile(`\{\{-?\s*\.(\w+)`)

func fields(m *i18n.Message) []string {
	var out []string
	for _, src := range forms(m) {
		for _, sm := range fieldRE.FindAllStringSubmatch(src, -1) {
			out = append(out, sm[1])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func forms(m *i18n.Message) map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two,
		"few": m.Few, "many": m.Many, "other": m.Other} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func TestNoEmptyMessage(t *testing.T) {
	for _, lang := range Supported {
		if len(testCatalog.messages[lang]) == 0 {
			t.Fatalf("%s: no messages", lang)
		}
		for id, m := range testCatalog.messages[lang] {
			if strings.TrimSpace(m.Other) == "" {
				t.Errorf("%s %s: empty message", lang, id)
			}
			for form, src := range forms(m) {
				if strings.TrimSpace(src) == "" || strings.TrimSpace(src) != src {
					t.Errorf("%s %s [%s]: empty, or leading/trailing white space: %q", lang, id, form, src)
				}
			}
			if got := testCatalog.T(lang, id); strings.TrimSpace(got) == "" || got == id && id != "site.name" {
				t.Errorf("%s %s: renders as %q", lang, id, got)
			}
		}
	}
}

var actionRE = regexp.MustCompile(`\{\{.*?\}\}`)

// TestTypography checks French punctuation spacing (no-break space before
// : ; ! ? and inside « », typographic apostrophe) and, for English, that no
// space precedes that punctuation.
func TestTypography(t *testing.T) {
	for _, lang := range Supported {
		for id, m := range testCatalog.messages[lang] {
			for form, src := range forms(m) {
				s := []rune(actionRE.ReplaceAllString(src, "X"))
				report := func(i int, msg string) {
					lo, hi := max(0, i-12), min(len(s), i+12)
					t.Errorf("%s %s [%s]: %s: …%q…", lang, id, form, msg, string(s[lo:hi]))
				}
				for i, r := range s {
					prev, next := ' ', ' '
					if i > 0 {
						prev = s[i-1]
					}
					if i+1 < len(s) {
						next = s[i+1]
					}
					if r == ' ' && next == ' ' {
						report(i, "double space")
					}
					if lang == FR {
						switch r {
						case '?', '!', ';', ':':
							if r == ':' && (next == '/' || unicode.IsDigit(prev) && unicode.IsDigit(next)) {
								continue // URL or time of day
							}
							if prev != '\u00a0' && prev != '\u202f' {
								report(i, "needs a no-break space before "+string(r))
							}
						case '«':
							if next != '\u00a0' && next != '\u202f' {
								report(i, "needs a no-break space after «")
							}
						case '»':
							if prev != '\u00a0' && prev != '\u202f' {
								report(i, "needs a no-break space before »")
							}
						case '\'':
							report(i, "use the typographic apostrophe ’")
						}
					} else {
						switch r {
						case '?', '!', ';', ':':
							if unicode.IsSpace(prev) {
								report(i, "no space before "+string(r)+" in English")
							}
						}
					}
				}
			}
		}
	}
}

func TestLoadRejectsBrokenFiles(t *testing.T) {
	good := func() fstest.MapFS {
		return fstest.MapFS{
			"messages/en.toml": {Data: []byte(`"a" = "A"` + "\n")},
			"messages/fr.toml": {Data: []byte(`"a" = "A"` + "\n")},
		}
	}
	if _, err := load(good()); err != nil {
		t.Fatalf("good files: %v", err)
	}
	tests := []struct {
		name, fr, want string
	}{
		{"toml syntax", `"a" = "A`, "fr.toml"},
		{"template syntax", `"a" = "{{.A"`, "a"},
		{"no other form", "[a]\none = \"x\"\n", "other"},
		{"duplicate id", "\"a.b\" = \"1\"\n[a]\nb = \"2\"\n", "twice"},
		{"mixed keys", "[a]\nother = \"x\"\nfoo = \"y\"\n", "fr.toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := good()
			fsys["messages/fr.toml"] = &fstest.MapFile{Data: []byte(tt.fr)}
			_, err := load(fsys)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("load() error = %v; want one mentioning %q", err, tt.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		fsys := good()
		delete(fsys, "messages/fr.toml")
		if _, err := load(fsys); err == nil {
			t.Error("load() succeeded without fr.toml")
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	c := testCatalog
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				lang := Supported[(g+i)%len(Supported)]
				_ = c.T(lang, "nav.home")
				_ = c.T(lang, "auth.password_too_short", map[string]any{"Min": i})
				_ = c.N(lang, "time.minutes", i)
			}
		})
	}
	wg.Wait()
}

func BenchmarkT(b *testing.B) {
	c := MustLoad()
	data := map[string]any{"Min": 12}
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = c.T(Supported[i&1], "nav.home")
		}
	})
	b.Run("template", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = c.T(Supported[i&1], "auth.password_too_short", data)
		}
	})
	b.Run("plural", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = c.N(Supported[i&1], "time.minutes", i&31)
		}
	})
	b.Run("missing", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = c.T(Supported[i&1], "no.such.key")
		}
	})
}
