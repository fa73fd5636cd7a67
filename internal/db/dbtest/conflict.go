package dbtest

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"comptoir/internal/db"
)

var plainName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// ConflictOnInsert makes PostgreSQL abort the transaction that inserts the
// nth row into table from now on (1 for the next one), with the error the
// loser of a deadlock gets (40P01), as it would in the middle of its work:
// db.Tx runs that transaction again, and the inserts after go through, the
// rerun's included. It is how a test checks that a function given to
// db.Tx starts afresh on a rerun (counts, slices of its caller's), without
// having to bring two transactions to a real deadlock at that very line.
// Called again on the same table, it counts afresh from now on. PostgreSQL
// only: SQLite never runs a transaction again.
func ConflictOnInsert(t testing.TB, d *db.DB, table string, nth int) {
	t.Helper()
	if d.Engine != db.Postgres {
		t.Fatal("ConflictOnInsert: PostgreSQL only")
	}
	if !plainName.MatchString(table) || nth < 1 {
		t.Fatalf("ConflictOnInsert(%q, %d)", table, nth)
	}
	// A sequence counts the inserts: unlike a row, its value survives the
	// transaction it aborts.
	name := "test_conflict_" + table
	for _, stmt := range []string{
		fmt.Sprintf(`DROP TRIGGER IF EXISTS %s ON %s`, name, table),
		fmt.Sprintf(`DROP SEQUENCE IF EXISTS %s`, name),
		fmt.Sprintf(`CREATE SEQUENCE %s`, name),
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF nextval('%[1]s') = %[2]d THEN
		RAISE EXCEPTION 'conflict made by the test on %[3]s' USING ERRCODE = 'deadlock_detected';
	END IF;
	RETURN NEW;
END $$`, name, nth, table),
		fmt.Sprintf(`CREATE TRIGGER %[1]s BEFORE INSERT ON %[2]s FOR EACH ROW EXECUTE FUNCTION %[1]s()`, name, table),
	} {
		if _, err := d.Write.ExecContext(context.Background(), stmt); err != nil {
			t.Fatalf("ConflictOnInsert: %v", err)
		}
	}
}
