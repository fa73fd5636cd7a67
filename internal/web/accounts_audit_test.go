package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// rawPost posts a same-origin form and returns the answer as sent, without
// the client parsing its Location (Go refuses one holding a tab, which is
// exactly what a browser would follow).
func rawPost(t *testing.T, h *apptest.Harness, c *apptest.Client, path string, form url.Values) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", h.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if c != nil {
		for _, ck := range c.Jar.Cookies(req.URL) {
			req.AddCookie(ck)
		}
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// A browser drops tabs and line breaks from a URL and reads "\" as "/":
// a next= of "/\t/evil.example" is "//evil.example" to it, another site.
// Such a next, after sign-in or a language switch, goes home instead.
func TestOpenRedirectWithControlCharactersIsRefused(t *testing.T) {
	h := apptest.Start(t)
	h.User(t, account.RoleCustomer, "ana@example.fr")
	for _, next := range []string{"/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/\x0b/evil.example",
		"/\t\\evil.example", "/x\\..\\\\evil.example", "/\x7f/evil.example"} {
		if r := rawPost(t, h, nil, "/lang", url.Values{"lang": {"en"}, "next": {next}}); r.Header.Get("Location") != "/" {
			t.Errorf("language switch, next=%q: redirected to %q", next, r.Header.Get("Location"))
		}
		r := rawPost(t, h, nil, "/signin", url.Values{"email": {"ana@example.fr"}, "password": {apptest.Password}, "next": {next}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
			t.Errorf("sign-in, next=%q: %d to %q", next, r.StatusCode, r.Header.Get("Location"))
		}
	}
	// Ordinary paths still come back.
	if r := rawPost(t, h, nil, "/lang", url.Values{"lang": {"en"}, "next": {"/shop?q=a%2Fb#top"}}); r.Header.Get("Location") != "/shop?q=a%2Fb#top" {
		t.Errorf("a plain path: %q", r.Header.Get("Location"))
	}
}
