package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// A refused field is marked for assistive technology: its control has
// aria-invalid="true" and names in aria-describedby the paragraph that says
// why (id "<field>-error"), so that a screen reader reads the reason when
// the visitor goes back to the field, not only where the paragraph stands.
// Only the refused controls are marked. Before, the reasons were bare
// paragraphs next to controls that said nothing of them.
func TestRefusedFieldsNameTheirReason(t *testing.T) {
	h := apptest.Start(t)
	_, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	anonymous := h.NewClient(t)
	for _, c := range []struct {
		who  *apptest.Client
		path string
		form url.Values
		want map[string]string // control name → field of its reason
	}{
		{anonymous, "/contact", url.Values{"name": {""}, "email": {"not-an-address"}, "topic": {"question"}, "message": {"Hello"}},
			map[string]string{"name": "name", "email": "email"}},
		{anonymous, "/signup", url.Values{"email": {"ben@example.fr"}, "name": {"Ben"}, "password": {"short"}, "password_confirm": {"short"}, "country": {"FR"}, "city": {"Lyon"}},
			map[string]string{"password": "password"}},
		{customer, "/account/password", url.Values{"current_password": {"not my password"}, "new_password": {"a new long password"}, "password_confirm": {"a new long password"}},
			map[string]string{"current_password": "current_password"}},
		{customer, "/account/delete", url.Values{"password": {"not my password"}},
			map[string]string{"password": "password"}},
		{admin, "/admin/canned", url.Values{"title_fr": {""}, "body_fr": {"Bonjour"}, "title_en": {"Hello"}, "body_en": {"Hello"}},
			map[string]string{"title_fr": "title_fr"}},
		{admin, "/admin/proof", url.Values{"k": {"0"}, "delay_minutes": {"10"}, "origins": {""}},
			map[string]string{"k": "k"}},
	} {
		r := c.who.PostForm(c.path, c.form)
		if r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusBadRequest && r.Status != http.StatusUnauthorized {
			t.Errorf("%s: %d, want a refusal", c.path, r.Status)
			continue
		}
		mustMarkRefused(t, c.path, r.Body, c.want)
	}
}

var (
	formControlRE = regexp.MustCompile(`(?is)<(?:input|select|textarea)\b[^>]*>`)
	formAttrRE    = regexp.MustCompile(`(?is)\b([a-z-]+)="([^"]*)"`)
)

// mustMarkRefused checks that the controls marked aria-invalid in body are
// exactly those of want (control name → refused field), each described by
// its field's non-empty reason "<field>-error".
func mustMarkRefused(t *testing.T, what, body string, want map[string]string) {
	t.Helper()
	marked := map[string]bool{}
	for _, tag := range formControlRE.FindAllString(body, -1) {
		a := map[string]string{}
		for _, m := range formAttrRE.FindAllStringSubmatch(tag, -1) {
			a[strings.ToLower(m[1])] = html.UnescapeString(m[2])
		}
		if a["aria-invalid"] != "true" {
			continue
		}
		name := a["name"]
		marked[name] = true
		field, ok := want[name]
		if !ok {
			t.Errorf("%s: control %q is marked invalid, though its field was not refused", what, name)
			continue
		}
		if !slices.Contains(strings.Fields(a["aria-describedby"]), field+"-error") {
			t.Errorf("%s: control %q is described by %q, not by its reason %s-error", what, name, a["aria-describedby"], field)
		}
		reason := regexp.MustCompile(`<p class="error"[^>]*\bid="` + regexp.QuoteMeta(field) + `-error"[^>]*>([^<]+)`).FindStringSubmatch(body)
		if reason == nil || strings.TrimSpace(reason[1]) == "" {
			t.Errorf("%s: no reason %s-error on the page", what, field)
		}
	}
	for name := range want {
		if !marked[name] {
			t.Errorf("%s: refused control %q is not marked invalid", what, name)
		}
	}
}

// An API token's name refused (too long) showed the account page with the
// reason but an empty box: what was typed was lost. The box keeps it now.
func TestRefusedTokenNameKeepsWhatWasTyped(t *testing.T) {
	h := apptest.Start(t)
	_, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	name := "Ordinateur portable " + strings.Repeat("é", 100)
	r := c.PostForm("/account/tokens", url.Values{"name": {name}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a name too long: %d", r.Status)
	}
	mustContain(t, r, `id="token_name-error"`, `value="`+name+`"`)
}

// The API tokens' table heads the creation date "Created", not "Signed
// in" (the sessions' heading it borrowed): a token signs nobody in.
func TestTokensTableSaysCreated(t *testing.T) {
	h := apptest.Start(t)
	_, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	if r := c.PostForm("/account/tokens", url.Values{"name": {"script"}}); r.Status != http.StatusOK && r.Status != http.StatusSeeOther {
		t.Fatalf("create a token: %d", r.Status)
	}
	page := c.Get("/account").Body
	i := strings.Index(page, `id="tokens"`)
	if i < 0 {
		t.Fatal("no tokens section")
	}
	tokens := page[i:]
	tokens = tokens[:strings.Index(tokens, "</section>")]
	if !strings.Contains(tokens, "<th>Created</th>") || strings.Contains(tokens, "Signed in") {
		t.Fatalf("the tokens' table: %s", tokens)
	}
}
