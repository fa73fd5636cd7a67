package desk_test

import (
	"context"
	"testing"
	"time"

	"comptoir/internal/desk"
)

// The desk's default SLA pauses while the store waits on the customer,
// as the one the application configures does: the 10 hours counted before
// the wait stay counted when the customer writes again. It started a full
// 48 hours afresh, so a ticket's promise depended on which was in use.
func TestDefaultDeadlinesResumeAfterAWait(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "zoe@example.net", "en")
	e.clock.Set(t0.Add(10 * time.Hour))
	if _, err := e.desk.WaitOnCustomer(ctx, e.agent, tk.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(t0.Add(30 * time.Hour))
	got, _, err := e.desk.Receive(ctx, desk.InboundMessage{MessageID: "<w@example.net>", From: mailAddr("", "zoe@example.net"),
		Subject: "[#" + tk.Reference + "] here it is", Text: "the screenshot"})
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(30*time.Hour + 38*time.Hour); !got.PromiseAt.Equal(want) || !got.TargetAt.Equal(t0.Add(30*time.Hour+14*time.Hour)) {
		t.Errorf("after a 20-hour wait: target %v, promise %v; want %v, %v", got.TargetAt, got.PromiseAt, t0.Add(44*time.Hour), want)
	}
}
