package db

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Strings runs query, whose rows hold one text column (ids, addresses,
// blob keys), and returns the values in order; nil when there is none.
// Erasure and retention code collects such a list before it blanks or
// deletes the rows that hold it.
func Strings(ctx context.Context, q Querier, query string, args ...any) ([]string, error) {
	return collect(ctx, q, query, args, func(rows *sql.Rows, s *string) error { return rows.Scan(s) })
}

// KeyedInt is a row of a text key and an integer, as KeyedInts reads it.
type KeyedInt struct {
	Key string
	N   int64
}

// KeyedInts runs query, whose rows hold a text column and an integer one
// (an id and what is left of an amount, say), and returns them in order;
// nil when there is none. Reading them all first lets the caller update
// the rows one by one afterwards, in the same transaction.
func KeyedInts(ctx context.Context, q Querier, query string, args ...any) ([]KeyedInt, error) {
	return collect(ctx, q, query, args, func(rows *sql.Rows, k *KeyedInt) error { return rows.Scan(&k.Key, &k.N) })
}

// collect runs query and reads every row into a T with scan, in order;
// nil when there is none.
func collect[T any](ctx context.Context, q Querier, query string, args []any, scan func(*sql.Rows, *T) error) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ExecEach runs each statement of queries in turn with the same args,
// stopping at the first error. Every statement must use all of args:
// PostgreSQL refuses an argument a statement does not name.
func ExecEach(ctx context.Context, q Querier, queries []string, args ...any) error {
	for _, query := range queries {
		if _, err := q.ExecContext(ctx, query, args...); err != nil {
			return err
		}
	}
	return nil
}

// Values scans the current row of rows into one value per column, of
// whatever type the driver gives (int64, float64, bool, []byte, string,
// time.Time or nil), for code that reads rows it knows nothing of: a data
// export, a query plan.
func Values(rows interface{ Scan(...any) error }, columns int) ([]any, error) {
	vals := make([]any, columns)
	ptrs := make([]any, columns)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	return vals, nil
}

// LikeEscape is the escape character of the patterns EscapeLike builds.
// Pass it as a parameter of the ESCAPE clause (`col LIKE $1 ESCAPE $2`)
// rather than writing the literal '\': PostgreSQL reads that literal as
// an unterminated string when standard_conforming_strings is off, and
// SQLite has no default escape character at all (PostgreSQL's is the
// backslash), so the clause is needed on both for the same meaning.
const LikeEscape = `\`

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// EscapeLike returns s with LIKE's wildcards (% and _) and the escape
// character itself escaped, so that s matches only itself in a pattern
// used with ESCAPE LikeEscape: ids hold underscores (ord_…), and an id
// searched for unescaped would also find ordXab when looking for ord_ab.
func EscapeLike(s string) string {
	return likeEscaper.Replace(s)
}

// InList is the placeholders "$1, $2, …" for an IN (…) of values, with the
// arguments that go with them. values must not be empty: "IN ()" is not
// SQL.
func InList(values []string) (string, []any) {
	marks := make([]string, len(values))
	args := make([]any, len(values))
	for i, v := range values {
		marks[i], args[i] = "$"+strconv.Itoa(i+1), v
	}
	return strings.Join(marks, ", "), args
}

// ValidText reports whether s can be stored as text on both engines:
// PostgreSQL refuses invalid UTF-8 and NUL in TEXT (SQLite keeps them), so
// input holding either is refused, or looked up as nothing, before it
// reaches SQL, rather than a server error on one engine only.
func ValidText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// maxLowerForms bounds LowerForms: an address with more letters outside
// ASCII than that gets its all-lower and all-upper spellings of them only.
const maxLowerForms = 64

// LowerForms returns what SQL's lower() can give for a stored text that is
// s in some other case (an email address typed "ZOË@x.fr" at sign-up and
// "zoë@X.FR" on the contact form). PostgreSQL lowers every letter, giving
// strings.ToLower(s); SQLite lowers ASCII letters only, leaving É or Ë as
// they were stored, so a comparison with strings.ToLower(s) missed any
// address with a capital letter outside ASCII. The forms are every
// spelling of s with its ASCII letters lowered and each other letter in
// any of its cases (at most maxLowerForms of them): what an ASCII-only
// lowering (SQLite's lower(), ASCIILower) makes of them. The two letters
// outside ASCII whose lower case is an ASCII letter, the Kelvin sign and
// the dotted İ, are not that letter (account.SameEmail): they stay
// themselves, and "k" has no Kelvin form. LowerIn uses them on both
// engines.
func LowerForms(s string) []string {
	s = lowerKeepingLookalikes(strings.TrimSpace(s))
	forms := []string{""}
	for _, r := range s {
		cases := []rune{r}
		if r >= utf8.RuneSelf {
			for c := unicode.SimpleFold(r); c != r; c = unicode.SimpleFold(c) {
				if c >= utf8.RuneSelf && lowerKeepingLookalike(c) == r {
					cases = append(cases, c)
				}
			}
		}
		if len(forms)*len(cases) > maxLowerForms {
			return lowerAndUpper(s)
		}
		next := make([]string, 0, len(forms)*len(cases))
		for _, f := range forms {
			for _, c := range cases {
				next = append(next, f+string(c))
			}
		}
		forms = next
	}
	return forms
}

// lowerKeepingLookalike lowers r, unless r is outside ASCII and its lower
// case is an ASCII letter (the Kelvin sign, the dotted İ): those stay
// themselves, as account.SameEmail has it.
func lowerKeepingLookalike(r rune) rune {
	if l := unicode.ToLower(r); r < utf8.RuneSelf || l >= utf8.RuneSelf {
		return l
	}
	return r
}

func lowerKeepingLookalikes(s string) string { return strings.Map(lowerKeepingLookalike, s) }

// ASCIILower is SQL that lowers expr's ASCII letters only, on either
// engine: SQLite's lower(), where PostgreSQL's lower() also lowers the
// Kelvin sign to "k" and İ to "i" (its ctype's rules).
func ASCIILower(expr string) string {
	for c := 'A'; c <= 'Z'; c++ {
		expr = "replace(" + expr + ", '" + string(c) + "', '" + string(c+'a'-'A') + "')"
	}
	return expr
}

// lowerAndUpper is s (lowered) and s with its letters outside ASCII in
// upper case, when they have one that lowers back to them.
func lowerAndUpper(s string) []string {
	upper := strings.Map(func(r rune) rune {
		if u := unicode.ToUpper(r); r >= utf8.RuneSelf && unicode.ToLower(u) == r {
			return u
		}
		return r
	}, s)
	if upper == s {
		return []string{s}
	}
	return []string{s, upper}
}

// LowerIn is the condition that col is s but for the case of its letters,
// on either engine, and its arguments (LowerForms), numbered from first:
// the rule of account.SameEmail. lower(col) IN (…) lets an index on
// lower(col) serve, and holds on PostgreSQL for an address with the
// Kelvin sign where s has "k" (and the other way): ASCIILower(col) then
// tells them apart, so that an export or erasure by kate@… never reaches
// data of the look-alike address.
func LowerIn(col string, first int, s string) (string, []any) {
	forms := LowerForms(s)
	marks := make([]string, len(forms))
	args := make([]any, len(forms))
	for i, f := range forms {
		marks[i], args[i] = "$"+strconv.Itoa(first+i), f
	}
	indexed := marks
	// PostgreSQL's lower() of the address with each letter lowered,
	// look-alikes included.
	if full := strings.ToLower(strings.TrimSpace(s)); !slices.Contains(forms, full) {
		indexed = append(marks[:len(marks):len(marks)], "$"+strconv.Itoa(first+len(forms)))
		args = append(args, full)
	}
	return "(lower(" + col + ") IN (" + strings.Join(indexed, ", ") + ") AND " + ASCIILower(col) + " IN (" + strings.Join(marks, ", ") + "))", args
}
