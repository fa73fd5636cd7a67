package benchdata

import (
	"context"
	"testing"
	"time"

	"comptoir/internal/billing"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/id"
)

func TestParseScale(t *testing.T) {
	sc, err := ParseScale("small")
	if err != nil || sc.Customers != 10_000 || sc.Orders != 100_000 {
		t.Fatalf("small: %+v %v", sc, err)
	}
	sc, err = ParseScale("customers=20, orders=1_000,pool=50")
	if err != nil || sc.Customers != 20 || sc.Orders != 1000 || sc.Pool != 20 || sc.Name != "custom" || sc.Subscriptions != 20 {
		t.Fatalf("custom: %+v %v", sc, err)
	}
	if sc, err = ParseScale("customers=20,subscriptions=500"); err != nil || sc.Subscriptions != 500 {
		t.Fatalf("custom subscriptions: %+v %v", sc, err)
	}
	for _, bad := range []string{"huge", "customers=x", "colour=3", "customers=0,orders=1"} {
		if _, err := ParseScale(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestIDsLookReal(t *testing.T) {
	g := newIDGen(7)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a, b := g.at("ord", at), g.at("ord", at.Add(time.Millisecond))
	if !id.Valid("ord", a) || !id.Valid("ord", b) || a >= b {
		t.Fatalf("ids %s %s", a, b)
	}
	if got := placeholders(2, 2, false); got != "($1, $2), ($3, $4)" || placeholders(2, 1, true) != "(?, ?)" {
		t.Fatalf("placeholders: %s", got)
	}
}

// TestLoad fills a small store on the test engine: every constraint of the
// schema accepts the rows, and the ledger reconciles.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	sc, err := ParseScale("customers=40,orders=400,products=7,pool=5,agents=2,messages=38,subscriptions=150")
	if err != nil {
		t.Fatal(err)
	}
	set, err := Load(ctx, d, sc, Options{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Pool) != 5 || len(set.Agents) != 2 || set.Pool[0].Token == "" || len(set.Products) != 7 || len(set.ServiceProducts()) == 0 {
		t.Fatalf("dataset %+v", set)
	}
	periods := set.Rows["subscription_periods"]
	if set.Rows["orders"] != 400 || set.Rows["order_consents"] != 400 || set.Rows["users"] != 43 ||
		set.Rows["balance_entries"] != 440+periods || set.Rows["order_lines"] < 400 {
		t.Fatalf("rows %v", set.Rows)
	}
	// Subscriptions: three plans, 150 subscriptions each with at least one
	// paid period, one in four of the first 120 (three per customer) live
	// with its current period running past now, none due; each period
	// paid by its own balance debit.
	if len(set.Plans) != 3 || set.Rows["subscriptions"] != 150 || periods < 150 {
		t.Fatalf("subscription rows %v, plans %v", set.Rows, set.Plans)
	}
	var live, due, ended, unpaid, debits int
	if err := d.Read.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM subscriptions WHERE status = 'active' AND current_period_end > $1),
		(SELECT COUNT(*) FROM subscriptions WHERE status IN ('active', 'trialing') AND current_period_end <= $1),
		(SELECT COUNT(*) FROM subscriptions WHERE status = 'canceled' AND ended_at <= $1 AND cancel_at_period_end),
		(SELECT COUNT(*) FROM subscriptions s WHERE NOT EXISTS (SELECT 1 FROM subscription_periods p
			WHERE p.subscription_id = s.id AND p.period_start = s.current_period_start AND p.period_end = s.current_period_end AND p.status = 'paid')),
		(SELECT COUNT(*) FROM subscription_periods p JOIN balance_entries e ON e.id = p.payment_reference
			AND e.reference_type = 'subscription_period' AND e.reference_id = p.id AND e.amount = -p.amount)`,
		set.Now).Scan(&live, &due, &ended, &unpaid, &debits); err != nil {
		t.Fatal(err)
	}
	if live < 30 || live+ended != 150 || due != 0 || unpaid != 0 || int64(debits) != periods {
		t.Fatalf("subscriptions: %d live, %d due, %d ended, %d without their current period paid, %d of %d periods debited",
			live, due, ended, unpaid, debits, periods)
	}
	if len(set.PoolLines) == 0 || set.PoolLines[0].Pool >= len(set.Pool) || set.PoolLines[0].LineID == "" {
		t.Fatalf("pool lines %v", set.PoolLines)
	}
	if len(set.Skipped) != 0 {
		t.Fatalf("skipped %v", set.Skipped)
	}
	// 38 messages: ten tickets, the last with two; the two most recent not
	// closed: the ninth open with a promised reply, the tenth waiting for
	// the customer.
	if set.Rows["tickets"] != 10 || set.Rows["ticket_messages"] != 38 {
		t.Fatalf("desk rows %v", set.Rows)
	}
	var open, promised int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(promise_at) FROM tickets WHERE status <> 'closed'`).Scan(&open, &promised); err != nil ||
		open != 2 || promised != 1 {
		t.Fatalf("tickets not closed %d, promised %d (%v), want 2 and 1", open, promised, err)
	}
	mism, err := billing.New(d, clock.System()).Reconcile(ctx)
	if err != nil || len(mism) != 0 {
		t.Fatalf("reconcile: %v %v", mism, err)
	}
	var hash string
	if err := d.Read.QueryRowContext(ctx, `SELECT token_hash FROM api_tokens WHERE user_id = $1`, set.Pool[0].ID).Scan(&hash); err != nil ||
		hash != hashSecret(set.Pool[0].Token) {
		t.Fatalf("token: %s %v", hash, err)
	}
	if d.Engine == db.Postgres {
		// The tables the dataset fills are analyzed; those it leaves empty
		// are not, so the planner does not take them for empty while the
		// scenarios fill them (see analyze).
		for table, analyzed := range map[string]bool{"orders": true, "invoices": false, "idempotency_keys": false} {
			var tuples float64
			if err := d.Read.QueryRowContext(ctx, `SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname = current_schema() AND c.relname = $1`, table).Scan(&tuples); err != nil {
				t.Fatal(err)
			}
			if (tuples >= 0) != analyzed {
				t.Errorf("%s: reltuples %v, analyzed should be %v", table, tuples, analyzed)
			}
		}
	}
	if _, err := Load(ctx, d, sc, Options{}); err == nil {
		t.Fatal("a second load into the same database succeeded")
	}
}

// TestLoadDue makes a store for the scans: exactly Due tickets promised a
// moment ago and not flagged, Due within the warning window, Due promised
// later, and exactly Due subscriptions due for renewal, whatever the
// history; everything else closed or ended.
func TestLoadDue(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	sc, err := ParseScale("customers=10,orders=0,products=2,pool=1,agents=2,messages=400,subscriptions=60")
	if err != nil {
		t.Fatal(err)
	}
	set, err := Load(ctx, d, sc, Options{Seed: 5, Due: 3})
	if err != nil {
		t.Fatal(err)
	}
	now := set.Now
	var overdue, warn, later, waiting, breached, closed int
	if err := d.Read.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM tickets WHERE status = 'open' AND promise_at < $1 AND breached = FALSE),
		(SELECT COUNT(*) FROM tickets WHERE status = 'open' AND promise_at > $1 AND promise_at <= $2 AND breached = FALSE),
		(SELECT COUNT(*) FROM tickets WHERE status = 'open' AND promise_at > $2),
		(SELECT COUNT(*) FROM tickets WHERE status = 'waiting_customer' AND promise_at IS NULL),
		(SELECT COUNT(*) FROM tickets WHERE breached),
		(SELECT COUNT(*) FROM tickets WHERE status = 'closed' AND promise_at IS NULL)`,
		now, now.Add(6*time.Hour)).Scan(&overdue, &warn, &later, &waiting, &breached, &closed); err != nil {
		t.Fatal(err)
	}
	if overdue != 3 || warn != 3 || later != 3 || waiting != 3 || breached != 0 || closed != 100-12 {
		t.Fatalf("tickets: %d overdue, %d to warn, %d later, %d waiting, %d breached, %d closed", overdue, warn, later, waiting, breached, closed)
	}
	var due, live, ended int
	if err := d.Read.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM subscriptions s WHERE status IN ('active', 'trialing') AND current_period_end <= $1
			AND NOT EXISTS (SELECT 1 FROM subscription_periods p WHERE p.subscription_id = s.id AND p.period_start = s.current_period_end)),
		(SELECT COUNT(*) FROM subscriptions WHERE status = 'active'),
		(SELECT COUNT(*) FROM subscriptions WHERE status = 'canceled' AND ended_at <= $1)`, now).Scan(&due, &live, &ended); err != nil {
		t.Fatal(err)
	}
	if due != 3 || live != 6 || ended != 54 {
		t.Fatalf("subscriptions: %d due, %d live, %d ended", due, live, ended)
	}
	mism, err := billing.New(d, clock.System()).Reconcile(ctx)
	if err != nil || len(mism) != 0 {
		t.Fatalf("reconcile: %v %v", mism, err)
	}
	if _, err := Load(ctx, dbtest.Open(t), sc, Options{Due: 30}); err == nil {
		t.Fatal("30 due tickets of each kind from 100 tickets: no error")
	}
}

// BenchmarkLoad measures the loader: go test -bench Load -run X ./internal/benchdata
func BenchmarkLoad(b *testing.B) {
	sc, err := ParseScale("customers=1000,orders=20000,products=50,pool=10,agents=2,messages=0")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		d := dbtest.Open(b)
		b.StartTimer()
		set, err := Load(context.Background(), d, sc, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(set.RowsTotal())/set.Took.Seconds(), "rows/s")
	}
}
