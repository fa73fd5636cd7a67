package orders

import (
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/db/dbtest"
	"comptoir/internal/id"
)

// The order lists and the lines of their orders are read through indexes,
// not by reading every order or every line: a checkout writes fewer
// indexes than it used to (migration 0055 dropped order_lines_by_order,
// which repeated UNIQUE (order_id, position)), and one that a list needs
// must not go with them.
func TestOrderQueriesUseIndexes(t *testing.T) {
	d := dbtest.Open(t)
	after := id.New("ord")
	type query struct {
		name, query string
		args        []any
		key         string // the column an index must be searched by
	}
	queries := []query{{"linesOf", linesQuery("$1, $2"), []any{"ord_1", "ord_2"}, "order_id"}}
	for _, tc := range []struct {
		f   ListFilter
		key string
	}{
		{ListFilter{CustomerID: "usr_1"}, "customer_id"}, {ListFilter{CustomerID: "usr_1", After: after}, "customer_id"},
		{ListFilter{Status: StatusProcessing}, "status"}, {ListFilter{Status: StatusCompleted, After: after}, "status"},
		{ListFilter{After: after}, "id"},
	} {
		q, args, err := listQuery(tc.f, 20)
		if err != nil {
			t.Fatal(err)
		}
		queries = append(queries, query{"List by " + tc.key, q, args, tc.key})
	}
	for _, tc := range queries {
		plan := dbtest.Plan(t, d, tc.query, tc.args...)
		text := strings.Join(plan, "\n")
		for _, l := range plan {
			// SQLite: "SCAN orders" without an index; PostgreSQL: a
			// sequential scan even with sequential scans switched off.
			if strings.HasPrefix(l, "SCAN ") && !strings.Contains(l, "INDEX") || strings.Contains(l, "Seq Scan") {
				t.Errorf("%s reads a whole table:\n%s", tc.name, text)
			}
		}
		cond := regexp.MustCompile(`[(.]` + tc.key + `\s*[=<>]`)
		searched := false
		for _, l := range plan {
			// SQLite: "SEARCH orders USING INDEX orders_by_status (status=?)";
			// PostgreSQL: "Index Cond: (status = 'processing'::text)".
			searched = searched || (strings.Contains(l, "USING INDEX") || strings.Contains(l, "Index Cond")) &&
				cond.MatchString(l)
		}
		if !searched {
			t.Errorf("%s does not search an index by %s:\n%s", tc.name, tc.key, text)
		}
	}
}
