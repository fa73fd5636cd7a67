// Package sla computes support-desk response deadlines.
//
// Everything here is pure: no I/O, no reading of the wall clock. The caller
// passes every instant in (from internal/clock in production), so deadlines
// can be computed, stored on the ticket and tested by tables.
//
// Time is counted in one of two ways (POLICY.md): in wall-clock hours by
// default (a nil *Calendar), or in business hours when the store sets a
// business Calendar: opening hours per weekday, holidays and a time zone.
// Business hours are local wall-clock hours in the calendar's zone, so an
// opening of 09:00-18:00 is nine real hours on an ordinary day, and a span
// that contains a daylight-saving change is one hour shorter or longer on
// the day of the change.
//
// Add and Elapsed convert between instants and counted time; Deadlines runs
// a ticket's events through the rules of the desk's SLA clock.
package sla

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MinutesPerDay is the largest value of Span.End: 24:00, the next midnight.
const MinutesPerDay = 24 * 60

// Span is an opening interval of one day, in minutes from local midnight:
// [Start, End). 09:00-18:00 is Span{540, 1080}; 24:00 (1440) is allowed as
// End and means the following midnight.
type Span struct {
	Start, End int
}

// String renders the span as "HH:MM-HH:MM".
func (s Span) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", s.Start/60, s.Start%60, s.End/60, s.End%60)
}

// Calendar is a business calendar. A nil *Calendar means wall-clock time:
// every hour counts.
type Calendar struct {
	// Location is the zone in which Hours and Holidays are read. Nil means UTC.
	Location *time.Location
	// Hours holds the opening spans of each weekday, indexed by time.Weekday
	// (Hours[time.Sunday] ...), sorted and non-overlapping. An empty slice is
	// a closed day.
	Hours [7][]Span
	// Holidays are closed local dates, keyed "2006-01-02" ("2026-12-25").
	Holidays map[string]bool
}

// Never is what Add returns when the counted time can never elapse: a
// calendar without any opening hours. It is later than any real deadline.
var Never = time.Date(9999, time.December, 31, 23, 59, 59, 0, time.UTC)

// Validate reports whether c is usable: spans within the day, non-empty,
// sorted and non-overlapping, at least one opening in the week, holiday keys
// that are dates. ParseCalendar only returns valid calendars; call Validate on
// a Calendar built by hand. A nil calendar (wall clock) is valid.
func (c *Calendar) Validate() error {
	if c == nil {
		return nil
	}
	open := false
	for wd, spans := range c.Hours {
		field := "sla: calendar hours[" + weekdayKeys[wd] + "]"
		prevEnd := -1
		for _, s := range spans {
			if s.Start < 0 || s.End > MinutesPerDay || s.Start >= s.End {
				return fmt.Errorf("%s: span %d-%d minutes is not within 00:00-24:00 with start before end", field, s.Start, s.End)
			}
			if s.Start < prevEnd {
				return fmt.Errorf("%s: span %s overlaps or precedes the previous one (spans must be sorted)", field, s)
			}
			prevEnd = s.End
			open = true
		}
	}
	if !open {
		return errors.New("sla: calendar hours: no opening hours on any weekday")
	}
	for k := range c.Holidays {
		if _, err := time.Parse(time.DateOnly, k); err != nil {
			return fmt.Errorf("sla: calendar holidays: %q is not a YYYY-MM-DD date", k)
		}
	}
	return nil
}

// weekdayKeys are the short keys of ParseCalendar's weekly map, indexed by
// time.Weekday.
var weekdayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseCalendar builds a Calendar from its configuration form:
//
//   - zone is an IANA time zone name ("Europe/Paris"); it is required, since
//     opening hours mean nothing without one ("UTC" is accepted);
//   - weekly maps a weekday ("mon", "tue", ... or the full English name, any
//     case) to a comma-separated list of spans "09:00-12:00,13:00-18:00";
//     "" or "closed" is a closed day, and a weekday missing from the map is
//     closed too; spans may be given in any order but must not overlap;
//   - holidays are closed local dates "2026-12-25".
//
// Errors name the offending field, e.g. `sla: calendar hours["mon"]: ...`.
func ParseCalendar(zone string, weekly map[string]string, holidays []string) (*Calendar, error) {
	if strings.TrimSpace(zone) == "" {
		return nil, errors.New("sla: calendar zone: missing (an IANA name such as \"Europe/Paris\")")
	}
	loc, err := time.LoadLocation(strings.TrimSpace(zone))
	if err != nil {
		return nil, fmt.Errorf("sla: calendar zone %q: %w", zone, err)
	}
	c := &Calendar{Location: loc}

	seen := [7]string{}
	// Sorted keys so that the error reported for a bad map is deterministic.
	keys := make([]string, 0, len(weekly))
	for k := range weekly {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		field := fmt.Sprintf("sla: calendar hours[%q]", key)
		wd, ok := parseWeekday(key)
		if !ok {
			return nil, fmt.Errorf("%s: unknown weekday (want mon, tue, wed, thu, fri, sat or sun)", field)
		}
		if seen[wd] != "" {
			return nil, fmt.Errorf("%s: weekday already given as %q", field, seen[wd])
		}
		seen[wd] = key
		spans, err := parseSpans(weekly[key])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		c.Hours[wd] = spans
	}

	for i, h := range holidays {
		d, err := time.Parse(time.DateOnly, strings.TrimSpace(h))
		if err != nil {
			return nil, fmt.Errorf("sla: calendar holidays[%d] %q: not a YYYY-MM-DD date", i, h)
		}
		if c.Holidays == nil {
			c.Holidays = make(map[string]bool, len(holidays))
		}
		c.Holidays[d.Format(time.DateOnly)] = true
	}

	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func parseWeekday(key string) (time.Weekday, bool) {
	k := strings.ToLower(strings.TrimSpace(key))
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		if k == weekdayKeys[wd] || k == strings.ToLower(wd.String()) {
			return wd, true
		}
	}
	return 0, false
}

// parseSpans parses "09:00-12:00,13:00-18:00"; "" and "closed" give nil.
func parseSpans(v string) ([]Span, error) {
	v = strings.TrimSpace(v)
	if v == "" || strings.EqualFold(v, "closed") {
		return nil, nil
	}
	var spans []Span
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		a, b, ok := strings.Cut(part, "-")
		if !ok {
			return nil, fmt.Errorf("span %q: want HH:MM-HH:MM", part)
		}
		start, err := parseClock(a)
		if err != nil {
			return nil, fmt.Errorf("span %q: start: %w", part, err)
		}
		end, err := parseClock(b)
		if err != nil {
			return nil, fmt.Errorf("span %q: end: %w", part, err)
		}
		if start == MinutesPerDay {
			return nil, fmt.Errorf("span %q: start: 24:00 is only allowed as an end", part)
		}
		if start >= end {
			return nil, fmt.Errorf("span %q: start must be before end (a span cannot cross midnight)", part)
		}
		spans = append(spans, Span{start, end})
	}
	slices.SortFunc(spans, func(x, y Span) int { return x.Start - y.Start })
	for i := 1; i < len(spans); i++ {
		if spans[i].Start < spans[i-1].End {
			return nil, fmt.Errorf("spans %s and %s overlap", spans[i-1], spans[i])
		}
	}
	return spans, nil
}

// parseClock parses "HH:MM" (or "H:MM") into minutes from midnight; "24:00"
// is accepted.
func parseClock(s string) (int, error) {
	s = strings.TrimSpace(s)
	hs, ms, ok := strings.Cut(s, ":")
	if !ok || len(ms) != 2 || len(hs) < 1 || len(hs) > 2 {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	h, okh := digits(hs)
	m, okm := digits(ms)
	if !okh || !okm || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q: not a time of day between 00:00 and 24:00", s)
	}
	return h*60 + m, nil
}

// digits parses a non-empty string of ASCII digits (no sign, no spaces).
func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for _, r := range []byte(s) {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, true
}

// ParseHours reads a calendar written on one line each, as a store
// configures it: hours like "mon-fri 09:00-12:30,13:30-18:00; sat
// 10:00-12:00" (days alone or as a range within a week, each part
// separated by ";"), the IANA zone they are in, and holidays as
// comma-separated YYYY-MM-DD dates. Empty hours mean no calendar
// (wall-clock time): it returns nil and no error.
func ParseHours(zone, hours, holidays string) (*Calendar, error) {
	if strings.TrimSpace(hours) == "" {
		if strings.TrimSpace(holidays) != "" {
			return nil, errors.New("sla: calendar holidays without hours")
		}
		return nil, nil
	}
	weekly := map[string]string{}
	for part := range strings.SplitSeq(hours, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		days, spans, ok := strings.Cut(part, " ")
		if !ok {
			return nil, fmt.Errorf("sla: calendar hours %q: want days then spans, such as \"mon-fri 09:00-18:00\"", part)
		}
		first, last, isRange := strings.Cut(days, "-")
		from, ok1 := parseWeekday(first)
		to, ok2 := from, true
		if isRange {
			to, ok2 = parseWeekday(last)
		}
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("sla: calendar hours %q: %q is not a weekday or a range such as mon-fri", part, days)
		}
		for wd := from; ; wd = (wd + 1) % 7 {
			key := weekdayKeys[wd]
			if _, dup := weekly[key]; dup {
				return nil, fmt.Errorf("sla: calendar hours %q: %s already given", part, key)
			}
			weekly[key] = strings.TrimSpace(spans)
			if wd == to {
				break
			}
		}
	}
	var days []string
	for d := range strings.SplitSeq(holidays, ",") {
		if d = strings.TrimSpace(d); d != "" {
			days = append(days, d)
		}
	}
	return ParseCalendar(zone, weekly, days)
}
