package desk_test

import (
	"context"
	"testing"
	"time"

	"comptoir/internal/desk"
)

// MarkBreaches flags a late ticket once: the runs after it (every minute in
// production) neither flag it nor audit it again while it stays late, and
// flag only the tickets newly late. A ticket whose breach was cleared (the
// reply was sent) and that is late again on a new promise is flagged anew.
func TestMarkBreachesFlagsEachLateTicketOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	a, err := e.desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: e.customer.ID, Name: "Zoé", Email: "zoe@example.net",
		Topic: desk.TopicQuestion, Message: "Bonjour", Lang: "fr"}) // promise t0+48h
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	b := e.contact(t, "b@example.net", "en") // promise t0+49h
	audited := func(id string) int {
		t.Helper()
		var n int
		if err := e.db.Read.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND action = 'ticket.breached'`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	mark := func(at time.Time, want int) {
		t.Helper()
		e.clock.Set(at)
		if n, err := e.desk.MarkBreaches(ctx, at); err != nil || n != want {
			t.Fatalf("MarkBreaches at t0+%s = %d, %v; want %d", at.Sub(t0), n, err, want)
		}
	}
	check := func(aFlags, bFlags int) {
		t.Helper()
		if got := audited(a.ID); got != aFlags {
			t.Errorf("a audited late %d times, want %d", got, aFlags)
		}
		if got := audited(b.ID); got != bFlags {
			t.Errorf("b audited late %d times, want %d", got, bFlags)
		}
	}

	mark(t0.Add(48*time.Hour+time.Minute), 1) // a only
	check(1, 0)
	mark(t0.Add(48*time.Hour+2*time.Minute), 0) // a stays late: not again
	check(1, 0)
	mark(t0.Add(49*time.Hour+time.Minute), 1) // b newly late, a not again
	check(1, 1)
	for i := range 3 {
		mark(t0.Add(49*time.Hour+time.Duration(2+i)*time.Minute), 0)
	}
	check(1, 1)
	if !e.get(t, a.ID).Breached || !e.get(t, b.ID).Breached {
		t.Fatal("late tickets not flagged")
	}

	// Answered, a leaves the late ones; the customer writes again and the
	// new promise passes too: that is a new breach, flagged once.
	if _, err := e.desk.Reply(ctx, e.agent, a.ID, "Sorry for the wait."); err != nil {
		t.Fatal(err)
	}
	if e.get(t, a.ID).Breached {
		t.Fatal("answering left the breach flag")
	}
	mark(e.clock.Now().Add(time.Minute), 0)
	again, err := e.desk.ReplyAsCustomer(ctx, e.customer.ID, a.ID, "Still nothing.", nil)
	if err != nil || again.PromiseAt.IsZero() {
		t.Fatalf("customer reply: %+v, %v", again, err)
	}
	mark(again.PromiseAt.Add(time.Minute), 1)
	check(2, 1)
	mark(again.PromiseAt.Add(2*time.Minute), 0)
	check(2, 1)
}

// A promise that passes between two scans is a breach even when the ticket
// moves before the next scan: an agent answers 30 seconds late, or the
// customer writes again late (the deadlines are recomputed then). Each such
// breach is audited exactly once, by whichever comes first, and the scans
// after it add nothing.
func TestBreachBetweenScansIsCountedOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	audited := func(id string) int {
		t.Helper()
		var n int
		if err := e.db.Read.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND action = 'ticket.breached'`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	scan := func() {
		t.Helper()
		if _, err := e.desk.MarkBreaches(ctx, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}

	// Answered late, before any scan saw it.
	answered := e.contact(t, "late@example.net", "en")
	e.clock.Set(answered.PromiseAt.Add(30 * time.Second))
	if _, err := e.desk.Reply(ctx, e.agent, answered.ID, "Sorry for the wait."); err != nil {
		t.Fatal(err)
	}
	scan()
	if got := audited(answered.ID); got != 1 {
		t.Errorf("late answer: breach audited %d times, want 1", got)
	}

	// The customer writes again after the promise, before any scan: the
	// ticket is flagged late by the recomputation, and audited once.
	tk, err := e.desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: e.customer.ID, Name: "Zoé", Email: "zoe@example.net",
		Topic: desk.TopicQuestion, Message: "Bonjour", Lang: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(tk.PromiseAt.Add(time.Minute / 2))
	again, err := e.desk.ReplyAsCustomer(ctx, e.customer.ID, tk.ID, "Still nothing?", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Breached {
		t.Fatalf("customer wrote after the promise: %+v", again)
	}
	for range 2 {
		scan()
	}
	if got := audited(tk.ID); got != 1 {
		t.Errorf("late ticket the customer wrote on: breach audited %d times, want 1", got)
	}
	// Answered at last: still the one breach.
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Voici."); err != nil {
		t.Fatal(err)
	}
	scan()
	if got := audited(tk.ID); got != 1 {
		t.Errorf("after the late answer: breach audited %d times, want 1", got)
	}
}
