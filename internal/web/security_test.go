package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
)

// After the per-address limit, sign-ins are slowed per account: failures
// on one email lock it for the rest of a window that grows with them, for
// the form and the API alike, even with the right password, without
// touching other accounts.
func TestSignInLocksAnAccountAfterRepeatedFailures(t *testing.T) {
	h := apptest.Start(t)
	h.User(t, account.RoleCustomer, "ana@example.fr")
	h.User(t, account.RoleCustomer, "bob@example.fr")
	c := h.NewClient(t)
	try := func(email, password string) apptest.Response {
		return c.PostForm("/signin", url.Values{"email": {email}, "password": {password}})
	}
	retryAfter := func(r apptest.Response) int {
		n, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		return n
	}
	for i := 0; i < 5; i++ {
		if r := try("ana@example.fr", "wrong password"); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, r.Status)
		}
	}
	// Locked: even the right password (any case of the address) is refused.
	r := try("ANA@example.fr ", apptest.Password)
	if r.Status != http.StatusTooManyRequests || retryAfter(r) < 1 || retryAfter(r) > 301 {
		t.Fatalf("after 5 failures: %d, Retry-After %q", r.Status, r.Header.Get("Retry-After"))
	}
	if strings.Contains(r.Body, "signout") {
		t.Fatal("a locked sign-in signed in")
	}
	if r := try("bob@example.fr", apptest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("another account during the lock: %d", r.Status)
	}
	h.Clock.Advance(5 * time.Minute)
	if r := try("ana@example.fr", apptest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("after the 5-minute window: %d", r.Status)
	}
	// Five more failures in the hour: now the hour's tier is full, and the
	// next 5-minute window does not open it.
	c = h.NewClient(t)
	for i := 0; i < 5; i++ {
		if r := try("ana@example.fr", "wrong again"); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+6, r.Status)
		}
	}
	h.Clock.Advance(5 * time.Minute)
	r = try("ana@example.fr", apptest.Password)
	if r.Status != http.StatusTooManyRequests || retryAfter(r) < 40*60 {
		t.Fatalf("10 failures in the hour: %d, Retry-After %q", r.Status, r.Header.Get("Retry-After"))
	}
	api := c.Send(http.MethodPost, "/api/v1/login", "application/json",
		strings.NewReader(`{"email":"ana@example.fr","password":"`+apptest.Password+`"}`), nil)
	if api.Status != http.StatusTooManyRequests || !strings.Contains(api.Body, `"rate_limited"`) || api.Header.Get("Retry-After") == "" {
		t.Fatalf("API login while locked: %d %s", api.Status, api.Body)
	}
	h.Clock.Set(time.Date(2026, 3, 8, 11, 0, 0, 0, time.UTC))
	if r := try("ana@example.fr", apptest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("the next hour: %d", r.Status)
	}
}

// Session fixation: a sign-in always issues a new session id; an id chosen
// by someone else (made up, or their own valid session planted in the
// victim's browser) never becomes the victim's session, and a planted valid
// one ends.
func TestSignInIssuesAFreshSession(t *testing.T) {
	h := apptest.Start(t)
	h.User(t, account.RoleCustomer, "ana@example.fr")
	_, mallory := h.User(t, account.RoleCustomer, "mallory@example.fr")
	base, _ := url.Parse(h.URL)
	sessionOf := func(c *apptest.Client) string {
		for _, ck := range c.Jar.Cookies(base) {
			if ck.Name == "comptoir_session" {
				return ck.Value
			}
		}
		return ""
	}
	withSession := func(token string) *apptest.Client {
		c := h.NewClient(t)
		c.Jar.SetCookies(base, []*http.Cookie{{Name: "comptoir_session", Value: token, Path: "/"}})
		return c
	}
	planted := sessionOf(mallory)
	for _, fixed := range []string{"attacker-chosen-session-id", planted} {
		victim := withSession(fixed)
		if r := victim.PostForm("/signin", url.Values{"email": {"ana@example.fr"}, "password": {apptest.Password}}); r.Status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", r.Status)
		}
		got := sessionOf(victim)
		if got == "" || got == fixed {
			t.Fatalf("session after sign-in %q, came with %q", got, fixed)
		}
		if r := victim.Get("/account"); r.Status != http.StatusOK || !strings.Contains(r.Body, "ana@example.fr") {
			t.Fatalf("the new session: %d", r.Status)
		}
		// The id the browser came with opens nothing.
		if r := withSession(fixed).Get("/account"); r.Status != http.StatusSeeOther {
			t.Fatalf("the fixed id %q after the sign-in: %d", fixed, r.Status)
		}
	}
}

// Every cookie the store sets is HttpOnly, SameSite=Lax and, behind an
// https base URL, Secure; every answer (pages, 404, 413, static files, API
// errors, health) carries the security headers.
func TestCookiesAndSecurityHeadersOnEveryResponse(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.BaseURL = "https://shop.example" })
	h.User(t, account.RoleCustomer, "ana@example.fr")
	send := func(method, path, contentType, body string, cookies ...*http.Cookie) *http.Response {
		req, _ := http.NewRequest(method, h.URL+path, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	form := "application/x-www-form-urlencoded"
	signin := send(http.MethodPost, "/signin", form, url.Values{"email": {"ana@example.fr"}, "password": {apptest.Password}}.Encode())
	var session *http.Cookie
	for _, c := range signin.Cookies() {
		if c.Name == "comptoir_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("sign in set no session cookie: %d %v", signin.StatusCode, signin.Header)
	}
	big := strings.Repeat("x", 2<<20)
	responses := map[string]*http.Response{
		"sign-in":             signin,
		"language":            send(http.MethodPost, "/lang", form, "lang=en&next=/"),
		"sign-out":            send(http.MethodPost, "/signout", form, "", session),
		"bad session":         send(http.MethodGet, "/account", "", "", &http.Cookie{Name: "comptoir_session", Value: "forged"}),
		"home":                send(http.MethodGet, "/", "", ""),
		"404":                 send(http.MethodGet, "/no/such/page", "", ""),
		"413":                 send(http.MethodPost, "/signin", form, big),
		"static":              send(http.MethodGet, "/static/app.css", "", ""),
		"API 401":             send(http.MethodGet, "/api/v1/me", "", ""),
		"API 404":             send(http.MethodGet, "/api/v1/nothing", "", ""),
		"API 400":             send(http.MethodPost, "/api/v1/login", "application/json", "{"),
		"healthz":             send(http.MethodGet, "/healthz", "", ""),
		"cross-origin 403":    sendCrossOrigin(t, h.URL+"/signin"),
		"405 wrong method":    send(http.MethodDelete, "/signin", "", ""),
		"redirect to sign in": send(http.MethodGet, "/orders", "", ""),
	}
	want := map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
		"Cross-Origin-Opener-Policy": "same-origin",
	}
	cookies := 0
	for name, r := range responses {
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s (%d): CSP %q", name, r.StatusCode, csp)
		}
		for k, v := range want {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s (%d): %s = %q, want %q", name, r.StatusCode, k, got, v)
			}
		}
		for _, c := range r.Cookies() {
			cookies++
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Errorf("%s: cookie %s Secure=%v HttpOnly=%v SameSite=%v Path=%q", name, c.Name, c.Secure, c.HttpOnly, c.SameSite, c.Path)
			}
		}
	}
	if responses["413"].StatusCode != http.StatusRequestEntityTooLarge || responses["cross-origin 403"].StatusCode != http.StatusForbidden {
		t.Errorf("413 %d, cross-origin %d", responses["413"].StatusCode, responses["cross-origin 403"].StatusCode)
	}
	if cookies < 4 {
		t.Errorf("only %d cookies seen", cookies)
	}
}

// sendCrossOrigin posts a form as a browser on another site would.
func sendCrossOrigin(t *testing.T, target string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader("email=a%40b.fr&password=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
