package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"comptoir/internal/db"
)

// dbState is every row of every table, as text, counted by table: what a
// request may or may not have changed. One query reads it all (a UNION of
// every table's rows cast to text), so a test can take it around each of
// hundreds of requests.
type dbState map[string]map[string]int

// stateReader reads a dbState, leaving out what the store writes on any
// request by design: see ignoredState.
type stateReader struct {
	d     *db.DB
	query string
	// versionQuery asks version on PostgreSQL.
	versionQuery string
	// conn asks version on SQLite, whose data_version is per
	// connection; nil on PostgreSQL (held, it would starve a pool of one
	// connection: COMPTOIR_TEST_PG_POOL=1).
	conn *sql.Conn
	// last is the state read last, and at is the version it was read at.
	last dbState
	at   string
}

// ignoredState is the bookkeeping a request writes whoever sends it and
// whatever it is answered (the request counters of the rate limits, when a
// session or token was last used), and what the job workers change in the
// background meanwhile (the sending of mail queued earlier: a message
// queued is still seen). A column named here is left out of its table's
// rows; a table with "*" is not read at all.
var ignoredState = map[string][]string{
	"rate_limits":         {"*"},
	"sessions":            {"last_seen_at"},
	"api_tokens":          {"last_used_at"},
	"outgoing_mail_queue": {"*"},
	"outgoing_mail":       {"status", "attempts", "last_error", "sent_at", "dispatched", "batch"},
}

func newStateReader(t *testing.T, d *db.DB) *stateReader {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	cq := `SELECT name || ' ' || lower(type) FROM pragma_table_info($1) ORDER BY cid`
	if d.Engine == db.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
		cq = `SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`
	}
	tables := queryStrings(t, d, q)
	if len(tables) < 40 {
		t.Fatalf("only %d tables found", len(tables))
	}
	var parts, versions []string
	for _, table := range tables {
		ignored := ignoredState[table]
		if slices.Contains(ignored, "*") || strings.HasPrefix(table, "river_") || table == "schema_migrations" {
			// river_*: the job queue, worked by the workers meanwhile.
			continue
		}
		var cols []string
		for _, ct := range queryStrings(t, d, cq, table) {
			c, typ, _ := strings.Cut(ct, " ")
			switch {
			case slices.Contains(ignored, c):
			case typ == "blob" || typ == "bytea":
				// Files (a mail's PDF): their size is enough, and
				// reading them around every request is slow.
				cols = append(cols, `'`+c+`=' || COALESCE(CAST(length("`+c+`") AS TEXT), 'NULL')`)
			default:
				cols = append(cols, `'`+c+`=' || COALESCE(CAST("`+c+`" AS TEXT), 'NULL')`)
			}
		}
		if len(cols) == 0 {
			t.Fatalf("table %s: no columns", table)
		}
		parts = append(parts, `SELECT '`+table+`', `+strings.Join(cols, ` || ' ' || `)+` FROM "`+table+`"`)
		versions = append(versions, `SELECT COUNT(*) || ':' || COALESCE(MAX(CAST(CAST(xmin AS TEXT) AS BIGINT)), 0) AS v FROM "`+table+`"`)
	}
	sr := &stateReader{d: d, query: strings.Join(parts, "\nUNION ALL\n"),
		versionQuery: `SELECT string_agg(v, ',') FROM (` + strings.Join(versions, "\nUNION ALL\n") + `) t`}
	if d.Engine == db.SQLite {
		conn, err := d.Read.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		sr.conn = conn
	}
	return sr
}

// version changes whenever a transaction may have written to the
// database since it was last asked (and sometimes when none did): on
// SQLite, data_version moves when another connection commits; on
// PostgreSQL, each table's row count and the newest transaction that
// wrote a row of it (xmin) say it: an insert or an update writes a row
// of a newer transaction, a delete lowers the count. (The cluster's
// next transaction id would do, but other databases of the test cluster
// move it all the time.)
func (sr *stateReader) version(t *testing.T) string {
	t.Helper()
	var row *sql.Row
	if sr.conn != nil {
		row = sr.conn.QueryRowContext(context.Background(), `PRAGMA data_version`)
	} else {
		row = sr.d.Read.QueryRowContext(context.Background(), sr.versionQuery)
	}
	var v string
	if err := row.Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// current is the state now: the last one read when the version says
// nothing was written since, which spares reading every table after each
// of the many requests that write nothing.
func (sr *stateReader) current(t *testing.T) dbState {
	t.Helper()
	v := sr.version(t)
	if sr.last == nil || v != sr.at {
		sr.last, sr.at = sr.read(t), v
	}
	return sr.last
}

func queryStrings(t *testing.T, d *db.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := d.Read.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// read takes the state now.
func (sr *stateReader) read(t *testing.T) dbState {
	t.Helper()
	rows, err := sr.d.Read.QueryContext(context.Background(), sr.query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	st := dbState{}
	for rows.Next() {
		var table, row string
		if err := rows.Scan(&table, &row); err != nil {
			t.Fatal(err)
		}
		if st[table] == nil {
			st[table] = map[string]int{}
		}
		st[table][row]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return st
}

// changes says, table by table, what rows after has that before has not
// (+) and the reverse (-); empty when nothing changed.
func (before dbState) changes(after dbState) map[string][]string {
	out := map[string][]string{}
	diff := func(a, b dbState, sign string) {
		for table, rows := range a {
			for row, n := range rows {
				if m := b[table][row]; m < n {
					out[table] = append(out[table], fmt.Sprintf("%s%s", sign, row))
				}
			}
		}
	}
	diff(after, before, "+")
	diff(before, after, "-")
	for _, rows := range out {
		slices.Sort(rows)
	}
	return out
}

// tablesOf are the changes' table names, sorted.
func tablesOf(changes map[string][]string) []string {
	var ts []string
	for t := range changes {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

// describe is the changes in a few lines, for a failure message.
func describe(changes map[string][]string) string {
	var b strings.Builder
	for _, table := range tablesOf(changes) {
		rows := changes[table]
		for i, r := range rows {
			if i == 3 {
				fmt.Fprintf(&b, "\n\t%s: … %d more", table, len(rows)-3)
				break
			}
			if len(r) > 200 {
				r = r[:200] + "…"
			}
			fmt.Fprintf(&b, "\n\t%s: %s", table, r)
		}
	}
	return b.String()
}
