package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/policy"
)

// Facts the preview cannot read as JSON say where, in the admin's
// language: the line and column in the facts field, as the document's
// errors do. Before, the French page gave the byte at which the decoder
// stopped counting from the member it was reading ("à l’octet 33" for the
// 43rd), and the English page no place at all.
func TestPolicyPreviewSaysWhereTheFactsAreNotJSON(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	facts := "{\n  \"kind\": \"non_delivery\",\n  \"filed_at\": x\n}"
	for _, tt := range []struct{ lang, want string }{
		{"fr", "(Ligne 3, colonne 15 — filed_at: ce n’est pas du JSON valide\u00a0: caractère inattendu)"},
		{"en", "(Line 3, column 15 — filed_at: not JSON: invalid character 'x' looking for beginning of value)"},
	} {
		admin.PostForm("/lang", url.Values{"lang": {tt.lang}})
		r := admin.PostForm("/admin/policies/preview", url.Values{"document": {string(policy.DefaultDocument())}, "facts": {facts}})
		if body := html.UnescapeString(r.Body); r.Status != http.StatusUnprocessableEntity || !strings.Contains(body, tt.want) || strings.Contains(body, "octet") {
			t.Errorf("%s: %d, want 422 saying %q", tt.lang, r.Status, tt.want)
		}
	}
}
