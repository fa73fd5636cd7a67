package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// A customer reloading their order page (or opening its receipt) within
// 10 minutes adds no line to the activity log: a page view is evidence
// for a dispute, and one line says it as well as one per reload; a view
// 11 minutes later is written.
func TestOrderPageReloadsWriteOneActivityLine(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 40)
	views := func() int {
		t.Helper()
		var n int
		if err := h.App.DB.Read.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM customer_activity
			WHERE customer_id = $1 AND kind = 'order_view' AND subject_id = $2`, u.ID, o.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	get := func(path string) {
		t.Helper()
		if r := c.Get(path); r.Status != http.StatusOK {
			t.Fatalf("%s: %d", path, r.Status)
		}
	}
	get("/orders/" + o.ID)
	h.Clock.Advance(time.Minute)
	get("/orders/" + o.ID)
	get("/orders/" + o.ID + "/receipt")
	if n := views(); n != 1 {
		t.Fatalf("after a view and reloads within a minute: %d lines, want 1", n)
	}
	h.Clock.Advance(10 * time.Minute)
	get("/orders/" + o.ID)
	if n := views(); n != 2 {
		t.Fatalf("after a view 11 minutes after the first: %d lines, want 2", n)
	}
}
