package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// The deletion form sent twice (a double click, a reload of its answer):
// the first erased the account and its sessions, and the second, a
// signed-out visitor's form, landed on the sign-in page without a word of
// the erasure. It now lands where the first did, on the home page saying
// that the account was erased, in the visitor's language. Only for a form
// naming an account erased minutes ago: a live account's id, or one erased
// long ago, still leads to the sign-in page.
func TestAccountDeletionSentTwiceSaysTheAccountWasErased(t *testing.T) {
	for _, lang := range []string{"fr", "en"} {
		t.Run(lang, func(t *testing.T) {
			h := apptest.Start(t)
			base, _ := url.Parse(h.URL)
			u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
			c.PostForm("/lang", url.Values{"lang": {lang}, "next": {"/"}})
			other, _ := h.User(t, account.RoleCustomer, "bea@example.fr")
			mustContain(t, c.Get("/account/delete"), `name="account" value="`+u.ID+`"`)
			done := html.EscapeString(h.App.Messages.T(lang, "privacy.delete.done"))
			var session []*http.Cookie
			for _, ck := range c.Jar.Cookies(base) {
				if ck.Name == "comptoir_session" {
					session = append(session, ck)
				}
			}
			form := url.Values{"password": {apptest.Password}, "account": {u.ID}}
			mustContain(t, followSeeOther(t, c, c.PostForm("/account/delete", form)), `<html lang="`+lang+`"`, done)
			// The second sending carries the cookies the first was sent with.
			c.Jar.SetCookies(base, session)
			r := c.PostForm("/account/delete", form)
			if r.Location != "/" {
				t.Fatalf("sent again: %d %q, want the home page", r.Status, r.Location)
			}
			mustContain(t, followSeeOther(t, c, r), `<html lang="`+lang+`"`, done)

			c.Jar.SetCookies(base, session)
			if r := c.PostForm("/account/delete", url.Values{"password": {apptest.Password}, "account": {other.ID}}); !strings.HasPrefix(r.Location, "/signin?") {
				t.Fatalf("a live account's id: %d %q, want the sign-in page", r.Status, r.Location)
			}
			h.Clock.Advance(16 * time.Minute)
			if r := c.PostForm("/account/delete", form); !strings.HasPrefix(r.Location, "/signin?") {
				t.Fatalf("an erasure long ago: %d %q, want the sign-in page", r.Status, r.Location)
			}
		})
	}
}
