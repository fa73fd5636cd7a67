package policystore_test

import (
	"testing"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/policy"
)

// TestDraftWarnedOnceWhenItsTransactionIsRunAgain: PostgreSQL aborts the
// saving of a draft numbered below a published version (as the loser of a
// deadlock) once its transaction has added the warning about that number,
// and db.Tx runs it again. The draft comes back with each warning once:
// without the reset at the start of the run, the rerun added the version's
// warning to the aborted run's.
func TestDraftWarnedOnceWhenItsTransactionIsRunAgain(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("SQLite never runs a transaction again")
	}
	e := setup(t)
	e.save(t, shopDoc(3))
	e.publish(t, "shop@3")
	doc := shopDoc(2)
	p, err := policy.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := len(policy.Check(p)) + 1 // the document's own, and its number's

	dbtest.ConflictOnInsert(t, e.db, "policies", 1)
	d := e.save(t, doc)
	if n := e.db.ConflictsRetried(); n != 1 {
		t.Fatalf("%d runs aborted and run again, want 1: the test's conflict missed", n)
	}
	version := 0
	for _, w := range d.Warnings {
		if w.Code == policy.CodeVersionBelowLatest {
			version++
		}
	}
	if version != 1 || len(d.Warnings) != want {
		t.Fatalf("%d warnings, %d of them about the version; want %d, one: %+v", len(d.Warnings), version, want, d.Warnings)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM policies WHERE name = 'shop' AND version = 2`); n != 1 {
		t.Fatalf("%d rows of shop@2", n)
	}
}
