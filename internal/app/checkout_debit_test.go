package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/money"
)

// checkoutTables is what a checkout paid from the balance writes, row
// counts read straight from the tables (of the audit log, the lines about
// orders, balances and invoices: signing in writes some too).
func checkoutTables(t *testing.T, h *apptest.Harness) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, table := range []string{"orders", "order_lines", "order_consents", "balance_entries", "idempotency_keys",
		"invoices", "invoice_lines", "outgoing_mail", "audit_log WHERE subject_type IN ('order', 'balance', 'invoice')"} {
		var n int
		if err := h.App.DB.Read.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		got[strings.Fields(table)[0]] = n
	}
	return got
}

// apiCheckout posts a balance checkout of quantity units of productID,
// under the Idempotency-Key key.
func apiCheckout(t *testing.T, h *apptest.Harness, auth http.Header, productID string, quantity int, key string) apptest.Response {
	t.Helper()
	header := auth.Clone()
	header.Set("Idempotency-Key", key)
	return h.NewClient(t).Send(http.MethodPost, "/api/v1/orders", "application/json", strings.NewReader(fmt.Sprintf(
		`{"lines":[{"product_id":"%s","quantity":%d}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`,
		productID, quantity)), header)
}

// refusedForBalance fails t unless r is the API's answer to a balance too
// short: 402 insufficient_balance, with its message in the buyer's
// language (French).
func refusedForBalance(t *testing.T, h *apptest.Harness, r apptest.Response) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal([]byte(r.Body), &e)
	if r.Status != http.StatusPaymentRequired || e.Error.Code != "insufficient_balance" ||
		e.Error.Message != h.App.Messages.T("fr", "order.error.insufficient_balance") {
		t.Fatalf("checkout beyond the balance: %d %s", r.Status, r.Body)
	}
}

// TestCheckoutBeyondTheBalanceWritesNothing: a keyed API checkout the
// balance does not cover (on PostgreSQL refused by the debit in the
// transaction's pipeline, after the order's rows) is answered 402
// insufficient_balance, and nothing is written: no order, line, consent,
// balance entry, audit line, invoice, mail nor idempotency key, and the
// balance is unchanged; likewise for a buyer who never had a balance. The
// key is still free: once the balance covers it, the same request places
// the order.
func TestCheckoutBeyondTheBalanceWritesNothing(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	p, _ := checkoutFixture(t, h)
	u, _ := h.User(t, account.RoleCustomer, "ben@example.fr")
	if _, err := h.App.Ledger.AdminCredit(ctx, faultAdmin, u.ID, money.MustNew(150, "EUR"), "test"); err != nil {
		t.Fatal(err)
	}
	never, _ := h.User(t, account.RoleCustomer, "cleo@example.fr")
	auth, neverAuth := h.Bearer(t, u.ID), h.Bearer(t, never.ID)
	balance := func() int64 {
		t.Helper()
		b, err := h.App.Ledger.Balance(ctx, u.ID, "EUR")
		if err != nil {
			t.Fatal(err)
		}
		return b.Minor
	}

	before := checkoutTables(t, h)
	refusedForBalance(t, h, apiCheckout(t, h, auth, p.ID, 2, "short-1"))
	refusedForBalance(t, h, apiCheckout(t, h, neverAuth, p.ID, 1, "never-1"))
	if after := checkoutTables(t, h); fmt.Sprint(after) != fmt.Sprint(before) || balance() != 150 {
		t.Fatalf("after refused checkouts: %v, balance %d; want %v, balance 150", after, balance(), before)
	}

	if _, err := h.App.Ledger.AdminCredit(ctx, faultAdmin, u.ID, money.MustNew(50, "EUR"), "test"); err != nil {
		t.Fatal(err)
	}
	if r := apiCheckout(t, h, auth, p.ID, 2, "short-1"); r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("the same request once the balance covers it: %d %s", r.Status, r.Body)
	}
	if balance() != 0 {
		t.Errorf("balance %d after the order, want 0", balance())
	}
}

// TestConcurrentCheckoutsSpendExactlyTheBalance: eight keyed API
// checkouts at once, of which the balance pays five: exactly five are
// placed and the three others answered 402 insufficient_balance with
// nothing of theirs written; the balance is spent to zero, and each
// debit's audit line says the balance it found and the one it left (on
// PostgreSQL computed by the debit's statement, which waited in its
// pipeline for the one before on the account's row).
func TestConcurrentCheckoutsSpendExactlyTheBalance(t *testing.T) {
	dbtest.NeedConnections(t, 10)
	h := apptest.Start(t)
	ctx := context.Background()
	p, _ := checkoutFixture(t, h)
	u, _ := h.User(t, account.RoleCustomer, "ben@example.fr")
	if _, err := h.App.Ledger.AdminCredit(ctx, faultAdmin, u.ID, money.MustNew(500, "EUR"), "test"); err != nil {
		t.Fatal(err)
	}
	auth := h.Bearer(t, u.ID)
	before := checkoutTables(t, h)

	answers := make([]apptest.Response, 8)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			<-start
			answers[i] = apiCheckout(t, h, auth, p.ID, 1, fmt.Sprintf("rush-%d", i))
		})
	}
	close(start)
	wg.Wait()
	placed := 0
	for _, r := range answers {
		if r.Status == http.StatusCreated {
			placed++
			continue
		}
		refusedForBalance(t, h, r)
	}
	b, err := h.App.Ledger.Balance(ctx, u.ID, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	if placed != 5 || b.Minor != 0 {
		t.Fatalf("%d checkouts placed, balance %d; want 5 placed, balance 0", placed, b.Minor)
	}
	after := checkoutTables(t, h)
	for _, table := range []string{"orders", "order_lines", "order_consents", "balance_entries", "idempotency_keys", "invoices"} {
		if after[table] != before[table]+5 {
			t.Errorf("%s: %d rows, want %d", table, after[table], before[table]+5)
		}
	}
	// The audit lines of the debits, from 500 down to 0.
	rows, err := h.App.DB.Read.QueryContext(ctx, `SELECT before_state, after_state FROM audit_log
		WHERE action = 'balance_debit' AND subject_id = $1 ORDER BY before_state`, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var before, after string
		if err := rows.Scan(&before, &after); err != nil {
			t.Fatal(err)
		}
		_, tail, _ := strings.Cut(after, `,"currency"`)
		lines = append(lines, before+" "+strings.TrimSuffix(after, `,"currency"`+tail))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"balance":100,"currency":"EUR"} {"amount":-100,"balance":0`,
		`{"balance":200,"currency":"EUR"} {"amount":-100,"balance":100`,
		`{"balance":300,"currency":"EUR"} {"amount":-100,"balance":200`,
		`{"balance":400,"currency":"EUR"} {"amount":-100,"balance":300`,
		`{"balance":500,"currency":"EUR"} {"amount":-100,"balance":400`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("debits audited:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if m, err := h.App.Ledger.Reconcile(ctx); err != nil || len(m) != 0 {
		t.Errorf("ledger mismatch %v %v", m, err)
	}
}
