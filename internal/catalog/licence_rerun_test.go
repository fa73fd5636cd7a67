package catalog_test

import (
	"sync"
	"testing"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/testwait"
)

// TestLicenceKeysCountedOnceWhenADeadlockIsRetried: two admins paste
// overlapping keys in opposite orders, and their inserts deadlock
// (PostgreSQL): one is run again by db.Tx, behind the other. The keys each
// reports as added must be the keys there are, however many runs it took:
// before, the rerun added its count to the aborted run's.
func TestLicenceKeysCountedOnceWhenADeadlockIsRetried(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("SQLite has one writer: its transactions never overlap")
	}
	dbtest.NeedConnections(t, 4) // the holder, two admins, the watcher
	e := setup(t)
	p := e.create(t, licenceInput())

	// A third transaction holds K3, so that the first admin, having
	// inserted K1, waits there while the second inserts K2 and waits on
	// K1; let go, the first asks for K2: a deadlock.
	holder, err := e.db.Write.BeginTx(e.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	if _, err := holder.ExecContext(e.ctx, `INSERT INTO licence_keys (id, product_id, key_value, added_at) VALUES ('lic_held', $1, 'K3', $2)`,
		p.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	waiting := func(n int) func() bool {
		return func() bool {
			var w int
			if err := e.db.Read.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO licence_keys%'`).Scan(&w); err != nil {
				t.Fatal(err)
			}
			return w == n
		}
	}
	added := make([]int, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { added[0], errs[0] = e.svc.AddLicenceKeys(e.ctx, admin, p.ID, []string{"K1", "K3", "K2"}) })
	testwait.Until(t, "the first admin waiting at K3", waiting(1))
	wg.Go(func() { added[1], errs[1] = e.svc.AddLicenceKeys(e.ctx, admin, p.ID, []string{"K2", "K1"}) })
	testwait.Until(t, "the second admin waiting at K1", waiting(2))
	if err := holder.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("admin %d: %v", i, err)
		}
	}
	var keys int
	if err := e.db.Read.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM licence_keys WHERE product_id = $1`, p.ID).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if keys != 3 || added[0]+added[1] != 3 {
		t.Fatalf("%d keys; the admins were told %d and %d were added", keys, added[0], added[1])
	}
}
