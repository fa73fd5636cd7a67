package db_test

import (
	"context"
	"database/sql"
	"reflect"
	"slices"
	"strings"
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

// LowerForms gives what lower() makes of an address in any case on both
// engines: PostgreSQL's full lowering, and SQLite's, which leaves letters
// outside ASCII as stored.
func TestLowerForms(t *testing.T) {
	for in, want := range map[string][]string{
		"Ana@Example.ORG": {"ana@example.org"},
		" ZOË@x.fr ":      {"zoë@x.fr", "zoË@x.fr"},
		"élodie@ÉTÉ.fr":   {"élodie@été.fr", "élodie@étÉ.fr", "élodie@Été.fr", "élodie@ÉtÉ.fr", "Élodie@été.fr", "Élodie@étÉ.fr", "Élodie@Été.fr", "Élodie@ÉtÉ.fr"},
	} {
		got := db.LowerForms(in)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("LowerForms(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("é", 20) + "@x.fr"
	if got := db.LowerForms(long); len(got) != 2 || got[0] != long || got[1] != strings.Repeat("É", 20)+"@x.fr" {
		t.Errorf("LowerForms of 20 accented letters = %d forms %q", len(got), got)
	}
	// The Kelvin sign and the dotted İ are not "k" and "i"
	// (account.SameEmail): they keep their form, and "k" gets none of
	// theirs.
	for in, want := range map[string]string{"\u212Aate@x.fr": "\u212Aate@x.fr", "\u0130VAN@x.fr": "\u0130van@x.fr", "Kate@x.fr": "kate@x.fr"} {
		if got := db.LowerForms(in); len(got) != 1 || got[0] != want {
			t.Errorf("LowerForms(%q) = %q, want %q alone", in, got, want)
		}
	}
	in, args := db.LowerIn("email", 3, "ZOË@x.fr")
	if !strings.HasPrefix(in, "(lower(email) IN ($3, $4) AND replace(") || !strings.HasSuffix(in, " IN ($3, $4))") || len(args) != 2 {
		t.Errorf("LowerIn = %q %v", in, args)
	}
	// PostgreSQL's lower() of a Kelvin sign is "k": the index condition
	// takes that form too.
	if in, args := db.LowerIn("email", 1, "\u212Aate@x.fr"); !strings.HasPrefix(in, "(lower(email) IN ($1, $2) AND ") ||
		!strings.HasSuffix(in, " IN ($1))") || len(args) != 2 || args[1] != "kate@x.fr" {
		t.Errorf("LowerIn = %q %v", in, args)
	}
}

// On the engine itself, lower(col) IN (LowerIn's forms) finds an address
// whatever the case of its letters, accents included, and nothing else.
// SQLite's lower() leaves É as it is: comparing lower(col) with the Go
// lower case missed "ÉLODIE@x.fr" there.
func TestLowerInMatchesAnyCase(t *testing.T) {
	d := dbtest.Open(t)
	ctx := context.Background()
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_mails (v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"ÉLODIE@Example.org", "élodie@example.ORG", "Élodie@example.org", "elodie@example.org", "xélodie@example.org",
		"kate@example.org", "KATE@example.org", "\u212Aate@example.org", "\u212AATE@example.org", "\u0130van@example.org", "ivan@example.org"} {
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO t_mails (v) VALUES ($1)`, v); err != nil {
			t.Fatal(err)
		}
	}
	in, args := db.LowerIn("v", 1, "élodie@EXAMPLE.org")
	got, err := db.Strings(ctx, d.Read, `SELECT v FROM t_mails WHERE `+in+` ORDER BY v`, args...)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ÉLODIE@Example.org", "Élodie@example.org", "élodie@example.ORG"}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("lower(v) IN forms found %q, want %q", got, want)
	}
	// An address and its look-alike with the Kelvin sign or the dotted İ
	// each find their own only, on both engines (PostgreSQL's lower()
	// makes them "k" and "i").
	for look, want := range map[string][]string{
		"Kate@EXAMPLE.org":      {"KATE@example.org", "kate@example.org"},
		"\u212Aate@example.org": {"\u212AATE@example.org", "\u212Aate@example.org"},
		"IVAN@example.org":      {"ivan@example.org"},
		"\u0130VAN@example.org": {"\u0130van@example.org"},
	} {
		in, args := db.LowerIn("v", 1, look)
		got, err := db.Strings(ctx, d.Read, `SELECT v FROM t_mails WHERE `+in+` ORDER BY v`, args...)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("LowerIn(%q) found %q, want %q", look, got, want)
		}
	}
}

// ValidText refuses what PostgreSQL cannot store as text, and only that.
func TestValidText(t *testing.T) {
	for s, want := range map[string]bool{"": true, "Élodie\n\tok": true, "a\x00b": false, "a\xffb": false, "\x01": true} {
		if got := db.ValidText(s); got != want {
			t.Errorf("ValidText(%q) = %v, want %v", s, got, want)
		}
	}
}
