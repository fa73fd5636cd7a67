package policy

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// default1Digest is the SHA-256 of default.toml as default@1 was
// published. A published version never changes: stores hold this text,
// orders accepted it, and claims were decided under it.
const default1Digest = "c82e5d4deeae0c4b1e99025a38b26bbb0d50e0d6503225eeafc6643237bf3827"

// nonDeliveryFacts is a line of 20 with delivered of them delivered,
// claimed five days after the order; its processing time ended on day 3.
func nonDeliveryFacts(delivered int64) Facts {
	return Facts{
		Kind: NonDelivery, FiledAt: ts("2026-03-13T10:00:00Z"),
		Customer: Customer{Type: Consumer, Country: "FR"},
		Order: &Order{
			PlacedAt: ts("2026-03-08T10:00:00Z"), PaidAt: ts("2026-03-08T10:00:00Z"), Paid: eur(2000),
			ProductKind: Service, Quantity: 20, Delivered: delivered, ProcessingUntil: ts("2026-03-11T10:00:00Z"),
		},
	}
}

// While processing runs (now before processing_until) and once it has
// passed, default@2's reasons make the count agree with its number in
// French (0 and 1 singular) and English (1 singular), as the order page
// does.
func TestDeliveredCountAgreesWithItsNumberInTheReasons(t *testing.T) {
	p, ok := Builtin("default@2")
	if !ok {
		t.Fatal("no built-in default@2")
	}
	redeliver := mustParse(t, strings.Replace(strings.Replace(string(p.Source()), `remedy = "refund"`, `remedy = "redeliver"`, 1),
		`name = "default"`, `name = "redeliver"`, 1))
	processingAt := ts("2026-03-10T10:00:00Z") // filed on the 9th, before processing ends on the 11th
	for _, c := range []struct {
		delivered int64
		// While processing runs.
		processingEN, processingFR string
		// Once it has passed: the partial refund (the undelivered rule
		// for 0), then redelivery first.
		rule                     string
		refundEN, refundFR       string
		redeliverEN, redeliverFR string
	}{
		{0, "(0 of 20 delivered so far)", "(0 sur 20 livré à ce jour)",
			"non_delivery.undelivered", "Nothing of this line was delivered in time.", "Rien n’a été livré sur cette ligne dans les délais.",
			"0 of 20 were delivered. As this store’s policy provides, we first deliver the missing 20 again",
			"0 sur 20 a été livré. Comme le prévoit la politique de la boutique, nous relançons d’abord la livraison des 20 manquants"},
		{1, "(1 of 20 delivered so far)", "(1 sur 20 livré à ce jour)",
			"non_delivery.partial", "1 of 20 was delivered. We refund the undelivered part, €19.00,", "1 sur 20 a été livré. Nous vous remboursons la part non livrée, soit 19,00\u00a0€,",
			"1 of 20 was delivered. As this store’s policy provides, we first deliver the missing 19 again",
			"1 sur 20 a été livré. Comme le prévoit la politique de la boutique, nous relançons d’abord la livraison des 19 manquants"},
		{2, "(2 of 20 delivered so far)", "(2 sur 20 livrés à ce jour)",
			"non_delivery.partial", "2 of 20 were delivered. We refund the undelivered part, €18.00,", "2 sur 20 ont été livrés. Nous vous remboursons la part non livrée, soit 18,00\u00a0€,",
			"2 of 20 were delivered.", "2 sur 20 ont été livrés."},
		{10, "(10 of 20 delivered so far)", "(10 sur 20 livrés à ce jour)",
			"non_delivery.partial", "10 of 20 were delivered. We refund the undelivered part, €10.00,", "10 sur 20 ont été livrés. Nous vous remboursons la part non livrée, soit 10,00\u00a0€,",
			"10 of 20 were delivered.", "10 sur 20 ont été livrés."},
		{19, "(19 of 20 delivered so far)", "(19 sur 20 livrés à ce jour)",
			"non_delivery.partial", "19 of 20 were delivered. We refund the undelivered part, €1.00,", "19 sur 20 ont été livrés. Nous vous remboursons la part non livrée, soit 1,00\u00a0€,",
			"19 of 20 were delivered. As this store’s policy provides, we first deliver the missing 1 again",
			"19 sur 20 ont été livrés. Comme le prévoit la politique de la boutique, nous relançons d’abord la livraison du 1 manquant"},
	} {
		f := nonDeliveryFacts(c.delivered)
		f.FiledAt = ts("2026-03-09T10:00:00Z")
		d := Evaluate(p, f, processingAt)
		if d.Rule != "non_delivery.processing" || d.PolicyVersion != "default@2" {
			t.Fatalf("%d delivered, processing: %s under %s", c.delivered, d.Rule, d.PolicyVersion)
		}
		reasonHas(t, c.delivered, d.Reason.EN, c.processingEN)
		reasonHas(t, c.delivered, d.Reason.FR, c.processingFR)

		d = Evaluate(p, nonDeliveryFacts(c.delivered), time.Time{})
		if d.Rule != c.rule {
			t.Fatalf("%d delivered: rule %s, want %s", c.delivered, d.Rule, c.rule)
		}
		reasonHas(t, c.delivered, d.Reason.EN, c.refundEN)
		reasonHas(t, c.delivered, d.Reason.FR, c.refundFR)

		d = Evaluate(redeliver, nonDeliveryFacts(c.delivered), time.Time{})
		if d.Rule != "non_delivery.redeliver" {
			t.Fatalf("%d delivered, redelivery first: rule %s", c.delivered, d.Rule)
		}
		reasonHas(t, c.delivered, d.Reason.EN, c.redeliverEN)
		reasonHas(t, c.delivered, d.Reason.FR, c.redeliverFR)
	}
}

func reasonHas(t *testing.T, delivered int64, reason, want string) {
	t.Helper()
	if !strings.Contains(reason, want) {
		t.Errorf("%d delivered: reason %q\n lacks %q", delivered, reason, want)
	}
}

// default@1 is published: its text and its decisions stay what they were,
// wrong agreement included, for the orders that accepted it. Its fixes
// are default@2's.
func TestDefault1IsUnchanged(t *testing.T) {
	p := Default()
	if p.ID() != "default@1" || p.Digest != default1Digest || !bytes.Equal(DefaultDocument(), p.Source()) {
		t.Fatalf("default@1 is %s with digest %s; it was published with %s", p.ID(), p.Digest, default1Digest)
	}
	if b, _ := Builtin("default@1"); b != p {
		t.Errorf("Builtin(default@1) is not Default()")
	}
	d := Evaluate(nil, nonDeliveryFacts(1), time.Time{})
	if d.PolicyVersion != "default@1" || d.Rule != "non_delivery.partial" || d.Refund == nil || d.Refund.Minor != 1900 ||
		d.Reason.EN != "1 of 20 were delivered. We refund the undelivered part, €19.00, to your original means of payment." ||
		d.Reason.FR != "1 sur 20 ont été livrés. Nous vous remboursons la part non livrée, soit 19,00\u00a0€, sur votre moyen de paiement d’origine." {
		t.Errorf("default@1 decides %+v", d)
	}
	if d := Evaluate(nil, Facts{Kind: Dissatisfied, FiledAt: ts("2026-03-09T10:00:00Z"), Customer: Customer{Type: Consumer, Country: "FR"},
		Order: &Order{PlacedAt: ts("2026-03-08T10:00:00Z"), PaidAt: ts("2026-03-08T10:00:00Z"), Paid: eur(1500), ProductKind: Service, Quantity: 1, Delivered: 1}},
		time.Time{}); !strings.Contains(d.Reason.FR, "une solution sous 48 heures\u00a0:") {
		t.Errorf("default@1's dissatisfied reason changed: %q", d.Reason.FR)
	}
}

// default@2 decides as default@1 (same rules, same windows): only the
// words differ.
func TestDefault2DecidesAsDefault1(t *testing.T) {
	v1, v2 := Default(), Newest()
	if v2.ID() != "default@2" || v2.Law != v1.Law || v2.TimeZone != v1.TimeZone || v2.kinds != v1.kinds {
		t.Fatalf("default@2 (%s) has other rules than default@1", v2.ID())
	}
	for _, delivered := range []int64{0, 1, 2, 10, 20} {
		for _, at := range []time.Time{{}, ts("2026-03-20T10:00:00Z")} {
			f := nonDeliveryFacts(delivered)
			a, b := Evaluate(v1, f, at), Evaluate(v2, f, at)
			if a.Outcome != b.Outcome || a.Rule != b.Rule || a.Statutory != b.Statutory || a.Cancel != b.Cancel ||
				(a.Refund == nil) != (b.Refund == nil) || a.Refund != nil && *a.Refund != *b.Refund {
				t.Errorf("%d delivered: default@1 %+v, default@2 %+v", delivered, a, b)
			}
		}
	}
	// The promise and the subscription withdrawal, in both languages.
	en, enParas := v2.Page("en")
	_, frParas := v2.Page("fr")
	enText, frText := en+strings.Join(enParas, "\n"), strings.Join(frParas, "\n")
	for _, want := range []string{"withdraw from a new subscription within 14 calendar days of taking it out", "even once 7 days have passed since the last payment",
		"propose a solution, usually within 24 hours and never later than 48 hours"} {
		if !strings.Contains(enText, want) {
			t.Errorf("default@2's page lacks %q", want)
		}
	}
	frText = strings.ReplaceAll(frText, "\u00a0", " ") // French spaces aside
	for _, want := range []string{"vous rétracter d’un nouvel abonnement dans un délai de 14 jours calendaires après sa souscription",
		"une solution, en général sous 24 heures et jamais au-delà de 48 heures"} {
		if !strings.Contains(frText, want) {
			t.Errorf("default@2's French page lacks %q", want)
		}
	}
	if strings.Contains(enText, "solution within 48 hours") {
		t.Errorf("default@2's page still promises a solution within 48 hours only")
	}
	for r := range numRules {
		for lang := range 2 {
			s := v2.wording[r][lang].render(&evaluation{p: v2, f: &Facts{Order: &Order{Quantity: 2, Delivered: 1}}}, lang)
			if strings.Contains(s, "within 48 hours") || strings.Contains(s, "sous 48 heures") || strings.Contains(s, "sous 48\u00a0heures") {
				t.Errorf("%s (%s): %q promises 48 hours, not the 24–48 hours promise", rules[r].name, langNames[lang], s)
			}
		}
	}
}

func TestPluralTemplates(t *testing.T) {
	allowed := fields(join(timeFields, quantityFields, []field{fieldRefund, fieldPaid, fieldRefunded})...)
	render := func(src string, lang int, ordered, delivered int64) string {
		t.Helper()
		tpl, err := parseTemplate(src, allowed)
		if err != nil {
			t.Fatalf("%q: %s", src, err.msg)
		}
		e := &evaluation{p: Default(), f: &Facts{Order: &Order{Quantity: ordered, Delivered: delivered}}}
		return tpl.render(e, lang)
	}
	for _, c := range []struct {
		src                string
		lang               int
		ordered, delivered int64
		want               string
	}{
		{"{delivered, plural, one {a été livré} other {ont été livrés}}", langFR, 10, 0, "a été livré"},
		{"{delivered, plural, one {a été livré} other {ont été livrés}}", langFR, 10, 1, "a été livré"},
		{"{delivered, plural, one {a été livré} other {ont été livrés}}", langFR, 10, 2, "ont été livrés"},
		{"{delivered, plural, one {was} other {were}}", langEN, 10, 0, "were"},
		{"{delivered, plural, one {was} other {were}}", langEN, 10, 1, "was"},
		{"{delivered, plural, one {was} other {were}}", langEN, 10, 10, "were"},
		// Exact forms first; a form the rules give but the text lacks is other.
		{"{delivered, plural, =0 {nothing} one {one} other {{delivered}}}", langEN, 2000, 0, "nothing"},
		{"{delivered, plural, =0 {nothing} one {one} other {{delivered}}}", langEN, 2000, 1000, "1,000"},
		{"{delivered,plural,other{x}} {{literal}}", langEN, 1, 1, "x {literal}"},
		// Fields inside forms, a plural inside a form, newlines between forms.
		{"{undelivered, plural, one {du {undelivered} manquant}\n other {des {undelivered} manquants}}", langFR, 3, 2, "du 1 manquant"},
		{"{undelivered, plural, one {du {undelivered} manquant}\n other {des {undelivered} manquants}}", langFR, 3, 0, "des 3 manquants"},
		{"{ordered, plural, one {{delivered, plural, one {a} other {b}}} other {c}}", langEN, 1, 2, "b"},
	} {
		if got := render(c.src, c.lang, c.ordered, c.delivered); got != c.want {
			t.Errorf("%q (%s, %d of %d) = %q, want %q", c.src, langNames[c.lang], c.delivered, c.ordered, got, c.want)
		}
	}
}

func TestPluralErrors(t *testing.T) {
	base := testDoc("eu", nil) + "\n[wording.non_delivery.partial]\nen = \"%s\"\nfr = \"x\"\n"
	for _, c := range []struct{ text, code, msg string }{
		{"{delivered, plural, one {was}}", CodePluralOther, "{delivered, plural, …} has no other {…}"},
		{"{delivered, plurals, other {x}}", CodeBadPlural, "{delivered, plural, …} is not well formed"},
		{"{delivered, plural, other {x} other {y}}", CodeBadPlural, "is not well formed"},
		{"{delivered, plural, several {x} other {y}}", CodeBadPlural, "is not well formed"},
		{"{delivered, plural, =01 {x} other {y}}", CodeBadPlural, "is not well formed"},
		{"{delivered, plural, other x}", CodeBadPlural, "is not well formed"},
		{"{delivered, plural, other {x}", CodeBadPlural, "is not well formed"},
		{"{delivered, plural, other {x", CodeUnclosedBrace, "is never closed"},
		{"{refund, plural, one {x} other {y}}", CodePluralNotCount, "{refund} is not a count: a plural form is chosen by one of {ordered}, {delivered}, {undelivered}"},
		{"{delivered, plural, one {{expected}} other {y}}", CodeUnavailableField, "{expected} is not available in this reason"},
		{"{delivered, plural, one {} other {s}}", CodeEmpty, "must not be empty"},
		{" {delivered, plural, =3 { } other {{refund}}}", CodeEmpty, "must not be empty"},
		{"{delivered, plural, other {{delivered, plural, other {{delivered, plural, other {{delivered, plural, other {{delivered, plural, other {x}}}}}}}}}}", CodeBadPlural, "is not well formed"},
	} {
		_, err := Parse([]byte(strings.Replace(base, "%s", c.text, 1)))
		pe, ok := err.(*ParseError)
		if !ok || pe.Code != c.code || !strings.Contains(pe.Msg, c.msg) || pe.Path != "wording.non_delivery.partial.en" {
			t.Errorf("%q: %v, want %s saying %q", c.text, err, c.code, c.msg)
			continue
		}
		checkErrorWorded(t, pe)
	}
}

// A document that says it is a built-in version but is not its text is
// warned about, for default@2 as for default@1.
func TestCheckWarnsOfAChangedBuiltin(t *testing.T) {
	for _, b := range Builtins() {
		if ws := Check(b); len(ws) != 1 || ws[0].Code != CodeLiabilityShort {
			t.Errorf("%s: warnings %v, want the 2-year liability one only", b.ID(), ws)
		}
		changed := mustParse(t, strings.Replace(string(b.Source()), "Refunds, claims and your rights", "Refunds", 1))
		var found bool
		for _, w := range Check(changed) {
			found = found || w.Code == CodeBuiltinChanged && w.Arg.Name == b.ID()
		}
		if !found {
			t.Errorf("%s changed: no %s warning", b.ID(), CodeBuiltinChanged)
		}
	}
}
