package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
)

var (
	totpSecretRE   = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	recoveryCodeRE = regexp.MustCompile(`<li><code>([a-z2-9]{10})</code></li>`)
)

func totpCode(t *testing.T, h *apptest.Harness, secret string) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, h.Clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// With --require-staff-totp, an agent without a second factor is sent to
// enrolment before any console page; enrolment (secret and otpauth URI
// shown, confirmed by a code) gives recovery codes; from then on the
// password alone does not sign in: the code does, once, and a recovery
// code does, once. Customers never see any of it.
func TestStaffTOTPEnrolmentAndSignIn(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.RequireStaffTOTP = true })
	_, agent := h.User(t, account.RoleAgent, "agent@example.fr")
	_, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	if r := agent.Get("/console/tickets"); r.Status != http.StatusSeeOther || r.Location != "/account/totp" {
		t.Fatalf("console without TOTP: %d %q", r.Status, r.Location)
	}
	if r := customer.Get("/account/totp"); r.Status != http.StatusNotFound {
		t.Fatalf("customer enrolment page: %d", r.Status)
	}
	if r := customer.Get("/orders"); r.Status != http.StatusOK {
		t.Fatalf("customer pages: %d", r.Status)
	}
	mustContain(t, agent.Get("/account"), `href="/account/totp" id="totp-link"`)
	if strings.Contains(customer.Get("/account").Body, "totp-link") {
		t.Error("a customer is offered two-step sign-in")
	}
	mustContain(t, agent.Get("/account/totp"), `id="totp-required"`, `id="totp-start"`)
	start := agent.PostForm("/account/totp", nil)
	m := totpSecretRE.FindStringSubmatch(start.Body)
	if start.Status != http.StatusOK || m == nil || !strings.Contains(start.Body, `href="otpauth://totp/`) || start.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("enrolment: %d %s", start.Status, start.Body)
	}
	secret := m[1]
	if r := agent.PostForm("/account/totp/confirm", url.Values{"code": {"000000"}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("wrong code: %d", r.Status)
	}
	// The wrong code left the secret pending: the right one confirms it.
	done := agent.PostForm("/account/totp/confirm", url.Values{"code": {totpCode(t, h, secret)}})
	codes := recoveryCodeRE.FindAllStringSubmatch(done.Body, -1)
	if done.Status != http.StatusOK || len(codes) != 10 {
		t.Fatalf("confirm: %d %s", done.Status, done.Body)
	}
	if r := agent.Get("/console/tickets"); r.Status != http.StatusOK {
		t.Fatalf("console with TOTP: %d", r.Status)
	}

	// Signing in: the password leads to the code step, not to a session.
	c := h.NewClient(t)
	r := c.PostForm("/signin", url.Values{"email": {"agent@example.fr"}, "password": {apptest.Password}, "next": {"/console"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/signin/verify") {
		t.Fatalf("password step: %d %q", r.Status, r.Location)
	}
	if r := c.Get("/console"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/signin") {
		t.Fatalf("console after the password alone: %d %q", r.Status, r.Location)
	}
	mustContain(t, c.Get(r.Location), `name="code"`)
	if r := c.PostForm("/signin/verify", url.Values{"code": {"123456"}, "next": {"/console"}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("wrong code at sign-in: %d", r.Status)
	}
	h.Clock.Advance(31 * time.Second) // the next step: the enrolment code is spent
	if r := c.PostForm("/signin/verify", url.Values{"code": {totpCode(t, h, secret)}, "next": {"/console"}}); r.Status != http.StatusSeeOther || r.Location != "/console" {
		t.Fatalf("right code: %d %q", r.Status, r.Location)
	}
	if r := c.Get("/console"); r.Status != http.StatusOK {
		t.Fatalf("console after the code: %d", r.Status)
	}
	// The same code again, on a new sign-in: refused (replay).
	c2 := h.NewClient(t)
	c2.PostForm("/signin", url.Values{"email": {"agent@example.fr"}, "password": {apptest.Password}})
	if r := c2.PostForm("/signin/verify", url.Values{"code": {totpCode(t, h, secret)}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("replayed code: %d", r.Status)
	}
	if r := c2.PostForm("/signin/verify", url.Values{"code": {codes[0][1]}}); r.Status != http.StatusSeeOther {
		t.Fatalf("recovery code: %d", r.Status)
	}
	c3 := h.NewClient(t)
	c3.PostForm("/signin", url.Values{"email": {"agent@example.fr"}, "password": {apptest.Password}})
	if r := c3.PostForm("/signin/verify", url.Values{"code": {codes[0][1]}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("recovery code twice: %d", r.Status)
	}
	// The API's login cannot skip the code.
	api := h.NewClient(t).Send(http.MethodPost, "/api/v1/login", "application/json",
		strings.NewReader(`{"email":"agent@example.fr","password":"`+apptest.Password+`"}`), nil)
	if api.Status != http.StatusUnauthorized || !strings.Contains(api.Body, "second_factor_required") {
		t.Fatalf("API login: %d %s", api.Status, api.Body)
	}
	// Without a challenge, the code step sends back to the password.
	if r := h.NewClient(t).PostForm("/signin/verify", url.Values{"code": {"123456"}}); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/signin") {
		t.Fatalf("code without password: %d %q", r.Status, r.Location)
	}
}

// Turning the second factor on signs out every other session of the
// account, as a new password does: a session opened with the password
// alone before (a stolen password's, a forgotten device's, a login's API
// session) must not keep what the second factor now guards. The browser
// that enrolled stays signed in; operators' API tokens are not sessions.
func TestEnrollingTOTPSignsOutOtherSessions(t *testing.T) {
	h := apptest.Start(t)
	u, agent := h.User(t, account.RoleAgent, "agent@example.fr")
	password := url.Values{"email": {"agent@example.fr"}, "password": {apptest.Password}}
	other := h.NewClient(t)
	if r := other.PostForm("/signin", password); r.Status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.Status)
	}
	var login struct{ Token string }
	r := h.NewClient(t).Send(http.MethodPost, "/api/v1/login", "application/json",
		strings.NewReader(`{"email":"agent@example.fr","password":"`+apptest.Password+`"}`), nil)
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &login) != nil {
		t.Fatalf("API login: %d %s", r.Status, r.Body)
	}
	session := http.Header{"Authorization": {"Bearer " + login.Token}}
	operator := h.Bearer(t, u.ID)

	m := totpSecretRE.FindStringSubmatch(agent.PostForm("/account/totp", nil).Body)
	if m == nil {
		t.Fatal("no secret on the enrolment page")
	}
	if r := agent.PostForm("/account/totp/confirm", url.Values{"code": {totpCode(t, h, m[1])}}); r.Status != http.StatusOK {
		t.Fatalf("confirm: %d", r.Status)
	}
	if r := agent.Get("/console/tickets"); r.Status != http.StatusOK {
		t.Fatalf("the enrolling browser: %d", r.Status)
	}
	if r := other.Get("/console/tickets"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/signin") {
		t.Fatalf("a password-only session after enrolment: %d %q", r.Status, r.Location)
	}
	if r := h.NewClient(t).Send(http.MethodGet, "/api/v1/tickets", "", nil, session); r.Status != http.StatusUnauthorized {
		t.Fatalf("a login's API session after enrolment: %d", r.Status)
	}
	if r := h.NewClient(t).Send(http.MethodGet, "/api/v1/tickets", "", nil, operator); r.Status != http.StatusOK {
		t.Fatalf("an API token after enrolment: %d", r.Status)
	}
}
