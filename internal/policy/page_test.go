package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultPage(t *testing.T) {
	p := Default()
	en, enParas := p.Page("en")
	fr, frParas := p.Page("fr")
	if en != "Refunds, claims and your rights" || fr != "Remboursements, réclamations et vos droits" {
		t.Errorf("titles %q / %q", en, fr)
	}
	if len(enParas) < 10 || len(enParas) != len(frParas) {
		t.Fatalf("%d English paragraphs, %d French: want the same ten or more", len(enParas), len(frParas))
	}
	enText, frText := strings.Join(enParas, "\n"), strings.Join(frParas, "\n")
	// What the page must say (the issue): the answer promise, every kind
	// with its window expanded from the rules, the statutory rights, where
	// refunds go.
	for _, want := range []string{
		"within 24 hours and never later than 48 hours",
		"you can claim within 7 days of placing it",
		"tell us within 7 days of payment",
		"If you cancel within 7 days of the last payment",
		"write to us within 7 days of placing it",
		"within 14 calendar days of placing it, not counting the day of the order",
		"you pay only for what was delivered",
		"For digital content, the right ends when supply begins",
		"two years after your purchase",
		"Directive 2019/770",
		"A refund goes back to the means of payment you used",
		"store credit instead only if you agree to it",
	} {
		if !strings.Contains(enText, want) {
			t.Errorf("English page lacks %q", want)
		}
	}
	for _, want := range []string{
		"sous 24\u00a0heures et jamais au-delà de 48\u00a0heures",
		"dans un délai de 7\u00a0jours après la commande",
		"dans un délai de 7\u00a0jours après le paiement",
		"dans un délai de 7\u00a0jours après le dernier paiement",
		"dans un délai de 14\u00a0jours calendaires après celle-ci, le jour de la commande n’étant pas compté",
		"vous ne payez que ce qui a été fourni",
		"pendant deux ans après votre achat",
		"directive (UE) 2019/770",
		"revient sur le moyen de paiement utilisé",
		"Nous ne proposons un avoir à la place que si vous l’acceptez",
		"écrivez-nous\u00a0",
	} {
		if !strings.Contains(strings.ReplaceAll(frText, " ", "\u00a0"), strings.ReplaceAll(want, " ", "\u00a0")) {
			t.Errorf("French page lacks %q", want)
		}
	}
	for lang, text := range map[string]string{"en": enText, "fr": frText} {
		if strings.ContainsAny(text, "{}'") {
			t.Errorf("%s page has a brace left or a straight apostrophe (use ’)", lang)
		}
		if strings.Contains(text, "  ") {
			t.Errorf("%s page has a double space", lang)
		}
	}
	// French typography and vous.
	if !strings.Contains(frText, "en ligne\u00a0: des services") || !strings.Contains(frText, "le reste\u202f; une fois") {
		t.Errorf("French page lacks its no-break spaces")
	}
	for _, tu := range []string{" tu ", " ton ", " ta ", " tes "} {
		if strings.Contains(frText, tu) {
			t.Errorf("French page says %q: it must say vous", tu)
		}
	}
}

func TestPageLanguage(t *testing.T) {
	p := Default()
	fr, _ := p.Page("fr")
	en, _ := p.Page("en")
	for _, tag := range []string{"fr", "FR", "fr-FR", "fr_CA"} {
		if got, _ := p.Page(tag); got != fr {
			t.Errorf("Page(%q) = %q, want French", tag, got)
		}
	}
	for _, tag := range []string{"en", "", "de", "fra", "frx", "en-GB"} {
		if got, _ := p.Page(tag); got != en {
			t.Errorf("Page(%q) = %q, want English", tag, got)
		}
	}
	// The caller may change what it gets without changing the policy.
	_, paras := p.Page("en")
	paras[0] = "changed"
	if _, again := p.Page("en"); again[0] == "changed" {
		t.Error("Page returned the policy's own slice")
	}
}

// pageDoc is testDoc with its page replaced by one whose texts are en and
// fr (TOML literal strings, so backslashes stay as typed).
func pageDoc(law string, override map[Kind]string, en, fr string) string {
	doc := strings.TrimSuffix(testDoc(law, override), testPage)
	return doc + "\n[page]\ntitle_en = \"Refunds\"\ntitle_fr = \"Remboursements\"\nen = '''\n" + en + "'''\nfr = '''\n" + fr + "'''\n"
}

func TestPageWindows(t *testing.T) {
	text := "{window.non_delivery}|{window.not_as_described}|{window.subscription_cancel}|{window.dissatisfied}|{window.withdrawal}"
	tests := []struct {
		name     string
		law      string
		override map[Kind]string
		en, fr   string
	}{
		{"default windows", "eu", nil,
			"7 days|7 days|7 days|7 days|14 calendar days",
			"7 jours|7 jours|7 jours|7 jours|14 jours calendaires"},
		{"windows in hours and calendar days", "eu", map[Kind]string{
			NonDelivery:        "enabled = true\nwindow = \"1d12h\"",
			NotAsDescribed:     "enabled = true\nwindow = \"730d\"",
			SubscriptionCancel: "enabled = true\nwindow = \"1d\"\ncounting = \"calendar\"",
			Dissatisfied:       "enabled = true\nwindow = \"90m\"",
			Withdrawal:         "enabled = true\nwindow = \"30d\"\ncounting = \"calendar\"",
		},
			"1 day 12 hours|730 days|1 calendar day|1 hour 30 minutes|30 calendar days",
			"1 jour et 12 heures|730 jours|1 jour calendaire|1 heure et 30 minutes|30 jours calendaires"},
		// Withdrawal: what a consumer gets, never less than the law's 14
		// calendar days, whatever [kinds.withdrawal] says.
		{"withdrawal shortened", "eu", map[Kind]string{Withdrawal: "enabled = true\nwindow = \"10d\"\ncounting = \"calendar\""},
			"7 days|7 days|7 days|7 days|14 calendar days", ""},
		{"withdrawal disabled", "eu", map[Kind]string{Withdrawal: "enabled = false"},
			"7 days|7 days|7 days|7 days|14 calendar days", ""},
		{"withdrawal exact 15 days: not always longer", "eu", map[Kind]string{Withdrawal: "enabled = true\nwindow = \"15d\""},
			"7 days|7 days|7 days|7 days|14 calendar days", ""},
		{"withdrawal exact 16 days: always longer", "eu", map[Kind]string{Withdrawal: "enabled = true\nwindow = \"16d\""},
			"7 days|7 days|7 days|7 days|16 days", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, pageDoc(tt.law, tt.override, text, text))
			if _, got := p.Page("en"); len(got) != 1 || got[0] != tt.en {
				t.Errorf("en %q, want %q", got, tt.en)
			}
			if _, got := p.Page("fr"); tt.fr != "" && (len(got) != 1 || got[0] != tt.fr) {
				t.Errorf("fr %q, want %q", got, tt.fr)
			}
		})
	}
}

func TestPageParagraphs(t *testing.T) {
	en := "  First paragraph,\nwrapped over\n   three lines.\n\n\n\nSecond: {{literal}} braces } and {window.dissatisfied}.\r\n\r\nThird.\n\n"
	fr := "Premier : « citation » ; et ça ?\n\nDeuxième."
	p := mustParse(t, pageDoc("eu", nil, en, fr))
	_, got := p.Page("en")
	want := []string{"First paragraph, wrapped over three lines.", "Second: {literal} braces } and 7 days.", "Third."}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("paragraphs\n got %q\nwant %q", got, want)
	}
	_, got = p.Page("fr")
	want = []string{"Premier\u00a0: «\u00a0citation\u00a0»\u202f; et ça\u202f?", "Deuxième."}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("French paragraphs\n got %q\nwant %q", got, want)
	}
	// A page does not change the rules: the same document without it
	// decides the same way.
	if p.Kind(Dissatisfied) != mustParse(t, testDoc("eu", nil)).Kind(Dissatisfied) {
		t.Error("the page changed a kind")
	}
}

func TestPageErrors(t *testing.T) {
	base := strings.TrimSuffix(testDoc("eu", nil), testPage) // ends on line 26, so the page starts on line 27
	full := func(body string) string { return base + "\n" + body }
	// pageDoc's en starts a multi-line string on line 30, its text on line 31
	// (one line earlier when an override has one line less).
	withText := func(law string, override map[Kind]string, en string) string {
		return pageDoc(law, override, en, "Texte.")
	}
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"no page", base,
			`page: missing: the page customers read, a [page] table with title_en, title_fr, en, fr`},
		{"page not a table", strings.Replace(base, "timezone = \"Europe/Paris\"\n", "timezone = \"Europe/Paris\"\npage = 3\n", 1),
			`line 5: page: must be a table, not an integer`},
		{"unknown key", full("[page]\ntitle_en = \"T\"\ntitle_fr = \"T\"\nen = \"x\"\nfr = \"x\"\nde = \"x\"\n"),
			`line 32: page.de: unknown key (the page has title_en, title_fr, en, fr)`},
		{"unknown key with a multi-line value", full("[page]\ntitle_en = \"T\"\ntitle_fr = \"T\"\nen = \"x\"\nfr = \"x\"\nde = \"\"\"\nHallo.\n\nTschüss.\n\"\"\"\n"),
			`line 32: page.de: unknown key (the page has title_en, title_fr, en, fr)`},
		{"French text missing", full("[page]\ntitle_en = \"T\"\ntitle_fr = \"T\"\nen = \"x\"\n"),
			`line 27: page.fr: missing: the page needs a title and a text in both languages (title_en, title_fr, en, fr)`},
		{"English title missing", full("[page]\ntitle_fr = \"T\"\nen = \"x\"\nfr = \"x\"\n"),
			`line 27: page.title_en: missing: the page needs a title and a text in both languages (title_en, title_fr, en, fr)`},
		{"empty English text", full("[page]\ntitle_en = \"T\"\ntitle_fr = \"T\"\nen = \"\"\"\n\n  \n\"\"\"\nfr = \"x\"\n"),
			`line 30: page.en: must not be empty`},
		{"empty French title", full("[page]\ntitle_en = \"T\"\ntitle_fr = \" \"\nen = \"x\"\nfr = \"x\"\n"),
			`line 29: page.title_fr: must not be empty`},
		{"title on two lines", full("[page]\ntitle_en = \"T\\nU\"\ntitle_fr = \"T\"\nen = \"x\"\nfr = \"x\"\n"),
			`line 28: page.title_en: must be one line`},
		{"text not a string", full("[page]\ntitle_en = \"T\"\ntitle_fr = \"T\"\nen = [\"x\"]\nfr = \"x\"\n"),
			`line 30: page.en: must be a string, not an array`},
		{"unknown placeholder", withText("eu", nil, "Hello.\n\nWithin {window.refund} or {deadline}.\n"),
			`line 33: page.en: {window.refund} is not a placeholder (the page has {window.non_delivery}, {window.not_as_described}, {window.subscription_cancel}, {window.dissatisfied}, {window.withdrawal})`},
		{"placeholder of a disabled kind", withText("eu", map[Kind]string{Dissatisfied: "enabled = false"}, "Line one.\nWithin {window.dissatisfied}.\n"),
			`line 31: page.en: {window.dissatisfied}: kinds.dissatisfied is disabled, so the page cannot announce a window for it`},
		{"withdrawal under law none", withText("none", nil, "Withdraw within {window.withdrawal}.\n"),
			`line 31: page.en: {window.withdrawal}: under law = "none" nobody has a right of withdrawal, so the page cannot give its window`},
		{"unclosed brace", withText("eu", nil, "One.\n\nTwo {window.dissatisfied\n}.\n"),
			`line 33: page.en: a { is never closed (write {{ for a literal brace)`},
		{"error in the French text", pageDoc("eu", nil, "Fine.", "Sous {fenetre}.\n"),
			`line 33: page.fr: {fenetre} is not a placeholder (the page has {window.non_delivery}, {window.not_as_described}, {window.subscription_cancel}, {window.dissatisfied}, {window.withdrawal})`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse succeeded (%s), want %s\n%s", p.ID(), tt.want, tt.doc)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
			checkErrorWorded(t, pe)
		})
	}
}
