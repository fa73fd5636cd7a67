package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
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

// wrongCode is a six-digit code that is not the right one now.
func wrongCode(t *testing.T, h *apptest.Harness, secret string) string {
	right := totpCode(t, h, secret)
	if right == "000000" {
		return "000001"
	}
	return "000000"
}

// Whoever has a staff member's password can start sign-in challenges
// without end, each allowing a few codes: wrong codes count against the
// account's lock-out as wrong passwords do, so that the second factor
// cannot be guessed challenge after challenge.
func TestSecondFactorGuessesLockTheAccount(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleAgent, "agent@example.fr")
	en, err := h.App.Accounts.BeginTOTP(t.Context(), u.ID, "comptoir")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Accounts.ConfirmTOTP(t.Context(), u.ID, totpCode(t, h, en.Secret), ""); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(31 * time.Second)
	password := url.Values{"email": {"agent@example.fr"}, "password": {apptest.Password}}
	var last *apptest.Client
	for range 3 {
		last = h.NewClient(t)
		if r := last.PostForm("/signin", password); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/signin/verify") {
			t.Fatalf("password step: %d %q", r.Status, r.Location)
		}
		for range 2 {
			last.PostForm("/signin/verify", url.Values{"code": {wrongCode(t, h, en.Secret)}})
		}
	}
	// Five wrong codes over three challenges: the account is locked, for a
	// new challenge and for one already open, even with the right code.
	if r := h.NewClient(t).PostForm("/signin", password); r.Status != http.StatusTooManyRequests {
		t.Fatalf("password after five wrong codes: %d %q", r.Status, r.Location)
	}
	if r := last.PostForm("/signin/verify", url.Values{"code": {totpCode(t, h, en.Secret)}}); r.Status != http.StatusTooManyRequests {
		t.Fatalf("right code on an open challenge after five wrong ones: %d %q", r.Status, r.Location)
	}
	h.Clock.Advance(5 * time.Minute)
	c := h.NewClient(t)
	c.PostForm("/signin", password)
	if r := c.PostForm("/signin/verify", url.Values{"code": {totpCode(t, h, en.Secret)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("after the lock: %d", r.Status)
	}
}

// With --require-staff-totp, the password alone reaches nothing of the
// staff's: not the console pages (which it already covered), nor the
// customers' routes staff use too, nor the API with the browser's cookie
// or a login's token, nor a new API token from the account page. An
// operator's token (comptoir token create) is not a password sign-in and
// keeps working; enrolling opens everything.
func TestRequiredSecondFactorGuardsEveryStaffRoute(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.RequireStaffTOTP = true })
	u, agent := h.User(t, account.RoleAgent, "agent@example.fr")
	_, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	login := func() apptest.Response {
		return h.NewClient(t).Send(http.MethodPost, "/api/v1/login", "application/json",
			strings.NewReader(`{"email":"agent@example.fr","password":"`+apptest.Password+`"}`), nil)
	}
	if r := agent.Get("/api/v1/tickets"); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "second_factor_required") {
		t.Errorf("API with the cookie: %d %s", r.Status, r.Body)
	}
	if r := login(); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "second_factor_required") || strings.Contains(r.Body, "token") {
		t.Errorf("API login: %d %s", r.Status, r.Body)
	}
	for _, path := range []string{"/orders", "/support/tickets", "/claims"} {
		if r := agent.Get(path); r.Status != http.StatusSeeOther || r.Location != "/account/totp" {
			t.Errorf("%s: %d %q", path, r.Status, r.Location)
		}
	}
	if r := agent.PostForm("/account/tokens", url.Values{"name": {"mine"}}); r.Status != http.StatusSeeOther || r.Location != "/account/totp" {
		t.Errorf("token from the account page: %d %q", r.Status, r.Location)
	}
	if toks, _ := h.App.Accounts.ListTokens(t.Context(), u.ID); len(toks) != 0 {
		t.Errorf("a token was made: %v", toks)
	}
	if r := agent.Get("/account"); r.Status != http.StatusOK {
		t.Errorf("own account page: %d", r.Status)
	}
	if r := customer.Get("/api/v1/orders"); r.Status != http.StatusOK {
		t.Errorf("a customer's API: %d", r.Status)
	}
	if r := h.NewClient(t).Send(http.MethodGet, "/api/v1/tickets", "", nil, h.Bearer(t, u.ID)); r.Status != http.StatusOK {
		t.Errorf("operator's token: %d %s", r.Status, r.Body)
	}
	// Enrolling from this browser keeps its session (others end).
	m := totpSecretRE.FindStringSubmatch(agent.PostForm("/account/totp", nil).Body)
	if m == nil {
		t.Fatal("no secret on the enrolment page")
	}
	if r := agent.PostForm("/account/totp/confirm", url.Values{"code": {totpCode(t, h, m[1])}}); r.Status != http.StatusOK {
		t.Fatalf("enrolment: %d", r.Status)
	}
	if r := agent.Get("/api/v1/tickets"); r.Status != http.StatusOK {
		t.Errorf("API with the cookie after enrolment: %d", r.Status)
	}
	if r := agent.Get("/orders"); r.Status != http.StatusOK {
		t.Errorf("/orders after enrolment: %d", r.Status)
	}
}

// An IPv6 client picks any address of its /64 for each request: the
// per-client limits on sign-in, sign-up and the contact form count the /64, so that new
// addresses from it do not buy new attempts. Another /64 is another client;
// an IPv4 client is its address.
func TestRateLimitsCountAnIPv6ClientByItsSlash64(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1,::1" })
	c := h.NewClient(t)
	from := func(addr, path string, form url.Values) apptest.Response {
		return c.Send(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()),
			http.Header{"Origin": {h.URL}, "Sec-Fetch-Site": {"same-origin"}, "X-Forwarded-For": {addr}})
	}
	// Another email each time, so that the per-account lock-out stays out
	// of the way.
	wrong := func(i int) url.Values {
		return url.Values{"email": {fmt.Sprintf("x%d@example.fr", i)}, "password": {"wrong password"}}
	}
	for i := range 20 {
		if r := from(fmt.Sprintf("2001:db8:1:2::%x", i+1), "/signin", wrong(i)); r.Status != http.StatusUnauthorized {
			t.Fatalf("sign-in %d: %d", i+1, r.Status)
		}
	}
	if r := from("2001:db8:1:2:abcd::99", "/signin", wrong(20)); r.Status != http.StatusTooManyRequests {
		t.Errorf("21st sign-in from the same /64: %d", r.Status)
	}
	if r := from("2001:db8:1:3::1", "/signin", wrong(21)); r.Status != http.StatusUnauthorized {
		t.Errorf("sign-in from another /64: %d", r.Status)
	}
	// IPv4 is counted per address: a neighbour is another client.
	for i := range 20 {
		if r := from("198.51.100.1", "/signin", wrong(100+i)); r.Status != http.StatusUnauthorized {
			t.Fatalf("IPv4 sign-in %d: %d", i+1, r.Status)
		}
	}
	if r := from("198.51.100.1", "/signin", wrong(120)); r.Status != http.StatusTooManyRequests {
		t.Errorf("21st sign-in from the same IPv4 address: %d", r.Status)
	}
	if r := from("198.51.100.2", "/signin", wrong(121)); r.Status != http.StatusUnauthorized {
		t.Errorf("sign-in from the next IPv4 address: %d", r.Status)
	}
	for i := range 10 {
		if r := from(fmt.Sprintf("2001:db8:9:9::%x", i+1), "/signup", signupForm(fmt.Sprintf("u%d@example.fr", i))); r.Status != http.StatusSeeOther {
			t.Fatalf("sign-up %d: %d", i+1, r.Status)
		}
	}
	if r := from("2001:db8:9:9:1::1", "/signup", signupForm("u10@example.fr")); r.Status != http.StatusTooManyRequests {
		t.Errorf("11th sign-up from the same /64: %d", r.Status)
	}
	// The contact form too: it opens tickets and sends acknowledgements.
	contact := func(i int) url.Values {
		return url.Values{"name": {"Ana"}, "email": {fmt.Sprintf("c%d@example.fr", i)}, "topic": {"question"}, "message": {"Hello"}}
	}
	for i := range 10 { // contactLimit
		if r := from(fmt.Sprintf("2001:db8:7:7::%x", i+1), "/contact", contact(i)); r.Status == http.StatusTooManyRequests || r.Status >= 400 {
			t.Fatalf("contact %d: %d", i+1, r.Status)
		}
	}
	if r := from("2001:db8:7:7:1::1", "/contact", contact(99)); r.Status != http.StatusTooManyRequests {
		t.Errorf("contact form past the limit from the same /64: %d", r.Status)
	}
	if r := from("2001:db8:7:8::1", "/contact", contact(100)); r.Status >= 400 {
		t.Errorf("contact form from another /64: %d", r.Status)
	}
}

// Changing the password asks for the current one: wrong ones count
// against the account's lock-out like wrong sign-ins, so that someone
// holding a session cannot guess it without limit and then take the
// account over with a new password.
func TestCurrentPasswordGuessesLockTheAccount(t *testing.T) {
	h := apptest.Start(t)
	_, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	change := func(current string) apptest.Response {
		return c.PostForm("/account/password", url.Values{"current_password": {current},
			"new_password": {"a brand new secret"}, "password_confirm": {"a brand new secret"}})
	}
	for i := range 5 {
		if r := change(fmt.Sprintf("guess number %d", i)); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("guess %d: %d", i+1, r.Status)
		}
	}
	if r := change(apptest.Password); r.Status != http.StatusTooManyRequests {
		t.Fatalf("the right password after five wrong ones: %d", r.Status)
	}
	if r := h.NewClient(t).PostForm("/signin", url.Values{"email": {"ana@example.fr"}, "password": {apptest.Password}}); r.Status != http.StatusTooManyRequests {
		t.Fatalf("sign-in while locked: %d", r.Status)
	}
	h.Clock.Advance(5 * time.Minute)
	if r := change(apptest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("after the lock: %d %s", r.Status, r.Body)
	}
}

// Deleting the account asks for the password again: wrong ones count
// against the account's lock-out like wrong sign-ins. Otherwise whoever
// holds a session could guess it there, out of the lock-out's reach, until
// a right guess erases the account for good.
func TestDeletePasswordGuessesLockTheAccount(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	erase := func(password string) apptest.Response {
		return c.PostForm("/account/delete", url.Values{"password": {password}})
	}
	for i := range 5 {
		if r := erase(fmt.Sprintf("guess number %d", i)); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("guess %d: %d", i+1, r.Status)
		}
	}
	if r := erase(apptest.Password); r.Status != http.StatusTooManyRequests {
		t.Fatalf("the right password after five wrong ones: %d", r.Status)
	}
	if got, err := h.App.Accounts.UserByID(context.Background(), u.ID); err != nil || got.Email != "ana@example.fr" {
		t.Fatalf("the account was erased while locked: %+v %v", got, err)
	}
	if r := h.NewClient(t).PostForm("/signin", url.Values{"email": {"ana@example.fr"}, "password": {apptest.Password}}); r.Status != http.StatusTooManyRequests {
		t.Fatalf("sign-in while locked: %d", r.Status)
	}
	h.Clock.Advance(5 * time.Minute)
	if r := erase(apptest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("after the lock: %d %s", r.Status, r.Body)
	}
}

// Guesses at one account's password sent together, from as many addresses
// (past the per-address limit): each is checked after the failures before
// it are counted, so the lock-out lets through as many as its first tier
// allows, not as many as the burst holds. Before, every guess of the burst
// passed the check before the first failure was counted.
func TestPasswordGuessesSentTogetherMeetTheLockOut(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1,::1" })
	h.User(t, account.RoleCustomer, "ana@example.fr")
	const burst = 16
	statuses := make(chan int, burst)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := h.NewClient(t)
			<-start
			r := c.Send(http.MethodPost, "/api/v1/login", "application/json",
				strings.NewReader(`{"email":"ana@example.fr","password":"guess number `+fmt.Sprint(i)+`"}`),
				http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", i+1)}})
			statuses <- r.Status
		}()
	}
	close(start)
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	first := account.SigninLockoutTiers[0].Failures
	if counts[http.StatusUnauthorized] != first || counts[http.StatusTooManyRequests] != burst-first {
		t.Fatalf("a burst of %d guesses: %v; want %d checked (401) and the rest refused (429)", burst, counts, first)
	}
}
