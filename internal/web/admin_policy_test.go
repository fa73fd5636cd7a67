package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/policy"
)

// Alice saves draft shop@2 and is offered to publish it; before she
// presses Publish, Bob saves shop@2 again with a 3-day window. Her press
// must not put Bob's text in force, unseen: the page says the draft
// changed, in her language, and shows the text it now has, with a Publish
// button for that text. Before, the version was published by number,
// whatever its text had become.
func TestAdminPolicyPublishesTheTextItShowed(t *testing.T) {
	h := apptest.Start(t)
	_, alice := h.User(t, account.RoleAdmin, "alice@shop.test")
	_, bob := h.User(t, account.RoleAdmin, "bob@shop.test")
	doc := strings.Replace(string(policy.DefaultDocument()), "name = \"default\"\nversion = 1", "name = \"shop\"\nversion = 2", 1)
	bobDoc := strings.Replace(doc, `window = "7d"`, `window = "3d"`, 1)
	if bobDoc == doc {
		t.Fatal("the default document changed: no 7-day window to edit")
	}

	saved := alice.PostForm("/admin/policies", url.Values{"document": {doc}})
	mustContain(t, saved, `id="policy-saved"`, `name="digest"`)
	publish := formValues(saved.Body, `action="/admin/policies/publish"`)
	if r := bob.PostForm("/admin/policies", url.Values{"document": {bobDoc}}); r.Status != http.StatusOK {
		t.Fatalf("bob's draft: %d", r.Status)
	}

	r := alice.PostForm("/admin/policies/publish", publish)
	if r.Status != http.StatusConflict {
		t.Fatalf("publishing a draft saved over: %d, want 409", r.Status)
	}
	mustContain(t, r, `id="document-error"`, "Ce brouillon a été enregistré à nouveau", `window = &#34;3d&#34;`)
	ctx := context.Background()
	if cur, _ := h.App.Policies.Current(ctx); cur.ID() != "default@1" {
		t.Fatalf("in force after the refusal: %s", cur.ID())
	}

	// The page's own Publish button puts the text it shows in force.
	if r := alice.PostForm("/admin/policies/publish", formValues(r.Body, `action="/admin/policies/publish"`)); r.Status != http.StatusSeeOther {
		t.Fatalf("publishing the text read: %d %s", r.Status, r.Body)
	}
	cur, _ := h.App.Policies.Current(ctx)
	if cur.ID() != "shop@2" || string(cur.Source()) != bobDoc {
		t.Fatalf("in force: %s", cur.ID())
	}
}
