package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
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
