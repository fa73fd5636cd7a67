package sla

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDeadlines(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // a Monday
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	ev := func(d time.Duration, k EventKind) Event { return Event{At: at(d), Kind: k} }

	cs := testCalendars(t)
	paris := mustLoc(t, "Europe/Paris")
	fri17 := time.Date(2026, 11, 27, 17, 0, 0, 0, paris)
	biz := Policy{Target: 2 * h, Promise: 4 * h, Calendar: cs.biz}

	tests := []struct {
		name   string
		policy Policy
		events []Event
		now    time.Time
		want   State
	}{
		{"no events", DefaultPolicy, nil, at(0), State{}},
		{"first message", DefaultPolicy,
			[]Event{ev(0, CustomerMessage)}, at(h),
			State{Waiting: true, TargetAt: at(24 * h), PromiseAt: at(48 * h), Remaining: 47 * h}},
		{"second message before reply does not restart the clock", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(5*h, CustomerMessage)}, at(6 * h),
			State{Waiting: true, TargetAt: at(24 * h), PromiseAt: at(48 * h), Remaining: 42 * h}},
		{"events are sorted by time", DefaultPolicy,
			[]Event{ev(5*h, CustomerMessage), ev(0, CustomerMessage)}, at(6 * h),
			State{Waiting: true, TargetAt: at(24 * h), PromiseAt: at(48 * h), Remaining: 42 * h}},
		{"reply stops the clock", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(2*h, AgentReply)}, at(100 * h),
			State{}},
		{"late reply stops the clock too", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(60*h, AgentReply)}, at(100 * h),
			State{}},
		{"message after reply starts a new clock", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(2*h, AgentReply), ev(10*h, CustomerMessage)}, at(11 * h),
			State{Waiting: true, TargetAt: at(34 * h), PromiseAt: at(58 * h), Remaining: 47 * h}},
		{"agent writes first: nothing due", DefaultPolicy,
			[]Event{ev(0, AgentReply)}, at(h),
			State{}},
		{"waiting on customer pauses", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(4*h, WaitingOnCustomer)}, at(30 * h),
			State{Waiting: true, Paused: true, Remaining: 44 * h}},
		{"resumed after waiting: pause not counted", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(4*h, WaitingOnCustomer), ev(10*h, Resumed)}, at(11 * h),
			State{Waiting: true, TargetAt: at(30 * h), PromiseAt: at(54 * h), Remaining: 43 * h}},
		{"customer message resumes like Resumed", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(4*h, WaitingOnCustomer), ev(10*h, CustomerMessage)}, at(11 * h),
			State{Waiting: true, TargetAt: at(30 * h), PromiseAt: at(54 * h), Remaining: 43 * h}},
		{"two pauses add up", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(4*h, WaitingOnCustomer), ev(10*h, Resumed),
				ev(12*h, WaitingOnCustomer), ev(20*h, Resumed)}, at(21 * h),
			State{Waiting: true, TargetAt: at(38 * h), PromiseAt: at(62 * h), Remaining: 41 * h}},
		{"repeated waiting is one pause", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(4*h, WaitingOnCustomer), ev(6*h, WaitingOnCustomer), ev(10*h, Resumed)}, at(11 * h),
			State{Waiting: true, TargetAt: at(30 * h), PromiseAt: at(54 * h), Remaining: 43 * h}},
		{"breached target only", DefaultPolicy,
			[]Event{ev(0, CustomerMessage)}, at(30 * h),
			State{Waiting: true, TargetAt: at(24 * h), PromiseAt: at(48 * h), TargetBreached: true, Remaining: 18 * h}},
		{"exactly at the target is not a breach", DefaultPolicy,
			[]Event{ev(0, CustomerMessage)}, at(24 * h),
			State{Waiting: true, TargetAt: at(24 * h), PromiseAt: at(48 * h), Remaining: 24 * h}},
		{"breached promise", DefaultPolicy,
			[]Event{ev(0, CustomerMessage)}, at(50 * h),
			State{Waiting: true, TargetAt: at(24 * h), PromiseAt: at(48 * h), TargetBreached: true, PromiseBreached: true, Remaining: -2 * h}},
		{"target passed before a pause stays breached", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(30*h, WaitingOnCustomer)}, at(40 * h),
			State{Waiting: true, Paused: true, TargetAt: at(24 * h), TargetBreached: true, Remaining: 18 * h}},
		{"target passed before a pause, promise after it", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(30*h, WaitingOnCustomer), ev(40*h, Resumed)}, at(41 * h),
			State{Waiting: true, TargetAt: at(24 * h), PromiseAt: at(58 * h), TargetBreached: true, Remaining: 17 * h}},
		{"closed", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(h, Closed)}, at(100 * h),
			State{}},
		{"closed while waiting on customer", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(h, WaitingOnCustomer), ev(2*h, Closed)}, at(100 * h),
			State{}},
		{"reopened after closing: fresh clock", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(30*h, Closed), ev(50*h, CustomerMessage)}, at(51 * h),
			State{Waiting: true, TargetAt: at(74 * h), PromiseAt: at(98 * h), Remaining: 47 * h}},
		{"waiting with nothing due is not a pause", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(h, AgentReply), ev(h, WaitingOnCustomer)}, at(5 * h),
			State{}},
		{"then the customer writes: fresh clock", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(h, AgentReply), ev(h, WaitingOnCustomer), ev(5*h, Resumed)}, at(6 * h),
			State{Waiting: true, TargetAt: at(29 * h), PromiseAt: at(53 * h), Remaining: 47 * h}},
		{"events after now are ignored", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(5*h, AgentReply)}, at(h),
			State{Waiting: true, TargetAt: at(24 * h), PromiseAt: at(48 * h), Remaining: 47 * h}},
		{"same instant keeps slice order: reply then message", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(2*h, AgentReply), ev(2*h, CustomerMessage)}, at(3 * h),
			State{Waiting: true, TargetAt: at(26 * h), PromiseAt: at(50 * h), Remaining: 47 * h}},
		{"unknown kinds are ignored", DefaultPolicy,
			[]Event{ev(0, CustomerMessage), ev(h, EventKind(99))}, at(2 * h),
			State{Waiting: true, TargetAt: at(24 * h), PromiseAt: at(48 * h), Remaining: 46 * h}},

		// Business calendar (Mon–Fri 09:00–18:00 Paris), target 2h, promise 4h.
		{"business: Friday 17:00 message, seen on Saturday", biz,
			[]Event{{fri17, CustomerMessage}}, fri17.Add(19 * h),
			State{Waiting: true, TargetAt: time.Date(2026, 11, 30, 10, 0, 0, 0, paris),
				PromiseAt: time.Date(2026, 11, 30, 12, 0, 0, 0, paris), Remaining: 3 * h}},
		{"business: breached target on Monday", biz,
			[]Event{{fri17, CustomerMessage}}, time.Date(2026, 11, 30, 10, 30, 0, 0, paris),
			State{Waiting: true, TargetAt: time.Date(2026, 11, 30, 10, 0, 0, 0, paris),
				PromiseAt: time.Date(2026, 11, 30, 12, 0, 0, 0, paris), TargetBreached: true, Remaining: 90 * time.Minute}},
		{"business: paused over the weekend", biz,
			[]Event{{fri17, CustomerMessage}, {fri17.Add(30 * time.Minute), WaitingOnCustomer},
				{time.Date(2026, 11, 30, 11, 0, 0, 0, paris), Resumed}}, time.Date(2026, 11, 30, 11, 0, 0, 0, paris),
			State{Waiting: true, TargetAt: time.Date(2026, 11, 30, 12, 30, 0, 0, paris),
				PromiseAt: time.Date(2026, 11, 30, 14, 30, 0, 0, paris), Remaining: 210 * time.Minute}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.events)
			got := Deadlines(tc.policy, tc.events, tc.now)
			if !stateEqual(got, tc.want) {
				t.Fatalf("Deadlines at %v\n got %+v\nwant %+v", tc.now, got, tc.want)
			}
			for _, d := range []time.Time{got.TargetAt, got.PromiseAt} {
				if !d.IsZero() && d.Location() != time.UTC {
					t.Errorf("deadline %v is not in UTC", d)
				}
			}
			if !slices.Equal(in, tc.events) {
				t.Errorf("Deadlines modified its input")
			}
		})
	}
}

// stateEqual compares instants with Equal (not ==, which compares zones).
func stateEqual(a, b State) bool {
	return a.Waiting == b.Waiting && a.Paused == b.Paused &&
		a.TargetAt.Equal(b.TargetAt) && a.PromiseAt.Equal(b.PromiseAt) &&
		a.TargetBreached == b.TargetBreached && a.PromiseBreached == b.PromiseBreached &&
		a.Remaining == b.Remaining
}

// TestDeadlinesRemainingMatchesElapsed: while the clock runs and before the
// promise, Remaining is the counted time from now to PromiseAt.
func TestDeadlinesRemainingMatchesElapsed(t *testing.T) {
	cs := testCalendars(t)
	start := time.Date(2026, 3, 26, 15, 17, 0, 0, time.UTC)
	for _, c := range []*Calendar{nil, cs.biz, cs.lunch, cs.night, cs.ny} {
		p := Policy{Target: 24 * h, Promise: 48 * h, Calendar: c}
		events := []Event{{start, CustomerMessage}}
		for now := start; now.Before(start.Add(30 * 24 * h)); now = now.Add(7 * h) {
			s := Deadlines(p, events, now)
			if !s.Waiting || s.Paused {
				t.Fatalf("state %+v", s)
			}
			if now.Before(s.PromiseAt) {
				if e := Elapsed(c, now, s.PromiseAt); e != s.Remaining {
					t.Fatalf("at %v: Remaining %v, Elapsed to promise %v", now, s.Remaining, e)
				}
			}
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy.Validate(); err != nil {
		t.Errorf("DefaultPolicy: %v", err)
	}
	if DefaultPolicy.Target != 24*h || DefaultPolicy.Promise != 48*h || DefaultPolicy.Calendar != nil {
		t.Errorf("DefaultPolicy = %+v", DefaultPolicy)
	}
	for _, tc := range []struct {
		p    Policy
		want string
	}{
		{Policy{Target: 0, Promise: h}, "sla: policy target"},
		{Policy{Target: 2 * h, Promise: h}, "sla: policy promise"},
		{Policy{Target: h, Promise: h, Calendar: &Calendar{}}, "sla: policy: sla: calendar hours"},
	} {
		if err := tc.p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.p, err, tc.want)
		}
	}
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[EventKind]string{
		CustomerMessage: "customer_message", AgentReply: "agent_reply", WaitingOnCustomer: "waiting_on_customer",
		Resumed: "resumed", Closed: "closed", 0: "EventKind(0)", 42: "EventKind(42)",
	} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(k), got, want)
		}
	}
}
