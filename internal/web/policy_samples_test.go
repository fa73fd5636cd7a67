package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/policy"
)

// The policy preview answers for the sample the admin picks each time,
// and names the samples in the admin's language. Before, the page came
// back with the first sample's facts in the facts box and the list reset
// to its first entry: picking another sample then previewed the first one
// again (the facts box wins), and the list showed codes
// ("withdrawal_business") on a French page.
func TestPolicyPreviewFollowsTheSamplePicked(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	doc := string(policy.DefaultDocument())
	rule := regexp.MustCompile(`<dt>Règle appliquée <code>rule</code></dt><dd><code>([^<]+)</code>`)
	r := admin.PostForm("/admin/policies/preview", url.Values{"document": {doc}, "sample": {"non_delivery_partial"}})
	if m := rule.FindStringSubmatch(r.Body); r.Status != http.StatusOK || m == nil || m[1] != "non_delivery.partial" {
		t.Fatalf("first preview: %d %q", r.Status, m)
	}
	mustContain(t, r, `<option value="non_delivery_partial" selected>Non livré`, `>Rétractation d’un client professionnel</option>`)

	// The page as it came back, another sample picked.
	form := formValues(r.Body, `action="/admin/policies"`)
	form.Set("document", doc)
	form.Set("facts", strings.ReplaceAll(form.Get("facts"), "\n", "\r\n")) // as a browser sends a textarea
	form.Set("sample", "dissatisfied")
	r = admin.PostForm("/admin/policies/preview", form)
	if m := rule.FindStringSubmatch(r.Body); m == nil || !strings.HasPrefix(m[1], "dissatisfied.") {
		t.Fatalf("the second sample picked previewed %q", m)
	}
	mustContain(t, r, `<option value="dissatisfied" selected>`)

	// Facts the admin changed are theirs: they win over the sample.
	form = formValues(r.Body, `action="/admin/policies"`)
	form.Set("document", doc)
	form.Set("facts", strings.Replace(form.Get("facts"), `"kind":"dissatisfied"`, `"kind":"non_delivery"`, 1))
	form.Set("sample", "withdrawal_business")
	r = admin.PostForm("/admin/policies/preview", form)
	if m := rule.FindStringSubmatch(r.Body); m == nil || !strings.HasPrefix(m[1], "non_delivery.") {
		t.Fatalf("the admin's own facts previewed %q", m)
	}
	for _, p := range newCrawlTexts(h.App.Messages).pageProblems(r.Body, "fr") {
		t.Errorf("French preview: %s", p)
	}
}
