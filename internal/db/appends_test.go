package db_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
)

// Append's rows are written with their transaction, in order, with the
// arguments as given; one that fails rolls the whole transaction back; a
// transaction Tx did not start writes them at once.
func TestAppendedRowsCommitWithTheirTransaction(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_app (k TEXT PRIMARY KEY, n INTEGER NOT NULL, note TEXT, at `+timestampType(d)+`)`); err != nil {
		t.Fatal(err)
	}
	rows := func() map[string]int {
		t.Helper()
		r, err := d.Read.QueryContext(ctx, `SELECT k, n FROM t_app`)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got := map[string]int{}
		for r.Next() {
			var k string
			var n int
			if err := r.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			got[k] = n
		}
		return got
	}
	at := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	insert := `INSERT INTO t_app (k, n, note, at) VALUES ($1, $2, $3, $4)`

	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insert, "direct", 1, nil, at); err != nil {
			return err
		}
		for i, k := range []string{"a", "b", "c"} {
			if err := db.Append(ctx, tx, insert, k, i, sql.NullString{String: "x", Valid: i == 1}, at); err != nil {
				return err
			}
		}
		// Not there yet on PostgreSQL: sent with the commit.
		want := 3
		if d.Engine == db.Postgres {
			want = 0
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM t_app WHERE k IN ('a', 'b', 'c')`).Scan(&n); err != nil || n != want {
			t.Errorf("appended rows seen inside the transaction: %d, want %d (%v)", n, want, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(); len(got) != 4 || got["direct"] != 1 || got["a"] != 0 || got["b"] != 1 || got["c"] != 2 {
		t.Fatalf("rows after commit: %v", got)
	}
	var note sql.NullString
	var when time.Time
	if err := d.Read.QueryRowContext(ctx, `SELECT note, at FROM t_app WHERE k = 'b'`).Scan(&note, &when); err != nil || note.String != "x" || !when.Equal(at) {
		t.Fatalf("appended arguments: %v %v %v", note, when, err)
	}

	// An appended row that fails (a key already taken) fails the
	// transaction, and nothing of it is written.
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insert, "first", 1, nil, at); err != nil {
			return err
		}
		if err := db.Append(ctx, tx, insert, "second", 2, nil, at); err != nil {
			return err
		}
		return db.Append(ctx, tx, insert, "a", 3, nil, at)
	})
	if err == nil || !db.IsUniqueViolation(err) {
		t.Fatalf("a failing appended row: Tx returned %v", err)
	}
	if got := rows(); len(got) != 4 || got["first"] != 0 || got["second"] != 0 {
		t.Fatalf("rows after a failed append: %v", got)
	}

	// A transaction Tx did not start: written at once, seen by the next
	// statement.
	tx, err := d.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := db.Append(ctx, tx, insert, "raw", 5, nil, at); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT n FROM t_app WHERE k = 'raw'`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("append outside Tx: %d %v", n, err)
	}
	if err := db.Append(ctx, tx, insert, "a", 0, nil, at); !db.IsUniqueViolation(err) {
		t.Fatalf("append outside Tx of a taken key: %v", err)
	}
}
