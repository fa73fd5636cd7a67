package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// After a withdrawal refunded the undelivered part of a late service line,
// the order and its line still said "En retard" / "Late" (the API's
// overdue: true), and an agent could record deliveries on it. The line is
// no longer owed: overdue is false (API.md's fields unchanged), no badge,
// and a delivery is refused (422 not_deliverable, said in the agent's
// language) by the API and the console.
func TestWithdrawnLineIsNotLateNorDeliverable(t *testing.T) {
	h := apptest.Start(t)
	m := h.App.Messages
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	agent, ac := h.User(t, account.RoleAgent, "agent@shop.test")
	o := buyAndDeliver(t, h, u, 40)
	h.Clock.Advance(73 * time.Hour)
	type orderOut struct {
		Overdue bool
		Lines   []struct{ Overdue bool }
	}
	get := func() orderOut {
		t.Helper()
		r := c.Send(http.MethodGet, "/api/v1/orders/"+o.ID, "", nil, h.Bearer(t, u.ID))
		var out orderOut
		if err := json.Unmarshal([]byte(r.Body), &out); err != nil || r.Status != http.StatusOK || len(out.Lines) != 1 {
			t.Fatalf("order: %d %s", r.Status, r.Body)
		}
		return out
	}
	if out := get(); !out.Overdue || !out.Lines[0].Overdue {
		t.Fatalf("late before the withdrawal: %+v", out)
	}
	if r := postJSON(c, "/api/v1/claims", `{"kind":"withdrawal","order_id":"`+o.ID+`"}`, h.Bearer(t, u.ID)); r.Status != http.StatusCreated ||
		!strings.Contains(r.Body, `"rule":"withdrawal.statutory_undelivered"`) {
		t.Fatalf("withdrawal: %d %s", r.Status, r.Body)
	}
	if out := get(); out.Overdue || out.Lines[0].Overdue {
		t.Errorf("late after the withdrawal: %+v", out)
	}
	if p := c.Get("/orders/" + o.ID); strings.Contains(p.Body, m.T("fr", "order.overdue")) {
		t.Errorf("the order page says late:\n%s", p.Body)
	}
	r := postJSON(ac, "/api/v1/orders/"+o.ID+"/delivery", `{"line_id":"`+o.Lines[0].ID+`","delivered":60}`, h.Bearer(t, agent.ID))
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"code":"not_deliverable"`) ||
		!strings.Contains(r.Body, m.T("fr", "order.error.line_settled")) {
		t.Errorf("a delivery by the API: %d %s", r.Status, r.Body)
	}
	for _, lang := range []string{"fr", "en"} {
		ac.PostForm("/lang", url.Values{"lang": {lang}})
		p := ac.PostForm("/console/orders/"+o.ID+"/delivery", url.Values{"line_id": {o.Lines[0].ID}, "delivered": {"60"}})
		if p.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: a delivery in the console: %d", lang, p.Status)
		}
		mustContain(t, p, m.T(lang, "order.error.line_settled"))
	}
	if got, err := h.App.Orders.Get(t.Context(), o.ID); err != nil || got.Lines[0].Delivered != 40 {
		t.Errorf("delivered %d %v", got.Lines[0].Delivered, err)
	}
}

// A line partly delivered, then withdrawn from (its undelivered part
// refunded), still counted in the order's status: "Livrée en partie" /
// "Partly delivered" (the API's partial) for ever, as if the rest were
// still coming. Nothing more is owed: the order reads delivered (API.md's
// completed) for the part the customer kept, the line says the rest was
// settled, and the console offers no delivery on it.
func TestSettledLineOrderReadsDelivered(t *testing.T) {
	h := apptest.Start(t)
	m := h.App.Messages
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, ac := h.User(t, account.RoleAgent, "agent@shop.test")
	o := buyAndDeliver(t, h, u, 40)
	status := func() string {
		t.Helper()
		r := c.Send(http.MethodGet, "/api/v1/orders/"+o.ID, "", nil, h.Bearer(t, u.ID))
		var out struct{ Status string }
		if err := json.Unmarshal([]byte(r.Body), &out); err != nil || r.Status != http.StatusOK {
			t.Fatalf("order: %d %s", r.Status, r.Body)
		}
		return out.Status
	}
	if got := status(); got != "partial" {
		t.Fatalf("before the withdrawal: %s", got)
	}
	if r := postJSON(c, "/api/v1/claims", `{"kind":"withdrawal","order_id":"`+o.ID+`"}`, h.Bearer(t, u.ID)); r.Status != http.StatusCreated ||
		!strings.Contains(r.Body, `"outcome":"refund"`) {
		t.Fatalf("withdrawal: %d %s", r.Status, r.Body)
	}
	if got := status(); got != "completed" {
		t.Errorf("after the withdrawal the API says %s, want completed", got)
	}
	for _, lang := range []string{"fr", "en"} {
		c.PostForm("/lang", url.Values{"lang": {lang}})
		p := c.Get("/orders/" + o.ID)
		mustContain(t, p, `<span class="badge" id="order-status">`+m.T(lang, "order.status.completed")+`</span>`, `id="settled-`+o.Lines[0].ID+`"`)
		if strings.Contains(p.Body, m.T(lang, "order.status.partial")) {
			t.Errorf("%s: the order page still says %q", lang, m.T(lang, "order.status.partial"))
		}
		c.PostForm("/lang", url.Values{"lang": {lang}})
		ac.PostForm("/lang", url.Values{"lang": {lang}})
		p = ac.Get("/console/orders/" + o.ID)
		mustContain(t, p, m.T(lang, "order.status.completed"))
		if strings.Contains(p.Body, `id="delivered-`+o.Lines[0].ID+`"`) {
			t.Errorf("%s: the console offers a delivery on the settled line", lang)
		}
	}
}
