package subscriptions

import "time"

// Billing intervals (the catalog's plan intervals).
const (
	IntervalWeek  = "week"
	IntervalMonth = "month"
	IntervalYear  = "year"
)

func validInterval(s string) bool {
	return s == IntervalWeek || s == IntervalMonth || s == IntervalYear
}

// NextPeriodEnd is the end of the billing period that begins at start, for a
// plan billed every interval ("week", "month" or "year"), counted on the
// wall clock of the store's time zone loc (nil is UTC). The result is in
// UTC, as every stored time is.
//
// Periods are calendar steps where the customer lives: a subscription taken
// at 00:30 in Paris on 1 March (23:30 UTC on 28 February) renews on the 1st
// of every month at 00:30 Paris time, summer or winter; a weekly plan renews
// on the same weekday at the same local hour, so a week across a change of
// clocks lasts 167 or 169 hours. A local time the clocks skip (02:30 on the
// last Sunday of March in Paris) is read as the moment it would have been,
// an hour later on the wall (03:30), and later periods keep that hour; a
// local time that happens twice (in October) is one of the two.
//
// Months and years keep the subscription's anchor day (the local day of the
// month its first paid period began) and clamp it to the last day of a
// shorter month: anchored on the 31st, a period starting on 31 January ends
// on 28 (or 29) February and the next one on 31 March, not 28 March. That
// is why the anchor is passed in rather than read from start, which has
// already been clamped. Yearly plans anchored on 29 February renew on
// 28 February in common years and on the 29th again in leap years.
//
// An anchor day that start's local day does not agree with (start is
// neither on it nor, clamped, on the last day of a shorter month) means
// start's own local day. That covers the anchor days recorded before
// periods were counted locally, which are days in UTC: a subscription
// taken at 00:30 in Paris on 1 March was anchored on 28 (February, in
// UTC); its periods now go on from the local day of its current start
// rather than jump back a day. It also covers an anchor outside 1–31. An
// unknown interval gives the zero time (Start only accepts the catalog's
// three).
func NextPeriodEnd(start time.Time, interval string, anchorDay int, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	start = start.In(loc)
	var end time.Time
	switch interval {
	case IntervalWeek:
		end = wallTime(start.Year(), start.Month(), start.Day()+7, start, loc)
	case IntervalMonth:
		end = addMonths(start, 1, anchorDay, loc)
	case IntervalYear:
		end = addMonths(start, 12, anchorDay, loc)
	default:
		return time.Time{}
	}
	return end.UTC()
}

// TrialEnd is the end of a trial of days days begun at start: the same time
// of day on the store's wall clock (loc), days calendar days later. Counted
// in 24-hour steps, a trial across a change of the clocks ended an hour
// early or late, and the paid periods anchored on it kept that hour.
func TrialEnd(start time.Time, days int, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	start = start.In(loc)
	return wallTime(start.Year(), start.Month(), start.Day()+days, start, loc).UTC()
}

// addMonths moves the local time t forward n calendar months onto the anchor
// day, clamped to the length of the target month, keeping t's wall clock.
// time.AddDate would instead overflow (31 January + 1 month = 3 March),
// which would drift the anchor for good.
func addMonths(t time.Time, n, anchorDay int, loc *time.Location) time.Time {
	if anchorDay < 1 || anchorDay > 31 || min(anchorDay, daysIn(t.Year(), t.Month())) != t.Day() {
		anchorDay = t.Day()
	}
	// Day 1 never overflows, so Date only carries months into years here.
	first := time.Date(t.Year(), t.Month()+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	day := min(anchorDay, daysIn(first.Year(), first.Month()))
	return wallTime(first.Year(), first.Month(), day, t, loc)
}

// wallTime is the moment loc's wall clock reads year-month-day (normalized
// as time.Date does) at clock's time of day. When the clocks skip that time
// (spring forward), it is read with the offset in force before the change:
// the moment it would have been, shown later by the length of the gap.
// time.Date alone picks either side of a gap depending on the zone (an hour
// later in Paris, an hour earlier, on the day before, in Santiago), and a
// period end must never fall on another day than the one computed.
func wallTime(year int, month time.Month, day int, clock time.Time, loc *time.Location) time.Time {
	h, m, s := clock.Clock()
	want := time.Date(year, month, day, h, m, s, clock.Nanosecond(), time.UTC)
	t := time.Date(year, month, day, h, m, s, clock.Nanosecond(), loc)
	if sameWall(t, want) {
		return t
	}
	// t is within the gap's length of the change: a day earlier, the
	// offset is the one in force before it (no zone changes its clocks
	// twice in a day).
	_, before := t.Add(-24 * time.Hour).Zone()
	return want.Add(-time.Duration(before) * time.Second).In(loc)
}

// sameWall reports whether t reads, on its own wall clock, the date and time
// of day that want (in UTC) holds.
func sameWall(t, want time.Time) bool {
	ty, tm, td := t.Date()
	wy, wm, wd := want.Date()
	return ty == wy && tm == wm && td == wd && t.Hour() == want.Hour() && t.Minute() == want.Minute() && t.Second() == want.Second()
}

// daysIn is the number of days of a month: day 0 of the next month is the
// last day of this one.
func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
