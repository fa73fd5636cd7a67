package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// The admin's privacy page shows the balance an erasure gives up, and the
// form now carries that amount: a credit landing between the page and the
// erasure (a top-up paid, a refund) refuses the erasure, nothing changed,
// and the page shows the new amount (409, in the admin's language). Before,
// the admin's erasure gave up whatever the balance held by then, unseen.
func TestAdminErasureGivesUpOnlyTheBalanceShown(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 1250)
	_, ac := h.User(t, account.RoleAdmin, "admin@shop.test")
	page := ac.Get("/admin/privacy?email=ana@example.fr")
	mustContain(t, page, `id="privacy-admin-balance"`, "12,50", `name="balance_shown" value="1250"`)

	// A mistyped confirmation shows the page again with the balance and
	// the amount the form gives up: it showed neither, and the admin's
	// next try was refused as a balance that had changed.
	r := ac.PostForm("/admin/customers/"+u.ID+"/erase", url.Values{"confirm_email": {"ana@exemple.fr"}, "balance_shown": {"1250"}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("mistyped confirmation: %d %.600s", r.Status, r.Body)
	}
	mustContain(t, r, `id="privacy-admin-balance"`, "12,50", `name="balance_shown" value="1250"`)

	credit(t, h, u, 500) // a top-up paid meanwhile
	r = ac.PostForm("/admin/customers/"+u.ID+"/erase", url.Values{"confirm_email": {"ana@example.fr"}, "balance_shown": {"1250"}})
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, "Le solde du client a changé") ||
		!strings.Contains(r.Body, "17,50") || !strings.Contains(r.Body, `name="balance_shown" value="1750"`) {
		t.Fatalf("a balance that grew since the page: %d %.600s", r.Status, r.Body)
	}
	if got, _ := h.App.Accounts.UserByID(ctx, u.ID); got.Email != "ana@example.fr" {
		t.Fatalf("erased with a balance the admin never saw: %+v", got)
	}
	r = ac.PostForm("/admin/customers/"+u.ID+"/erase", url.Values{"confirm_email": {"ana@example.fr"}, "balance_shown": {"1750"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("erase with the balance shown: %d %.600s", r.Status, r.Body)
	}
	if got, _ := h.App.Accounts.UserByID(ctx, u.ID); got.Email != account.ErasedEmail {
		t.Fatalf("not erased: %+v", got)
	}
}
