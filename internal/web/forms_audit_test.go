package web_test

import (
	"bytes"
	"context"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/claims"
	"comptoir/internal/locale"
)

// A refused claim form is no dead end: the page it came from shows again,
// in the visitor's language, with what they typed and chose, and the reason
// next to the form. Before, filing a claim a second time, or an agent's
// refund amount that is not a number, gave a bare error page ("Some
// details of the claim are not valid", a link home) and the text was lost;
// the decision form and the evidence form came back empty.
func TestClaimFormsKeepWhatWasTyped(t *testing.T) {
	h := apptest.Start(t)
	ct := newCrawlTexts(h.App.Messages)
	a, ac := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, agc := h.User(t, account.RoleAgent, "agent@shop.test")
	o := buyAndDeliver(t, h, a, 40)
	first := ac.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"not_as_described"}, "message": {"Not what the page said."}})
	if first.Status != http.StatusSeeOther || !strings.HasPrefix(first.Location, "/claims/") {
		t.Fatalf("file a claim: %d %s", first.Status, first.Location)
	}
	claimID := strings.TrimPrefix(first.Location, "/claims/")
	sawProblems := func(lang, what string, r apptest.Response) {
		t.Helper()
		for _, p := range ct.pageProblems(r.Body, lang) {
			t.Errorf("%s %s: %s", lang, what, p)
		}
	}
	for _, lang := range locale.Supported {
		ac.PostForm("/lang", url.Values{"lang": {lang}})
		agc.PostForm("/lang", url.Values{"lang": {lang}})
		m := h.App.Messages

		// The same claim again: the order page, the reason, the text.
		typed := "Toujours pas conforme, " + lang
		r := ac.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"not_as_described"}, "message": {typed}})
		mustContain(t, r, `id="claim-error"`, m.T(lang, "claim.error.claim_already_open"), `id="claim-message"`,
			`>`+typed+`</textarea>`, `<option value="not_as_described" selected>`)
		if r.Status != http.StatusConflict {
			t.Errorf("%s: a second claim: %d, want 409", lang, r.Status)
		}
		sawProblems(lang, "second claim", r)

		// Evidence refused (a program): the claim page keeps the text.
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("text", typed)
		fw, _ := mw.CreateFormFile("files", "tool.exe")
		fw.Write([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"))
		mw.Close()
		r = ac.Send(http.MethodPost, "/claims/"+claimID+"/evidence", mw.FormDataContentType(), &buf, http.Header{"Origin": {h.URL}, "Sec-Fetch-Site": {"same-origin"}})
		mustContain(t, r, `id="evidence-error"`, `>`+typed+`</textarea>`)
		if r.Status < 400 {
			t.Errorf("%s: a program as evidence: %d", lang, r.Status)
		}
		sawProblems(lang, "evidence refused", r)

		// The agent's amount is no amount: the claim page, the reason
		// under the field, every choice as the agent left it.
		note := "Geste commercial " + lang
		decision := url.Values{"outcome": {"credit"}, "amount": {"douze"}, "currency": {"EUR"}, "reason_code": {"insufficient_evidence"},
			"credit_accepted": {"yes"}, "note": {note}}
		r = agc.PostForm("/console/claims/"+claimID+"/decision", decision)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: amount %q: %d, want 422", lang, "douze", r.Status)
		}
		mustContain(t, r, `id="amount-error"`, m.T(lang, "claim.error.amount_invalid"), `value="douze"`, `aria-invalid="true"`,
			`<option value="credit" selected>`, `<option value="insufficient_evidence" selected>`, `name="credit_accepted" value="yes" checked`, `>`+note+`</textarea>`)
		sawProblems(lang, "amount not a number", r)
		mustMarkRefused(t, lang+" amount", r.Body, map[string]string{"amount": "amount"})

		// More than is left to refund: the service refuses, the form stays.
		decision.Set("outcome", "refund")
		decision.Set("amount", "9999")
		r = agc.PostForm("/console/claims/"+claimID+"/decision", decision)
		mustContain(t, r, `id="decide-error"`, `value="9999"`, `<option value="refund" selected>`, `>`+note+`</textarea>`)
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("%s: refund 9999: %d", lang, r.Status)
		}
		sawProblems(lang, "over refund", r)
	}
	// Nothing was filed, added nor decided by the refusals.
	list, _, err := h.App.Claims.List(context.Background(), claims.ListFilter{OrderID: o.ID})
	if err != nil || len(list) != 1 {
		t.Fatalf("claims of the order: %d %v", len(list), err)
	}
	if d, _ := h.App.Claims.Decisions(context.Background(), claimID); len(d) != 1 {
		t.Fatalf("decisions after the refusals: %d, want the policy's one", len(d))
	}
}

// A reset link that can no longer set a password says so when it is
// opened, with the way to a new one: before, its page took the new
// password twice and only then refused it (410).
func TestDeadResetLinkSaysSoAtOnce(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	a, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	c := h.NewClient(t)
	if err := h.App.Accounts.RequestPasswordReset(ctx, a.Email, "fr"); err != nil {
		t.Fatal(err)
	}
	h.Mails(t, "password_reset", 1)
	token := linkToken(t, h, "password_reset", "/reset/")
	mustContain(t, c.Get("/reset/"+token), `name="password"`, `name="password_confirm"`)
	if r := c.PostForm("/reset/"+token, url.Values{"password": {"a brand new passphrase"}, "password_confirm": {"a brand new passphrase"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("use the link: %d", r.Status)
	}
	if err := h.App.Accounts.RequestPasswordReset(ctx, a.Email, "en"); err != nil {
		t.Fatal(err)
	}
	// The newer link: linkToken reads the oldest mail, whose link is the
	// used one (this test's "expired" link was the used link until a used
	// link said so).
	expiring := regexp.MustCompile(`/reset/([A-Za-z0-9_-]+)`).FindStringSubmatch(h.Mails(t, "password_reset", 2)[0].Text)[1]
	if expiring == token {
		t.Fatal("the second link is the first")
	}
	h.Clock.Advance(30 * 24 * time.Hour)
	for what, tok := range map[string]string{"used": token, "expired": expiring, "unknown": "no-such-token"} {
		r := c.Get("/reset/" + tok)
		if r.Status != http.StatusGone || strings.Contains(r.Body, `name="password"`) {
			t.Errorf("%s link: %d, form shown %v", what, r.Status, strings.Contains(r.Body, `name="password"`))
		}
		// A used link says so (TestResetFormSentTwiceSaysTheLinkWasUsed).
		key := "auth.reset.invalid_link"
		if what == "used" {
			key = "auth.reset.used_link"
		}
		mustContain(t, r, html.EscapeString(h.App.Messages.T("fr", key)), `<a href="/reset" id="reset-new">`)
	}
}

// A form sent back with errors says so in the page's title, in the
// visitor's language (the first thing a screen reader reads of the new
// page); the form shown fresh does not.
func TestRefusedFormSaysSoInItsTitle(t *testing.T) {
	h := apptest.Start(t)
	for _, lang := range locale.Supported {
		c := h.NewClient(t)
		c.Lang = lang
		prefix := "<title>" + h.App.Messages.T(lang, "error.form_title") + " "
		if r := c.Get("/contact"); strings.Contains(r.Body, prefix) {
			t.Errorf("%s: the fresh Contact page's title says error", lang)
		}
		for path, form := range map[string]url.Values{
			"/contact": {"name": {"Ana"}, "email": {"not-an-address"}, "topic": {"question"}, "message": {"Hello"}},
			"/signup":  {"email": {"ana@example.fr"}, "name": {"Ana"}, "password": {"short"}, "password_confirm": {"short"}},
			"/signin":  {"email": {"ana@example.fr"}, "password": {"wrong password"}},
		} {
			r := c.PostForm(path, form)
			if r.Status < 400 || !strings.Contains(r.Body, prefix) {
				t.Errorf("%s %s refused: %d, title %q", lang, path, r.Status, regexp.MustCompile(`<title>[^<]*`).FindString(r.Body))
			}
		}
	}
}
