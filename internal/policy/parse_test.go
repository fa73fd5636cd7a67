package policy

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultPolicy(t *testing.T) {
	p := Default()
	if p.ID() != "default@1" || p.Law != LawEU || p.TimeZone != "Europe/Paris" {
		t.Fatalf("default policy is %s law %s tz %s", p.ID(), p.Law, p.TimeZone)
	}
	// POLICY.md's table.
	want := map[Kind]Window{
		NonDelivery:        {Counting: Exact, Length: 168 * time.Hour, Days: 7},
		NotAsDescribed:     {Counting: Exact, Length: 168 * time.Hour, Days: 7},
		SubscriptionCancel: {Counting: Exact, Length: 168 * time.Hour, Days: 7},
		Dissatisfied:       {Counting: Exact, Length: 168 * time.Hour, Days: 7},
		Withdrawal:         {Counting: Calendar, Length: 14 * 24 * time.Hour, Days: 14},
	}
	for k, w := range want {
		kr := p.Kind(k)
		if !kr.Enabled || kr.Window != w {
			t.Errorf("%s: %+v, want enabled with %+v", k, kr, w)
		}
	}
	if p.Kind(NonDelivery).Remedy != RemedyRefund {
		t.Errorf("non_delivery remedy %s, want refund", p.Kind(NonDelivery).Remedy)
	}
	if len(p.missing) != 0 {
		t.Errorf("default policy lacks wording: %v", p.missing)
	}
	// Parse gives the same policy as Default, and the document is what
	// DefaultDocument returns.
	q, err := Parse(DefaultDocument())
	if err != nil || q.Digest != p.Digest || !bytes.Equal(q.Source(), p.Source()) {
		t.Errorf("Parse(DefaultDocument()) = %v, %v", q, err)
	}
}

func TestDefaultWordingQuality(t *testing.T) {
	for _, p := range Builtins() {
		wordingQuality(t, p)
	}
}

func wordingQuality(t *testing.T, p *Policy) {
	for r := range numRules {
		en, fr := p.wording[r][langEN], p.wording[r][langFR]
		var ens, frs strings.Builder
		for _, pt := range en.parts {
			ens.WriteString(pt.lit)
		}
		for _, pt := range fr.parts {
			frs.WriteString(pt.lit)
		}
		if strings.Contains(frs.String(), " tu ") || strings.Contains(frs.String(), " ton ") {
			t.Errorf("%s: French wording must say vous: %q", rules[r].name, frs.String())
		}
		if strings.Contains(frs.String(), "'") || strings.Contains(ens.String(), "'") {
			t.Errorf("%s: use the typographic apostrophe ’", rules[r].name)
		}
	}
}

func TestParseErrors(t *testing.T) {
	head := "name = \"test\"\nversion = 2\nlaw = \"eu\"\ntimezone = \"Europe/Paris\"\n" // lines 1–4
	kinds := testDoc("eu", nil)[len(head):]                                             // kinds from line 5
	// replace swaps one line of the valid document for another.
	replace := func(old, new string) string {
		doc := testDoc("eu", nil)
		if !strings.Contains(doc, old) {
			panic("no " + old)
		}
		return strings.Replace(doc, old, new, 1)
	}
	// In testDoc, [kinds.non_delivery] is line 6, its enabled 7 and window 8.
	tests := []struct {
		name string
		doc  string
		want string // the whole error message
	}{
		{"bad window", replace("window = \"7d\"", "window = \"7x\""),
			`line 8: kinds.non_delivery.window: "7x" is not a duration such as 7d or 168h`},
		{"window with a unit out of order", replace("window = \"7d\"", "window = \"3h2d\""),
			`line 8: kinds.non_delivery.window: "3h2d" is not a duration such as 7d or 168h`},
		{"window of nothing", replace("window = \"7d\"", "window = \"0d\""),
			`line 8: kinds.non_delivery.window: "0d": a window must be longer than nothing`},
		{"window too long", replace("window = \"7d\"", "window = \"4000d\""),
			`line 8: kinds.non_delivery.window: "4000d": a window is at most 3650 days`},
		{"window not a string", replace("window = \"7d\"", "window = 7"),
			`line 8: kinds.non_delivery.window: must be a string, not an integer`},
		{"syntax error", replace("window = \"7d\"", "window = \"7d"),
			`line 8: kinds.non_delivery.window: strings cannot contain newlines`},
		{"unknown top-level key", head + "colour = \"red\"\n" + kinds,
			`line 5: colour: unknown key (a policy has name, version, law, timezone, kinds, wording, page)`},
		{"misspelt kind key", replace("window = \"7d\"", "windw = \"7d\""),
			`line 8: kinds.non_delivery.windw: unknown key (a claim kind has enabled, window, counting, remedy)`},
		{"remedy on another kind", strings.Replace(testDoc("eu", nil), "[kinds.dissatisfied]\nenabled = true", "[kinds.dissatisfied]\nremedy = \"refund\"\nenabled = true", 1),
			`line 19: kinds.dissatisfied.remedy: unknown key (a claim kind has enabled, window, counting)`},
		{"unknown kind", testDoc("eu", nil) + "\n[kinds.refund_everything]\nenabled = true\n",
			`line 33: kinds.refund_everything: unknown claim kind (want non_delivery, not_as_described, subscription_cancel, dissatisfied, withdrawal)`},
		{"missing kind", strings.Replace(testDoc("eu", nil), "[kinds.dissatisfied]\nenabled = true\nwindow = \"7d\"\n", "", 1),
			`line 6: kinds.dissatisfied: missing: every claim kind needs its table, at least [kinds.dissatisfied] enabled = true or false`},
		{"enabled not a boolean", replace("enabled = true", "enabled = \"yes\""),
			`line 7: kinds.non_delivery.enabled: must be true or false, not a string`},
		{"enabled missing", replace("enabled = true\n", ""),
			`line 6: kinds.non_delivery.enabled: missing (true or false)`},
		{"window missing when enabled", replace("window = \"7d\"\n", ""),
			`line 6: kinds.non_delivery.window: missing (a duration such as 7d or 168h)`},
		{"counting unknown", replace("window = \"7d\"", "window = \"7d\"\ncounting = \"weekly\""),
			`line 9: kinds.non_delivery.counting: "weekly" is not a way of counting (want "exact" or "calendar")`},
		{"calendar counting in hours", replace("window = \"7d\"", "window = \"168h\"\ncounting = \"calendar\""),
			`line 8: kinds.non_delivery.window: "168h": calendar counting counts whole days, so write the window in days, such as 14d`},
		{"remedy unknown", replace("window = \"7d\"", "window = \"7d\"\nremedy = \"voucher\""),
			`line 9: kinds.non_delivery.remedy: "voucher" is not a remedy (want "refund" or "redeliver")`},
		{"kinds not a table", head + "kinds = [1, 2]\n",
			`line 5: kinds: must be a table, not an array`},
		{"name missing", strings.Replace(testDoc("eu", nil), "name = \"test\"\n", "", 1),
			`name: missing`},
		{"name with capitals", strings.Replace(testDoc("eu", nil), "name = \"test\"", "name = \"Test\"", 1),
			`line 1: name: "Test" is not a policy name: 1 to 64 lower-case letters, digits, - or _, starting with a letter`},
		{"version as a string", strings.Replace(testDoc("eu", nil), "version = 2", "version = \"2\"", 1),
			`line 2: version: must be an integer such as 1, not a string`},
		{"version zero", strings.Replace(testDoc("eu", nil), "version = 2", "version = 0", 1),
			`line 2: version: 0 is not a version number (1, 2, 3…)`},
		{"unknown law", testDoc("us", nil),
			`line 3: law: "us" is not a law comptoir knows (want "eu" or "none")`},
		{"unknown time zone", strings.Replace(testDoc("eu", nil), "Europe/Paris", "Mars/Olympus_Mons", 1),
			`line 4: timezone: "Mars/Olympus_Mons" is not an IANA time zone such as Europe/Paris or UTC`},
		{"host time zone", strings.Replace(testDoc("eu", nil), "Europe/Paris", "Local", 1),
			`line 4: timezone: "Local" is not an IANA time zone such as Europe/Paris or UTC`},
		{"wording for an unknown rule", testDoc("eu", nil) + "\n[wording.non_delivery.partly]\nen = \"x\"\n",
			`line 33: wording.non_delivery.partly: no rule is called non_delivery.partly (see the list in doc.go)`},
		{"wording for an unknown group", testDoc("eu", nil) + "\n[wording]\nrefunds = 1\n",
			`line 34: wording.refunds: no rules are called refunds.* (see the list in doc.go)`},
		{"wording in another language", testDoc("eu", nil) + "\n[wording.non_delivery.partial]\nde = \"x\"\n",
			`line 34: wording.non_delivery.partial.de: unknown language (want en and fr)`},
		{"wording with an unknown field", testDoc("eu", nil) + "\n[wording.non_delivery.processing]\nen = \"by {expectd}\"\n",
			`line 34: wording.non_delivery.processing.en: {expectd} is not a field (this reason has {policy}, {elapsed}, {window}, {deadline}, {ordered}, {delivered}, {undelivered}, {expected})`},
		{"wording with a field the rule does not fill", testDoc("eu", nil) + "\n[wording.non_delivery.out_of_time]\nen = \"ok\"\nfr = \"{refund}\"\n",
			`line 35: wording.non_delivery.out_of_time.fr: {refund} is not available in this reason (it has {policy}, {elapsed}, {window}, {deadline})`},
		{"wording with an unclosed brace", testDoc("eu", nil) + "\n[wording.agent.delivery_record]\nen = \"see {policy\"\n",
			`line 34: wording.agent.delivery_record.en: a { is never closed (write {{ for a literal brace)`},
		{"empty wording", testDoc("eu", nil) + "\n[wording.agent.delivery_record]\nen = \"  \"\n",
			`line 34: wording.agent.delivery_record.en: must not be empty`},
		{"wording not a string", testDoc("eu", nil) + "\n[wording.agent.delivery_record]\nen = 3\n",
			`line 34: wording.agent.delivery_record.en: must be a string, not an integer`},
		{"not UTF-8", "name = \"\xff\"\n", `the document is not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse succeeded (%s), want %s", p.ID(), tt.want)
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

func TestParseWordingOverride(t *testing.T) {
	doc := testDoc("eu", nil) + `
[wording.non_delivery.partial]
en = "Refund: {refund} ({policy}). {{literal}}"
fr = "Remboursement : {refund} ({policy})."
`
	p := mustParse(t, doc)
	d := Evaluate(p, claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 400)), time.Time{})
	if d.Reason.EN != "Refund: €6.00 (test@2). {literal}" {
		t.Errorf("reason.en = %q", d.Reason.EN)
	}
	if d.Reason.FR != "Remboursement\u00a0: 6,00\u00a0€ (test@2)." {
		t.Errorf("reason.fr = %q", d.Reason.FR)
	}
	// Reasons the document does not word come from the default policy.
	d = Evaluate(p, claim(NonDelivery, "2026-03-10T10:00:00Z", line(1000, 1000, 0)), time.Time{})
	if !strings.Contains(d.Reason.EN, "Nothing of this line was delivered") {
		t.Errorf("fallback reason.en = %q", d.Reason.EN)
	}
}

func TestParseWindow(t *testing.T) {
	tests := []struct {
		s    string
		d    time.Duration
		days int
		ok   bool
	}{
		{"7d", 168 * time.Hour, 7, true},
		{"168h", 168 * time.Hour, 0, true},
		{"1d12h", 36 * time.Hour, 0, true},
		{"90m", 90 * time.Minute, 0, true},
		{"14d0h", 14 * 24 * time.Hour, 14, true},
		{"", 0, 0, false},
		{"d", 0, 0, false},
		{"7", 0, 0, false},
		{"7D", 0, 0, false},
		{"-7d", 0, 0, false},
		{"7d7d", 0, 0, false},
		{"1.5d", 0, 0, false},
		{"7d ", 0, 0, false},
		{"99999999d", 0, 0, false},
	}
	for _, tt := range tests {
		d, days, err := parseWindow(tt.s)
		if (err == nil) != tt.ok || d != tt.d || days != tt.days {
			t.Errorf("parseWindow(%q) = %v, %d, %v; want %v, %d, ok=%v", tt.s, d, days, err, tt.d, tt.days, tt.ok)
		}
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // the warnings, as String gives them
	}{
		{"default: the 7-day not_as_described window", string(DefaultDocument()), []string{
			"line 81: kinds.not_as_described.window: 7 days is shorter than the 2 years of liability for digital content and services owed to EU consumers (Directive 2019/770); comptoir takes their claims filed later, within 2 years of payment, as statutory",
		}},
		{"an edited default@1", strings.Replace(string(DefaultDocument()), "window = \"7d\"", "window = \"8d\"", 1), []string{
			"line 65: version: default@1 is the built-in policy, and a published version never changes: give this document another name or a new version",
			"line 81: kinds.not_as_described.window: 7 days is shorter than the 2 years of liability for digital content and services owed to EU consumers (Directive 2019/770); comptoir takes their claims filed later, within 2 years of payment, as statutory",
		}},
		{"withdrawal disabled", testDoc("eu", map[Kind]string{Withdrawal: "enabled = false", NotAsDescribed: "enabled = true\nwindow = \"730d\""}), []string{
			"line 23: kinds.withdrawal.enabled: withdrawal is disabled, but EU consumers keep their right of withdrawal for 14 calendar days after the order (Directive 2011/83/EU art. 9); comptoir applies it to them anyway",
		}},
		{"withdrawal 10 calendar days", testDoc("eu", map[Kind]string{Withdrawal: "enabled = true\nwindow = \"10d\"\ncounting = \"calendar\"", NotAsDescribed: "enabled = true\nwindow = \"730d\""}), []string{
			"line 24: kinds.withdrawal.window: 10 calendar days is shorter than the 14 calendar days EU consumers have to withdraw (Directive 2011/83/EU art. 9); comptoir applies the 14 days to them",
		}},
		{"withdrawal 14 exact days", testDoc("eu", map[Kind]string{Withdrawal: "enabled = true\nwindow = \"14d\"", NotAsDescribed: "enabled = true\nwindow = \"730d\""}), []string{
			"line 24: kinds.withdrawal.window: an exact window of 14 days can end before the 14 calendar days EU consumers have to withdraw (the order day not counted); use counting = \"calendar\"; comptoir applies the 14 calendar days to them",
		}},
		{"withdrawal 15 exact days is enough", testDoc("eu", map[Kind]string{Withdrawal: "enabled = true\nwindow = \"15d\"", NotAsDescribed: "enabled = true\nwindow = \"730d\""}), nil},
		{"not_as_described disabled", testDoc("eu", map[Kind]string{NotAsDescribed: "enabled = false"}), []string{
			"line 11: kinds.not_as_described.enabled: not_as_described is disabled, but for EU consumers the trader is liable for digital content and services for at least 2 years (Directive 2019/770); comptoir still takes their claims within 2 years of payment",
		}},
		{"law none", testDoc("none", nil), []string{
			`line 3: law: law = "none": comptoir applies no statutory floor (no right of withdrawal, no 2-year liability); where consumer law applies, customers keep those rights whatever the policy says`,
		}},
		{"missing wording", testDoc("eu", map[Kind]string{NotAsDescribed: "enabled = true\nwindow = \"730d\""}) + "\n[wording.agent.delivery_record]\nen = \"Delivered.\"\n", []string{
			"line 33: wording.agent.delivery_record.fr: no wording given: customers read the default policy's text for this reason",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, tt.doc)
			var got []string
			for _, w := range Check(p) {
				checkWarningWorded(t, w)
				// Documents built by testDoc word nothing; keep the
				// wording warnings of the last case only.
				if strings.HasPrefix(w.Path, "wording.") && !strings.Contains(tt.doc, "[wording") {
					continue
				}
				if strings.HasPrefix(w.Path, "wording.") && !strings.HasPrefix(w.Path, "wording.agent.delivery_record") {
					continue
				}
				got = append(got, w.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("warnings\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
	// A document without wording gets one warning per missing text.
	ws := Check(mustParse(t, testDoc("eu", nil)))
	n := 0
	for _, w := range ws {
		if strings.HasPrefix(w.Path, "wording.") {
			n++
		}
	}
	if n != 2*int(numRules) {
		t.Errorf("%d wording warnings for a document without wording, want %d", n, 2*numRules)
	}
}
