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

// EscapeLike escapes LIKE's wildcards and the escape character, and on
// both engines a pattern built from it with ESCAPE LikeEscape matches the
// searched text only as itself: before it, ord_ab also found ordXab
// (and on PostgreSQL, whose LIKE escapes with \ by default, a\b found ab).
// KeyedInts reads (text, integer) rows in order, nil when none match.
func TestKeyedInts(t *testing.T) {
	d := dbtest.Open(t)
	ctx := context.Background()
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_k (k TEXT NOT NULL, n BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.ExecContext(ctx, `INSERT INTO t_k (k, n) VALUES ('b', 2), ('a', 9000000000), ('c', -1)`); err != nil {
		t.Fatal(err)
	}
	got, err := db.KeyedInts(ctx, d.Read, `SELECT k, n FROM t_k WHERE n > $1 ORDER BY k`, 0)
	if want := []db.KeyedInt{{"a", 9000000000}, {"b", 2}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("KeyedInts = %v %v, want %v", got, err, want)
	}
	if none, err := db.KeyedInts(ctx, d.Read, `SELECT k, n FROM t_k WHERE k = $1`, "z"); err != nil || none != nil {
		t.Errorf("KeyedInts of nothing = %v %v, want nil", none, err)
	}
}

func TestEscapeLike(t *testing.T) {
	cases := []struct {
		in, want string
		matches  map[string]bool // text → whether '%'+escaped+'%' matches it
	}{
		{"ord_ab", `ord\_ab`, map[string]bool{"Commande ord_ab confirmée": true, "Commande ordXab confirmée": false, "ordab": false}},
		{"50%", `50\%`, map[string]bool{"remise 50% ici": true, "remise 500 ici": false, "50": false}},
		{`a\b`, `a\\b`, map[string]bool{`x a\b y`: true, "x ab y": false, `a\\b`: false}},
		{`\_%`, `\\\_\%`, map[string]bool{`-\_%-`: true, `-\x%-`: false, `-\_x-`: false}},
		{"plain", "plain", map[string]bool{"a plain text": true, "plan": false}},
		{"", "", map[string]bool{"anything": true}},
	}
	for _, c := range cases {
		if got := db.EscapeLike(c.in); got != c.want {
			t.Errorf("EscapeLike(%q) = %q, want %q", c.in, got, c.want)
		}
	}

	d := dbtest.Open(t)
	ctx := context.Background()
	for _, c := range cases {
		for text, want := range c.matches {
			var n int
			err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT $1 AS body) s WHERE body LIKE $2 ESCAPE $3`,
				text, "%"+db.EscapeLike(c.in)+"%", db.LikeEscape).Scan(&n)
			if err != nil {
				t.Fatalf("%q LIKE %q: %v", text, c.in, err)
			}
			if got := n == 1; got != want {
				t.Errorf("%q contains %q: %v, want %v", text, c.in, got, want)
			}
		}
	}
}

func TestInList(t *testing.T) {
	in, args := db.InList([]string{"a", "b", "c"})
	if in != "$1, $2, $3" || len(args) != 3 || args[0] != "a" || args[2] != "c" {
		t.Fatalf("InList = %q %v", in, args)
	}
}
