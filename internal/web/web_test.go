package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/db"
	"comptoir/internal/jobs"
	"comptoir/internal/testwait"
)

func signupForm(email string) url.Values {
	return url.Values{
		"name": {"Ana Martin"}, "email": {email}, "password": {"correct horse battery"},
		"password_confirm": {"correct horse battery"}, "customer_type": {"consumer"},
		"country": {"FR"}, "region": {"Auvergne-Rhône-Alpes"}, "city": {"Lyon"}, "language": {"fr"},
	}
}

func mustContain(t *testing.T, r apptest.Response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.Body, p) {
			t.Fatalf("status %d: body lacks %q:\n%s", r.Status, p, r.Body)
		}
	}
}

func TestSignUpSignOutSignIn(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	r := c.PostForm("/signup", signupForm("Ana@Example.fr"))
	if r.Status != http.StatusSeeOther || r.Location != "/account" {
		t.Fatalf("signup: %d %q\n%s", r.Status, r.Location, r.Body)
	}
	mustContain(t, c.Get("/account"), "Ana@Example.fr", "Lyon")

	r = c.PostForm("/signout", nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("signout: %d", r.Status)
	}
	if r := c.Get("/account"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/signin?next=") {
		t.Fatalf("after sign-out /account must send to sign-in, got %d %q", r.Status, r.Location)
	}

	r = c.PostForm("/signin", url.Values{"email": {"ana@example.fr"}, "password": {"correct horse battery"}, "next": {"/account"}})
	if r.Status != http.StatusSeeOther || r.Location != "/account" {
		t.Fatalf("signin: %d %q", r.Status, r.Location)
	}
	mustContain(t, c.Get("/account"), "Ana@Example.fr")
}

func TestSecondSignUpWithSameEmailIsRefused(t *testing.T) {
	h := apptest.Start(t)
	if r := h.NewClient(t).PostForm("/signup", signupForm("ana@example.fr")); r.Status != http.StatusSeeOther {
		t.Fatalf("first signup: %d", r.Status)
	}
	c := h.NewClient(t)
	c.Lang = "en"
	r := c.PostForm("/signup", signupForm("ANA@example.FR"))
	if r.Status != http.StatusConflict {
		t.Fatalf("second signup: %d", r.Status)
	}
	mustContain(t, r, `id="email-error"`, "Ana Martin") // the error, and the form filled again
	if r := c.Get("/account"); r.Status != http.StatusSeeOther {
		t.Fatalf("a refused sign-up must not sign in, got %d", r.Status)
	}
}

func TestWrongPasswordAndUnknownAccountGetTheSameAnswer(t *testing.T) {
	h := apptest.Start(t)
	h.NewClient(t).PostForm("/signup", signupForm("ana@example.fr"))
	c := h.NewClient(t)
	c.Lang = "en"
	wrong := c.PostForm("/signin", url.Values{"email": {"ana@example.fr"}, "password": {"not the password"}})
	unknown := c.PostForm("/signin", url.Values{"email": {"nobody@example.fr"}, "password": {"not the password"}})
	if wrong.Status != http.StatusUnauthorized || unknown.Status != http.StatusUnauthorized {
		t.Fatalf("statuses %d, %d", wrong.Status, unknown.Status)
	}
	msg := regexp.MustCompile(`id="form-error">([^<]*)<`)
	m1, m2 := msg.FindStringSubmatch(wrong.Body), msg.FindStringSubmatch(unknown.Body)
	if m1 == nil || m2 == nil || m1[1] != m2[1] {
		t.Fatalf("messages differ or are missing: %q vs %q", m1, m2)
	}
	if !strings.Contains(m1[1], "incorrect") {
		t.Fatalf("message %q is not the English one", m1[1])
	}
}

func TestSignUpValidationIsLocalizedAndChangesNothing(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	f := signupForm("not-an-email")
	f.Set("city", "")
	f.Set("password", "short")
	f.Set("password_confirm", "short")
	r := c.PostForm("/signup", f)
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", r.Status)
	}
	mustContain(t, r, `id="email-error"`, `id="city-error"`, `id="password-error"`, `lang="fr"`)
	if _, err := h.App.Accounts.UserByEmail(t.Context(), "not-an-email"); err == nil {
		t.Fatal("an invalid sign-up created a user")
	}
	f = signupForm("biz@example.fr")
	f.Set("customer_type", "business")
	r = c.PostForm("/signup", f)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="vat_number-error"`) {
		t.Fatalf("a business without VAT number: %d", r.Status)
	}
}

func TestLanguageChoice(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.Lang = "en-GB,en;q=0.9"
	mustContain(t, c.Get("/signin"), `<html lang="en">`, "Sign in")
	// The switcher's cookie beats Accept-Language.
	r := c.PostForm("/lang", url.Values{"lang": {"fr"}, "next": {"/signin"}})
	if r.Status != http.StatusSeeOther || r.Location != "/signin" {
		t.Fatalf("switch: %d %q", r.Status, r.Location)
	}
	mustContain(t, c.Get("/signin"), `<html lang="fr">`, "Se connecter")

	// Signed in, the saved choice wins, and switching saves it.
	f := signupForm("ana@example.fr")
	f.Set("language", "en")
	c.PostForm("/signup", f)
	mustContain(t, c.Get("/account"), `<html lang="en">`)
	c.PostForm("/lang", url.Values{"lang": {"fr"}, "next": {"/account"}})
	u, err := h.App.Accounts.UserByEmail(t.Context(), "ana@example.fr")
	if err != nil || u.Language != "fr" {
		t.Fatalf("switching while signed in must save the language: %+v %v", u, err)
	}
	other := h.NewClient(t)
	other.Lang = "en"
	other.PostForm("/signin", url.Values{"email": {"ana@example.fr"}, "password": {"correct horse battery"}})
	mustContain(t, other.Get("/account"), `<html lang="fr">`)
}

func TestOpenRedirectIsRefused(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	for _, next := range []string{"//evil.example", "https://evil.example/", "/\\evil.example"} {
		r := c.PostForm("/lang", url.Values{"lang": {"en"}, "next": {next}})
		if r.Location != "/" {
			t.Errorf("next=%q redirected to %q", next, r.Location)
		}
	}
}

func TestNotFoundPageInVisitorsLanguage(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.Lang = "en"
	r := c.Get("/no/such/page")
	if r.Status != http.StatusNotFound {
		t.Fatalf("status %d", r.Status)
	}
	mustContain(t, r, `<html lang="en">`)
	c.Lang = "fr"
	r = c.Get("/no/such/page")
	mustContain(t, r, `<html lang="fr">`, "introuvable")
	r = c.Get("/api/v1/nothing")
	var e struct{ Error struct{ Code string } }
	if r.Status != http.StatusNotFound || json.Unmarshal([]byte(r.Body), &e) != nil || e.Error.Code != "not_found" {
		t.Fatalf("API 404: %d %s", r.Status, r.Body)
	}
}

func TestBadRequestsChangeNothing(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	big := signupForm("big@example.fr")
	big.Set("name", strings.Repeat("x", 2<<20))
	if r := c.PostForm("/signup", big); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized form: %d", r.Status)
	}
	r := c.Send(http.MethodPost, "/signup", "application/x-www-form-urlencoded", strings.NewReader("email=%zz&name=x"), http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if r.Status != http.StatusBadRequest {
		t.Fatalf("malformed form: %d", r.Status)
	}
	for _, email := range []string{"big@example.fr"} {
		if _, err := h.App.Accounts.UserByEmail(t.Context(), email); err == nil {
			t.Fatalf("a refused request created %s", email)
		}
	}
	// A form posted from another site's page is refused (CSRF).
	r = c.Send(http.MethodPost, "/signup", "application/x-www-form-urlencoded", strings.NewReader(signupForm("csrf@example.fr").Encode()),
		http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}})
	if r.Status != http.StatusForbidden {
		t.Fatalf("cross-site form: %d", r.Status)
	}
	if _, err := h.App.Accounts.UserByEmail(t.Context(), "csrf@example.fr"); err == nil {
		t.Fatal("a cross-site form created a user")
	}
}

func TestExpiredSessionSendsToSignIn(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.Lang = "en"
	c.PostForm("/signup", signupForm("ana@example.fr"))
	if r := c.Get("/account"); r.Status != http.StatusOK {
		t.Fatalf("account: %d", r.Status)
	}
	h.Clock.Advance(31 * 24 * time.Hour)
	r := c.Get("/account")
	if r.Status != http.StatusSeeOther || !strings.Contains(r.Location, "expired=1") {
		t.Fatalf("expired session: %d %q", r.Status, r.Location)
	}
	mustContain(t, c.Get(r.Location), "expired")
}

// A session used every day never goes idle, but ends at its maximum age
// from sign-in: 30 days for a customer, 7 for staff. It works until the
// last second, and the visitor then signs in again.
func TestSessionEndsAtItsMaximumAgeHoweverUsed(t *testing.T) {
	h := apptest.Start(t)
	for _, tt := range []struct {
		role, email, page string
		maxAge            time.Duration
	}{
		{account.RoleCustomer, "ana@example.fr", "/account", 30 * 24 * time.Hour},
		{account.RoleAgent, "agent@example.fr", "/console/tickets", 7 * 24 * time.Hour},
	} {
		start := h.Clock.Now()
		_, c := h.User(t, tt.role, tt.email)
		c.Lang = "en"
		for h.Clock.Now().Before(start.Add(tt.maxAge - 24*time.Hour)) {
			h.Clock.Advance(24 * time.Hour)
			if r := c.Get(tt.page); r.Status != http.StatusOK {
				t.Fatalf("%s, %s after sign-in: %d %q", tt.role, h.Clock.Now().Sub(start), r.Status, r.Location)
			}
		}
		h.Clock.Set(start.Add(tt.maxAge - time.Second))
		if r := c.Get(tt.page); r.Status != http.StatusOK {
			t.Fatalf("%s, a second before the maximum age: %d %q", tt.role, r.Status, r.Location)
		}
		h.Clock.Set(start.Add(tt.maxAge))
		r := c.Get(tt.page)
		if r.Status != http.StatusSeeOther || !strings.Contains(r.Location, "expired=1") {
			t.Fatalf("%s at the maximum age: %d %q", tt.role, r.Status, r.Location)
		}
		mustContain(t, c.Get(r.Location), "expired")
		if r := c.PostForm("/signin", url.Values{"email": {tt.email}, "password": {apptest.Password}}); r.Status != http.StatusSeeOther {
			t.Fatalf("%s signs in again: %d", tt.role, r.Status)
		}
		if r := c.Get(tt.page); r.Status != http.StatusOK {
			t.Fatalf("%s signed in again: %d %q", tt.role, r.Status, r.Location)
		}
	}
}

func TestSecurityHeadersAndStaticFiles(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	r := c.Get("/")
	if r.Status != http.StatusOK {
		t.Fatalf("home: %d", r.Status)
	}
	csp := r.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP = %q", csp)
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("headers: %v", r.Header)
	}
	css := regexp.MustCompile(`href="(/static/[0-9a-f]{12}/app\.css)"`).FindStringSubmatch(r.Body)
	if css == nil {
		t.Fatal("no hashed stylesheet URL in the page")
	}
	s := c.Get(css[1])
	if s.Status != http.StatusOK || !strings.Contains(s.Header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(s.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("static: %d %v", s.Status, s.Header)
	}
	if s := c.Get("/static/000000000000/app.css"); s.Status != http.StatusNotFound {
		t.Fatalf("a stale hash must be 404, got %d", s.Status)
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	if r := c.Get("/healthz"); r.Status != http.StatusOK {
		t.Fatalf("healthz %d", r.Status)
	}
	if r := c.Get("/readyz"); r.Status != http.StatusOK {
		t.Fatalf("readyz %d", r.Status)
	}
	c.Get("/signin")
	r := c.Get("/metrics")
	mustContain(t, r, `comptoir_http_requests_total{code="200",route="GET /signin"}`, "go_goroutines", "comptoir_desk_breached_tickets 0")
}

func TestSignInIsRateLimited(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	var last apptest.Response
	for i := 0; i < 21; i++ {
		last = c.PostForm("/signin", url.Values{"email": {"x@example.fr"}, "password": {"wrong password"}})
	}
	if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("21st attempt: %d", last.Status)
	}
	h.Clock.Advance(16 * time.Minute)
	if r := c.PostForm("/signin", url.Values{"email": {"x@example.fr"}, "password": {"wrong password"}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("after the window: %d", r.Status)
	}
}

func TestPasswordResetByEmailedLink(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.PostForm("/signup", signupForm("ana@example.fr"))
	c.PostForm("/signout", nil)
	r := c.PostForm("/reset", url.Values{"email": {"ANA@example.fr"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("reset request: %d", r.Status)
	}
	unknown := c.PostForm("/reset", url.Values{"email": {"nobody@example.fr"}})
	if unknown.Status != r.Status || unknown.Location != r.Location {
		t.Fatalf("an unknown address must get the same answer: %d %q vs %d %q", unknown.Status, unknown.Location, r.Status, r.Location)
	}
	// Both requests did the same work: each queued one job of the same
	// kind, whose work (look-up, link, email) comes after the answer.
	kind := account.ResetRequestArgs{}.Kind()
	kinds, err := db.Strings(t.Context(), h.App.DB.Read, `SELECT kind FROM river_job WHERE kind = $1`, kind)
	if err != nil || len(kinds) != 2 {
		t.Fatalf("%d %s jobs, want one per request: %v", len(kinds), kind, err)
	}
	testwait.Until(t, "the reset jobs to run", func() bool {
		left, err := jobs.StillToRun(t.Context(), h.App.DB, kind, "request_id")
		return err == nil && len(left) == 0
	})
	msgs := h.Mails(t, "password_reset", 1)
	if len(msgs) != 1 {
		t.Fatalf("%d reset emails, want 1", len(msgs))
	}
	link := regexp.MustCompile(`http://[^\s]+/reset/[A-Za-z0-9_-]+`).FindString(msgs[0].Text)
	if link == "" {
		t.Fatalf("no link in %q", msgs[0].Text)
	}
	path := strings.TrimPrefix(link, h.URL)
	mustContain(t, c.Get(path), `name="password"`)
	r = c.PostForm(path, url.Values{"password": {"a brand new secret"}, "password_confirm": {"a brand new secret"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	if r := c.PostForm(path, url.Values{"password": {"another new secret"}, "password_confirm": {"another new secret"}}); r.Status != http.StatusGone {
		t.Fatalf("a used link must not work twice: %d", r.Status)
	}
	if r := c.PostForm("/signin", url.Values{"email": {"ana@example.fr"}, "password": {"correct horse battery"}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("old password still works: %d", r.Status)
	}
	if r := c.PostForm("/signin", url.Values{"email": {"ana@example.fr"}, "password": {"a brand new secret"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("new password refused: %d", r.Status)
	}
}

func TestSessionsAndTokensCanBeSeenAndRevoked(t *testing.T) {
	h := apptest.Start(t)
	laptop, phone := h.NewClient(t), h.NewClient(t)
	laptop.UserAgent, phone.UserAgent = "laptop", "phone"
	laptop.PostForm("/signup", signupForm("ana@example.fr"))
	phone.PostForm("/signin", url.Values{"email": {"ana@example.fr"}, "password": {"correct horse battery"}})
	u, _ := h.App.Accounts.UserByEmail(t.Context(), "ana@example.fr")
	sessions, err := h.App.Accounts.ListSessions(t.Context(), u.ID)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("sessions: %d %v", len(sessions), err)
	}
	page := laptop.Get("/account")
	for _, s := range sessions {
		mustContain(t, page, "/account/sessions/"+s.ID+"/revoke")
	}
	phoneSession := sessions[0]
	if phoneSession.UserAgent != "phone" {
		phoneSession = sessions[1]
	}
	if r := laptop.PostForm("/account/sessions/"+phoneSession.ID+"/revoke", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.Status)
	}
	if laptop.Get("/account").Status != http.StatusOK {
		t.Fatal("revoking the phone signed the laptop out")
	}
	if phone.Get("/account").Status != http.StatusSeeOther {
		t.Fatal("the phone's session survived its revocation")
	}

	r := laptop.PostForm("/account/tokens", url.Values{"name": {"script"}})
	token := regexp.MustCompile(`<pre id="new-token">([^<]+)</pre>`).FindStringSubmatch(r.Body)
	if token == nil {
		t.Fatalf("token not shown:\n%s", r.Body)
	}
	api := h.NewClient(t)
	me := api.Send(http.MethodGet, "/api/v1/me", "", nil, http.Header{"Authorization": {"Bearer " + token[1]}})
	if me.Status != http.StatusOK || !strings.Contains(me.Body, `"email":"ana@example.fr"`) {
		t.Fatalf("token use: %d %s", me.Status, me.Body)
	}
	tokens, _ := h.App.Accounts.ListTokens(t.Context(), u.ID)
	laptop.PostForm("/account/tokens/"+tokens[0].ID+"/revoke", nil)
	if r := api.Send(http.MethodGet, "/api/v1/me", "", nil, http.Header{"Authorization": {"Bearer " + token[1]}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("revoked token still works: %d", r.Status)
	}
	// Someone else's session id is not found, and nothing changes.
	other := h.NewClient(t)
	other.PostForm("/signup", signupForm("ben@example.fr"))
	laptopSession := sessions[0]
	if laptopSession.ID == phoneSession.ID {
		laptopSession = sessions[1]
	}
	if r := other.PostForm("/account/sessions/"+laptopSession.ID+"/revoke", nil); r.Status != http.StatusNotFound {
		t.Fatalf("revoking another user's session: %d", r.Status)
	}
	if laptop.Get("/account").Status != http.StatusOK {
		t.Fatal("another user revoked the laptop's session")
	}
}

func TestStaffPagesAreHiddenFromCustomers(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.PostForm("/signup", signupForm("ana@example.fr"))
	for _, p := range []string{"/console", "/admin"} {
		if r := c.Get(p); r.Status != http.StatusNotFound {
			t.Errorf("%s for a customer: %d", p, r.Status)
		}
	}
}

// A visitor who must sign up to pay their cart comes back to it: the
// cart's and the sign-in page's links carry where they were going, the
// form keeps it through a refused attempt, and only a path of this site
// is followed.
func TestSignUpFromTheCartComesBackToIt(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	p := newService(t, h, "translation", 900)
	if r := c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"10"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("add to cart: %d", r.Status)
	}
	mustContain(t, c.Get("/cart"), `href="/signup?next=%2Fcart"`)
	mustContain(t, c.Get("/signin?next=%2Fcart"), `href="/signup?next=%2Fcart"`)
	mustContain(t, c.Get("/signup?next=%2Fcart"), `name="next" value="/cart"`)

	bad := signupForm("ana@example.fr")
	bad.Set("next", "/cart")
	bad.Set("password_confirm", "something else")
	mustContain(t, c.PostForm("/signup", bad), `name="next" value="/cart"`)

	f := signupForm("ana@example.fr")
	f.Set("next", "/cart")
	if r := c.PostForm("/signup", f); r.Status != http.StatusSeeOther || r.Location != "/cart" {
		t.Fatalf("sign-up from the cart: %d %q", r.Status, r.Location)
	}
	mustContain(t, c.Get("/cart"), `name="checkout_key"`) // signed in, the cart still there, ready to pay
	f = signupForm("bea@example.fr")
	f.Set("next", "//evil.example/")
	if r := h.NewClient(t).PostForm("/signup", f); r.Status != http.StatusSeeOther || r.Location != "/account" {
		t.Fatalf("sign-up with a foreign next: %d %q", r.Status, r.Location)
	}
}

// followSeeOther is a browser after a form that answered r: r must be a
// 303, and the page it leads to is fetched.
func followSeeOther(t *testing.T, c *apptest.Client, r apptest.Response) apptest.Response {
	t.Helper()
	if r.Status != http.StatusSeeOther || r.Location == "" {
		t.Fatalf("%d (Location %q), want a 303 redirect: %.300s", r.Status, r.Location, r.Body)
	}
	return c.Get(r.Location)
}
