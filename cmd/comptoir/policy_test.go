package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"comptoir/internal/policy"
)

// policyRun runs comptoir with args; the environment points the data
// directory at a path that must never be created, since neither policy
// command may touch a database.
func policyRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	dataDir := filepath.Join(t.TempDir(), "must-not-exist")
	env := map[string]string{"COMPTOIR_DATA_DIR": dataDir}
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut, func(k string) string { return env[k] })
	if _, err := os.Stat(dataDir); err == nil {
		t.Errorf("comptoir %s created the data directory", strings.Join(args, " "))
	}
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const partialFacts = `{
  "kind": "non_delivery",
  "filed_at": "2026-03-10T10:00:00Z",
  "customer": {"type": "consumer", "country": "FR"},
  "order": {
    "placed_at": "2026-03-08T10:00:00Z", "paid_at": "2026-03-08T10:00:00Z", "paid": {"amount": 1000, "currency": "EUR"},
    "product_kind": "service", "quantity": 1000, "delivered": 400,
    "processing_until": "2026-03-12T10:00:00Z"
  }
}`

func TestPolicyEvalPrintsTheDecision(t *testing.T) {
	facts := writeFile(t, "facts.json", partialFacts)

	// At filing the processing time is still running.
	code, out, errOut := policyRun(t, "policy", "eval", "--facts", facts)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if d["outcome"] != "waiting_delivery" || d["rule"] != "non_delivery.processing" || d["refund"] != nil {
		t.Errorf("decision at filing: %s", out)
	}

	// Once it has passed: the exact shape of API.md.
	code, out, errOut = policyRun(t, "policy", "eval", "--facts", facts, "--at", "2026-03-12T10:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	want := `{
  "outcome": "refund",
  "refund": {
    "amount": 600,
    "currency": "EUR"
  },
  "cancel": "none",
  "rule": "non_delivery.partial",
  "statutory": false,
  "policy_version": "default@1",
  "reason": {
    "en": "400 of 1,000 were delivered. We refund the undelivered part, €6.00, to your original means of payment.",
    "fr": "400 sur 1` + "\u202f" + `000 ont été livrés. Nous vous remboursons la part non livrée, soit 6,00` + "\u00a0" + `€, sur votre moyen de paiement d’origine."
  }
}
`
	if out != want {
		t.Errorf("stdout\n%s\nwant\n%s", out, want)
	}
	if errOut != "" {
		t.Errorf("stderr %q, want nothing", errOut)
	}
}

func TestPolicyEvalWithAPolicyFile(t *testing.T) {
	doc := strings.Replace(string(policy.DefaultDocument()), "name = \"default\"\nversion = 1", "name = \"shop\"\nversion = 7", 1)
	doc = strings.Replace(doc, "remedy = \"refund\"", "remedy = \"redeliver\"", 1)
	pol := writeFile(t, "shop.toml", doc)
	facts := writeFile(t, "facts.json", partialFacts)
	code, out, errOut := policyRun(t, "policy", "eval", "--policy", pol, "--facts", facts, "--at", "2026-03-13T00:00:00+01:00")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var d policy.Decision
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if d.Outcome != policy.OutcomeRedeliver || d.PolicyVersion != "shop@7" || d.Refund != nil {
		t.Errorf("decision %+v", d)
	}
}

func TestPolicyEvalSubscription(t *testing.T) {
	facts := writeFile(t, "facts.json", `{"kind":"subscription_cancel","filed_at":"2026-03-20T10:00:00Z",
		"subscription":{"last_payment_at":"2026-03-08T10:00:00Z","last_payment":{"amount":990,"currency":"EUR"},"period_end":"2026-04-08T10:00:00Z"},
		"choice":"period_end"}`)
	code, out, errOut := policyRun(t, "policy", "eval", "--facts", facts)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var d map[string]any
	json.Unmarshal([]byte(out), &d)
	if d["outcome"] != "refused" || d["cancel"] != "period_end" || d["rule"] != "subscription_cancel.out_of_time" {
		t.Errorf("decision %s", out)
	}
	if _, ok := d["refund"]; ok {
		t.Errorf("refused decision has a refund key: %s", out)
	}
}

// TestPolicyEvalLowercaseTAndZ: RFC 3339 (§5.6) lets "T" and "Z" be
// lower case; facts and --at with them were refused as not RFC 3339.
func TestPolicyEvalLowercaseTAndZ(t *testing.T) {
	lower := strings.NewReplacer("T1", "t1", "Z\"", "z\"").Replace(partialFacts)
	if strings.Contains(lower, "T1") || strings.Contains(lower, "Z\"") {
		t.Fatalf("facts still in upper case:\n%s", lower)
	}
	code, want, errOut := policyRun(t, "policy", "eval", "--facts", writeFile(t, "upper.json", partialFacts), "--at", "2026-03-13T10:00:00Z")
	if code != 0 {
		t.Fatalf("upper case: exit %d, stderr %q", code, errOut)
	}
	for _, at := range []string{"2026-03-13t10:00:00z", "2026-03-13t11:00:00+01:00", "2026-03-13T10:00:00z"} {
		code, out, errOut := policyRun(t, "policy", "eval", "--facts", writeFile(t, "lower.json", lower), "--at", at)
		if code != 0 || out != want {
			t.Errorf("--at %s with lower-case facts: exit %d, stderr %q\n%s\nwant\n%s", at, code, errOut, out, want)
		}
	}
}

func TestPolicyEvalUsageErrors(t *testing.T) {
	facts := writeFile(t, "facts.json", partialFacts)
	badPolicy := writeFile(t, "bad.toml", strings.Replace(string(policy.DefaultDocument()), `window = "7d"`, `window = "7x"`, 1))
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no facts", []string{"policy", "eval"}, "policy eval needs --facts FILE"},
		{"facts file missing", []string{"policy", "eval", "--facts", filepath.Join(t.TempDir(), "nope.json")}, "--facts:"},
		{"unknown field", []string{"policy", "eval", "--facts", writeFile(t, "f.json", `{"kind":"non_delivery","colour":"red"}`)}, "colour: unknown field"},
		{"malformed time", []string{"policy", "eval", "--facts", writeFile(t, "f.json", `{"kind":"not_as_described","filed_at":"2026-03-10T10:00:00Z","customer":{"type":"consumer"},"order":{"paid_at":"10/03/2026"}}`)}, "order.paid_at:"},
		{"unknown field in an amount", []string{"policy", "eval", "--facts", writeFile(t, "f.json", `{"kind":"non_delivery","filed_at":"2026-03-10T10:00:00Z","order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":1000,"currency":"EUR","vat":200},"quantity":10,"delivered":4}}`)}, "order.paid.vat: unknown field"},
		{"malformed amount", []string{"policy", "eval", "--facts", writeFile(t, "f.json", `{"kind":"non_delivery","filed_at":"2026-03-10T10:00:00Z","order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":"10.00","currency":"EUR"},"quantity":10,"delivered":4}}`)}, "order.paid.amount: must be an integer number of minor units"},
		{"missing field the kind needs", []string{"policy", "eval", "--facts", writeFile(t, "f.json", `{"kind":"subscription_cancel","filed_at":"2026-03-10T10:00:00Z","subscription":{}}`)}, "choice: missing"},
		{"bad --at", []string{"policy", "eval", "--facts", facts, "--at", "tomorrow"}, `--at: "tomorrow" is not an RFC 3339 time`},
		// Impossible facts, each named by its path: they were decided
		// (outcome none, "€20.00 of the €10.00 paid has already been refunded").
		{"refunded above paid", []string{"policy", "eval", "--facts", writeFile(t, "f.json", strings.Replace(partialFacts, `"delivered": 400,`, `"delivered": 400, "refunded": {"amount": 2000, "currency": "EUR"},`, 1))}, "comptoir: " + "%s" + ": order.refunded: is 20.00 EUR, more than the 10.00 EUR paid (order.paid)"},
		{"refunded in another currency", []string{"policy", "eval", "--facts", writeFile(t, "f.json", strings.Replace(partialFacts, `"delivered": 400,`, `"delivered": 400, "refunded": {"amount": 0, "currency": "USD"},`, 1))}, "order.refunded.currency: is USD but order.paid is in EUR"},
		{"delivered above quantity", []string{"policy", "eval", "--facts", writeFile(t, "f.json", strings.Replace(partialFacts, `"delivered": 400,`, `"delivered": 1001,`, 1))}, "order.delivered: is 1001, more than the 1000 ordered"},
		{"--at before filing", []string{"policy", "eval", "--facts", facts, "--at", "2026-03-01T00:00:00Z"}, "--at: 2026-03-01T00:00:00Z is before the facts' filed_at"},
		// Named as --facts is: it said only "open …: no such file or directory".
		{"policy file missing", []string{"policy", "eval", "--facts", facts, "--policy", filepath.Join(t.TempDir(), "nope.toml")}, "comptoir: --policy: open "},
		{"broken policy", []string{"policy", "eval", "--facts", facts, "--policy", badPolicy}, `line 73: kinds.non_delivery.window: "7x" is not a duration such as 7d or 168h`},
		{"unknown flag", []string{"policy", "eval", "--facts", facts, "--now", "x"}, "flag provided but not defined: -now"},
		{"stray argument", []string{"policy", "eval", "--facts", facts, "extra"}, `unexpected argument "extra"`},
		{"no subcommand", []string{"policy"}, "usage: comptoir policy check FILE"},
		{"unknown subcommand", []string{"policy", "apply"}, `unknown policy command "apply"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := policyRun(t, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, errOut)
			}
			if strings.Contains(tt.want, "%s") { // the whole line, after the file's name
				tt.want = fmt.Sprintf(tt.want, tt.args[3]) + "\n"
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q\nwant it to contain %q", errOut, tt.want)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

func TestPolicyCheck(t *testing.T) {
	def := writeFile(t, "default.toml", string(policy.DefaultDocument()))
	code, out, errOut := policyRun(t, "policy", "check", def)
	if code != 0 || out != "ok: default@1\n" {
		t.Fatalf("check default: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// The default's 7-day not_as_described window is shorter than the
	// law's 2 years: a warning, not an error.
	if !strings.Contains(errOut, "comptoir: warning: "+def+": line 81: kinds.not_as_described.window:") {
		t.Errorf("stderr %q, want the not_as_described warning", errOut)
	}

	bad := writeFile(t, "bad.toml", strings.Replace(string(policy.DefaultDocument()), `window = "7d"`, `window = "7x"`, 1))
	code, out, errOut = policyRun(t, "policy", "check", bad)
	want := "comptoir: " + bad + `: line 73: kinds.non_delivery.window: "7x" is not a duration such as 7d or 168h` + "\n"
	if code != 2 || out != "" || errOut != want {
		t.Errorf("check broken: exit %d, stdout %q, stderr %q; want 2 and %q", code, out, errOut, want)
	}

	for _, args := range [][]string{
		{"policy", "check"},
		{"policy", "check", def, def},
		{"policy", "check", filepath.Join(t.TempDir(), "missing.toml")},
	} {
		if code, _, errOut := policyRun(t, args...); code != 2 || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line", args, code, errOut)
		}
	}
}
