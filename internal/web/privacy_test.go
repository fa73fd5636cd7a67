package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/desk"
	"comptoir/internal/testwait"
)

// The account page offers the export as a JSON file and the deletion with
// a confirm step: a wrong password changes nothing, the right one erases
// the account and signs out.
func TestAccountPageExportsAndDeletesAfterThePassword(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	mustContain(t, c.Get("/account"), `href="/account/export"`, `href="/account/delete"`)
	r := c.Get("/account/export")
	var doc map[string]any
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") || json.Unmarshal([]byte(r.Body), &doc) != nil {
		t.Fatalf("export: %d %v %.200s", r.Status, r.Header, r.Body)
	}
	if acc, _ := doc["account"].(map[string]any); acc["email"] != "ana@example.fr" {
		t.Fatalf("export account: %v", doc["account"])
	}
	mustContain(t, c.Get("/account/delete"), `id="delete-password"`)
	r = c.PostForm("/account/delete", url.Values{"password": {"not my password"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="password-error"`) {
		t.Fatalf("wrong password: %d %s", r.Status, r.Body)
	}
	mustMarkRefused(t, "delete", r.Body, map[string]string{"password": "password"})
	if got, _ := h.App.Accounts.UserByID(context.Background(), u.ID); got.Email != "ana@example.fr" {
		t.Fatalf("a wrong password erased the account: %+v", got)
	}
	r = c.PostForm("/account/delete", url.Values{"password": {apptest.Password}})
	if r.Status != http.StatusSeeOther || r.Location != "/" {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := c.Get("/account"); r.Status != http.StatusSeeOther {
		t.Fatalf("still signed in after the erasure: %d", r.Status)
	}
	got, _ := h.App.Accounts.UserByID(context.Background(), u.ID)
	if got.Email != account.ErasedEmail || got.Name != account.ErasedName(u.ID) || got.City != "" {
		t.Fatalf("account after erasure: %+v", got)
	}
	// The address is free again.
	if _, err := h.App.Accounts.CreateUser(context.Background(), account.CreateUserInput{Email: "ana@example.fr", Role: account.RoleCustomer,
		Password: apptest.Password, Language: "fr", Country: "FR", City: "Lyon"}); err != nil {
		t.Fatalf("sign-up with the erased address: %v", err)
	}
}

// An admin exports and erases a customer on their behalf; the admin must
// type the customer's email again, and both actions are audited with the
// admin as actor.
func TestAdminExportsAndErasesOnACustomersBehalf(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	adm, ac := h.User(t, account.RoleAdmin, "admin@shop.test")
	// The admin downloads the customer's data, not "my data" (the
	// customer's own link read so on the admin's page).
	mustContain(t, ac.Get("/admin/privacy?email=ANA@example.fr"), `id="privacy-customer"`, "/admin/customers/"+u.ID+"/export", ">Télécharger ses données</a>")
	if r := ac.Get("/admin/customers/" + u.ID + "/export"); r.Status != http.StatusOK || !strings.Contains(r.Body, "ana@example.fr") {
		t.Fatalf("admin export: %d", r.Status)
	}
	if r := ac.Get("/admin/customers/" + adm.ID + "/export"); r.Status != http.StatusNotFound {
		t.Fatalf("export of a staff account: %d", r.Status)
	}
	r := ac.PostForm("/admin/customers/"+u.ID+"/erase", url.Values{"confirm_email": {"someone@else.fr"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="confirm_email-error"`) {
		t.Fatalf("erase with the wrong confirmation: %d", r.Status)
	}
	mustMarkRefused(t, "erase", r.Body, map[string]string{"confirm_email": "confirm_email"})
	if got, _ := h.App.Accounts.UserByID(ctx, u.ID); got.Email != "ana@example.fr" {
		t.Fatal("erased without confirmation")
	}
	if r := ac.PostForm("/admin/customers/"+u.ID+"/erase", url.Values{"confirm_email": {"ana@example.fr"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("erase: %d %s", r.Status, r.Body)
	}
	if got, _ := h.App.Accounts.UserByID(ctx, u.ID); got.Email != account.ErasedEmail {
		t.Fatalf("not erased: %+v", got)
	}
	rows, err := h.App.DB.Read.QueryContext(ctx, `SELECT action, COALESCE(after_state, '') FROM audit_log WHERE subject_id = $1 AND actor_id = $2 ORDER BY id`, u.ID, adm.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for rows.Next() {
		var a, after string
		rows.Scan(&a, &after)
		actions = append(actions, a+" "+after)
	}
	rows.Close()
	if len(actions) != 2 || !strings.HasPrefix(actions[0], "data_exported") || !strings.HasPrefix(actions[1], "erased") || !strings.Contains(actions[1], "request_on_behalf") {
		t.Fatalf("audit by the admin: %q", actions)
	}
	// A staff account is not erased by DELETE /api/v1/me.
	if r := h.NewClient(t).Send(http.MethodDelete, "/api/v1/me", "", nil, h.Bearer(t, adm.ID)); r.Status != http.StatusConflict || !strings.Contains(r.Body, "not_customer") {
		t.Fatalf("staff DELETE /me: %d %s", r.Status, r.Body)
	}
}

// A subscription that would renew blocks the erasure until it is set to
// end; then the erasure goes through, and the subscription's consent keeps
// its wording but loses its address.
func TestErasureWaitsForSubscriptionsToEnd(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	r := c.PostForm("/subscriptions", url.Values{"plan_id": {plan.ID}, "payment": {"balance"}, "accept_policy": {"default@1"},
		"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	subPath := r.Location
	auth := h.Bearer(t, u.ID)
	if r := h.NewClient(t).Send(http.MethodDelete, "/api/v1/me", "", nil, auth); r.Status != http.StatusConflict || !strings.Contains(r.Body, "subscriptions_active") {
		t.Fatalf("erase with a live subscription: %d %s", r.Status, r.Body)
	}
	if r := c.PostForm("/account/delete", url.Values{"password": {apptest.Password}}); r.Status != http.StatusConflict || !strings.Contains(r.Body, `id="password-error"`) {
		t.Fatalf("page erase with a live subscription: %d", r.Status)
	}
	if r := c.PostForm(subPath+"/cancel", url.Values{"mode": {"period_end"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("cancel at period end: %d", r.Status)
	}
	if r := h.NewClient(t).Send(http.MethodDelete, "/api/v1/me", "", nil, auth); r.Status != http.StatusOK {
		t.Fatalf("erase: %d %s", r.Status, r.Body)
	}
	var ip, ua, wording string
	if err := h.App.DB.Read.QueryRowContext(context.Background(), `SELECT consent_ip, consent_user_agent, consent_wording_version FROM subscriptions WHERE customer_id = $1`, u.ID).Scan(&ip, &ua, &wording); err != nil {
		t.Fatal(err)
	}
	if ip != "erased" || ua != "erased" || wording == "" {
		t.Fatalf("subscription consent after erasure: %q %q %q", ip, ua, wording)
	}
}

// A balance is the customer's money, and once the account is erased nothing
// shows it is theirs: the deletion page says how much would be lost and
// erases only once the customer ticks a box giving up that very amount. A
// balance that grew since the page was shown is shown again. Before, the
// page said nothing and the balance was lost unseen.
func TestDeletingAnAccountWithABalanceGivesItUpKnowingly(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 1250)
	mustContain(t, c.Get("/account/delete"), `id="delete-balance"`, "12,50", `name="forfeit_balance"`, `value="1250"`)
	_, ac := h.User(t, account.RoleAdmin, "admin@shop.test")
	mustContain(t, ac.Get("/admin/privacy?email=ana@example.fr"), `id="privacy-admin-balance"`, "12,50")
	stillThere := func(when string) {
		t.Helper()
		if got, _ := h.App.Accounts.UserByID(context.Background(), u.ID); got.Email != "ana@example.fr" {
			t.Fatalf("%s: the account was erased", when)
		}
	}
	r := c.PostForm("/account/delete", url.Values{"password": {apptest.Password}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="forfeit_balance-error"`) || !strings.Contains(r.Body, "renoncer") {
		t.Fatalf("without the box: %d %s", r.Status, r.Body)
	}
	mustMarkRefused(t, "delete", r.Body, map[string]string{"forfeit_balance": "forfeit_balance"})
	stillThere("without the box")
	credit(t, h, u, 500) // a top-up paid meanwhile
	r = c.PostForm("/account/delete", url.Values{"password": {apptest.Password}, "forfeit_balance": {"1250"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `value="1750"`) || !strings.Contains(r.Body, "17,50") {
		t.Fatalf("a balance that grew: %d %s", r.Status, r.Body)
	}
	stillThere("a balance that grew")
	r = c.PostForm("/account/delete", url.Values{"password": {apptest.Password}, "forfeit_balance": {"1750"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("giving up the balance: %d %s", r.Status, r.Body)
	}
	if got, _ := h.App.Accounts.UserByID(context.Background(), u.ID); got.Email != account.ErasedEmail {
		t.Fatalf("not erased: %+v", got)
	}
}

// While a dispute of one of the customer's card payments is open, the
// erasure is refused (409 dispute_open, the reason on the page in the
// customer's language) and changes nothing: the store must answer the
// bank with the order's evidence (GDPR art. 17(3)(e)). Before, the
// erasure went through and left the dispute without its evidence.
func TestErasureWaitsForAnOpenDispute(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	now := h.Clock.Now().UTC()
	for _, q := range []string{
		`INSERT INTO card_payments (id, purpose, reference_id, customer_id, amount, currency, status, created_at, updated_at)
			VALUES ('pay_dispute', 'topup', 'top_dispute', $1, 500, 'EUR', 'succeeded', $2, $2)`,
		`INSERT INTO disputes (id, stripe_dispute_id, payment_id, purpose, reference_id, customer_id, amount, currency, reason,
			status, statement, created_at, updated_at) VALUES ('dsp_open', 'dp_open', 'pay_dispute', 'topup', 'top_dispute', $1, 500, 'EUR',
			'fraudulent', 'open', '', $2, $2)`,
	} {
		if _, err := h.App.DB.Write.ExecContext(ctx, q, u.ID, now); err != nil {
			t.Fatal(err)
		}
	}
	r := h.NewClient(t).Send(http.MethodDelete, "/api/v1/me", "", nil, h.Bearer(t, u.ID))
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"code":"dispute_open"`) {
		t.Fatalf("API erasure during a dispute: %d %s", r.Status, r.Body)
	}
	r = c.PostForm("/account/delete", url.Values{"password": {apptest.Password}})
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, "litige") || !strings.Contains(r.Body, `id="password-error"`) {
		t.Fatalf("page erasure during a dispute: %d %s", r.Status, r.Body)
	}
	if got, _ := h.App.Accounts.UserByID(ctx, u.ID); got.Email != "ana@example.fr" {
		t.Fatalf("a refused erasure changed the account: %+v", got)
	}
}

// An admin finds a guest (an address without an account that wrote to the
// store) on the customers' data page, downloads what is held about it and
// erases it after typing the address again.
func TestAdminExportsAndErasesAGuestsData(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	if _, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{Name: "Gus", Email: "gus@example.org", Topic: desk.Topics[0],
		Message: "GusPrivateWords", Lang: "fr"}); err != nil {
		t.Fatal(err)
	}
	_, ac := h.User(t, account.RoleAdmin, "admin@shop.test")
	testwait.Until(t, "the acknowledgement stored", func() bool {
		g, err := h.App.Privacy.Guest(ctx, "gus@example.org")
		return err == nil && g.Mails == 1
	})
	mustContain(t, ac.Get("/admin/privacy?email=GUS@example.org"), `id="privacy-guest"`, "1 demande", "1 e-mail envoyé", ">Télécharger ses données</button>")
	r := ac.PostForm("/admin/guests/export", url.Values{"email": {"gus@example.org"}})
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(r.Body, "GusPrivateWords") {
		t.Fatalf("guest export: %d %.300s", r.Status, r.Body)
	}
	r = ac.PostForm("/admin/guests/erase", url.Values{"email": {"gus@example.org"}, "confirm_email": {"someone@else.org"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="confirm_email-error"`) {
		t.Fatalf("guest erasure with the wrong confirmation: %d", r.Status)
	}
	mustMarkRefused(t, "guest erase", r.Body, map[string]string{"confirm_email": "confirm_email"})
	if g, _ := h.App.Privacy.Guest(ctx, "gus@example.org"); g.Tickets != 1 {
		t.Fatalf("erased without confirmation: %+v", g)
	}
	if r := ac.PostForm("/admin/guests/erase", url.Values{"email": {"gus@example.org"}, "confirm_email": {"Gus@example.org"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("guest erasure: %d %s", r.Status, r.Body)
	}
	if g, _ := h.App.Privacy.Guest(ctx, "gus@example.org"); !g.Empty() {
		t.Fatalf("guest data after the erasure: %+v", g)
	}
	mustContain(t, ac.Get("/admin/privacy?email=gus@example.org"), `id="email-error"`)
}

// Refused because a subscription would still renew, or a claim is open,
// the deletion page said "cancel them first" with no way to them: the
// customer had to find the subscriptions or claims in the menu. The
// reason now links them; a wrong password links nothing.
func TestErasureRefusalLinksWhereToActFirst(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
	r := c.PostForm("/account/delete", url.Values{"password": {apptest.Password}})
	if r.Status != http.StatusConflict {
		t.Fatalf("page erase with a live subscription: %d", r.Status)
	}
	mustContain(t, r, `id="password-error">`, ` <a href="/subscriptions" id="delete-fix">Mes abonnements</a></p>`)
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	mustContain(t, c.PostForm("/account/delete", url.Values{"password": {apptest.Password}}), ` <a href="/subscriptions" id="delete-fix">My subscriptions</a></p>`)
	if r := c.PostForm("/account/delete", url.Values{"password": {"wrong one"}}); r.Status != http.StatusUnprocessableEntity || strings.Contains(r.Body, `id="delete-fix"`) {
		t.Fatalf("a wrong password: %d, a link shown %v", r.Status, strings.Contains(r.Body, `id="delete-fix"`))
	}

	b, bc := h.User(t, account.RoleCustomer, "ben@example.fr")
	o := buyAndDeliver(t, h, b, 40)
	if r := bc.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"non_delivery"}, "message": {"Pas tout."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	mustContain(t, bc.PostForm("/account/delete", url.Values{"password": {apptest.Password}, "forfeit_balance": {"7500"}}),
		` <a href="/claims" id="delete-fix">Mes réclamations</a></p>`)
}
