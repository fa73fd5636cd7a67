package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// A panic is answered by recoverPanics, outside identify: its 500 page was
// in the language of the browser (or switcher cookie) even for a signed-in
// customer whose account says another, whose every other page is in the
// account's. It is now in the account's too.
func TestPanicPageIsInTheAccountsLanguage(t *testing.T) {
	h := apptest.Start(t)
	h.App.Web.PanicAtForTest("GET /panic-for-test")
	_, signedIn := h.User(t, account.RoleCustomer, "ana@example.fr") // the account is in French
	base, _ := url.Parse(h.URL)
	// The same session, from a browser asking for English and without the
	// switcher's cookie (signed in elsewhere, a cleared cookie).
	c := h.NewClient(t)
	c.Lang = "en-GB,en;q=0.9"
	for _, ck := range signedIn.Jar.Cookies(base) {
		if ck.Name == "comptoir_session" {
			c.Jar.SetCookies(base, []*http.Cookie{ck})
		}
	}
	if r := c.Get("/account"); r.Status != http.StatusOK || !strings.Contains(r.Body, `<html lang="fr"`) {
		t.Fatalf("the account page: %d, want it in French: %.200s", r.Status, r.Body)
	}
	r := c.Get("/panic-for-test")
	if r.Status != http.StatusInternalServerError || !strings.Contains(r.Body, `<html lang="fr"`) || r.Header.Get("Content-Language") != "fr" {
		t.Fatalf("the 500 page: %d %q, want it in the account's French: %s", r.Status, r.Header.Get("Content-Language"), r.Body)
	}
	// A visitor not signed in still gets their browser's language.
	anon := h.NewClient(t)
	anon.Lang = "en-GB,en;q=0.9"
	if r := anon.Get("/panic-for-test"); r.Status != http.StatusInternalServerError || !strings.Contains(r.Body, `<html lang="en"`) {
		t.Fatalf("the 500 page for a visitor: %d, want English: %s", r.Status, r.Body)
	}
}
