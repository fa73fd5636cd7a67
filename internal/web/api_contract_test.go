package web_test

// Tests of the JSON API against API.md, from outside: what a script relying
// on the contract as written would notice.

import (
	"net/http"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// API.md: POSTs that move money accept Idempotency-Key. An admin's credit
// ignored it, so a retried credit (a timeout, a dropped connection) paid the
// customer twice.
func TestBalanceCreditIdempotencyKey(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	c := h.NewClient(t)
	keyed := h.Bearer(t, admin.ID)
	keyed.Set("Idempotency-Key", "credit-1")
	body := `{"customer_id":"` + u.ID + `","amount":{"amount":1500,"currency":"EUR"},"reason":"Geste commercial"}`
	first := postJSON(c, "/api/v1/balance/credits", body, keyed)
	if first.Status != http.StatusCreated || balanceOf(t, h, u) != 1500 {
		t.Fatalf("credit: %d %s", first.Status, first.Body)
	}
	again := postJSON(c, "/api/v1/balance/credits", body, keyed)
	if again.Status != http.StatusCreated || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: %d %s (replayed %q), want the first answer %s", again.Status, again.Body, again.Header.Get("Idempotent-Replayed"), first.Body)
	}
	if b := balanceOf(t, h, u); b != 1500 {
		t.Fatalf("a retried credit was paid again: balance %d, want 1500", b)
	}
	other := postJSON(c, "/api/v1/balance/credits", strings.Replace(body, "1500", "2500", 1), keyed)
	if other.Status != http.StatusUnprocessableEntity || !strings.Contains(other.Body, `"code":"idempotency_key_reused"`) {
		t.Errorf("same key, another body: %d %s", other.Status, other.Body)
	}
	// A debit under a key of its own moves money once too.
	debit := h.Bearer(t, admin.ID)
	debit.Set("Idempotency-Key", "debit-1")
	body = `{"customer_id":"` + u.ID + `","amount":{"amount":-500,"currency":"EUR"},"reason":"Correction"}`
	for range 2 {
		if r := postJSON(c, "/api/v1/balance/credits", body, debit); r.Status != http.StatusCreated {
			t.Fatalf("debit: %d %s", r.Status, r.Body)
		}
	}
	// Without a key, two requests are two credits, as before.
	plain := h.Bearer(t, admin.ID)
	body = `{"customer_id":"` + u.ID + `","amount":{"amount":100,"currency":"EUR"},"reason":"x"}`
	postJSON(c, "/api/v1/balance/credits", body, plain)
	postJSON(c, "/api/v1/balance/credits", body, plain)
	if b := balanceOf(t, h, u); b != 1500-500+200 {
		t.Fatalf("balance %d, want %d", b, 1500-500+200)
	}
}
