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
// plan billed every interval ("week", "month" or "year"), in UTC.
//
// Months and years keep the subscription's anchor day (the day of the month
// its first paid period began) and clamp it to the last day of a shorter
// month: anchored on the 31st, a period starting on 31 January ends on
// 28 (or 29) February and the next one on 31 March, not 28 March. That is
// why the anchor is passed in rather than read from start, which has
// already been clamped. Yearly plans anchored on 29 February renew on
// 28 February in common years and on the 29th again in leap years.
//
// The time of day is start's, in UTC: periods are exact calendar steps with
// no daylight-saving shifts, and the store's time zone matters only when a
// date is shown. An anchorDay outside 1–31 means start's own day. An unknown
// interval gives the zero time (Start only accepts the catalog's three).
func NextPeriodEnd(start time.Time, interval string, anchorDay int) time.Time {
	start = start.UTC()
	switch interval {
	case IntervalWeek:
		return start.AddDate(0, 0, 7)
	case IntervalMonth:
		return addMonths(start, 1, anchorDay)
	case IntervalYear:
		return addMonths(start, 12, anchorDay)
	}
	return time.Time{}
}

// addMonths moves t forward n calendar months onto the anchor day, clamped
// to the length of the target month. time.AddDate would instead overflow
// (31 January + 1 month = 3 March), which would drift the anchor for good.
func addMonths(t time.Time, n, anchorDay int) time.Time {
	if anchorDay < 1 || anchorDay > 31 {
		anchorDay = t.Day()
	}
	// Day 1 never overflows, so Date only carries months into years here.
	first := time.Date(t.Year(), t.Month()+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	day := min(anchorDay, daysIn(first.Year(), first.Month()))
	return time.Date(first.Year(), first.Month(), day, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// daysIn is the number of days of a month: day 0 of the next month is the
// last day of this one.
func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
