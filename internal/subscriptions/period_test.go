package subscriptions

import (
	"testing"
	"time"
)

func TestNextPeriodEnd(t *testing.T) {
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	inParis := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, paris) }
	for _, tc := range []struct {
		name     string
		start    time.Time
		interval string
		anchor   int
		loc      *time.Location
		want     time.Time
	}{
		// A store that keeps UTC.
		{"week", at(2026, 3, 8, 10, 0), IntervalWeek, 8, time.UTC, at(2026, 3, 15, 10, 0)},
		{"week across a year", at(2026, 12, 29, 23, 59), IntervalWeek, 29, time.UTC, at(2027, 1, 5, 23, 59)},
		{"week in UTC across the European DST switch", at(2026, 3, 26, 1, 30), IntervalWeek, 26, time.UTC, at(2026, 4, 2, 1, 30)},
		{"month, plain", at(2026, 3, 8, 10, 0), IntervalMonth, 8, time.UTC, at(2026, 4, 8, 10, 0)},
		{"month across a year", at(2026, 12, 15, 0, 0), IntervalMonth, 15, time.UTC, at(2027, 1, 15, 0, 0)},
		{"31 Jan to end of Feb, common year", at(2026, 1, 31, 10, 0), IntervalMonth, 31, time.UTC, at(2026, 2, 28, 10, 0)},
		{"end of Feb back to the 31st", at(2026, 2, 28, 10, 0), IntervalMonth, 31, time.UTC, at(2026, 3, 31, 10, 0)},
		{"31 Jan to 29 Feb, leap year", at(2028, 1, 31, 10, 0), IntervalMonth, 31, time.UTC, at(2028, 2, 29, 10, 0)},
		{"29 Feb back to the 31st, leap year", at(2028, 2, 29, 10, 0), IntervalMonth, 31, time.UTC, at(2028, 3, 31, 10, 0)},
		{"31 Mar to 30 Apr", at(2026, 3, 31, 10, 0), IntervalMonth, 31, time.UTC, at(2026, 4, 30, 10, 0)},
		{"30 Apr back to the 31st", at(2026, 4, 30, 10, 0), IntervalMonth, 31, time.UTC, at(2026, 5, 31, 10, 0)},
		{"anchored on the 30th through February", at(2026, 1, 30, 8, 0), IntervalMonth, 30, time.UTC, at(2026, 2, 28, 8, 0)},
		{"anchored on the 30th after February", at(2026, 2, 28, 8, 0), IntervalMonth, 30, time.UTC, at(2026, 3, 30, 8, 0)},
		{"anchored on the 29th, leap February", at(2028, 1, 29, 8, 0), IntervalMonth, 29, time.UTC, at(2028, 2, 29, 8, 0)},
		{"year", at(2026, 3, 8, 10, 0), IntervalYear, 8, time.UTC, at(2027, 3, 8, 10, 0)},
		{"29 Feb to 28 Feb", at(2028, 2, 29, 12, 0), IntervalYear, 29, time.UTC, at(2029, 2, 28, 12, 0)},
		{"28 Feb back to 29 Feb in a leap year", at(2031, 2, 28, 12, 0), IntervalYear, 29, time.UTC, at(2032, 2, 29, 12, 0)},
		{"bad anchor means the start's day", at(2026, 3, 8, 10, 0), IntervalMonth, 0, time.UTC, at(2026, 4, 8, 10, 0)},
		{"a start given in another zone is read in the store's", inParis(2026, 1, 31, 23, 30), IntervalMonth, 31, time.UTC, at(2026, 2, 28, 22, 30)},
		{"nil location is UTC", at(2026, 3, 8, 10, 0), IntervalMonth, 8, nil, at(2026, 4, 8, 10, 0)},
		{"sub-second precision kept", at(2026, 3, 8, 10, 0).Add(123456 * time.Microsecond), IntervalMonth, 8, time.UTC, at(2026, 4, 8, 10, 0).Add(123456 * time.Microsecond)},
		{"unknown interval", at(2026, 3, 8, 10, 0), "day", 8, time.UTC, time.Time{}},

		// A store in Paris: the 1st at 00:30 local is the 28th or the 31st
		// at 23:30 or 22:30 in UTC, and stays the 1st at 00:30 local.
		{"Paris: 1 March 00:30 renews on 1 April 00:30, summer time", inParis(2026, 3, 1, 0, 30), IntervalMonth, 1, paris, at(2026, 3, 31, 22, 30)},
		{"Paris: 1 October 00:30 renews on 1 November 00:30, winter time", inParis(2026, 10, 1, 0, 30), IntervalMonth, 1, paris, at(2026, 10, 31, 23, 30)},
		{"Paris: 1 December to 1 January across the year", inParis(2026, 12, 1, 0, 30), IntervalMonth, 1, paris, at(2026, 12, 31, 23, 30)},
		{"Paris: week across the March change keeps 00:30", inParis(2026, 3, 26, 0, 30), IntervalWeek, 26, paris, inParis(2026, 4, 2, 0, 30)},
		{"Paris: week across the October change keeps 00:30", inParis(2026, 10, 22, 0, 30), IntervalWeek, 22, paris, inParis(2026, 10, 29, 0, 30)},
		{"Paris: 31 Jan 00:30 to 28 Feb 00:30", inParis(2026, 1, 31, 0, 30), IntervalMonth, 31, paris, at(2026, 2, 27, 23, 30)},
		{"Paris: 28 Feb back to 31 Mar, across the change", inParis(2026, 2, 28, 0, 30), IntervalMonth, 31, paris, at(2026, 3, 30, 22, 30)},
		{"Paris: year from 29 Feb 00:30 to 28 Feb 00:30", inParis(2028, 2, 29, 0, 30), IntervalYear, 29, paris, at(2029, 2, 27, 23, 30)},
		{"Paris: a time the clocks skip is an hour later on the wall", inParis(2026, 3, 22, 2, 30), IntervalWeek, 22, paris, at(2026, 3, 29, 1, 30)},
		{"Santiago: a skipped midnight stays on its day", time.Date(2026, 8, 30, 0, 30, 0, 0, santiago), IntervalWeek, 30, santiago, at(2026, 9, 6, 4, 30)},

		// Anchors recorded in UTC before periods were counted locally.
		{"Paris, UTC anchor: 1 March 00:30 anchored on the 28th goes on from the 29th, not back to the 28th",
			at(2026, 3, 28, 23, 30), IntervalMonth, 28, paris, inParis(2026, 4, 29, 0, 30)},
		{"Paris, UTC anchor on the 31st at 23:30 is the 1st locally",
			at(2026, 2, 28, 23, 30), IntervalMonth, 31, paris, inParis(2026, 4, 1, 0, 30)},
		{"Paris, UTC anchor in the day agrees with the local day and keeps clamping",
			at(2026, 2, 28, 10, 0), IntervalMonth, 31, paris, inParis(2026, 3, 31, 11, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NextPeriodEnd(tc.start, tc.interval, tc.anchor, tc.loc)
			if !got.Equal(tc.want) || (!got.IsZero() && got.Location() != time.UTC) {
				t.Fatalf("NextPeriodEnd(%s, %s, %d, %s) = %s, want %s", tc.start, tc.interval, tc.anchor, tc.loc, got, tc.want.UTC())
			}
		})
	}
}

// A time that happens twice (the October change) still reads as asked.
func TestNextPeriodEndInTheRepeatedHour(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	got := NextPeriodEnd(time.Date(2026, 10, 18, 2, 30, 0, 0, paris), IntervalWeek, 18, paris).In(paris)
	if y, m, d := got.Date(); y != 2026 || m != 10 || d != 25 || got.Hour() != 2 || got.Minute() != 30 {
		t.Fatalf("a week after 18 October 02:30 is %s", got)
	}
}

// A monthly plan anchored on the 31st keeps coming back to the 31st for
// years, at the same local hour: clamping never drifts the anchor, and the
// changes of clocks never move the hour.
func TestMonthlyAnchorNeverDrifts(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range []*time.Location{time.UTC, paris} {
		start := time.Date(2026, 1, 31, 0, 30, 0, 0, loc)
		for i := 0; i < 60; i++ {
			end := NextPeriodEnd(start, IntervalMonth, 31, loc)
			local := end.In(loc)
			if local.Day() != daysIn(local.Year(), local.Month()) {
				t.Fatalf("%s: period %d ends %s, want the last day of the month", loc, i, local)
			}
			if !end.After(start) || local.Hour() != 0 || local.Minute() != 30 {
				t.Fatalf("%s: period %d: %s → %s", loc, i, start.In(loc), local)
			}
			start = end
		}
	}
}

// A trial ends at the time of day it began, on the store's wall clock,
// however the clocks change in between; 24-hour steps ended it an hour
// early or late.
func TestTrialEnd(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	inParis := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, paris) }
	for _, tc := range []struct {
		name  string
		start time.Time
		days  int
		loc   *time.Location
		want  time.Time
	}{
		{"no change of the clocks", inParis(2026, 2, 1, 10, 0), 14, paris, inParis(2026, 2, 15, 10, 0)},
		{"across spring forward", inParis(2026, 3, 25, 10, 0), 7, paris, inParis(2026, 4, 1, 10, 0)},
		{"across fall back", inParis(2026, 10, 20, 10, 0), 7, paris, inParis(2026, 10, 27, 10, 0)},
		{"ending in the skipped hour", inParis(2026, 3, 22, 2, 30), 7, paris, inParis(2026, 3, 29, 1, 30).Add(time.Hour)},
		{"across a month end", inParis(2026, 1, 28, 23, 30), 7, paris, inParis(2026, 2, 4, 23, 30)},
		{"a store in UTC", time.Date(2026, 3, 25, 10, 0, 0, 0, time.UTC), 7, time.UTC, time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)},
		{"no zone is UTC", time.Date(2026, 3, 25, 10, 0, 0, 0, time.UTC), 7, nil, time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := TrialEnd(tc.start, tc.days, tc.loc)
			if !got.Equal(tc.want) {
				t.Fatalf("TrialEnd(%s, %d) = %s, want %s", tc.start, tc.days, got.In(paris), tc.want.In(paris))
			}
			if got.Location() != time.UTC {
				t.Fatalf("TrialEnd is in %s, want UTC as stored", got.Location())
			}
		})
	}
}
