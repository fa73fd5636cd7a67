package db_test

import (
	"context"
	"database/sql"
	"reflect"
	"testing"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
)

// Strings collects one column in order (nil when no row matches), and
// ExecEach runs every statement with the same arguments, stopping at the
// first failure (and the transaction then changes nothing).
func TestStringsAndExecEach(t *testing.T) {
	d := dbtest.Open(t)
	ctx := context.Background()
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_s (k TEXT NOT NULL, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.ExecContext(ctx, `INSERT INTO t_s (k, v) VALUES ('other', 'c')`); err != nil {
		t.Fatal(err)
	}
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if err := db.ExecEach(ctx, tx, []string{
			`INSERT INTO t_s (k, v) VALUES ($1, 'b')`,
			`INSERT INTO t_s (k, v) VALUES ($1, 'a')`,
		}, "x"); err != nil {
			return err
		}
		got, err := db.Strings(ctx, tx, `SELECT v FROM t_s WHERE k = $1 ORDER BY v`, "x")
		if err != nil {
			return err
		}
		if want := []string{"a", "b"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Strings = %q, want %q", got, want)
		}
		none, err := db.Strings(ctx, tx, `SELECT v FROM t_s WHERE k = $1`, "nobody")
		if err != nil || none != nil {
			t.Errorf("Strings of no row = %q, %v; want nil, nil", none, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		return db.ExecEach(ctx, tx, []string{
			`UPDATE t_s SET v = 'z' WHERE k = $1`,
			`UPDATE no_such_table SET v = 'z' WHERE k = $1`,
			`DELETE FROM t_s WHERE k = $1`,
		}, "x")
	})
	if err == nil {
		t.Fatal("ExecEach with a bad statement: no error")
	}
	got, err := db.Strings(ctx, d.Read, `SELECT v FROM t_s ORDER BY v`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after the failed ExecEach: %q, want %q (nothing changed)", got, want)
	}
}
