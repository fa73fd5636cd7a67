package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// The built-in default@2 (internal/policy/default2.toml) is a valid
// document: `policy check` accepts it (exit 0) and shows its legal warning,
// and `policy eval --policy` on it words the count as its number wants,
// where default@1, still the built-in default without --policy, keeps its
// published words. The decision has API.md's shape under both.
func TestPolicyDefault2CheckAndEval(t *testing.T) {
	const file = "../../internal/policy/default2.toml"
	code, out, errOut := policyRun(t, "policy", "check", file)
	if code != 0 || !strings.Contains(out, "default@2") || !strings.Contains(errOut, "warning") || !strings.Contains(errOut, "2 years of liability") {
		t.Fatalf("policy check default2.toml: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, c := range []struct {
		delivered string
		policy    []string
		version   string
		en, fr    string
	}{
		{"0", []string{"--policy", file}, "default@2", "", "(0 sur 1\u202f000 livré à ce jour)"},
		{"1", []string{"--policy", file}, "default@2", "(1 of 1,000 delivered so far)", "(1 sur 1\u202f000 livré à ce jour)"},
		{"2", []string{"--policy", file}, "default@2", "(2 of 1,000 delivered so far)", "(2 sur 1\u202f000 livrés à ce jour)"},
		{"1", nil, "default@1", "(1 of 1,000 delivered so far)", "(1 sur 1\u202f000 livrés à ce jour)"},
	} {
		facts := writeFile(t, "facts.json", strings.Replace(partialFacts, `"delivered": 400`, `"delivered": `+c.delivered, 1))
		code, out, errOut := policyRun(t, append([]string{"policy", "eval", "--facts", facts}, c.policy...)...)
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatal(err)
		}
		reason, _ := d["reason"].(map[string]any)
		en, _ := reason["en"].(string)
		fr, _ := reason["fr"].(string)
		if d["policy_version"] != c.version || d["rule"] != "non_delivery.processing" || d["outcome"] != "waiting_delivery" ||
			len(d) != 6 || len(reason) != 2 || !strings.Contains(en, c.en) || !strings.Contains(fr, c.fr) {
			t.Errorf("%s delivered under %s: %s", c.delivered, c.version, out)
		}
	}
}
