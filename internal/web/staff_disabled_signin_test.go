package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/web"
)

// An agent's account is disabled in the instant between the check of
// their password and the creation of their session: the sign-in page and
// the API answered 500 (the session's creation refused the disabled
// account, and the error was taken for a fault). Now they answer as to a
// wrong password (401, in the visitor's language), with no session
// created: nobody gets in.
func TestStaffDisabledDuringTheirSignInIsAFailedSignIn(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	admin, _ := h.User(t, account.RoleAdmin, "boss@shop.test")
	agent, err := h.App.Accounts.CreateUser(ctx, account.CreateUserInput{
		Email: "leaver@shop.test", Role: account.RoleAgent, Password: apptest.Password, Language: "fr", Name: "Léa"})
	if err != nil {
		t.Fatal(err)
	}
	disableOnce := func() {
		web.SetAfterPasswordCheck(h.App.Web, func(u account.User) {
			web.SetAfterPasswordCheck(h.App.Web, nil)
			if u.ID != agent.ID {
				t.Errorf("password checked for %s", u.Email)
			}
			if err := h.App.Accounts.DisableStaff(ctx, admin.Actor(), agent.ID); err != nil {
				t.Error(err)
			}
		})
	}
	sessions := func() int {
		var n int
		if err := h.App.DB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE user_id = $1`, agent.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	disableOnce()
	c := h.NewClient(t)
	r := c.PostForm("/signin", url.Values{"email": {agent.Email}, "password": {apptest.Password}, "next": {"/console"}})
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "Adresse e-mail ou mot de passe incorrect.") {
		t.Errorf("sign-in page: %d %.300s", r.Status, r.Body)
	}
	if cookie := r.Header.Get("Set-Cookie"); strings.Contains(cookie, "session") {
		t.Errorf("a session cookie was set: %s", cookie)
	}
	if n := sessions(); n != 0 {
		t.Errorf("%d sessions, want none", n)
	}

	if err := h.App.Accounts.EnableStaff(ctx, admin.Actor(), agent.ID); err != nil {
		t.Fatal(err)
	}
	disableOnce()
	c = h.NewClient(t)
	c.Lang = "en"
	r = c.Send(http.MethodPost, "/api/v1/login", "application/json",
		strings.NewReader(`{"email":"leaver@shop.test","password":"`+apptest.Password+`"}`), nil)
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, `"code":"invalid_credentials"`) ||
		!strings.Contains(r.Body, "Email or password is incorrect.") {
		t.Errorf("API sign-in: %d %s", r.Status, r.Body)
	}
	if n := sessions(); n != 0 {
		t.Errorf("%d sessions, want none", n)
	}
}
