package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
)

// An agent left the company and kept every way in: an admin now disables
// their account from Admin → Staff accounts. At once their browser session
// and API token stop working, their password is refused with the same
// words as a wrong one, the ticket they had taken is back in the queue for
// another agent, and the audit log says which admin did it. Enabled again,
// they sign in with their password.
func TestAdminDisablesAnAgentWhoLeft(t *testing.T) {
	h := apptest.Start(t)
	admin, adminc := h.User(t, account.RoleAdmin, "boss@shop.test")
	leaver, leaverc := h.User(t, account.RoleAgent, "leaver@shop.test")
	_, colleague := h.User(t, account.RoleAgent, "colleague@shop.test")
	bearer := h.Bearer(t, leaver.ID)
	_, customer := h.User(t, account.RoleCustomer, "ana@example.fr")
	customer.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}})
	tk := ticketOf(t, h, "ana@example.fr")
	if r := leaverc.PostForm("/console/tickets/"+tk.ID, url.Values{"action": {"assign"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("take the ticket: %d", r.Status)
	}
	if r := colleague.Get("/console/tickets?filter=unassigned"); strings.Contains(r.Body, tk.Reference) {
		t.Fatal("the taken ticket is listed as unassigned")
	}

	page := adminc.Get("/admin/staff")
	mustContain(t, page, "leaver@shop.test", `action="/admin/staff/`+leaver.ID+`/disable"`)
	if strings.Contains(page.Body, `action="/admin/staff/`+admin.ID+`/disable"`) {
		t.Error("the admin is offered to disable themselves")
	}
	r := adminc.PostForm("/admin/staff/"+leaver.ID+"/disable", nil)
	if r.Status != http.StatusSeeOther || r.Location != "/admin/staff" {
		t.Fatalf("disable: %d %q, want 303 to /admin/staff", r.Status, r.Location)
	}
	mustContain(t, adminc.Get("/admin/staff"), "Compte désactivé", "Désactivé depuis le", `action="/admin/staff/`+leaver.ID+`/enable"`)

	if r := leaverc.Get("/console/tickets"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/signin") {
		t.Errorf("the disabled agent's session: %d %q, want a redirect to sign in", r.Status, r.Location)
	}
	if r := h.NewClient(t).Send(http.MethodGet, "/api/v1/me", "", nil, bearer); r.Status != http.StatusUnauthorized {
		t.Errorf("the disabled agent's API token: %d, want 401", r.Status)
	}
	right := h.NewClient(t).PostForm("/signin", url.Values{"email": {leaver.Email}, "password": {apptest.Password}})
	wrong := h.NewClient(t).PostForm("/signin", url.Values{"email": {"nobody@shop.test"}, "password": {apptest.Password}})
	if right.Status != http.StatusUnauthorized || right.Status != wrong.Status || !strings.Contains(right.Body, "Adresse e-mail ou mot de passe incorrect.") {
		t.Errorf("sign-in of the disabled agent: %d, want %d and the wrong-password message:\n%s", right.Status, wrong.Status, right.Body)
	}
	if r := h.NewClient(t).Send(http.MethodPost, "/api/v1/login", "application/json",
		strings.NewReader(`{"email":"leaver@shop.test","password":"`+apptest.Password+`"}`), nil); r.Status != http.StatusUnauthorized {
		t.Errorf("API login of the disabled agent: %d, want 401", r.Status)
	}

	// The ticket is back in the queue, for the colleague to take.
	mustContain(t, colleague.Get("/console/tickets?filter=unassigned"), tk.Reference)
	mustContain(t, colleague.Get("/console/tickets/"+tk.ID), "Pris par personne")

	rows, err := audit.ForSubject(context.Background(), h.App.DB.Read, "user", leaver.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := rows[len(rows)-1]; last.Action != "disable" || last.ActorID != admin.ID {
		t.Errorf("audit: %+v, want disable by %s", last, admin.ID)
	}

	if r := adminc.PostForm("/admin/staff/"+leaver.ID+"/enable", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("enable: %d", r.Status)
	}
	if r := h.NewClient(t).PostForm("/signin", url.Values{"email": {leaver.Email}, "password": {apptest.Password}}); r.Status != http.StatusSeeOther {
		t.Errorf("sign-in once enabled again: %d, want 303", r.Status)
	}
}

// An admin who tries to disable their own account is refused with a
// sentence in their language, and stays enabled; an agent cannot reach
// the page at all.
func TestAdminCannotDisableThemselves(t *testing.T) {
	h := apptest.Start(t)
	admin, adminc := h.User(t, account.RoleAdmin, "boss@shop.test")
	_, agentc := h.User(t, account.RoleAgent, "agent@shop.test")
	r := adminc.PostForm("/admin/staff/"+admin.ID+"/disable", nil)
	if r.Status != http.StatusConflict {
		t.Fatalf("disable self: %d, want 409", r.Status)
	}
	mustContain(t, r, `role="alert"`, "Vous ne pouvez pas désactiver votre propre compte")
	adminc.PostForm("/lang", url.Values{"lang": {"en"}})
	mustContain(t, adminc.PostForm("/admin/staff/"+admin.ID+"/disable", nil), "You cannot disable your own account")
	if r := adminc.Get("/admin"); r.Status != http.StatusOK {
		t.Errorf("the admin after trying: %d", r.Status)
	}
	if r := agentc.PostForm("/admin/staff/"+admin.ID+"/disable", nil); r.Status != http.StatusNotFound {
		t.Errorf("an agent disabling the admin: %d, want 404", r.Status)
	}
	if r := adminc.PostForm("/admin/staff/"+admin.ID+"/promote", nil); r.Status != http.StatusNotFound {
		t.Errorf("an unknown action: %d, want 404", r.Status)
	}
}

// Another site's page cannot make a signed-in admin's browser disable
// anyone: the form is refused (403) and the agent keeps their access.
func TestDisablingStaffFromAnotherSiteIsRefused(t *testing.T) {
	h := apptest.Start(t)
	_, adminc := h.User(t, account.RoleAdmin, "boss@shop.test")
	agent, agentc := h.User(t, account.RoleAgent, "agent@shop.test")
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/admin/staff/"+agent.ID+"/disable", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	for _, ck := range adminc.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site disable: %d, want 403", resp.StatusCode)
	}
	if r := agentc.Get("/console/tickets"); r.Status != http.StatusOK {
		t.Errorf("the agent after the cross-site attempt: %d, want 200", r.Status)
	}
}
