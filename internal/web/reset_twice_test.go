package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/apptest"
)

// The reset form sent twice (a double click, a reload) found its link used
// by the first and said "invalid or expired", sending the visitor who had
// just chosen a password to ask for another. It now says the link was
// already used, in the visitor's language, and leads to the sign-in and to
// a new link, saying nothing of the password sent; it does not answer
// "done", which would let a used link test passwords without the sign-in's
// lock-out. An unknown link still says "invalid".
func TestResetFormSentTwiceSaysTheLinkWasUsed(t *testing.T) {
	for _, lang := range []string{"fr", "en"} {
		t.Run(lang, func(t *testing.T) {
			h := apptest.Start(t)
			c := h.NewClient(t)
			c.Lang = lang
			signup := signupForm("ana@example.fr")
			signup.Set("language", lang)
			c.PostForm("/signup", signup)
			c.PostForm("/signout", nil)
			c.PostForm("/reset", url.Values{"email": {"ana@example.fr"}})
			msgs := h.Mails(t, "password_reset", 1)
			path := strings.TrimPrefix(regexp.MustCompile(`http://[^\s]+/reset/[A-Za-z0-9_-]+`).FindString(msgs[0].Text), h.URL)
			form := url.Values{"password": {"a brand new secret"}, "password_confirm": {"a brand new secret"}}
			if r := c.PostForm(path, form); r.Status != http.StatusSeeOther {
				t.Fatalf("first: %d", r.Status)
			}
			used := h.App.Messages.T(lang, "auth.reset.used_link")
			for _, r := range []apptest.Response{c.PostForm(path, form), c.PostForm(path, url.Values{"password": {"a wrong guess here"}, "password_confirm": {"a wrong guess here"}}), c.Get(path)} {
				if r.Status != http.StatusGone {
					t.Fatalf("a used link: %d, want 410", r.Status)
				}
				mustContain(t, r, `<html lang="`+lang+`"`, html.EscapeString(used), `href="/signin" id="reset-signin"`, `href="/reset" id="reset-new"`)
				if strings.Contains(r.Body, `name="password"`) {
					t.Fatalf("a used link shows the form again:\n%s", r.Body)
				}
			}
			r := c.Get("/reset/not-a-link")
			mustContain(t, r, html.EscapeString(h.App.Messages.T(lang, "auth.reset.invalid_link")), `href="/reset" id="reset-new"`)
			if r.Status != http.StatusGone || strings.Contains(r.Body, `id="reset-signin"`) {
				t.Fatalf("an unknown link: %d %s", r.Status, r.Body)
			}
		})
	}
}
