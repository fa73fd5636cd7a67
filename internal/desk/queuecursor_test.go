package desk_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"comptoir/internal/desk"
)

// A page of the queue ends on a ticket; an agent answers that ticket
// before the next page is asked for. The next page starts where the first
// ended, not where that ticket went: read from its new place (nothing
// due, at the end of the queue) it skipped every ticket still due.
func TestQueueNextPageSurvivesItsCursorTicketChanging(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	var due []string
	for i, email := range []string{"a@example.net", "b@example.net", "c@example.net", "d@example.net"} {
		e.clock.Set(t0.Add(time.Duration(i) * time.Hour))
		due = append(due, e.contact(t, email, "en").ID)
	}
	first, err := e.desk.Queue(ctx, desk.QueueFilter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first[0].ID != due[0] || first[1].ID != due[1] {
		t.Fatalf("first page %v, want %v", first, due[:2])
	}
	cursor := desk.QueueCursor(first[1])
	if _, err := e.desk.Reply(ctx, e.agent, first[1].ID, "Here it is."); err != nil {
		t.Fatal(err)
	}
	next, err := e.desk.Queue(ctx, desk.QueueFilter{Limit: 2, After: cursor})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range next {
		got = append(got, tk.ID)
	}
	if !slices.Equal(got, due[2:]) {
		t.Errorf("next page %v, want the tickets still due after the cursor %v", got, due[2:])
	}
	// A cursor of a ticket with nothing due goes on with those tickets.
	ans := e.get(t, due[1])
	rest, err := e.desk.Queue(ctx, desk.QueueFilter{After: desk.QueueCursor(ans)})
	if err != nil || len(rest) != 0 {
		t.Errorf("after the last ticket with nothing due: %v, %v", rest, err)
	}
	for _, bad := range []string{"garbage", due[0] + "~x", due[0] + "~1.", "tkt_~1.0", due[0] + "~1.1000000000"} {
		if _, err := e.desk.Queue(ctx, desk.QueueFilter{After: bad}); desk.Code(err) != "not_found" {
			t.Errorf("cursor %q: %v, want not_found", bad, err)
		}
	}
}
