package web_test

import (
	"context"
	"fmt"
	"html"
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

// The legal pages' editor, with two admins: Alice opens the terms (no
// draft yet), Bob saves a draft, Alice saves hers from the page she
// opened: refused, her texts kept, Bob's draft shown and kept. Alice then
// reads Bob's draft; Bob saves it again before she presses Publish:
// refused, nothing published, the draft as it now is shown. Before, her
// save rewrote Bob's draft unseen and her Publish put in force a text she
// had not read.
func TestAdminLegalEditsDoNotOverwriteOrPublishUnread(t *testing.T) {
	h := apptest.Start(t)
	_, alice := h.User(t, account.RoleAdmin, "alice@shop.test")
	_, bob := h.User(t, account.RoleAdmin, "bob@shop.test")
	alice.PostForm("/lang", url.Values{"lang": {"en"}})
	edit := func(c *apptest.Client) url.Values {
		return formValues(c.Get("/admin/legal/terms").Body, `id="legal-edit"`)
	}
	aliceForm := edit(alice)
	bobForm := edit(bob)
	bobForm.Set("body_fr", "# CGV\nTexte de Bob.")
	bobForm.Set("body_en", "# Terms\nBob's text.")
	if r := bob.PostForm("/admin/legal/terms", bobForm); r.Status != http.StatusSeeOther {
		t.Fatalf("bob's draft: %d", r.Status)
	}
	aliceForm.Set("body_fr", "# CGV\nTexte d’Alice.")
	aliceForm.Set("body_en", "# Terms\nAlice's text.")
	r := alice.PostForm("/admin/legal/terms", aliceForm)
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("alice saving over bob's draft: %d, want 422", r.Status)
	}
	mustContain(t, r, `id="form-error"`, "Another draft was saved since you opened this page", "Alice&#39;s text", "Bob&#39;s text")
	ctx := context.Background()
	if d, err := h.App.Legal.Version(ctx, "terms", 2); err != nil || d.EN != "# Terms\nBob's text." {
		t.Fatalf("bob's draft after alice's refused save: %+v, %v", d, err)
	}

	publish := formValues(alice.Get("/admin/legal/terms").Body, `action="/admin/legal/terms/publish"`)
	bobForm = edit(bob)
	bobForm.Set("body_en", "# Terms\nBob's second text.")
	if r := bob.PostForm("/admin/legal/terms", bobForm); r.Status != http.StatusSeeOther {
		t.Fatalf("bob's second draft: %d", r.Status)
	}
	r = alice.PostForm("/admin/legal/terms/publish", publish)
	if r.Status != http.StatusConflict {
		t.Fatalf("publishing a draft saved over: %d, want 409", r.Status)
	}
	mustContain(t, r, `id="form-error"`, "This draft was saved again since you read it", "Bob&#39;s second text")
	if cur, _ := h.App.Legal.Current(ctx, "terms"); cur.Version != 1 {
		t.Fatalf("in force after the refusal: %s", cur.ID())
	}
	if r := alice.PostForm("/admin/legal/terms/publish", formValues(r.Body, `action="/admin/legal/terms/publish"`)); r.Status != http.StatusSeeOther {
		t.Fatalf("publishing the draft read: %d", r.Status)
	}
	if cur, _ := h.App.Legal.Current(ctx, "terms"); cur.Version != 2 || cur.EN != "# Terms\nBob's second text." {
		t.Fatalf("in force: %+v", cur)
	}
}

// The preview gives the refund as money in the admin's language, not a
// count of cents ("600 EUR" read as six hundred euros for 6,00 €), and
// says what is wrong with the facts or the document in their language.
func TestAdminPolicyPreviewSpeaksTheAdminsLanguage(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	doc := string(policy.DefaultDocument())
	r := admin.PostForm("/admin/policies/preview", url.Values{"document": {doc}, "sample": {"non_delivery_partial"}})
	if r.Status != http.StatusOK {
		t.Fatalf("preview: %d %s", r.Status, r.Body)
	}
	mustContain(t, r, `<dd id="decision-refund">6,00`)
	// The decision's parts are named in the admin's language, with the
	// policy eval field beside; each reason is marked with its language.
	mustContain(t, r, `Issue <code>outcome</code>`, `<dd id="decision-outcome">Remboursement <code>refund</code></dd>`,
		`Donné par la loi <code>statutory</code></dt><dd>non <code>false</code>`, `<dd lang="en" id="decision-reason-en">`, `<dd lang="fr" id="decision-reason-fr">`)
	for _, p := range newCrawlTexts(h.App.Messages).pageProblems(r.Body, "fr") {
		t.Errorf("French preview: %s", p)
	}
	r = admin.PostForm("/admin/policies/preview", url.Values{"document": {doc}, "facts": {`{"kind":`}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad facts: %d", r.Status)
	}
	// What is wrong with them is said in French too, by the field's path.
	mustContain(t, r, `id="preview-error"`, "Ces faits ne peuvent pas être lus (kind: ce n’est pas du JSON valide\u00a0: il s’arrête trop tôt)")
	r = admin.PostForm("/admin/policies/preview", url.Values{"document": {doc}, "facts": {`{"kind":"non_delivery","filed_at":"2026-03-08T10:00:00Z","order":{"placed_at":"2026-03-05T10:00:00Z","paid":{"amount":"1000","currency":"EUR"}}}`}})
	mustContain(t, r, `id="preview-error"`, "(order.paid.amount: doit être un nombre entier d’unités mineures (centimes), pas une chaîne de caractères)")
	admin.PostForm("/lang", url.Values{"lang": {"en"}})
	// In English, the words of `comptoir policy eval`.
	r = admin.PostForm("/admin/policies/preview", url.Values{"document": {doc}, "facts": {`{"kind":`}})
	mustContain(t, r, `id="preview-error"`, "These facts cannot be read (kind: not JSON: it ends too early)")
	r = admin.PostForm("/admin/policies/preview", url.Values{"document": {"name = "}, "sample": {"non_delivery_partial"}})
	mustContain(t, r, `id="preview-error"`, "The document cannot be read")
	r = admin.PostForm("/admin/policies/preview", url.Values{"document": {doc}, "sample": {"non_delivery_partial"}})
	mustContain(t, r, `<dd id="decision-refund">€6.00`)
}

// Alice and Bob open the policy editor on the version in force and both
// write version 2. Alice saves first; Bob's save is refused rather than
// written over her draft: his text stays in the editor, the page names her
// draft (with a link) in his language, and saving again from that page,
// having compared, replaces it. Before, his save silently replaced hers.
func TestAdminPolicyDraftsAreNotSavedOverUnseen(t *testing.T) {
	h := apptest.Start(t)
	_, alice := h.User(t, account.RoleAdmin, "alice@shop.test")
	_, bob := h.User(t, account.RoleAdmin, "bob@shop.test")
	bob.PostForm("/lang", url.Values{"lang": {"en"}})
	open := func(c *apptest.Client) url.Values {
		return formValues(c.Get("/admin/policies/edit").Body, `action="/admin/policies" class="card wide"`)
	}
	aliceForm, bobForm := open(alice), open(bob)
	if aliceForm.Get("read") == "" {
		t.Fatal("the editor does not carry the digest of the text it opened")
	}
	v2 := func(doc string) string {
		return strings.Replace(doc, "name = \"default\"\nversion = 1", "name = \"shop\"\nversion = 2", 1)
	}
	aliceForm.Set("document", v2(aliceForm.Get("document")))
	if r := alice.PostForm("/admin/policies", aliceForm); r.Status != http.StatusOK {
		t.Fatalf("alice's draft: %d", r.Status)
	}
	aliceDraft, _ := h.App.Policies.Version(context.Background(), "shop@2")
	bobDoc := strings.Replace(v2(bobForm.Get("document")), `window = "7d"`, `window = "3d"`, 1)
	bobForm.Set("document", bobDoc)
	r := bob.PostForm("/admin/policies", bobForm)
	if r.Status != http.StatusConflict {
		t.Fatalf("bob saving over alice's draft: %d, want 409", r.Status)
	}
	mustContain(t, r, `id="document-error"`, "Draft shop@2 was saved by someone else", `href="/admin/policies/edit?from=shop%402"`, `window = &#34;3d&#34;`)
	if v, _ := h.App.Policies.Version(context.Background(), "shop@2"); v.Digest != aliceDraft.Digest {
		t.Fatal("alice's draft was replaced")
	}
	if r := bob.PostForm("/admin/policies", formValues(r.Body, `action="/admin/policies" class="card wide"`)); r.Status != http.StatusOK {
		t.Fatalf("bob saving again, knowingly: %d", r.Status)
	}
	if v, _ := h.App.Policies.Version(context.Background(), "shop@2"); !strings.Contains(string(v.Document), `window = "3d"`) {
		t.Fatal("bob's second save did not replace the draft")
	}
}

// Two admins open the same canned reply; the first saves, the second saves
// from the page opened before: refused (409) in their language, their
// words kept, the first edit kept; saving again from that page replaces it.
// Before, the second save silently undid the first.
func TestAdminCannedReplyEditsDoNotUndoEachOther(t *testing.T) {
	h := apptest.Start(t)
	_, alice := h.User(t, account.RoleAdmin, "alice@shop.test")
	_, bob := h.User(t, account.RoleAdmin, "bob@shop.test")
	ctx := context.Background()
	replies, _ := h.App.Desk.CannedReplies(ctx)
	c := replies[0]
	path := "/admin/canned/" + c.ID
	aliceForm := formValues(alice.Get(path).Body, `id="canned-form"`)
	bobForm := formValues(bob.Get(path).Body, `id="canned-form"`)
	if aliceForm.Get("read") == "" {
		t.Fatal("the edit form does not say which words it edits")
	}
	aliceForm.Set("body_fr", "Texte d’Alice {name}.")
	if r := alice.PostForm(path, aliceForm); r.Status != http.StatusSeeOther {
		t.Fatalf("alice's save: %d", r.Status)
	}
	bobForm.Set("title_en", "Bob's title")
	r := bob.PostForm(path, bobForm)
	if r.Status != http.StatusConflict {
		t.Fatalf("bob's stale save: %d, want 409", r.Status)
	}
	mustContain(t, r, `id="form-error"`, "Un autre administrateur a modifié cette réponse type", `value="Bob&#39;s title"`)
	if got, _ := h.App.Desk.CannedReply(ctx, c.ID); got.BodyFR != "Texte d’Alice {name}." || got.TitleEN != c.TitleEN {
		t.Fatalf("after bob's stale save: %+v", got)
	}
	if r := bob.PostForm(path, formValues(r.Body, `id="canned-form"`)); r.Status != http.StatusSeeOther {
		t.Fatalf("bob saving again: %d", r.Status)
	}
	if got, _ := h.App.Desk.CannedReply(ctx, c.ID); got.TitleEN != "Bob's title" {
		t.Fatalf("after bob's second save: %+v", got)
	}
}

// The Publish button of a legal page's draft pressed twice (a double
// click, a reload) answers as the first press did: published, in force.
// Before, the second press was an error page saying the version was
// already published, where the admin was left.
func TestAdminLegalPublishPressedTwice(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	form := formValues(admin.Get("/admin/legal/terms").Body, `id="legal-edit"`)
	form.Set("body_fr", "# CGV\nTexte.")
	form.Set("body_en", "# Terms\nText.")
	if r := admin.PostForm("/admin/legal/terms", form); r.Status != http.StatusSeeOther {
		t.Fatalf("draft: %d", r.Status)
	}
	publish := formValues(admin.Get("/admin/legal/terms").Body, `action="/admin/legal/terms/publish"`)
	for i, r := range twice(admin, "/admin/legal/terms/publish", publish) {
		if r.Status != http.StatusSeeOther || r.Location != "/admin/legal/terms" {
			t.Errorf("press %d: %d %q, want 303 /admin/legal/terms", i+1, r.Status, r.Location)
		}
	}
	if cur, _ := h.App.Legal.Current(context.Background(), "terms"); cur.Version != 2 {
		t.Fatalf("in force: %s", cur.ID())
	}
	// A version no longer in force is not published again by a late press.
	form = formValues(admin.Get("/admin/legal/terms").Body, `id="legal-edit"`)
	form.Set("body_en", "# Terms\nText 3.")
	admin.PostForm("/admin/legal/terms", form)
	v3 := formValues(admin.Get("/admin/legal/terms").Body, `action="/admin/legal/terms/publish"`)
	admin.PostForm("/admin/legal/terms/publish", v3)
	if r := admin.PostForm("/admin/legal/terms/publish", publish); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("a late press on version 2: %d, want 422", r.Status)
	}
	if cur, _ := h.App.Legal.Current(context.Background(), "terms"); cur.Version != 3 {
		t.Fatalf("in force: %s", cur.ID())
	}
}

// A policy document's errors and warnings are worded in the admin's
// language, on the editor and in the preview; in English they are the words
// of `comptoir policy check`. Before, they were in English on a French page.
func TestAdminPolicyProblemsInTheAdminsLanguage(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	doc := strings.Replace(string(policy.DefaultDocument()), "name = \"default\"\nversion = 1", "name = \"shop\"\nversion = 2", 1)
	bad := strings.Replace(doc, `window = "7d"`, `window = "7x"`, 1)
	_, perr := policy.Parse([]byte(bad))
	pe, ok := perr.(*policy.ParseError)
	if !ok {
		t.Fatalf("the broken document: %v", perr)
	}
	text := func(r apptest.Response) string { return html.UnescapeString(r.Body) }
	for _, lang := range []string{"fr", "en"} {
		if r := admin.PostForm("/lang", url.Values{"lang": {lang}}); r.Status != http.StatusSeeOther {
			t.Fatalf("switch to %s: %d", lang, r.Status)
		}
		wantErr := fmt.Sprintf(`Ligne %d — kinds.non_delivery.window: "7x" n’est pas une durée comme 7d ou 168h`, pe.Line)
		wantPreview := fmt.Sprintf(`Ligne %d — kinds.non_delivery.window: "7x" n’est pas une durée comme 7d ou 168h`, pe.Line)
		wantWarning := "7 jours, c’est moins que les 2 ans de garantie"
		if lang == "en" {
			wantErr = fmt.Sprintf("Line %d — kinds.non_delivery.window: %s", pe.Line, pe.Msg)
			wantPreview = fmt.Sprintf("Line %d — kinds.non_delivery.window: %s", pe.Line, pe.Msg)
			wantWarning = "7 days is shorter than the 2 years of liability"
		}
		r := admin.PostForm("/admin/policies", url.Values{"document": {bad}})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(text(r), wantErr) {
			t.Errorf("%s: saving a broken document: %d, want %q in\n%s", lang, r.Status, wantErr, pageError(r.Body, "policy-error"))
		}
		for _, p := range newCrawlTexts(h.App.Messages).pageProblems(r.Body, lang) {
			t.Errorf("%s: the editor with an error: %s", lang, p)
		}
		r = admin.PostForm("/admin/policies/preview", url.Values{"document": {bad}, "sample": {"non_delivery_partial"}})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(text(r), wantPreview) {
			t.Errorf("%s: previewing a broken document: %d, want %q in\n%s", lang, r.Status, wantPreview, pageError(r.Body, "preview-error"))
		}
		r = admin.PostForm("/admin/policies", url.Values{"document": {doc}})
		if r.Status != http.StatusOK || !strings.Contains(text(r), wantWarning) {
			t.Errorf("%s: saving a document with a warning: %d, want %q", lang, r.Status, wantWarning)
		}
		for _, p := range newCrawlTexts(h.App.Messages).pageProblems(r.Body, lang) {
			t.Errorf("%s: the editor with warnings: %s", lang, p)
		}
	}
}

// pageError is the paragraph of id in body, for a failure message.
func pageError(body, id string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return "(no " + id + ")"
	}
	end := strings.Index(body[i:], "</p>")
	if end < 0 {
		end = len(body) - i
	}
	return body[i : i+end]
}

// A TOML syntax error in the editor quoted the TOML reader's English on a
// French page ("erreur de syntaxe TOML (en anglais : strings cannot contain
// newlines)"). It is now worded in French by its kind, and the page gives
// its column beside its line, on the editor and in the preview; in English
// the words are the reader's, as `comptoir policy check` prints them.
func TestAdminPolicySyntaxErrorInTheAdminsLanguage(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	doc := strings.Replace(string(policy.DefaultDocument()), "name = \"default\"\nversion = 1", "name = \"shop\"\nversion = 2", 1)
	bad := strings.Replace(doc, `window = "7d"`, `window = "7d`, 1)
	_, perr := policy.Parse([]byte(bad))
	pe, ok := perr.(*policy.ParseError)
	if !ok || pe.Code != policy.CodeSyntax || pe.Column == 0 {
		t.Fatalf("the broken document: %#v", perr)
	}
	text := func(r apptest.Response) string { return html.UnescapeString(r.Body) }
	for _, lang := range []string{"fr", "en"} {
		admin.PostForm("/lang", url.Values{"lang": {lang}})
		where := fmt.Sprintf("Ligne %d, colonne %d — %s: ", pe.Line, pe.Column, pe.Path)
		want := where + "erreur de syntaxe TOML\u00a0: " + h.App.Messages.T("fr", "policy.syntax.string_newline")
		if lang == "en" {
			want = fmt.Sprintf("Line %d, column %d — %s: %s", pe.Line, pe.Column, pe.Path, pe.Msg)
		}
		r := admin.PostForm("/admin/policies", url.Values{"document": {bad}})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(text(r), want) {
			t.Errorf("%s: saving: %d, want %q in\n%s", lang, r.Status, want, pageError(r.Body, "policy-error"))
		}
		if lang == "fr" && strings.Contains(r.Body, pe.Msg) {
			t.Errorf("the French editor quotes the TOML reader's English %q", pe.Msg)
		}
		r = admin.PostForm("/admin/policies/preview", url.Values{"document": {bad}, "sample": {"non_delivery_partial"}})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(text(r), want) {
			t.Errorf("%s: previewing: %d, want %q in\n%s", lang, r.Status, want, pageError(r.Body, "preview-error"))
		}
	}
}
