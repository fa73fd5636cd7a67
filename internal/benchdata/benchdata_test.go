package benchdata

import (
	"context"
	"testing"
	"time"

	"comptoir/internal/billing"
	"comptoir/internal/clock"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/id"
)

func TestParseScale(t *testing.T) {
	sc, err := ParseScale("small")
	if err != nil || sc.Customers != 10_000 || sc.Orders != 100_000 {
		t.Fatalf("small: %+v %v", sc, err)
	}
	sc, err = ParseScale("customers=20, orders=1_000,pool=50")
	if err != nil || sc.Customers != 20 || sc.Orders != 1000 || sc.Pool != 20 || sc.Name != "custom" {
		t.Fatalf("custom: %+v %v", sc, err)
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
	sc, err := ParseScale("customers=40,orders=400,products=7,pool=5,agents=2,messages=38")
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
	if set.Rows["orders"] != 400 || set.Rows["order_consents"] != 400 || set.Rows["users"] != 43 ||
		set.Rows["balance_entries"] != 440 || set.Rows["order_lines"] < 400 {
		t.Fatalf("rows %v", set.Rows)
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
	if _, err := Load(ctx, d, sc, Options{}); err == nil {
		t.Fatal("a second load into the same database succeeded")
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
