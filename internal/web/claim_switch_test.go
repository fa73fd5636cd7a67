package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/claims"
	"comptoir/internal/orders"
)

// A dissatisfied customer may be offered another product (POLICY.md), but
// the console had no decision for it: the agent could only propose it in
// words. The console now offers it on a dissatisfied claim (the products
// for sale, a quantity), and refuses it with words of its own (no product,
// a balance short of the difference); the decision places the new order
// and the claim page shows the exchange, with its order, to the agent and
// the customer, in French and English. The API takes it too.
func TestSwitchToAnotherProductInTheConsole(t *testing.T) {
	h := apptest.Start(t)
	m := h.App.Messages
	for _, lang := range []string{"fr", "en"} {
		u, c := h.User(t, account.RoleCustomer, "ana-"+lang+"@example.fr")
		c.PostForm("/lang", url.Values{"lang": {lang}})
		agentUser, agent := h.User(t, account.RoleAgent, "agent-"+lang+"@shop.test")
		agent.PostForm("/lang", url.Values{"lang": {lang}})
		o := buyAndDeliver(t, h, u, 0) // 100 posts at 0.25: 25.00 paid
		other := newService(t, h, "other-"+lang, 20)
		filed := c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"dissatisfied"}, "message": {"Not what I hoped."}})
		claimID := strings.TrimPrefix(filed.Location, "/claims/")
		if filed.Status != http.StatusSeeOther || claimID == "" {
			t.Fatalf("%s: file a claim: %d %q", lang, filed.Status, filed.Location)
		}
		page := agent.Get("/console/claims/" + claimID)
		mustContain(t, page, `<option value="switch"`, `<option value="`+other.ID+`"`, m.T(lang, "claim.outcome.switch"))
		decide := func(product, quantity string) apptest.Response {
			return agent.PostForm("/console/claims/"+claimID+"/decision", url.Values{"decision_key": {formKey(t, agent.Get("/console/claims/"+claimID), "decision_key")},
				"outcome": {"switch"}, "product_id": {product}, "quantity": {quantity}})
		}
		r := decide("", "100")
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: no product: %d", lang, r.Status)
		}
		mustContain(t, r, m.T(lang, "claim.error.switch_product_required"))
		// 1000 posts at 0.20: 200.00, where the balance holds 75.00 and the
		// line 25.00.
		r = decide(other.ID, "1000")
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: short balance: %d", lang, r.Status)
		}
		mustContain(t, r, m.T(lang, "claim.error.insufficient_balance"))
		before := balanceOf(t, h, u)
		// 200 posts at 0.20: 40.00, the difference 15.00 from the balance.
		if r := decide(other.ID, "200"); r.Status != http.StatusSeeOther {
			t.Fatalf("%s: switch: %d %s", lang, r.Status, r.Body)
		}
		if b := balanceOf(t, h, u); b != before-1500 {
			t.Errorf("%s: balance %d, want %d", lang, b, before-1500)
		}
		sw, err := h.App.Claims.Switches(t.Context(), claimID)
		if err != nil || len(sw) != 1 {
			t.Fatalf("%s: switches %+v %v", lang, sw, err)
		}
		for _, p := range []apptest.Response{agent.Get("/console/claims/" + claimID), c.Get("/claims/" + claimID)} {
			mustContain(t, p, `id="claim-switch"`, sw[0].OrderID, m.T(lang, "claim.outcome.switch"))
		}
		// The value applied, in a sentence that agrees whatever the amount.
		applied := map[string]string{"fr": "la valeur de cet achat, 25,00\u00a0€, y est consacrée", "en": "€25.00 of this purchase paid towards it"}[lang]
		mustContain(t, c.Get("/claims/"+claimID), applied)
		mustContain(t, c.Get("/orders/"+sw[0].OrderID), other.Name(lang))
		mustContain(t, c.Get("/orders/"+o.ID), m.T(lang, "claim.outcome.switch"))

		// The API: a dissatisfied claim of another order, exchanged.
		o2, err := h.App.Orders.Place(t.Context(), orders.PlaceInput{
			CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: newService(t, h, "third-"+lang, 25).ID, Quantity: 100}}, Payment: orders.PayBalance,
			ImmediatePerformance: true, WithdrawalWaiver: true, Lang: lang, IP: "192.0.2.1", UserAgent: "test",
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r = postJSON(c, "/api/v1/claims", `{"kind":"dissatisfied","order_id":"`+o2.ID+`","message":"Bof."}`, h.Bearer(t, u.ID))
		var filed2 struct{ ID string }
		if err := json.Unmarshal([]byte(r.Body), &filed2); err != nil || filed2.ID == "" {
			t.Fatalf("%s: API claim: %d %s", lang, r.Status, r.Body)
		}
		id := filed2.ID
		r = postJSON(agent, "/api/v1/claims/"+id+"/decision", `{"outcome":"switch","product_id":"`+other.ID+`","quantity":100,"reason_code":"","note":""}`,
			h.Bearer(t, agentUser.ID))
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `"rule":"agent.switch"`) || !strings.Contains(r.Body, `"outcome":"refund"`) {
			t.Errorf("%s: API switch: %d %s", lang, r.Status, r.Body)
		}
	}
}

// Five templates told an exchanged claim by comparing its decision's rule
// with the string "agent.switch", each a copy of claims.RuleSwitch that a
// renamed rule would silently leave behind. They now ask the claim
// (claims.Claim.Switched, built on the constant): no template names the
// rule.
func TestTemplatesAskTheClaimWhetherItWasSwitched(t *testing.T) {
	files, err := filepath.Glob("templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("templates: %v %v", files, err)
	}
	used := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), `"`+claims.RuleSwitch+`"`) {
			t.Errorf("%s names the rule %q: ask the claim (.Switched)", f, claims.RuleSwitch)
		}
		used += strings.Count(string(b), "Switched}}")
	}
	if used != 5 {
		t.Errorf("%d templates ask .Switched, want the 5 that show a claim's outcome", used)
	}
}
