package desk_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/desk"
)

// pausingClock is a manual clock whose next reading, once armed, waits
// until released: it holds a use case right after it read the time.
type pausingClock struct {
	*clock.Manual
	mu      sync.Mutex
	armed   bool
	reached chan struct{}
	release chan struct{}
}

func (c *pausingClock) arm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed, c.reached, c.release = true, make(chan struct{}), make(chan struct{})
}

func (c *pausingClock) Now() time.Time {
	now := c.Manual.Now()
	c.mu.Lock()
	armed := c.armed
	c.armed = false
	c.mu.Unlock()
	if armed {
		close(c.reached)
		<-c.release
	}
	return now
}

// A customer's mail and an agent's answer reach one ticket at once. The
// mail's transaction read the time, then went on threading it while the
// agent's answer took the ticket, was stamped later and committed; the
// customer's message was then stored at the earlier time, before the
// answer, as if the agent had answered it: the ticket showed open with
// nothing due, out of the deadlines, never late. The message is stamped
// once it holds the ticket, so it comes after the answer and is due.
// (SQLite runs one writer at a time, so there the mail waits for nothing
// and the two run one after the other.)
func TestCustomerMailCrossingAnAnswerStaysDue(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tk := e.contact(t, "zoe@example.net", "en")
	_, ack := e.lastOut(t, tk.ID)
	clk := &pausingClock{Manual: clock.NewManual(t0.Add(time.Hour))}
	mailDesk, err := desk.New(e.db, clk, e.outbox, desk.Options{SupportAddress: "support@shop.test", BaseURL: "http://shop.test/",
		StoreName: "Shop", Customers: e.accounts})
	if err != nil {
		t.Fatal(err)
	}
	clk.arm()
	received := make(chan error, 1)
	go func() {
		_, _, err := mailDesk.Receive(ctx, desk.InboundMessage{MessageID: "<again@example.net>", InReplyTo: ack.MessageID,
			From: mailAddr("", "zoe@example.net"), Subject: "Re", Text: "Also, the invoice is wrong."})
		received <- err
	}()
	<-clk.reached
	if e.db.Engine == db.SQLite {
		close(clk.release)
	}
	// The answer, a minute later by both clocks.
	e.clock.Set(t0.Add(time.Hour + time.Minute))
	clk.Set(t0.Add(time.Hour + time.Minute))
	if _, err := e.desk.Reply(ctx, e.agent, tk.ID, "Here is your licence."); err != nil {
		t.Fatal(err)
	}
	if e.db.Engine != db.SQLite {
		close(clk.release)
	}
	if err := <-received; err != nil {
		t.Fatal(err)
	}
	// The thread and the deadlines tell one story: the message stored
	// last is the one the ticket waits on, or the answer that settled it.
	got := e.get(t, tk.ID)
	msgs := e.thread(t, tk.ID, false)
	last := msgs[len(msgs)-1]
	if e.db.Engine != db.SQLite && last.Text != "Also, the invoice is wrong." {
		t.Errorf("the thread ends with %q, want the customer's message, stored after the answer", last.Text)
	}
	switch {
	case last.Direction == desk.DirectionIn && (got.Status != desk.StatusOpen || got.PromiseAt.IsZero()):
		t.Errorf("the customer wrote last, yet the ticket is %s with promise %v; want open with an answer due", got.Status, got.PromiseAt)
	case last.Direction == desk.DirectionOut && (got.Status != desk.StatusAnswered || !got.PromiseAt.IsZero()):
		t.Errorf("the store answered last, yet the ticket is %s with promise %v", got.Status, got.PromiseAt)
	}
}
