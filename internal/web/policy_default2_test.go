package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// The admin's policy page offers the built-in default@2 (default@1's rules,
// its wording corrected), published by the migration but not in force, and
// puts it in force with one press. A non-delivery claim on an order placed
// under default@1 is still decided in default@1's words; one on an order
// placed after reads the count as its number wants: "1 of 100 was
// delivered", « 1 sur 100 a été livré ».
func TestAdminPutsTheCorrectedDefaultPolicyInForce(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	ana, anaC := h.User(t, account.RoleCustomer, "ana@example.fr")
	ben, benC := h.User(t, account.RoleCustomer, "ben@example.fr")
	anaC.PostForm("/lang", url.Values{"lang": {"en"}})
	admin.PostForm("/lang", url.Values{"lang": {"en"}})

	before := buyAndDeliver(t, h, ana, 1)
	if before.PolicyVersion != "default@1" {
		t.Fatalf("an order of a new store accepts %s, want default@1", before.PolicyVersion)
	}

	page := admin.Get("/admin/policies")
	mustContain(t, page, `id="policy-offer"`, "default@2, the built-in policy with corrected wording", "new orders accept default@1",
		`id="put-in-force-default@2"`, "Put in force")
	if strings.Contains(page.Body, `id="put-in-force-default@1"`) {
		t.Errorf("the version in force is offered to be put in force")
	}
	r := admin.PostForm("/admin/policies/publish", formValues(page.Body, `id="put-in-force-default@2"`))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("put default@2 in force: %d %s", r.Status, r.Body)
	}
	if cur, err := h.App.Policies.Current(ctx); err != nil || cur.ID() != "default@2" {
		t.Fatalf("in force: %v, %v", cur, err)
	}
	if page := admin.Get("/admin/policies"); strings.Contains(page.Body, `id="policy-offer"`) {
		t.Errorf("default@2 is in force, and still offered")
	}
	mustContain(t, admin.Get("/policy?lang=en"), "withdraw from a new subscription within 14 calendar days")

	after := buyAndDeliver(t, h, ben, 1)
	if after.PolicyVersion != "default@2" {
		t.Fatalf("an order placed after accepts %s, want default@2", after.PolicyVersion)
	}

	// Both claims come once the processing time has passed.
	h.Clock.Advance(73 * time.Hour)
	claim := func(c *apptest.Client, orderID string) string {
		t.Helper()
		r := c.PostForm("/orders/"+orderID+"/claims", url.Values{"kind": {"non_delivery"}, "message": {"Only one post."}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("file: %d %s", r.Status, r.Body)
		}
		return r.Location
	}
	mustContain(t, anaC.Get(claim(anaC, before.ID)), "1 of 100 were delivered", "€24.75", "/policy?version=default%401")
	benClaim := claim(benC, after.ID)
	benC.PostForm("/lang", url.Values{"lang": {"en"}})
	mustContain(t, benC.Get(benClaim), "1 of 100 was delivered", "€24.75", "/policy?version=default%402")
	benC.PostForm("/lang", url.Values{"lang": {"fr"}})
	mustContain(t, benC.Get(benClaim), "1 sur 100 a été livré.")
}
