package sla

import "time"

// maxYear bounds the day loop of Add on calendars that are open on paper but
// never in practice; see Never.
const maxYear = 9999

// Add returns the instant at which d of counted time has elapsed after from:
// wall-clock time when c is nil, business time when it is not. The result is
// in UTC.
//
// With a calendar:
//   - counting starts at from if from is within opening hours, otherwise at
//     the next opening (a message sent on Sunday starts counting on Monday at
//     09:00);
//   - closed weekdays and holidays (local dates in c.Location) are skipped;
//   - opening hours are local wall-clock hours, so a span that contains a
//     daylight-saving change counts the real time between its local start
//     and end (one hour less in spring, one more in autumn);
//   - when the time runs out exactly at the end of a span, the result is that
//     end (Friday 18:00), not the next opening;
//   - the work is one step per calendar day (O(days)), never per minute.
//
// A non-positive d returns from (in UTC). A calendar with no opening hours
// at all returns Never. Add and Elapsed are inverse: for d > 0,
// Elapsed(c, from, Add(c, from, d)) == d.
func Add(c *Calendar, from time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return from.UTC()
	}
	if c == nil {
		return from.Add(d).UTC()
	}
	if !c.hasHours() {
		return Never
	}
	loc := c.location()
	for day := localDate(from, loc); day.Year() <= maxYear; day = day.Add(24 * time.Hour) {
		if c.isHoliday(day) {
			continue
		}
		y, m, dd := day.Date()
		for _, s := range c.Hours[day.Weekday()] {
			end := time.Date(y, m, dd, 0, s.End, 0, 0, loc)
			if !end.After(from) {
				continue
			}
			start := time.Date(y, m, dd, 0, s.Start, 0, 0, loc)
			if start.Before(from) {
				start = from
			}
			avail := end.Sub(start)
			if avail <= 0 {
				continue // an empty span (e.g. swallowed by a DST gap)
			}
			if avail >= d {
				return start.Add(d).UTC()
			}
			d -= avail
		}
	}
	return Never
}

// Elapsed returns the counted time between from and to: to - from when c is
// nil, the business time within [from, to] otherwise (same rules as Add).
// It is zero when to is not after from.
func Elapsed(c *Calendar, from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	if c == nil {
		return to.Sub(from)
	}
	loc := c.location()
	last := localDate(to, loc)
	var total time.Duration
	for day := localDate(from, loc); !day.After(last); day = day.Add(24 * time.Hour) {
		if c.isHoliday(day) {
			continue
		}
		y, m, dd := day.Date()
		for _, s := range c.Hours[day.Weekday()] {
			start := time.Date(y, m, dd, 0, s.Start, 0, 0, loc)
			if !start.Before(to) {
				break
			}
			end := time.Date(y, m, dd, 0, s.End, 0, 0, loc)
			if start.Before(from) {
				start = from
			}
			if end.After(to) {
				end = to
			}
			if end.After(start) {
				total += end.Sub(start)
			}
		}
	}
	return total
}

// localDate returns the date of t in loc as midnight UTC of that date: a
// civil date that steps exactly by 24h and knows its weekday.
func localDate(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (c *Calendar) location() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

// isHoliday reports whether the civil date day (see localDate) is a holiday.
func (c *Calendar) isHoliday(day time.Time) bool {
	if len(c.Holidays) == 0 {
		return false
	}
	var buf [16]byte
	return c.Holidays[string(day.AppendFormat(buf[:0], time.DateOnly))]
}

// hasHours reports whether any weekday has a non-empty span.
func (c *Calendar) hasHours() bool {
	for _, spans := range c.Hours {
		for _, s := range spans {
			if s.End > s.Start {
				return true
			}
		}
	}
	return false
}
