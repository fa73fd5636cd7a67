package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/privacy"
	"comptoir/internal/subscriptions"
)

// Once a customer's account is erased, nothing more goes into its balance
// by hand: neither an admin's credit nor an agent's refund of a claim on an
// order paid from it (409 customer_erased, in the caller's language,
// nothing changed). Nobody can sign in to use that balance: the money was
// kept there unseen, after the customer had given up only what the
// deletion page showed. An admin may still take money out of it.
func TestNothingIsCreditedToAnErasedAccount(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 40)
	r := postJSON(c, "/api/v1/claims", `{"kind":"dissatisfied","order_id":"`+o.ID+`","message":"Not what I hoped."}`, h.Bearer(t, u.ID))
	filed := decodeAs[struct{ ID string }](t, r)
	if r.Status != http.StatusCreated {
		t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	agent, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	adminAuth, agentAuth := h.Bearer(t, admin.ID), h.Bearer(t, agent.ID)
	if _, err := h.App.Privacy.Erase(ctx, u.ID, audit.Actor{ID: admin.ID, Role: account.RoleAdmin}, privacy.ReasonOnBehalf); err != nil {
		t.Fatal(err)
	}
	before := balanceOf(t, h, u)
	for path, body := range map[string]string{
		"/api/v1/balance/credits":                  `{"customer_id":"` + u.ID + `","amount":{"amount":500,"currency":"EUR"},"reason":"goodwill"}`,
		"/api/v1/claims/" + filed.ID + "/decision": `{"outcome":"refund","refund":{"amount":300,"currency":"EUR"}}`,
	} {
		auth := adminAuth
		if strings.HasPrefix(path, "/api/v1/claims/") {
			auth = agentAuth
		}
		r := postJSON(c, path, body, auth)
		if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"code":"customer_erased"`) || !strings.Contains(r.Body, "erased") {
			t.Errorf("%s: %d %s; want 409 customer_erased", path, r.Status, r.Body)
		}
	}
	if got := balanceOf(t, h, u); got != before {
		t.Fatalf("balance %d, was %d: credited after the erasure", got, before)
	}
	if before > 0 {
		r := postJSON(c, "/api/v1/balance/credits", `{"customer_id":"`+u.ID+`","amount":{"amount":-100,"currency":"EUR"},"reason":"closing"}`, adminAuth)
		if r.Status != http.StatusCreated {
			t.Fatalf("debit of an erased account's balance: %d %s", r.Status, r.Body)
		}
	}
	if m, err := h.App.Ledger.Reconcile(ctx); err != nil || len(m) != 0 {
		t.Fatalf("ledger: %v %v", m, err)
	}
}

// The same for a subscription paid from the balance: canceled for the end
// of its period, its customer erased, an agent's later refund of its last
// payment is refused (customer_erased) and the period stays paid.
func TestNoSubscriptionRefundToAnErasedAccount(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 5000)
	subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
	r := postJSON(c, "/api/v1/subscriptions/"+subID+"/cancel", `{"mode":"period_end","refund":false}`, h.Bearer(t, u.ID))
	canceled := decodeAs[struct {
		ClaimID string `json:"claim_id"`
	}](t, r)
	if r.Status != http.StatusOK || canceled.ClaimID == "" {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	agent, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	if _, err := h.App.Privacy.Erase(ctx, u.ID, audit.Actor{ID: admin.ID, Role: account.RoleAdmin}, privacy.ReasonOnBehalf); err != nil {
		t.Fatal(err)
	}
	before := balanceOf(t, h, u)
	r = postJSON(c, "/api/v1/claims/"+canceled.ClaimID+"/decision", `{"outcome":"refund"}`, h.Bearer(t, agent.ID))
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, `"code":"customer_erased"`) {
		t.Fatalf("refund of an erased customer's subscription: %d %s; want 409 customer_erased", r.Status, r.Body)
	}
	if got := balanceOf(t, h, u); got != before {
		t.Fatalf("balance %d, was %d", got, before)
	}
	if last, ok, err := h.App.Subscriptions.LastPayment(ctx, subID); err != nil || !ok || last.Status != subscriptions.PeriodPaid {
		t.Fatalf("last payment %+v %v %v, want still paid", last, ok, err)
	}
}
