package web_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/desk"
)

// The agents' home counts what waits for the team: the open tickets, those
// waiting for our answer, the agent's own, the unassigned and the late
// ones, the open claims and the open card disputes still waiting for our
// evidence, each beside the list it counts, in the agent's language. Each
// ticket count is what its queue filter lists. Before, the page said the
// queue "will appear here" and counted nothing.
func TestConsoleHomeCountsTheWorkWaiting(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	agent, c := h.User(t, account.RoleAgent, "agent@example.fr")
	other, _ := h.User(t, account.RoleAgent, "autre@example.fr")
	u, customer := h.User(t, account.RoleCustomer, "ana@example.fr")

	// Three tickets left past their promise: one the agent's, one nobody's,
	// and another agent's, answered late: the customer's turn, no longer
	// late.
	old := openQueue(t, h, 3)
	if _, err := h.App.Desk.Assign(ctx, agent.Actor(), old[0].ID, agent.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Desk.Assign(ctx, other.Actor(), old[1].ID, other.ID); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(49 * time.Hour)
	if _, err := h.App.Desk.MarkBreaches(ctx, h.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Desk.Reply(ctx, other.Actor(), old[1].ID, "We are on it."); err != nil {
		t.Fatal(err)
	}
	// A new one, in time, and a closed one, which counts nowhere.
	if _, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{Name: "N", Email: "new@example.fr", Topic: "question", Message: "Hi"}); err != nil {
		t.Fatal(err)
	}
	closed, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{Name: "C", Email: "done@example.fr", Topic: "question", Message: "Hi"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Desk.Close(ctx, agent.Actor(), closed.ID); err != nil {
		t.Fatal(err)
	}
	o, _ := fileWaitingClaim(t, h, u, customer)
	authzDispute(t, h, u.ID, o.ID)

	w, err := h.App.Desk.Workload(ctx, agent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if w != (desk.Workload{Open: 4, Awaiting: 3, Mine: 1, Unassigned: 2, Breached: 2}) {
		t.Fatalf("workload %+v", w)
	}
	for filter, want := range map[string]int{"": w.Open, "mine": w.Mine, "unassigned": w.Unassigned, "breached": w.Breached} {
		f := desk.QueueFilter{AssigneeID: map[bool]string{true: agent.ID}[filter == "mine"], Unassigned: filter == "unassigned", BreachedOnly: filter == "breached"}
		if listed, err := h.App.Desk.Queue(ctx, f); err != nil || len(listed) != want {
			t.Errorf("filter %q lists %d tickets (%v), the home counts %d", filter, len(listed), err, want)
		}
	}

	c.PostForm("/lang", url.Values{"lang": {"en"}})
	mustContain(t, c.Get("/console"), `href="/console/tickets"`, `<span id="console-open">4 open tickets</span>`,
		`<span id="console-awaiting">3 wait for our answer</span>`,
		`<a href="/console/tickets?filter=mine" id="console-mine">1 assigned to you</a>`,
		`<a href="/console/tickets?filter=unassigned" id="console-unassigned">2 unassigned</a>`,
		`<a href="/console/tickets?filter=breached" id="console-breached">2 past the promised answer time</a>`,
		`href="/console/claims"`, `<span id="console-claims-open">1 open claim</span>`,
		`href="/console/disputes"`, `<span id="console-disputes-open">1 open dispute</span>`,
		`id="console-disputes-unanswered">1 still waits for our evidence</span>`)
	c.PostForm("/lang", url.Values{"lang": {"fr"}})
	mustContain(t, c.Get("/console"), `<span id="console-open">4 tickets ouverts</span>`,
		`<span id="console-awaiting">3 attendent notre réponse</span>`, `id="console-mine">1 vous est attribué</a>`,
		`id="console-unassigned">2 non attribués</a>`, `id="console-breached">2 ont dépassé le délai de réponse promis</a>`,
		`<span id="console-claims-open">1 réclamation ouverte</span>`, `<span id="console-disputes-open">1 contestation ouverte</span>`,
		`id="console-disputes-unanswered">1 attend encore nos justificatifs</span>`)
	// An empty desk reads as such, not as an error.
	empty := apptest.Start(t)
	_, ec := empty.User(t, account.RoleAgent, "agent@example.fr")
	ec.PostForm("/lang", url.Values{"lang": {"en"}})
	mustContain(t, ec.Get("/console"), `<span id="console-open">0 open tickets</span>`, `id="console-breached">0 past the promised answer time</a>`,
		`<span id="console-claims-open">0 open claims</span>`, `<span id="console-disputes-open">0 open disputes</span>`)
}
