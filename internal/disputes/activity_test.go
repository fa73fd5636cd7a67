package disputes

import (
	"context"
	"strings"
	"testing"
	"time"

	"comptoir/internal/clock"
	"comptoir/internal/db/dbtest"
)

// Reloading an order page writes one activity line per ActivityCoalesce,
// not one per view: the same customer, kind, subject, address and browser
// within 10 minutes of a line already written adds nothing; later, or from
// another address, browser, order or customer, a line is written. The
// window runs from the line written, not from the views it absorbed.
func TestRecordActivityCoalesces(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	t0 := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	s := New(d, clk, nil, nil, nil, nil)
	const ip, ua = "203.0.113.7", "Firefox/140"
	view := func(after time.Duration, customer, order, ip, ua string) {
		t.Helper()
		clk.Set(t0.Add(after))
		if err := s.RecordActivity(ctx, customer, ActivityOrderView, order, ip, ua); err != nil {
			t.Fatal(err)
		}
	}
	lines := func() []string {
		t.Helper()
		rows, err := d.Read.QueryContext(ctx, `SELECT customer_id, subject_id, ip, user_agent, at FROM customer_activity ORDER BY at, customer_id, subject_id, ip, user_agent`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var c, o, i, u string
			var at time.Time
			if err := rows.Scan(&c, &o, &i, &u, &at); err != nil {
				t.Fatal(err)
			}
			out = append(out, c+" "+o+" "+i+" "+u+" +"+at.Sub(t0).String())
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	check := func(step string, want ...string) {
		t.Helper()
		if got := lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s:\n got %q\nwant %q", step, got, want)
		}
	}

	view(0, "usr_a", "ord_1", ip, ua)
	view(time.Minute, "usr_a", "ord_1", ip, ua)
	view(9*time.Minute+59*time.Second, "usr_a", "ord_1", ip, ua)
	check("reloads within 10 minutes", "usr_a ord_1 203.0.113.7 Firefox/140 +0s")

	view(11*time.Minute, "usr_a", "ord_1", ip, ua)
	check("11 minutes after the first view",
		"usr_a ord_1 203.0.113.7 Firefox/140 +0s",
		"usr_a ord_1 203.0.113.7 Firefox/140 +11m0s")

	view(12*time.Minute, "usr_a", "ord_1", "198.51.100.4", ua)
	view(12*time.Minute, "usr_a", "ord_1", ip, "Safari/18")
	view(12*time.Minute, "usr_a", "ord_2", ip, ua)
	view(12*time.Minute, "usr_b", "ord_1", ip, ua)
	// A sign-in with the same address and browser is another kind.
	clk.Set(t0.Add(12 * time.Minute))
	if err := s.RecordActivity(ctx, "usr_a", ActivitySignIn, "", ip, ua); err != nil {
		t.Fatal(err)
	}
	view(13*time.Minute, "usr_a", "ord_1", ip, ua) // still within the +11m line's window
	view(21*time.Minute, "usr_a", "ord_1", ip, ua) // exactly 10 minutes after it: not less, written
	check("other address, browser, order, customer",
		"usr_a ord_1 203.0.113.7 Firefox/140 +0s",
		"usr_a ord_1 203.0.113.7 Firefox/140 +11m0s",
		"usr_a  203.0.113.7 Firefox/140 +12m0s",
		"usr_a ord_1 198.51.100.4 Firefox/140 +12m0s",
		"usr_a ord_1 203.0.113.7 Safari/18 +12m0s",
		"usr_a ord_2 203.0.113.7 Firefox/140 +12m0s",
		"usr_b ord_1 203.0.113.7 Firefox/140 +12m0s",
		"usr_a ord_1 203.0.113.7 Firefox/140 +21m0s")
}

// The coalescing lookup reads the customer's recent lines through
// customer_activity_by_customer (customer_id, at), never the whole log,
// which grows with every customer's views.
func TestRecordActivityUsesIndex(t *testing.T) {
	d := dbtest.Open(t)
	at := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	plan := dbtest.Plan(t, d, recordActivityQuery, "usr_a", at.Add(-ActivityCoalesce), ActivityOrderView, "ord_1", "203.0.113.7", "Firefox/140", "act_x", at)
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "customer_activity_by_customer") {
		t.Errorf("the lookup does not use customer_activity_by_customer:\n%s", text)
	}
	for _, l := range plan {
		if strings.Contains(l, "SCAN customer_activity") && !strings.Contains(l, "INDEX") || strings.Contains(l, "Seq Scan on customer_activity") {
			t.Errorf("the lookup scans the whole log:\n%s", text)
		}
	}
}
