package subscriptions

import (
	"testing"
	"time"
)

func TestNextPeriodEnd(t *testing.T) {
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, tc := range []struct {
		name     string
		start    time.Time
		interval string
		anchor   int
		want     time.Time
	}{
		{"week", at(2026, 3, 8, 10, 0), IntervalWeek, 8, at(2026, 3, 15, 10, 0)},
		{"week across a year", at(2026, 12, 29, 23, 59), IntervalWeek, 29, at(2027, 1, 5, 23, 59)},
		// 29 March 2026 is the European DST switch: periods are in UTC and
		// keep their exact hour.
		{"week across DST, exact hours", at(2026, 3, 26, 1, 30), IntervalWeek, 26, at(2026, 4, 2, 1, 30)},
		{"month, plain", at(2026, 3, 8, 10, 0), IntervalMonth, 8, at(2026, 4, 8, 10, 0)},
		{"month across a year", at(2026, 12, 15, 0, 0), IntervalMonth, 15, at(2027, 1, 15, 0, 0)},
		{"31 Jan to end of Feb, common year", at(2026, 1, 31, 10, 0), IntervalMonth, 31, at(2026, 2, 28, 10, 0)},
		{"end of Feb back to the 31st", at(2026, 2, 28, 10, 0), IntervalMonth, 31, at(2026, 3, 31, 10, 0)},
		{"31 Jan to 29 Feb, leap year", at(2028, 1, 31, 10, 0), IntervalMonth, 31, at(2028, 2, 29, 10, 0)},
		{"29 Feb back to the 31st, leap year", at(2028, 2, 29, 10, 0), IntervalMonth, 31, at(2028, 3, 31, 10, 0)},
		{"31 Mar to 30 Apr", at(2026, 3, 31, 10, 0), IntervalMonth, 31, at(2026, 4, 30, 10, 0)},
		{"30 Apr back to the 31st", at(2026, 4, 30, 10, 0), IntervalMonth, 31, at(2026, 5, 31, 10, 0)},
		{"anchored on the 30th through February", at(2026, 1, 30, 8, 0), IntervalMonth, 30, at(2026, 2, 28, 8, 0)},
		{"anchored on the 30th after February", at(2026, 2, 28, 8, 0), IntervalMonth, 30, at(2026, 3, 30, 8, 0)},
		{"anchored on the 29th, leap February", at(2028, 1, 29, 8, 0), IntervalMonth, 29, at(2028, 2, 29, 8, 0)},
		{"year", at(2026, 3, 8, 10, 0), IntervalYear, 8, at(2027, 3, 8, 10, 0)},
		{"29 Feb to 28 Feb", at(2028, 2, 29, 12, 0), IntervalYear, 29, at(2029, 2, 28, 12, 0)},
		{"28 Feb back to 29 Feb in a leap year", at(2031, 2, 28, 12, 0), IntervalYear, 29, at(2032, 2, 29, 12, 0)},
		{"bad anchor means the start's day", at(2026, 3, 8, 10, 0), IntervalMonth, 0, at(2026, 4, 8, 10, 0)},
		{"a local time is read in UTC", time.Date(2026, 1, 31, 23, 30, 0, 0, paris), IntervalMonth, 31, at(2026, 2, 28, 22, 30)},
		{"sub-second precision kept", at(2026, 3, 8, 10, 0).Add(123456 * time.Microsecond), IntervalMonth, 8, at(2026, 4, 8, 10, 0).Add(123456 * time.Microsecond)},
		{"unknown interval", at(2026, 3, 8, 10, 0), "day", 8, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NextPeriodEnd(tc.start, tc.interval, tc.anchor)
			if !got.Equal(tc.want) || (!got.IsZero() && got.Location() != time.UTC) {
				t.Fatalf("NextPeriodEnd(%s, %s, %d) = %s, want %s", tc.start, tc.interval, tc.anchor, got, tc.want)
			}
		})
	}
}

// A monthly plan anchored on the 31st keeps coming back to the 31st for
// years: clamping never drifts the anchor.
func TestMonthlyAnchorNeverDrifts(t *testing.T) {
	start := time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 60; i++ {
		end := NextPeriodEnd(start, IntervalMonth, 31)
		last := daysIn(end.Year(), end.Month())
		if end.Day() != last {
			t.Fatalf("period %d ends %s, want the last day of the month", i, end)
		}
		if !end.After(start) || end.Hour() != 9 {
			t.Fatalf("period %d: %s → %s", i, start, end)
		}
		start = end
	}
}
