package subscriptions_test

import (
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/subscriptions"
)

// TestDueWorkCountedOnceWhenItsTransactionIsRunAgain: PostgreSQL aborts
// the transaction scheduling two renewals due (as the loser of a deadlock)
// at its second job, once it has counted the first, and db.Tx runs it
// again; then the same for two payment retries due. Each scan reports the
// jobs there are: without the resets at the start of the run, the rerun
// added its count to the aborted run's (3 for 2).
func TestDueWorkCountedOnceWhenItsTransactionIsRunAgain(t *testing.T) {
	if dbtest.Engine() != db.Postgres {
		t.Skip("SQLite never runs a transaction again")
	}
	e := setup(t, envOpts{})
	plan := e.plan(t, subscriptions.IntervalMonth, 990, 0)
	var subs []subscriptions.Subscription
	for range 2 {
		// The first month paid from the balance, which is then empty.
		u := e.customer(t, "fr", "FR", account.CustomerConsumer, 990)
		subs = append(subs, e.start(t, start(u, plan, subscriptions.PayBalance)))
	}
	due := subs[0].CurrentPeriodEnd
	if !subs[1].CurrentPeriodEnd.Equal(due) {
		t.Fatalf("periods end %s and %s", due, subs[1].CurrentPeriodEnd)
	}
	e.clock.Set(due.Add(time.Minute))

	dbtest.ConflictOnInsert(t, e.db, "river_job", 2)
	n, err := e.subs.RenewDue(ctx, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if runs := e.db.ConflictsRetried(); runs != 1 {
		t.Fatalf("%d runs aborted and run again, want 1: the test's conflict missed", runs)
	}
	if jobs := e.jobCount(t, "subscriptions.renew"); n != 2 || jobs != 2 {
		t.Fatalf("RenewDue reported %d renewals scheduled; %d renewal jobs, want 2 and 2", n, jobs)
	}

	// Both renewals fail on the empty balances: a retry each, due at the
	// same time.
	for _, sub := range subs {
		e.renew(t, sub.ID)
	}
	ps := e.periods(t, subs[0].ID)
	next := ps[len(ps)-1].NextAttemptAt
	if next.IsZero() {
		t.Fatalf("no retry planned: %+v", ps[len(ps)-1])
	}
	e.clock.Set(next.Add(time.Minute))
	dbtest.ConflictOnInsert(t, e.db, "river_job", 2)
	n, err = e.subs.RetryDue(ctx, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if runs := e.db.ConflictsRetried(); runs != 2 {
		t.Fatalf("%d runs aborted and run again, want 2: the test's conflict missed", runs)
	}
	if jobs := e.jobCount(t, "subscriptions.retry"); n != 2 || jobs != 2 {
		t.Fatalf("RetryDue reported %d retries scheduled; %d retry jobs, want 2 and 2", n, jobs)
	}
}
