package billing_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
)

// appendDebit runs AppendDebitTx in a transaction of its own, as a
// checkout does: on PostgreSQL the debit waits in the transaction's
// pipeline and its refusal fails the commit.
func appendDebit(ctx context.Context, l *billing.Ledger, d *db.DB, e billing.Entry) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		return l.AppendDebitTx(ctx, tx, e)
	})
}

// TestAppendedDebitWritesWhatDebitTxWrites: a debit appended to the
// pipeline (on PostgreSQL, where the balances of its audit line are
// computed by the statement) writes the entry and the audit line DebitTx
// writes, byte for byte, for a reference that JSON escapes.
func TestAppendedDebitWritesWhatDebitTxWrites(t *testing.T) {
	ctx := context.Background()
	l, d, _ := setup(t)
	for _, c := range []string{"usr_1", "usr_2"} {
		if _, err := credit(ctx, l, d, topup(c, eur(1000), "pay_"+c)); err != nil {
			t.Fatal(err)
		}
	}
	ref := `ord_"<é\>`
	row, err := debit(ctx, l, d, purchase("usr_1", eur(237), ref+"1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := appendDebit(ctx, l, d, purchase("usr_2", eur(237), ref+"2")); err != nil {
		t.Fatal(err)
	}
	type written struct {
		id, ref, actor, state string
		amount, after         int64
		lines                 []audit.Row
	}
	read := func(customer string) written {
		t.Helper()
		var w written
		if err := d.Read.QueryRowContext(ctx, `SELECT id, reference_id, actor_id, kind || ' ' || reference_type || ' ' || currency, amount, balance_after
			FROM balance_entries WHERE customer_id = $1 AND kind = 'purchase'`, customer).Scan(&w.id, &w.ref, &w.actor, &w.state, &w.amount, &w.after); err != nil {
			t.Fatal(err)
		}
		lines, err := audit.ForSubject(ctx, d.Read, "balance", customer)
		if err != nil || len(lines) != 2 {
			t.Fatalf("%s's audit lines: %+v %v", customer, lines, err)
		}
		w.lines = lines
		return w
	}
	want, got := read("usr_1"), read("usr_2")
	if want.id != row.ID || want.after != 763 {
		t.Fatalf("DebitTx wrote %+v, returned %+v", want, row)
	}
	if got.amount != want.amount || got.after != want.after || got.state != want.state || got.actor != "usr_2" || got.ref != ref+"2" {
		t.Errorf("appended debit's entry %+v, DebitTx's %+v", got, want)
	}
	g, w := got.lines[1], want.lines[1]
	same := func(s string) string {
		return strings.NewReplacer(want.id, got.id, `1","reference_type"`, `2","reference_type"`).Replace(s)
	}
	if g.Action != "balance_debit" || g.ActorID != "usr_2" || g.ActorRole != w.ActorRole || !g.At.Equal(w.At) ||
		g.Before != w.Before || g.After != same(w.After) {
		t.Errorf("appended debit's audit line:\n%+v\nDebitTx's:\n%+v", g, w)
	}
	if !strings.Contains(g.After, `"balance":763,`) || !strings.Contains(g.After, `"reference_id":"ord_\"\u003cé\\\u003e2"`) || g.Before != `{"balance":1000,"currency":"EUR"}` {
		t.Errorf("audit line %+v", g)
	}
	mustReconcile(t, l)
}

// TestAppendedDebitRefusedWritesNothing: a debit larger than the balance,
// or without an account, fails its transaction with
// ErrInsufficientBalance, and nothing of the transaction is written (its
// other rows included); a reference already paid is ErrDuplicateReference.
func TestAppendedDebitRefusedWritesNothing(t *testing.T) {
	ctx := context.Background()
	l, d, _ := setup(t)
	if _, err := l.AdminCredit(ctx, admin, "usr_1", eur(100), "welcome"); err != nil {
		t.Fatal(err)
	}
	before := readState(t, d, "usr_1", "EUR")
	var audits int
	countAudits := func() int {
		t.Helper()
		var n int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	audits = countAudits()
	for _, c := range []struct {
		customer string
		amount   int64
		want     error
	}{
		{"usr_1", 101, billing.ErrInsufficientBalance},
		{"usr_3", 1, billing.ErrInsufficientBalance}, // no account
	} {
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			// Another row of the transaction, before the debit in its pipeline.
			if err := audit.Record(ctx, tx, audit.Entry{At: t0, Actor: admin, SubjectType: "order", SubjectID: "ord_x", Action: "place"}); err != nil {
				return err
			}
			return l.AppendDebitTx(ctx, tx, purchase(c.customer, eur(c.amount), "ord_"+c.customer))
		})
		if !errors.Is(err, c.want) {
			t.Fatalf("debit of %d from %s: %v, want %v", c.amount, c.customer, err, c.want)
		}
	}
	if after := readState(t, d, "usr_1", "EUR"); after != before {
		t.Fatalf("a refused debit changed the account: %+v → %+v", before, after)
	}
	if s := readState(t, d, "usr_3", "EUR"); s.exists || s.entries != 0 {
		t.Fatalf("a refused debit without an account left %+v", s)
	}
	if n := countAudits(); n != audits {
		t.Fatalf("%d audit lines after refused debits, want %d", n, audits)
	}

	// Exactly the balance is fine; the same order paid again is refused.
	if err := appendDebit(ctx, l, d, purchase("usr_1", eur(100), "ord_1")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AdminCredit(ctx, admin, "usr_1", eur(100), "again"); err != nil {
		t.Fatal(err)
	}
	if err := appendDebit(ctx, l, d, purchase("usr_1", eur(1), "ord_1")); !errors.Is(err, billing.ErrDuplicateReference) {
		t.Fatalf("the order paid twice: %v", err)
	}
	if s := readState(t, d, "usr_1", "EUR"); s.balance != 100 || s.entries != 3 {
		t.Fatalf("after the order paid once: %+v", s)
	}
	mustReconcile(t, l)
}

// TestConcurrentAppendedDebitsNeverOverspend: 50 appended debits of 10 at
// once against 200: on PostgreSQL each waits in its pipeline for the one
// before on the account's row, and takes the balance it left.
func TestConcurrentAppendedDebitsNeverOverspend(t *testing.T) {
	dbtest.NeedConnections(t, 8)
	ctx := context.Background()
	l, d, _ := setup(t)
	rushDebits(t, l, d, func(ctx context.Context, e billing.Entry) error { return appendDebit(ctx, l, d, e) })
	// Each audit line says the balance its debit found and left.
	rows, err := d.Read.QueryContext(ctx, `SELECT before_state, after_state FROM audit_log WHERE action = 'balance_debit' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var before, after string
		if err := rows.Scan(&before, &after); err != nil {
			t.Fatal(err)
		}
		var b, a int64
		fmt.Sscanf(before, `{"balance":%d,`, &b)
		fmt.Sscanf(after, `{"amount":-10,"balance":%d,`, &a)
		if a != b-10 || seen[before] {
			t.Errorf("audit line %s → %s", before, after)
		}
		seen[before] = true
	}
	if err := rows.Err(); err != nil || len(seen) != 20 {
		t.Fatalf("%d debits audited (%v), want 20", len(seen), err)
	}
	mustReconcile(t, l)
}
