package catalog_test

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"comptoir/internal/audit"
	"comptoir/internal/catalog"
)

func TestAddLicenceKeysDeduplicates(t *testing.T) {
	e := setup(t)
	p := e.create(t, licenceInput())
	n, err := e.svc.AddLicenceKeys(e.ctx, admin, p.ID, []string{"AAA-1", " AAA-2 ", "", "AAA-1", "AAA-3\r"})
	if err != nil || n != 3 {
		t.Fatalf("first batch: added %d, %v; want 3", n, err)
	}
	// Pasting an overlapping list again adds only what is new.
	n, err = e.svc.AddLicenceKeys(e.ctx, admin, p.ID, []string{"AAA-3", "AAA-2", "AAA-4"})
	if err != nil || n != 1 {
		t.Fatalf("second batch: added %d, %v; want 1", n, err)
	}
	if avail, err := e.svc.AvailableKeys(e.ctx, p.ID); err != nil || avail != 4 {
		t.Fatalf("AvailableKeys = %d, %v; want 4", avail, err)
	}
	// The same key may exist in another product's pool.
	other := e.create(t, licenceInput())
	if n, err := e.svc.AddLicenceKeys(e.ctx, admin, other.ID, []string{"AAA-1"}); err != nil || n != 1 {
		t.Fatalf("same key, other product: %d, %v", n, err)
	}

	var ve *catalog.ValidationError
	for _, bad := range [][]string{nil, {" ", ""}, {"ok", "bad\x00key"}, {"two\nlines"}} {
		if _, err := e.svc.AddLicenceKeys(e.ctx, admin, p.ID, bad); !errors.As(err, &ve) {
			t.Errorf("AddLicenceKeys(%q) = %v, want a ValidationError", bad, err)
		}
	}
	file := e.create(t, validInput(catalog.KindDigital))
	if _, err := e.svc.AddLicenceKeys(e.ctx, admin, file.ID, []string{"K"}); !errors.Is(err, catalog.ErrNotLicenceProduct) {
		t.Errorf("keys for a file product = %v", err)
	}
	if _, err := e.svc.AddLicenceKeys(e.ctx, admin, "prd_nope", []string{"K"}); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("keys for an unknown product = %v", err)
	}
	if _, err := e.svc.AvailableKeys(e.ctx, "prd_nope"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("AvailableKeys unknown = %v", err)
	}
	if avail, _ := e.svc.AvailableKeys(e.ctx, p.ID); avail != 4 {
		t.Fatalf("refused batches changed the pool: %d keys", avail)
	}
}

func (e *env) assign(productID, line string) (string, error) {
	var key string
	err := e.db.Tx(e.ctx, func(tx *sql.Tx) error {
		var err error
		key, _, err = e.svc.AssignLicenceKeyTx(e.ctx, tx, productID, line)
		return err
	})
	return key, err
}

func TestAssignLicenceKey(t *testing.T) {
	e := setup(t)
	p := e.create(t, licenceInput())
	if _, err := e.assign(p.ID, "oln_1"); !errors.Is(err, catalog.ErrOutOfStock) {
		t.Fatalf("empty pool = %v", err)
	}
	if _, err := e.svc.AddLicenceKeys(e.ctx, admin, p.ID, []string{"K1", "K2"}); err != nil {
		t.Fatal(err)
	}
	// Keys of one batch leave in no particular order; name them by use.
	k1, err := e.assign(p.ID, "oln_1")
	if err != nil || (k1 != "K1" && k1 != "K2") {
		t.Fatalf("first key = %q, %v", k1, err)
	}
	k2 := map[string]string{"K1": "K2", "K2": "K1"}[k1]
	// A redelivery of the same line gets the same key, not a second one.
	if again, err := e.assign(p.ID, "oln_1"); err != nil || again != k1 {
		t.Fatalf("same line again = %q, %v", again, err)
	}
	// A key taken in a transaction that rolls back goes back to the pool.
	rollback := errors.New("payment failed")
	err = e.db.Tx(e.ctx, func(tx *sql.Tx) error {
		if k, _, err := e.svc.AssignLicenceKeyTx(e.ctx, tx, p.ID, "oln_2"); err != nil || k != k2 {
			t.Errorf("in rolled-back tx: %q, %v", k, err)
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if avail, _ := e.svc.AvailableKeys(e.ctx, p.ID); avail != 1 {
		t.Fatalf("after rollback %d keys free, want 1", avail)
	}
	if k, err := e.assign(p.ID, "oln_3"); err != nil || k != k2 {
		t.Fatalf("second key = %q, %v", k, err)
	}
	if _, err := e.assign(p.ID, "oln_4"); !errors.Is(err, catalog.ErrOutOfStock) {
		t.Fatalf("exhausted pool = %v", err)
	}
	other := e.create(t, licenceInput())
	if _, err := e.svc.AddLicenceKeys(e.ctx, admin, other.ID, []string{"O1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.assign(other.ID, "oln_1"); err == nil {
		t.Fatal("a line holding a key of one product got a key of another")
	}

	// A sold key is final in the database.
	for _, stmt := range []string{
		`UPDATE licence_keys SET assigned_order_line_id = 'oln_9' WHERE assigned_order_line_id = 'oln_1'`,
		`UPDATE licence_keys SET assigned_at = NULL, assigned_order_line_id = NULL WHERE assigned_order_line_id = 'oln_1'`,
		`UPDATE licence_keys SET key_value = 'K1-bis' WHERE assigned_order_line_id = 'oln_1'`,
		`DELETE FROM licence_keys WHERE assigned_order_line_id = 'oln_1'`,
		`UPDATE licence_keys SET assigned_at = added_at WHERE key_value = 'O1'`, // assigned to no line
	} {
		if _, err := e.db.Write.ExecContext(e.ctx, stmt); err == nil {
			t.Errorf("%s succeeded", stmt)
		}
	}
	// A free key can still be withdrawn.
	if _, err := e.db.Write.ExecContext(e.ctx, `DELETE FROM licence_keys WHERE key_value = 'O1'`); err != nil {
		t.Errorf("withdrawing a free key: %v", err)
	}

	var keyID string
	if err := e.db.Read.QueryRowContext(e.ctx, `SELECT id FROM licence_keys WHERE assigned_order_line_id = 'oln_1'`).Scan(&keyID); err != nil {
		t.Fatal(err)
	}
	rows, err := audit.ForSubject(e.ctx, e.db.Read, "licence_key", keyID)
	if err != nil || len(rows) != 1 || rows[0].Action != "licence_key_assign" || rows[0].ActorRole != "system" ||
		rows[0].After != `{"order_line_id":"oln_1","product_id":"`+p.ID+`"}` {
		t.Fatalf("assignment audit = %+v, %v", rows, err)
	}
}

func TestConcurrentCheckoutsNeverShareAKey(t *testing.T) {
	e := setup(t)
	p := e.create(t, licenceInput())
	var keys []string
	for i := range 10 {
		keys = append(keys, fmt.Sprintf("KEY-%02d", i))
	}
	if n, err := e.svc.AddLicenceKeys(e.ctx, admin, p.ID, keys); err != nil || n != 10 {
		t.Fatalf("added %d, %v", n, err)
	}
	const buyers = 20
	got := make([]string, buyers)
	errs := make([]error, buyers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range buyers {
		wg.Go(func() {
			<-start
			got[i], errs[i] = e.assign(p.ID, fmt.Sprintf("oln_%02d", i))
		})
	}
	close(start)
	wg.Wait()
	var sold []string
	outOfStock := 0
	for i, err := range errs {
		switch {
		case err == nil:
			sold = append(sold, got[i])
		case errors.Is(err, catalog.ErrOutOfStock):
			outOfStock++
		default:
			t.Errorf("buyer %d: %v", i, err)
		}
	}
	slices.Sort(sold)
	if !slices.Equal(sold, keys) || outOfStock != 10 {
		t.Fatalf("sold %v and %d out of stock; want each of the 10 keys once and 10 out of stock", sold, outOfStock)
	}
	var assigned, lines int
	if err := e.db.Read.QueryRowContext(e.ctx, `SELECT COUNT(*), COUNT(DISTINCT assigned_order_line_id) FROM licence_keys
		WHERE product_id = $1 AND assigned_at IS NOT NULL`, p.ID).Scan(&assigned, &lines); err != nil {
		t.Fatal(err)
	}
	if assigned != 10 || lines != 10 {
		t.Fatalf("database: %d keys assigned to %d lines, want 10 and 10", assigned, lines)
	}
	if avail, _ := e.svc.AvailableKeys(e.ctx, p.ID); avail != 0 {
		t.Fatalf("AvailableKeys = %d after selling out", avail)
	}
}

func (e *env) reserve(productID, line string) error {
	return e.db.Tx(e.ctx, func(tx *sql.Tx) error { return e.svc.ReserveLicenceKeyTx(e.ctx, tx, productID, line) })
}

func (e *env) release(lines ...string) (int, error) {
	var n int
	err := e.db.Tx(e.ctx, func(tx *sql.Tx) error {
		var err error
		n, err = e.svc.ReleaseLicenceKeysTx(e.ctx, tx, lines)
		return err
	})
	return n, err
}

// A key reserved for a card order awaiting payment (issue #3) is neither
// free nor sold: no other sale or reservation gets it, the pool does not
// count it, it cannot be withdrawn; its own line gets it when paid, and
// released it is free again.
func TestReservedKeyIsTakenForItsLineOnly(t *testing.T) {
	e := setup(t)
	p := e.create(t, licenceInput())
	if err := e.reserve(p.ID, "oln_card"); !errors.Is(err, catalog.ErrOutOfStock) {
		t.Fatalf("reserving from an empty pool = %v", err)
	}
	if _, err := e.svc.AddLicenceKeys(e.ctx, admin, p.ID, []string{"K1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.reserve(p.ID, "oln_card"); err != nil {
		t.Fatal(err)
	}
	if avail, _ := e.svc.AvailableKeys(e.ctx, p.ID); avail != 0 {
		t.Fatalf("AvailableKeys = %d with the only key reserved", avail)
	}
	if _, err := e.assign(p.ID, "oln_balance"); !errors.Is(err, catalog.ErrOutOfStock) {
		t.Fatalf("selling the reserved key to another line = %v", err)
	}
	if err := e.reserve(p.ID, "oln_other"); !errors.Is(err, catalog.ErrOutOfStock) {
		t.Fatalf("reserving the reserved key for another line = %v", err)
	}
	if _, err := e.db.Write.ExecContext(e.ctx, `DELETE FROM licence_keys WHERE key_value = 'K1'`); err == nil {
		t.Fatal("a reserved key was withdrawn")
	}
	// A reservation is whole, and a key is reserved or sold, not both.
	for _, stmt := range []string{
		`UPDATE licence_keys SET reserved_at = NULL WHERE key_value = 'K1'`,
		`UPDATE licence_keys SET assigned_at = added_at, assigned_order_line_id = 'oln_x' WHERE key_value = 'K1'`,
	} {
		if _, err := e.db.Write.ExecContext(e.ctx, stmt); err == nil {
			t.Errorf("%s succeeded", stmt)
		}
	}
	var fromPool bool
	var key string
	if err := e.db.Tx(e.ctx, func(tx *sql.Tx) error {
		var err error
		key, fromPool, err = e.svc.AssignLicenceKeyTx(e.ctx, tx, p.ID, "oln_card")
		return err
	}); err != nil || key != "K1" || fromPool {
		t.Fatalf("the reserving line's key = %q (from the pool: %v), %v", key, fromPool, err)
	}
	var reserved int
	if err := e.db.Read.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM licence_keys WHERE reserved_order_line_id IS NOT NULL OR reserved_at IS NOT NULL`).Scan(&reserved); err != nil || reserved != 0 {
		t.Fatalf("%d reservations left once sold (%v)", reserved, err)
	}
	if n, err := e.release("oln_card"); err != nil || n != 0 {
		t.Fatalf("releasing a sold key: %d, %v", n, err)
	}
	if again, _ := e.assign(p.ID, "oln_card"); again != "K1" {
		t.Fatalf("redelivery = %q", again)
	}

	// Released, a reserved key goes back to the pool, for anyone.
	if _, err := e.svc.AddLicenceKeys(e.ctx, admin, p.ID, []string{"K2"}); err != nil {
		t.Fatal(err)
	}
	if err := e.reserve(p.ID, "oln_unpaid"); err != nil {
		t.Fatal(err)
	}
	if n, err := e.release("oln_unpaid", "oln_none"); err != nil || n != 1 {
		t.Fatalf("release = %d, %v; want 1", n, err)
	}
	if avail, _ := e.svc.AvailableKeys(e.ctx, p.ID); avail != 1 {
		t.Fatalf("AvailableKeys = %d after the release, want 1", avail)
	}
	if err := e.db.Tx(e.ctx, func(tx *sql.Tx) error {
		var err error
		key, fromPool, err = e.svc.AssignLicenceKeyTx(e.ctx, tx, p.ID, "oln_next")
		return err
	}); err != nil || key != "K2" || !fromPool {
		t.Fatalf("the released key = %q (from the pool: %v), %v", key, fromPool, err)
	}
	// The line that gave up its reservation gets no key without one.
	if _, err := e.assign(p.ID, "oln_unpaid"); !errors.Is(err, catalog.ErrOutOfStock) {
		t.Fatalf("the released line = %v", err)
	}
}

// Reservations and sales racing for the same keys never share one: each
// key goes to one line, sold or reserved, and the rest are refused.
func TestConcurrentReservationsAndSalesNeverShareAKey(t *testing.T) {
	e := setup(t)
	p := e.create(t, licenceInput())
	var keys []string
	for i := range 6 {
		keys = append(keys, fmt.Sprintf("KEY-%02d", i))
	}
	if _, err := e.svc.AddLicenceKeys(e.ctx, admin, p.ID, keys); err != nil {
		t.Fatal(err)
	}
	const buyers = 12
	errs := make([]error, buyers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range buyers {
		wg.Go(func() {
			<-start
			line := fmt.Sprintf("oln_%02d", i)
			if i%2 == 0 {
				errs[i] = e.reserve(p.ID, line)
			} else {
				_, errs[i] = e.assign(p.ID, line)
			}
		})
	}
	close(start)
	wg.Wait()
	ok, outOfStock := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, catalog.ErrOutOfStock):
			outOfStock++
		default:
			t.Errorf("buyer %d: %v", i, err)
		}
	}
	if ok != 6 || outOfStock != 6 {
		t.Fatalf("%d served and %d out of stock; want 6 and 6", ok, outOfStock)
	}
	var taken, lines int
	if err := e.db.Read.QueryRowContext(e.ctx, `SELECT COUNT(*), COUNT(DISTINCT COALESCE(assigned_order_line_id, reserved_order_line_id))
		FROM licence_keys WHERE product_id = $1 AND (assigned_at IS NOT NULL OR reserved_order_line_id IS NOT NULL)`, p.ID).Scan(&taken, &lines); err != nil {
		t.Fatal(err)
	}
	if taken != 6 || lines != 6 {
		t.Fatalf("database: %d keys taken by %d lines, want 6 and 6", taken, lines)
	}
	if avail, _ := e.svc.AvailableKeys(e.ctx, p.ID); avail != 0 {
		t.Fatalf("AvailableKeys = %d once all are taken", avail)
	}
}
