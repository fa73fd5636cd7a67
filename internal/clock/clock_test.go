package clock

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// paris is a fixed +01:00 zone, so the tests do not depend on the tz database.
var paris = time.FixedZone("CET", 3600)

func checkShape(t *testing.T, got time.Time) {
	t.Helper()
	if got.Location() != time.UTC {
		t.Errorf("location = %v, want UTC", got.Location())
	}
	if got.Nanosecond()%1000 != 0 {
		t.Errorf("%v has sub-microsecond nanoseconds %d", got, got.Nanosecond())
	}
	// A monotonic reading shows up in String() as "m=+…".
	if strings.Contains(got.String(), " m=") {
		t.Errorf("%v still carries a monotonic clock reading", got)
	}
}

func TestSystem(t *testing.T) {
	c := System()
	before := time.Now().Add(-time.Microsecond)
	got := c.Now()
	after := time.Now()
	checkShape(t, got)
	if got.Before(before) || got.After(after) {
		t.Errorf("System().Now() = %v, not between %v and %v", got, before, after)
	}
	// Two reads never go backwards (wall clock permitting; enough on a test box).
	if next := c.Now(); next.Before(got) {
		t.Errorf("second read %v before first %v", next, got)
	}
}

func TestNewManual(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{
			name: "UTC whole microseconds kept as is",
			in:   time.Date(2026, 3, 8, 10, 0, 0, 123456000, time.UTC),
			want: time.Date(2026, 3, 8, 10, 0, 0, 123456000, time.UTC),
		},
		{
			name: "nanoseconds truncated, not rounded",
			in:   time.Date(2026, 3, 8, 10, 0, 0, 123456999, time.UTC),
			want: time.Date(2026, 3, 8, 10, 0, 0, 123456000, time.UTC),
		},
		{
			name: "other zone converted to UTC",
			in:   time.Date(2026, 3, 8, 11, 0, 0, 0, paris),
			want: time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC),
		},
		{
			name: "zone and truncation together across midnight",
			in:   time.Date(2026, 1, 1, 0, 30, 0, 999, paris),
			want: time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC),
		},
		{
			name: "zero time",
			in:   time.Time{},
			want: time.Time{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewManual(tt.in).Now()
			checkShape(t, got)
			if !got.Equal(tt.want) {
				t.Errorf("Now() = %v, want %v", got, tt.want)
			}
			// Same instant, same zone: == holds too, which is what a
			// value read back from the database is compared with.
			if got != tt.want {
				t.Errorf("Now() = %#v, want == %#v", got, tt.want)
			}
		})
	}
}

func TestManualNowIsStable(t *testing.T) {
	m := NewManual(time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC))
	a, b := m.Now(), m.Now()
	if a != b {
		t.Errorf("a manual clock moved on its own: %v then %v", a, b)
	}
}

func TestManualSet(t *testing.T) {
	start := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		set  time.Time
		want time.Time
	}{
		{"forward", start.Add(48 * time.Hour), start.Add(48 * time.Hour)},
		{"backward", start.Add(-time.Hour), start.Add(-time.Hour)},
		{"zone", time.Date(2026, 6, 1, 12, 0, 0, 0, paris), time.Date(2026, 6, 1, 11, 0, 0, 0, time.UTC)},
		{"truncated", start.Add(1500 * time.Nanosecond), start.Add(time.Microsecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewManual(start)
			m.Set(tt.set)
			got := m.Now()
			checkShape(t, got)
			if got != tt.want {
				t.Errorf("after Set(%v): Now() = %v, want %v", tt.set, got, tt.want)
			}
		})
	}
}

func TestManualAdvance(t *testing.T) {
	start := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		steps []time.Duration
		want  time.Time
	}{
		{"none", nil, start},
		{"one day", []time.Duration{24 * time.Hour}, start.Add(24 * time.Hour)},
		{"backwards", []time.Duration{-time.Minute}, start.Add(-time.Minute)},
		{"several", []time.Duration{time.Hour, 30 * time.Minute, -15 * time.Minute}, start.Add(75 * time.Minute)},
		// Sub-microsecond steps accumulate: truncation happens on
		// reading, not on each step.
		{"sub-microsecond steps add up", []time.Duration{600, 600}, start.Add(time.Microsecond)},
		{"one sub-microsecond step is invisible", []time.Duration{999}, start},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewManual(start)
			var last time.Time
			for _, d := range tt.steps {
				last = m.Advance(d)
				checkShape(t, last)
			}
			got := m.Now()
			checkShape(t, got)
			if got != tt.want {
				t.Errorf("Now() = %v, want %v", got, tt.want)
			}
			if len(tt.steps) > 0 && last != got {
				t.Errorf("Advance returned %v, Now() says %v", last, got)
			}
		})
	}
}

// TestManualConcurrent is meant for -race: readers, setters and advancers at
// once, and the final time is exact because every Advance is serialized.
func TestManualConcurrent(t *testing.T) {
	start := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	m := NewManual(start)
	const workers, steps = 8, 200
	var wg sync.WaitGroup
	for range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range steps {
				m.Advance(time.Second)
			}
		}()
		go func() {
			defer wg.Done()
			prev := m.Now()
			for range steps {
				now := m.Now()
				if now.Before(prev) {
					t.Errorf("clock went backwards without a negative Advance: %v then %v", prev, now)
					return
				}
				prev = now
			}
		}()
	}
	wg.Wait()
	want := start.Add(workers * steps * time.Second)
	if got := m.Now(); got != want {
		t.Errorf("after %d advances of 1s: %v, want %v", workers*steps, got, want)
	}

	// Set racing with Now: only checks for data races and shape.
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range steps {
			m.Set(start.Add(time.Duration(i) * time.Minute))
		}
	}()
	go func() {
		defer wg.Done()
		for range steps {
			checkShape(t, m.Now())
		}
	}()
	wg.Wait()
}

// Both implementations satisfy the interface callers take.
func TestInterface(t *testing.T) {
	for _, c := range []Clock{System(), NewManual(time.Unix(0, 0))} {
		checkShape(t, c.Now())
	}
}
