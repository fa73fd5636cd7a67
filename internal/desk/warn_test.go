package desk_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/desk"
)

// warnings lists the recipients of the SLA warnings queued so far.
func (e *env) warnings(t *testing.T) []string {
	t.Helper()
	rows, err := e.db.Read.Query(`SELECT to_addr FROM outgoing_mail WHERE kind = 'ticket_sla_warning' ORDER BY created_at, id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var to string
		if err := rows.Scan(&to); err != nil {
			t.Fatal(err)
		}
		out = append(out, to)
	}
	return out
}

func TestSLAWarningOncePerDeadline(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "guest@example.com", "en") // promise t0+48h: warning due at t0+42h
	if !tk.PromiseAt.Equal(t0.Add(48 * time.Hour)) {
		t.Fatalf("promise %v", tk.PromiseAt)
	}
	scan := func(now time.Time) int {
		t.Helper()
		e.clock.Set(now)
		n, err := e.desk.WarnDeadlines(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	if n := scan(t0.Add(42*time.Hour - time.Minute)); n != 0 || len(e.warnings(t)) != 0 {
		t.Fatalf("warned %d before the warning time: %v", n, e.warnings(t))
	}
	// Two scans at once, then a third: one warning, to the only agent
	// (the ticket is unassigned; agent2 is an admin).
	now := t0.Add(42*time.Hour + time.Minute)
	e.clock.Set(now)
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := e.desk.WarnDeadlines(ctx, now)
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	if counts[0]+counts[1] != 1 {
		t.Fatalf("concurrent scans warned %v times", counts)
	}
	if n := scan(now.Add(time.Minute)); n != 0 {
		t.Fatalf("second scan warned %d", n)
	}
	if got := e.warnings(t); !slices.Equal(got, []string{"agent@shop.test"}) {
		t.Fatalf("warnings to %v", got)
	}
	m, err := e.outbox.GetByMessageID(ctx, mustMessageID(t, e))
	if err != nil {
		t.Fatal(err)
	}
	contains(t, "warning", m.Subject+"\n"+m.Text, tk.Reference, "assigned to nobody", "http://shop.test/console/tickets/"+tk.ID,
		"10 March 2026 at 10:00 UTC")
	// The agent's account has no name: the greeting does without one.
	if !strings.HasPrefix(m.Text, "Hello,\n") {
		t.Errorf("warning to an agent without a name greets them as:\n%s", m.Text)
	}

	// Past the promise: the breach scan's business, no warning.
	if n := scan(t0.Add(49 * time.Hour)); n != 0 {
		t.Fatalf("warned %d after the promise", n)
	}

	// An answer, then the customer writes again: a new deadline (t0+50h+48h),
	// a new warning, to the assignee alone.
	if _, err := e.desk.Assign(ctx, e.agent, tk.ID, e.agent2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Here it is."); err != nil {
		t.Fatal(err)
	}
	_, out := e.lastOut(t, tk.ID)
	e.clock.Set(t0.Add(50 * time.Hour))
	if _, _, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<again@example.com>", InReplyTo: out.MessageID,
		From: mailAddr("", "guest@example.com"), Subject: "Re", Text: "Still broken."}); err != nil {
		t.Fatal(err)
	}
	tk = e.get(t, tk.ID)
	if !tk.PromiseAt.Equal(t0.Add(98 * time.Hour)) {
		t.Fatalf("new promise %v", tk.PromiseAt)
	}
	if n := scan(t0.Add(91 * time.Hour)); n != 0 {
		t.Fatalf("warned %d before the new warning time", n)
	}
	if n := scan(t0.Add(93 * time.Hour)); n != 1 {
		t.Fatalf("new deadline warned %d times", n)
	}
	if n := scan(t0.Add(94 * time.Hour)); n != 0 {
		t.Fatalf("new deadline warned again: %d", n)
	}
	if got := e.warnings(t); !slices.Equal(got, []string{"agent@shop.test", "agent2@shop.test"}) {
		t.Fatalf("warnings to %v", got)
	}
	var rows int
	if err := e.db.Read.QueryRow(`SELECT COUNT(*) FROM ticket_sla_warnings WHERE ticket_id = $1`, tk.ID).Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("%d warning rows, %v", rows, err)
	}
}

// mustMessageID is the Message-ID of the first SLA warning queued.
func mustMessageID(t *testing.T, e *env) string {
	t.Helper()
	var id string
	if err := e.db.Read.QueryRow(`SELECT message_id FROM outgoing_mail WHERE kind = 'ticket_sla_warning' ORDER BY created_at, id LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSLAWarningSkipsAnsweredTickets(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "guest@example.com", "en")
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Done."); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(43 * time.Hour)
	e.clock.Set(now)
	if n, err := e.desk.WarnDeadlines(ctx, now); err != nil || n != 0 {
		t.Fatalf("answered ticket warned %d, %v", n, err)
	}
}
