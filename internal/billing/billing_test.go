package billing_test

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/money"
)

var seedFlag = flag.Uint64("billing.seed", 0, "seed of the randomized ledger test (0: from the time)")

var t0 = time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)

var (
	admin  = audit.Actor{ID: "usr_admin", Role: "admin"}
	system = audit.System
)

func eur(minor int64) money.Amount { return money.Amount{Minor: minor, Currency: "EUR"} }

func setup(t *testing.T) (*billing.Ledger, *db.DB, *clock.Manual) {
	t.Helper()
	d := dbtest.Open(t)
	c := clock.NewManual(t0)
	return billing.New(d, c), d, c
}

// credit and debit run one movement in its own transaction, as a job or a
// checkout would.
func credit(ctx context.Context, l *billing.Ledger, d *db.DB, e billing.Entry) (billing.EntryRow, error) {
	var row billing.EntryRow
	err := d.Tx(ctx, func(tx *sql.Tx) (err error) {
		row, err = l.CreditTx(ctx, tx, e)
		return err
	})
	return row, err
}

func debit(ctx context.Context, l *billing.Ledger, d *db.DB, e billing.Entry) (billing.EntryRow, error) {
	var row billing.EntryRow
	err := d.Tx(ctx, func(tx *sql.Tx) (err error) {
		row, err = l.DebitTx(ctx, tx, e)
		return err
	})
	return row, err
}

func topup(customer string, a money.Amount, ref string) billing.Entry {
	return billing.Entry{CustomerID: customer, Amount: a, Kind: billing.KindTopup, ReferenceType: "payment", ReferenceID: ref, Actor: system}
}

func purchase(customer string, a money.Amount, order string) billing.Entry {
	return billing.Entry{CustomerID: customer, Amount: a, Kind: billing.KindPurchase, ReferenceType: "order", ReferenceID: order,
		Actor: audit.Actor{ID: customer, Role: "customer"}}
}

// state is what the database says about one account, read straight from the
// tables rather than through the package under test.
type state struct {
	balance, sum, entries, audits int64
	exists                        bool
}

func readState(t *testing.T, d *db.DB, customer, currency string) state {
	t.Helper()
	ctx := context.Background()
	var s state
	err := d.Read.QueryRowContext(ctx, `SELECT balance FROM balance_accounts WHERE customer_id = $1 AND currency = $2`,
		customer, currency).Scan(&s.balance)
	switch {
	case err == nil:
		s.exists = true
	case !errors.Is(err, sql.ErrNoRows):
		t.Fatal(err)
	}
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(CAST(SUM(amount) AS BIGINT), 0) FROM balance_entries
		WHERE customer_id = $1 AND currency = $2`, customer, currency).Scan(&s.entries, &s.sum); err != nil {
		t.Fatal(err)
	}
	rows, err := audit.ForSubject(ctx, d.Read, "balance", customer)
	if err != nil {
		t.Fatal(err)
	}
	s.audits = int64(len(rows))
	return s
}

func mustReconcile(t *testing.T, l *billing.Ledger) {
	t.Helper()
	ms, err := l.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 0 {
		t.Fatalf("Reconcile found mismatches: %+v", ms)
	}
}

// acct names one balance: a customer in a currency.
type acct struct{ customer, currency string }

// op is one random movement for a random customer.
type op struct {
	a       acct
	amount  int64
	isDebit bool
	entry   billing.Entry
}

// randomOp makes the n-th random movement. About one in eight reuses an
// earlier reference, so that some are refused as duplicates.
func randomOp(r *rand.Rand, n int, customers []string) op {
	o := op{a: acct{customers[r.IntN(len(customers))], "EUR"}}
	if r.IntN(5) == 0 {
		o.a.currency = "USD"
	}
	o.amount = 1 + r.Int64N(3000)
	amt := money.Amount{Minor: o.amount, Currency: o.a.currency}
	ref := fmt.Sprintf("r%d", n)
	if r.IntN(8) == 0 {
		ref = fmt.Sprintf("r%d", r.IntN(n+1))
	}
	switch k := r.IntN(10); {
	case k < 3:
		o.entry = topup(o.a.customer, amt, "pay_"+ref)
	case k < 6:
		o.entry, o.isDebit = purchase(o.a.customer, amt, "ord_"+ref), true
	case k == 6:
		o.entry = billing.Entry{CustomerID: o.a.customer, Amount: amt, Kind: billing.KindAdminCredit, Reason: "goodwill", Actor: admin}
	case k == 7:
		o.entry, o.isDebit = billing.Entry{CustomerID: o.a.customer, Amount: amt, Kind: billing.KindAdminDebit, Reason: "correction", Actor: admin}, true
	case k == 8:
		o.entry = billing.Entry{CustomerID: o.a.customer, Amount: amt, Kind: billing.KindRefund, ReferenceType: "refund", ReferenceID: "rfd_" + ref, Actor: system}
	default:
		// A reversal goes either way; the ledger only knows that each
		// reference is reversed once.
		o.entry = billing.Entry{CustomerID: o.a.customer, Amount: amt, Kind: billing.KindReversal, ReferenceType: "balance_entry",
			ReferenceID: "ble_" + ref, Actor: system}
		o.isDebit = r.IntN(2) == 0
	}
	return o
}

func seed(t *testing.T) uint64 {
	s := *seedFlag
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -billing.seed=%d)", s, s)
	return s
}

func customers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("usr_c%02d", i)
	}
	return out
}

// TestRandomOperationsKeepTheLedgerExact runs random credits, debits (many
// refused for lack of funds), admin movements, refunds and reversals (some
// repeating a reference) over 20 customers in two currencies, first one at a
// time against a model of what each balance must be, then from several
// goroutines at once. After both, every balance equals the sum of its
// entries, no entry ever left a balance below zero, and Reconcile agrees.
func TestRandomOperationsKeepTheLedgerExact(t *testing.T) {
	ctx := context.Background()
	l, d, c := setup(t)
	r := rand.New(rand.NewPCG(seed(t), 0))
	cs := customers(20)
	model := map[acct]int64{}
	usedRefs := map[string]bool{}
	var refused, duplicates int

	for n := range 600 {
		c.Advance(time.Second)
		o := randomOp(r, n, cs)
		var row billing.EntryRow
		var err error
		if o.isDebit {
			row, err = debit(ctx, l, d, o.entry)
		} else {
			row, err = credit(ctx, l, d, o.entry)
		}
		refKey := o.entry.Kind + "/" + o.entry.ReferenceID
		dup := o.entry.ReferenceID != "" && usedRefs[refKey]
		short := o.isDebit && model[o.a] < o.amount
		switch {
		case dup:
			// The reference check runs after the balance moved, so a
			// duplicate debit may also be short; either refusal is right.
			if !errors.Is(err, billing.ErrDuplicateReference) && !(short && errors.Is(err, billing.ErrInsufficientBalance)) {
				t.Fatalf("op %d %+v: want a duplicate refused, got %v", n, o.entry, err)
			}
			duplicates++
		case short:
			if !errors.Is(err, billing.ErrInsufficientBalance) {
				t.Fatalf("op %d: debit of %d from %d: want ErrInsufficientBalance, got %v", n, o.amount, model[o.a], err)
			}
			refused++
		default:
			if err != nil {
				t.Fatalf("op %d %+v: %v", n, o.entry, err)
			}
			signed := o.amount
			if o.isDebit {
				signed = -signed
			}
			model[o.a] += signed
			if o.entry.ReferenceID != "" {
				usedRefs[refKey] = true
			}
			if row.Amount.Minor != signed || row.BalanceAfter.Minor != model[o.a] || !row.CreatedAt.Equal(c.Now()) {
				t.Fatalf("op %d: row %+v, want amount %d and balance %d", n, row, signed, model[o.a])
			}
		}
		got, err := l.Balance(ctx, o.a.customer, o.a.currency)
		if err != nil || got.Minor != model[o.a] {
			t.Fatalf("op %d: Balance = %v, %v; model says %d", n, got, err, model[o.a])
		}
	}
	t.Logf("sequential: %d refused for lack of funds, %d duplicate references", refused, duplicates)
	if refused == 0 || duplicates == 0 {
		t.Fatal("the random run should include refused debits and duplicate references")
	}
	for a, want := range model {
		s := readState(t, d, a.customer, a.currency)
		if s.balance != want || s.sum != want {
			t.Fatalf("%v: balance %d, sum of entries %d, model %d", a, s.balance, s.sum, want)
		}
	}
	mustReconcile(t, l)

	// The same mix from 8 goroutines at once: the balances can no longer
	// be predicted, but what succeeded must add up.
	var mu sync.Mutex
	moved := map[acct]int64{}
	var wg sync.WaitGroup
	for g := range 8 {
		r := rand.New(rand.NewPCG(r.Uint64(), uint64(g)))
		wg.Go(func() {
			for i := range 60 {
				o := randomOp(r, 10_000+g*1000+i, cs)
				var err error
				if o.isDebit {
					_, err = debit(ctx, l, d, o.entry)
				} else {
					_, err = credit(ctx, l, d, o.entry)
				}
				switch {
				case err == nil:
					mu.Lock()
					if o.isDebit {
						moved[o.a] -= o.amount
					} else {
						moved[o.a] += o.amount
					}
					mu.Unlock()
				case errors.Is(err, billing.ErrInsufficientBalance), errors.Is(err, billing.ErrDuplicateReference):
				default:
					t.Errorf("concurrent op %+v: %v", o.entry, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, cu := range cs {
		for _, cur := range []string{"EUR", "USD"} {
			a := acct{cu, cur}
			s := readState(t, d, cu, cur)
			if want := model[a] + moved[a]; s.balance != want || s.sum != want || s.balance < 0 {
				t.Fatalf("%v after the concurrent run: balance %d, sum of entries %d, want %d", a, s.balance, s.sum, want)
			}
		}
	}
	var minAfter int64
	if err := d.Read.QueryRowContext(ctx, `SELECT MIN(balance_after) FROM balance_entries`).Scan(&minAfter); err != nil || minAfter < 0 {
		t.Fatalf("lowest balance after an entry: %d, %v", minAfter, err)
	}
	mustReconcile(t, l)
}

// TestConcurrentDebitsNeverOverspend: 50 debits of 10 at once against 200.
func TestConcurrentDebitsNeverOverspend(t *testing.T) {
	l, d, _ := setup(t)
	rushDebits(t, l, d, func(ctx context.Context, e billing.Entry) error {
		_, err := debit(ctx, l, d, e)
		return err
	})
	mustReconcile(t, l)
}

// rushDebits credits usr_1 with 200, sends 50 debits of 10 at once
// through send, and checks that exactly 20 went through, 30 were refused
// as short, and the account ends at 0 with 21 entries and audit lines.
func rushDebits(t *testing.T, l *billing.Ledger, d *db.DB, send func(context.Context, billing.Entry) error) {
	t.Helper()
	ctx := context.Background()
	if _, err := credit(ctx, l, d, topup("usr_1", eur(200), "pay_1")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 50)
	start := make(chan struct{})
	for i := range errs {
		wg.Go(func() {
			<-start
			errs[i] = send(ctx, purchase("usr_1", eur(10), fmt.Sprintf("ord_%d", i)))
		})
	}
	close(start)
	wg.Wait()
	ok, short := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, billing.ErrInsufficientBalance):
			short++
		default:
			t.Fatalf("debit: %v", err)
		}
	}
	if ok != 20 || short != 30 {
		t.Fatalf("%d debits succeeded and %d were refused; want 20 and 30", ok, short)
	}
	s := readState(t, d, "usr_1", "EUR")
	if s.balance != 0 || s.sum != 0 || s.entries != 21 || s.audits != 21 {
		t.Fatalf("after the rush: %+v; want balance 0, 21 entries, 21 audit lines", s)
	}
}

func TestInsufficientBalanceChangesNothing(t *testing.T) {
	ctx := context.Background()
	l, d, c := setup(t)
	if _, err := l.AdminCredit(ctx, admin, "usr_1", eur(100), "welcome"); err != nil {
		t.Fatal(err)
	}
	before := readState(t, d, "usr_1", "EUR")
	var updatedBefore time.Time
	d.Read.QueryRowContext(ctx, `SELECT updated_at FROM balance_accounts WHERE customer_id = 'usr_1'`).Scan(&updatedBefore)
	c.Advance(time.Hour)

	if _, err := l.AdminDebit(ctx, admin, "usr_1", eur(101), "too much"); !errors.Is(err, billing.ErrInsufficientBalance) {
		t.Fatalf("AdminDebit of 101 from 100: %v", err)
	}
	if _, err := debit(ctx, l, d, purchase("usr_1", eur(101), "ord_1")); !errors.Is(err, billing.ErrInsufficientBalance) {
		t.Fatalf("DebitTx of 101 from 100: %v", err)
	}
	if after := readState(t, d, "usr_1", "EUR"); after != before {
		t.Fatalf("a refused debit changed the account: %+v → %+v", before, after)
	}
	var updatedAfter time.Time
	d.Read.QueryRowContext(ctx, `SELECT updated_at FROM balance_accounts WHERE customer_id = 'usr_1'`).Scan(&updatedAfter)
	if !updatedAfter.Equal(updatedBefore) {
		t.Fatalf("updated_at moved from %v to %v", updatedBefore, updatedAfter)
	}

	// No account at all (never credited, or another currency) is a zero
	// balance: refused, and no account row appears.
	if _, err := debit(ctx, l, d, purchase("usr_2", eur(1), "ord_2")); !errors.Is(err, billing.ErrInsufficientBalance) {
		t.Fatalf("debit without an account: %v", err)
	}
	if _, err := l.AdminDebit(ctx, admin, "usr_1", money.Amount{Minor: 1, Currency: "USD"}, "wrong currency"); !errors.Is(err, billing.ErrInsufficientBalance) {
		t.Fatalf("debit in a currency never credited: %v", err)
	}
	for _, a := range []acct{{"usr_2", "EUR"}, {"usr_1", "USD"}} {
		if s := readState(t, d, a.customer, a.currency); s.exists || s.entries != 0 {
			t.Fatalf("%v: %+v after a refused debit", a, s)
		}
	}
	if rows, _ := audit.ForSubject(ctx, d.Read, "balance", "usr_2"); len(rows) != 0 {
		t.Fatalf("a refused debit was audited: %+v", rows)
	}
	// Exactly the balance is fine.
	if row, err := l.AdminDebit(ctx, admin, "usr_1", eur(100), "close"); err != nil || row.BalanceAfter.Minor != 0 {
		t.Fatalf("debit of the whole balance: %+v, %v", row, err)
	}
}

func TestDebitInARolledBackTransactionLeavesNothing(t *testing.T) {
	ctx := context.Background()
	l, d, _ := setup(t)
	if _, err := credit(ctx, l, d, topup("usr_1", eur(100), "pay_1")); err != nil {
		t.Fatal(err)
	}
	before := readState(t, d, "usr_1", "EUR")
	errCheckout := errors.New("checkout failed after paying")
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		row, err := l.DebitTx(ctx, tx, purchase("usr_1", eur(30), "ord_1"))
		if err != nil {
			return err
		}
		if row.BalanceAfter.Minor != 70 {
			t.Errorf("balance after inside the transaction: %v", row.BalanceAfter)
		}
		return errCheckout
	})
	if !errors.Is(err, errCheckout) {
		t.Fatalf("Tx: %v", err)
	}
	if after := readState(t, d, "usr_1", "EUR"); after != before {
		t.Fatalf("a rolled-back debit left traces: %+v → %+v", before, after)
	}
	// The order can be paid for real afterwards: its reference was not used.
	if _, err := debit(ctx, l, d, purchase("usr_1", eur(30), "ord_1")); err != nil {
		t.Fatal(err)
	}
	mustReconcile(t, l)
}

// TestDuplicateReferenceLeavesTheCallerTransactionUsable: a job retried
// after a crash credits the same payment again; the ledger refuses it
// without spoiling the job's transaction, on both engines.
func TestDuplicateReferenceLeavesTheCallerTransactionUsable(t *testing.T) {
	ctx := context.Background()
	l, d, _ := setup(t)
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := l.CreditTx(ctx, tx, topup("usr_1", eur(500), "pay_1")); err != nil {
			return err
		}
		if _, err := l.CreditTx(ctx, tx, topup("usr_1", eur(500), "pay_1")); !errors.Is(err, billing.ErrDuplicateReference) {
			return fmt.Errorf("second credit of pay_1: %v", err)
		}
		if _, err := l.DebitTx(ctx, tx, purchase("usr_1", eur(200), "ord_1")); err != nil {
			return err
		}
		if _, err := l.DebitTx(ctx, tx, purchase("usr_1", eur(200), "ord_1")); !errors.Is(err, billing.ErrDuplicateReference) {
			return fmt.Errorf("second debit for ord_1: %v", err)
		}
		// Still usable after both refusals.
		_, err := l.CreditTx(ctx, tx, topup("usr_1", eur(5), "pay_2"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := readState(t, d, "usr_1", "EUR"); s.balance != 305 || s.sum != 305 || s.entries != 3 || s.audits != 3 {
		t.Fatalf("after duplicates: %+v; want 305 from 3 entries", s)
	}
	// Across transactions too, and manual entries may share a reference.
	if _, err := credit(ctx, l, d, topup("usr_1", eur(500), "pay_1")); !errors.Is(err, billing.ErrDuplicateReference) {
		t.Fatalf("pay_1 in a later transaction: %v", err)
	}
	for range 2 {
		e := billing.Entry{CustomerID: "usr_1", Amount: eur(1), Kind: billing.KindAdminCredit, ReferenceType: "ticket", ReferenceID: "tkt_1",
			Reason: "sorry", Actor: admin}
		if _, err := credit(ctx, l, d, e); err != nil {
			t.Fatalf("second goodwill credit on one ticket: %v", err)
		}
	}
	mustReconcile(t, l)
}

// The same payment credited by several transactions at once (a webhook
// delivered twice in the same instant) is credited once: the others see
// ErrDuplicateReference, whether they find the entry or meet it in the
// unique index on PostgreSQL, and their transactions leave nothing.
func TestConcurrentCreditsOfOnePaymentCreditOnce(t *testing.T) {
	ctx := context.Background()
	l, d, _ := setup(t)
	const n = 8
	errs := make(chan error, n)
	var start sync.WaitGroup
	start.Add(1)
	for range n {
		go func() {
			start.Wait()
			_, err := credit(ctx, l, d, topup("usr_1", eur(700), "pay_same"))
			errs <- err
		}()
	}
	start.Done()
	ok := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			ok++
		case !errors.Is(err, billing.ErrDuplicateReference):
			t.Errorf("credit: %v, want nil or ErrDuplicateReference", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d credits succeeded, want 1", ok)
	}
	if s := readState(t, d, "usr_1", "EUR"); s.balance != 700 || s.sum != 700 || s.entries != 1 || s.audits != 1 {
		t.Fatalf("after concurrent credits: %+v; want 700 from 1 entry", s)
	}
	mustReconcile(t, l)
}

func TestTheDatabaseGuardsTheLedger(t *testing.T) {
	ctx := context.Background()
	l, d, _ := setup(t)
	row, err := credit(ctx, l, d, topup("usr_1", eur(100), "pay_1"))
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{
		"update an entry":    `UPDATE balance_entries SET amount = 1000000`,
		"delete an entry":    `DELETE FROM balance_entries`,
		"negative balance":   `UPDATE balance_accounts SET balance = -1`,
		"zero entry":         `INSERT INTO balance_entries (id, customer_id, currency, amount, balance_after, kind, created_at) VALUES ('ble_x', 'usr_1', 'EUR', 0, 100, 'topup', $1)`,
		"credit kind, debit": `INSERT INTO balance_entries (id, customer_id, currency, amount, balance_after, kind, created_at) VALUES ('ble_x', 'usr_1', 'EUR', -5, 100, 'topup', $1)`,
		"unknown kind":       `INSERT INTO balance_entries (id, customer_id, currency, amount, balance_after, kind, created_at) VALUES ('ble_x', 'usr_1', 'EUR', 5, 100, 'gift', $1)`,
		"admin, no reason":   `INSERT INTO balance_entries (id, customer_id, currency, amount, balance_after, kind, reason, created_at) VALUES ('ble_x', 'usr_1', 'EUR', 5, 100, 'admin_credit', '  ', $1)`,
		"no account":         `INSERT INTO balance_entries (id, customer_id, currency, amount, balance_after, kind, created_at) VALUES ('ble_x', 'usr_9', 'EUR', 5, 5, 'topup', $1)`,
		"half a reference":   `INSERT INTO balance_entries (id, customer_id, currency, amount, balance_after, kind, reference_type, created_at) VALUES ('ble_x', 'usr_1', 'EUR', 5, 100, 'topup', 'payment', $1)`,
	}
	for name, q := range refused {
		var err error
		if strings.Contains(q, "$1") {
			_, err = d.Write.ExecContext(ctx, q, t0)
		} else {
			_, err = d.Write.ExecContext(ctx, q)
		}
		if err == nil {
			t.Errorf("%s: the database accepted %s", name, q)
		}
	}
	entries, _, err := l.Entries(ctx, "usr_1", "", 0)
	if err != nil || len(entries) != 1 || entries[0] != row {
		t.Fatalf("entries after the attempts: %+v, %v; want only %+v", entries, err, row)
	}
	mustReconcile(t, l)
}

// TestReconcileFindsTampering makes sure Reconcile is not vacuously empty.
func TestReconcileFindsTampering(t *testing.T) {
	ctx := context.Background()
	l, d, _ := setup(t)
	if _, err := credit(ctx, l, d, topup("usr_1", eur(100), "pay_1")); err != nil {
		t.Fatal(err)
	}
	if _, err := credit(ctx, l, d, topup("usr_2", eur(100), "pay_2")); err != nil {
		t.Fatal(err)
	}
	mustReconcile(t, l)
	if _, err := d.Write.ExecContext(ctx, `UPDATE balance_accounts SET balance = balance + 1 WHERE customer_id = 'usr_2'`); err != nil {
		t.Fatal(err)
	}
	ms, err := l.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := billing.Mismatch{CustomerID: "usr_2", Currency: "EUR", Balance: 101, Entries: 100}
	if len(ms) != 1 || ms[0] != want {
		t.Fatalf("Reconcile = %+v, want [%+v]", ms, want)
	}
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	l, d, _ := setup(t)
	ok := topup("usr_1", eur(100), "pay_1")
	tests := []struct {
		name  string
		debit bool
		edit  func(e *billing.Entry)
		field string
		code  string
	}{
		{"zero", false, func(e *billing.Entry) { e.Amount.Minor = 0 }, "amount", billing.CodeNotPositive},
		{"negative credit", false, func(e *billing.Entry) { e.Amount.Minor = -5 }, "amount", billing.CodeNotPositive},
		{"negative debit", true, func(e *billing.Entry) { e.Kind, e.Amount.Minor = billing.KindPurchase, -5 }, "amount", billing.CodeNotPositive},
		{"huge", false, func(e *billing.Entry) { e.Amount.Minor = billing.MaxAmount + 1 }, "amount", billing.CodeTooLarge},
		{"currency", false, func(e *billing.Entry) { e.Amount.Currency = "eur" }, "currency", billing.CodeCurrencyInvalid},
		{"no customer", false, func(e *billing.Entry) { e.CustomerID = "" }, "customer_id", billing.CodeRequired},
		{"credit of a debit kind", false, func(e *billing.Entry) { e.Kind = billing.KindPurchase }, "kind", billing.CodeKindInvalid},
		{"debit of a credit kind", true, func(e *billing.Entry) {}, "kind", billing.CodeKindInvalid},
		{"unknown kind", false, func(e *billing.Entry) { e.Kind = "gift" }, "kind", billing.CodeKindInvalid},
		{"admin without reason", false, func(e *billing.Entry) { e.Kind, e.Reason = billing.KindAdminCredit, " " }, "reason", billing.CodeRequired},
		{"admin debit without reason", true, func(e *billing.Entry) { e.Kind = billing.KindAdminDebit }, "reason", billing.CodeRequired},
		{"long reason", false, func(e *billing.Entry) { e.Reason = strings.Repeat("é", 1001) }, "reason", billing.CodeTooLong},
		{"NUL in reason", false, func(e *billing.Entry) { e.Reason = "a\x00b" }, "reason", billing.CodeInvalid},
		{"half a reference", false, func(e *billing.Entry) { e.ReferenceType = "" }, "reference_type", billing.CodeRequired},
		{"reversal of nothing", false, func(e *billing.Entry) { e.Kind, e.ReferenceType, e.ReferenceID = billing.KindReversal, "", "" }, "reference_id", billing.CodeRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ok
			tt.edit(&e)
			var err error
			if tt.debit {
				_, err = debit(ctx, l, d, e)
			} else {
				_, err = credit(ctx, l, d, e)
			}
			var ve *billing.ValidationError
			if !errors.As(err, &ve) || ve.Fields[tt.field] != tt.code {
				t.Fatalf("got %v; want %s: %s", err, tt.field, tt.code)
			}
		})
	}
	if _, err := l.AdminCredit(ctx, admin, "usr_1", eur(0), "x"); !errors.As(err, new(*billing.ValidationError)) {
		t.Fatalf("AdminCredit of zero: %v", err)
	}
	if _, err := l.AdminDebit(ctx, admin, "usr_1", eur(1), ""); !errors.As(err, new(*billing.ValidationError)) {
		t.Fatalf("AdminDebit without reason: %v", err)
	}
	if s := readState(t, d, "usr_1", "EUR"); s.exists || s.entries != 0 || s.audits != 0 {
		t.Fatalf("invalid entries left traces: %+v", s)
	}
}

func TestAdminMovementsAreAudited(t *testing.T) {
	ctx := context.Background()
	l, d, _ := setup(t)
	row, err := l.AdminCredit(ctx, admin, "usr_1", eur(1500), "  compensation for ticket T-12, M. Dupont  ")
	if err != nil {
		t.Fatal(err)
	}
	if row.Kind != billing.KindAdminCredit || row.ActorID != admin.ID || row.Reason != "compensation for ticket T-12, M. Dupont" ||
		row.Amount != eur(1500) || row.BalanceAfter != eur(1500) || !row.CreatedAt.Equal(t0) {
		t.Fatalf("AdminCredit row: %+v", row)
	}
	if _, err := l.AdminDebit(ctx, admin, "usr_1", eur(500), "duplicate credit"); err != nil {
		t.Fatal(err)
	}
	rows, err := audit.ForSubject(ctx, d.Read, "balance", "usr_1")
	if err != nil || len(rows) != 2 {
		t.Fatalf("audit: %+v, %v", rows, err)
	}
	if r := rows[0]; r.Action != "balance_credit" || r.ActorID != admin.ID || r.ActorRole != "admin" ||
		!strings.Contains(r.After, row.ID) || !strings.Contains(r.After, `"balance":1500`) || !strings.Contains(r.Before, `"balance":0`) {
		t.Fatalf("credit audit line: %+v", r)
	}
	if r := rows[1]; r.Action != "balance_debit" || !strings.Contains(r.After, `"amount":-500`) || !strings.Contains(r.Before, `"balance":1500`) {
		t.Fatalf("debit audit line: %+v", r)
	}
	for _, r := range rows {
		if strings.Contains(r.Before+r.After, "Dupont") {
			t.Fatalf("the audit log copied the free-text reason: %+v", r)
		}
	}
}

func TestEntriesArePagedNewestFirst(t *testing.T) {
	ctx := context.Background()
	l, d, c := setup(t)
	var want []billing.EntryRow
	for i := range 7 {
		c.Advance(time.Minute)
		row, err := credit(ctx, l, d, topup("usr_1", eur(int64(i+1)), fmt.Sprintf("pay_%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		want = append([]billing.EntryRow{row}, want...)
	}
	if _, err := credit(ctx, l, d, topup("usr_2", eur(1), "pay_other")); err != nil {
		t.Fatal(err)
	}
	var got []billing.EntryRow
	after, pages := "", 0
	for {
		page, next, err := l.Entries(ctx, "usr_1", after, 3)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		pages++
		if next == "" {
			break
		}
		after = next
	}
	if pages != 3 || len(got) != len(want) {
		t.Fatalf("%d pages, %d entries; want 3 pages, %d entries", pages, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("entry %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, _, err := l.Entries(ctx, "usr_1", "'; DROP TABLE x", 3); !errors.As(err, new(*billing.ValidationError)) {
		t.Fatalf("bad cursor: %v", err)
	}
	if page, next, err := l.Entries(ctx, "usr_nobody", "", 0); err != nil || len(page) != 0 || next != "" {
		t.Fatalf("no entries: %v %q %v", page, next, err)
	}
}

func TestBalance(t *testing.T) {
	ctx := context.Background()
	l, d, _ := setup(t)
	if b, err := l.Balance(ctx, "usr_1", "EUR"); err != nil || b != eur(0) {
		t.Fatalf("never credited: %v, %v", b, err)
	}
	if _, err := credit(ctx, l, d, topup("usr_1", eur(250), "pay_1")); err != nil {
		t.Fatal(err)
	}
	if b, err := l.Balance(ctx, "usr_1", "EUR"); err != nil || b != eur(250) {
		t.Fatalf("after a top-up: %v, %v", b, err)
	}
	if b, err := l.Balance(ctx, "usr_1", "USD"); err != nil || b.Minor != 0 || b.Currency != "USD" {
		t.Fatalf("other currency: %v, %v", b, err)
	}
	if _, err := l.Balance(ctx, "usr_1", "euro"); !errors.As(err, new(*billing.ValidationError)) {
		t.Fatalf("bad currency: %v", err)
	}
}
