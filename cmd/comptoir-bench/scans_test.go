package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"comptoir/internal/benchdata"
	"comptoir/internal/db/dbtest"
)

func TestScanScales(t *testing.T) {
	for _, name := range []string{"tiny", "full"} {
		sc, _ := benchdata.ParseScale(name)
		small, large := scanScales(sc)
		if large.Messages < sc.Messages || large.Subscriptions < sc.Subscriptions || small.Orders != 0 || large.Orders != 0 ||
			small.Customers != large.Customers || small.Agents != large.Agents {
			t.Errorf("%s: small %+v large %+v", name, small, large)
		}
		// The history differs by a large factor; the due set fits both.
		if large.Messages < 20*small.Messages || large.Subscriptions < 20*small.Subscriptions ||
			small.Messages < 16*scanDue || small.Subscriptions < 2*scanDue {
			t.Errorf("%s: small %+v large %+v", name, small, large)
		}
	}
}

// TestScanScenarios times both scans, for a moment, on two real stores of
// the test engine: every round acts on exactly the due set (a round that
// does not is an error, and there is none), each round's effects are undone
// so the next finds the same work, and the row gets its ratio and per-call
// numbers.
func TestScanScenarios(t *testing.T) {
	ctx := context.Background()
	pair := &scanPair{}
	for _, spec := range []struct {
		st    **scanStore
		scale string
	}{
		{&pair.small, "customers=20,orders=0,products=2,pool=1,agents=2,messages=160,subscriptions=20"},
		{&pair.large, "customers=20,orders=0,products=2,pool=1,agents=2,messages=1600,subscriptions=200"},
	} {
		sc, err := benchdata.ParseScale(spec.scale)
		if err != nil {
			t.Fatal(err)
		}
		sc.Name = "scan-" + map[bool]string{true: "small", false: "large"}[spec.st == &pair.small]
		if *spec.st, err = newScanStore(ctx, dbtest.Open(t), sc, 1); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{ctx: ctx, engine: "test", openScans: func() (*scanPair, error) { return pair, nil }}
	lim := limits{Duration: 300 * time.Millisecond, Warmup: 0, MaxRequests: 8, Concurrency: 16}
	for _, sc := range []scenario{slaScan(), renewalScan()} {
		s, err := sc.Run(e, lim)
		if err != nil {
			t.Fatalf("%s: %v", sc.Name, err)
		}
		var r Row
		s.Fill(&r)
		sc.Target.Judge(&r)
		if s.Errors != 0 || len(s.Latencies) < 5 || r.Ratio <= 0 || r.Concurrency != 1 || !strings.Contains(r.Note, "large history (400 tickets, 200 subscriptions") {
			t.Fatalf("%s: %+v (%s)", sc.Name, r, s.FirstError)
		}
		t.Logf("%s: %s", sc.Name, r.Note)
	}
	for _, st := range []*scanStore{pair.small, pair.large} {
		// The work was done, round after round (warm-up included): a flag
		// and at least one email per due ticket...
		var flagged, warned, renewals, left, warnings int
		if err := st.d.Read.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.breached'),
			(SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'ticket_sla_warning'),
			(SELECT COUNT(*) FROM river_job WHERE kind = 'subscriptions.renew'),
			(SELECT COUNT(*) FROM tickets WHERE breached = FALSE AND promise_at < $1),
			(SELECT COUNT(*) FROM ticket_sla_warnings)`, st.set.Now).Scan(&flagged, &warned, &renewals, &left, &warnings); err != nil {
			t.Fatal(err)
		}
		// ...and undone: the due set is whole again, nothing left queued.
		if flagged < 5*scanDue || flagged%scanDue != 0 || warned < flagged || renewals != 0 || left != scanDue || warnings != 0 {
			t.Errorf("%s store: %d flagged, %d warnings mailed, %d renewals queued, %d overdue unflagged, %d warning rows",
				st.label, flagged, warned, renewals, left, warnings)
		}
	}
}
