package sla

import (
	"fmt"
	"slices"
	"time"
)

// Policy is a store's SLA: a reply is due Target of counted time after the
// customer wrote (the goal), and Promise at the latest (what we commit to).
// Time is counted on Calendar: wall-clock time when it is nil, business
// time otherwise.
type Policy struct {
	Target, Promise time.Duration
	Calendar        *Calendar
}

// DefaultPolicy is the SLA of a store that configured nothing: first
// response within 24 hours, 48 at the latest, in wall-clock hours.
var DefaultPolicy = Policy{Target: 24 * time.Hour, Promise: 48 * time.Hour}

// Validate reports whether p makes sense: positive Target, Promise not
// before Target, valid Calendar.
func (p Policy) Validate() error {
	if p.Target <= 0 {
		return fmt.Errorf("sla: policy target %v: must be positive", p.Target)
	}
	if p.Promise < p.Target {
		return fmt.Errorf("sla: policy promise %v: must not be shorter than the target %v", p.Promise, p.Target)
	}
	if err := p.Calendar.Validate(); err != nil {
		return fmt.Errorf("sla: policy: %w", err)
	}
	return nil
}

// EventKind is what happened on a ticket, as far as the SLA clock cares.
type EventKind int

const (
	// CustomerMessage: the customer wrote. Starts the clock for a reply if
	// none is due; if one is already due it does not restart it (the
	// earliest unanswered message counts), but it does resume a paused
	// clock.
	CustomerMessage EventKind = iota + 1
	// AgentReply: an agent answered. Stops the clock: nothing is due until
	// the next customer message.
	AgentReply
	// WaitingOnCustomer: the ticket waits on the customer (we asked a
	// question). Pauses the clock; the time until the next customer message
	// is not counted.
	WaitingOnCustomer
	// Resumed: the customer replied while the ticket was waiting on them.
	// Exactly the same as CustomerMessage.
	Resumed
	// Closed: the ticket was closed. Nothing is due; a later customer message
	// reopens it and starts a fresh clock.
	Closed
)

var kindNames = [...]string{
	CustomerMessage:   "customer_message",
	AgentReply:        "agent_reply",
	WaitingOnCustomer: "waiting_on_customer",
	Resumed:           "resumed",
	Closed:            "closed",
}

// String returns the snake_case name of k ("customer_message"), suitable for
// storage.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one thing that happened on a ticket at an instant.
type Event struct {
	At   time.Time
	Kind EventKind
}

// State is where a ticket's SLA clock stands at an instant.
type State struct {
	// Waiting: a reply is due (the clock is running, or paused).
	Waiting bool
	// Paused: a reply is due but the ticket waits on the customer, so the
	// clock is stopped.
	Paused bool
	// TargetAt and PromiseAt are the deadlines of the reply that is due, in
	// UTC. While the clock is paused they are unknown and zero, except a
	// deadline that had already passed before the pause, which keeps its
	// instant. Both are zero when nothing is due.
	TargetAt, PromiseAt time.Time
	// TargetBreached and PromiseBreached: the deadline is set and now is
	// after it (a reply exactly at the deadline is in time).
	TargetBreached, PromiseBreached bool
	// Remaining is the counted time left until the promise (business time
	// under a calendar). It is negative once the promise is breached (by how
	// much counted time it is overdue), frozen while paused, and zero when
	// nothing is due.
	Remaining time.Duration
}

// Deadlines runs a ticket's events through the SLA rules and returns the
// state of its clock at now.
//
// Rules:
//  1. Events are taken in order of At; events at the same instant keep their
//     order in the slice. Events after now are ignored: the state at now
//     depends only on what had happened by then.
//  2. The clock for a reply starts at the first customer message
//     (CustomerMessage or Resumed) after the last agent reply (or ever).
//  3. Further customer messages before a reply do not restart it: the
//     earliest unanswered message counts.
//  4. WaitingOnCustomer pauses the clock; the next customer message resumes
//     it. The time in between is not counted, and the counted time already
//     spent is kept, so the deadlines move later by the pause.
//  5. AgentReply stops the clock: after it nothing is due.
//  6. Closed also stops the clock; a customer message afterwards starts a
//     fresh one (rule 2).
//  7. Counted time is wall-clock time, or business time when p.Calendar is
//     set (see Add): the deadlines are p.Target and p.Promise of counted
//     time after the clock started, not counting pauses.
//  8. A deadline is breached when now is after it. A deadline passed before
//     a pause stays passed (and breached) during the pause.
//  9. Unknown kinds are ignored.
func Deadlines(p Policy, events []Event, now time.Time) State {
	evs := slices.Clone(events)
	slices.SortStableFunc(evs, func(a, b Event) int { return a.At.Compare(b.At) })

	c := p.Calendar
	var (
		due       bool          // a reply is owed (rules 2, 5, 6)
		running   bool          // due and not paused (rule 4)
		segStart  time.Time     // when the current running stretch began
		consumed  time.Duration // counted time of the finished stretches
		targetAt  time.Time     // set once known to be reached (rule 8)
		promiseAt time.Time
	)
	// stop ends the running stretch at at, recording the deadlines that fell
	// within it, and adds its counted time to consumed.
	stop := func(at time.Time) {
		if !running {
			return
		}
		if targetAt.IsZero() {
			if t := Add(c, segStart, p.Target-consumed); !t.After(at) {
				targetAt = t
			}
		}
		if promiseAt.IsZero() {
			if t := Add(c, segStart, p.Promise-consumed); !t.After(at) {
				promiseAt = t
			}
		}
		consumed += Elapsed(c, segStart, at)
		running = false
	}
	reset := func() {
		due, running, consumed = false, false, 0
		targetAt, promiseAt = time.Time{}, time.Time{}
	}

	for _, e := range evs {
		if e.At.After(now) {
			break // rule 1
		}
		switch e.Kind {
		case CustomerMessage, Resumed:
			if !due { // rule 2: a fresh clock
				reset()
				due = true
			}
			if !running { // rule 2 starts it, rule 4 resumes it; rule 3 otherwise
				running = true
				segStart = e.At
			}
		case WaitingOnCustomer: // rule 4
			stop(e.At)
		case AgentReply, Closed: // rules 5, 6
			stop(e.At)
			reset()
		}
	}

	if !due {
		return State{}
	}
	counted := consumed
	if running {
		if targetAt.IsZero() {
			targetAt = Add(c, segStart, p.Target-consumed)
		}
		if promiseAt.IsZero() {
			promiseAt = Add(c, segStart, p.Promise-consumed)
		}
		counted += Elapsed(c, segStart, now)
	}
	return State{
		Waiting:         true,
		Paused:          !running,
		TargetAt:        targetAt,
		PromiseAt:       promiseAt,
		TargetBreached:  !targetAt.IsZero() && now.After(targetAt),
		PromiseBreached: !promiseAt.IsZero() && now.After(promiseAt),
		Remaining:       p.Promise - counted,
	}
}
