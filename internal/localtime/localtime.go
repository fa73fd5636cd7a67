// Package localtime writes moments and dates for people: in the store's
// time zone (--zone), in their language, and, where a time of day is shown,
// naming the zone so nobody misreads it. It also says where a local day
// begins, for the periods people ask for in dates (the accounting export).
//
// Storage and the JSON API stay in UTC (RFC 3339): only what a person reads
// goes through here, and every package that shows a time takes the one Zone
// the application loaded, rather than converting on its own.
package localtime

import (
	"fmt"
	"strconv"
	"time"
)

// Zone is the store's time zone. The zero Zone is UTC.
type Zone struct{ loc *time.Location }

// UTC is the zone of a store that keeps UTC.
var UTC = Zone{time.UTC}

// Load reads an IANA zone name such as "Europe/Paris" or "UTC". It refuses
// "Local" (the host's zone: what a page shows would depend on the machine it
// runs on) and the empty name (which time.LoadLocation reads as UTC).
func Load(name string) (Zone, error) {
	bad := fmt.Errorf("%q is not an IANA time zone such as Europe/Paris or UTC", name)
	if name == "" || name == "Local" || len(name) > 64 {
		return Zone{}, bad
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return Zone{}, bad
	}
	return Zone{loc}, nil
}

// Of is the Zone of loc; nil is UTC.
func Of(loc *time.Location) Zone { return Zone{loc} }

// Location is the zone loaded; UTC for the zero Zone.
func (z Zone) Location() *time.Location {
	if z.loc == nil {
		return time.UTC
	}
	return z.loc
}

// String is the zone's IANA name ("Europe/Paris").
func (z Zone) String() string { return z.Location().String() }

// In is t on the store's wall clock.
func (z Zone) In(t time.Time) time.Time { return t.In(z.Location()) }

// DayStart is the moment the local day of date begins in the zone: date's
// year, month and day are read, its clock and zone ignored. A period asked
// for as dates ("from 2026-12-01") starts there.
func (z Zone) DayStart(date time.Time) time.Time {
	y, m, d := date.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, z.Location())
}

// Time writes a moment for a page as LongTime writes it for an email:
// "1er décembre 2026 à 00:30 CET", "1 December 2026 at 00:30 CET". A
// page, an email and a decision write a time the same way in a language,
// the zone named alike (pages wrote "01/12/2026 00:30 CET" beside a
// decision's "1er décembre 2026 à 00 h 30, heure de Paris"). The zero
// time is "—", an empty cell of a table.
func (z Zone) Time(t time.Time, lang string) string {
	if t.IsZero() {
		return "—"
	}
	return z.LongTime(t, lang)
}

// Date writes the local date of a moment: "01/12/2026", "2026-12-01". An
// invoice is dated so: the seller's date, not UTC's.
func (z Zone) Date(t time.Time, lang string) string {
	if lang == "fr" {
		return z.In(t).Format("02/01/2006")
	}
	return z.In(t).Format(time.DateOnly)
}

var monthsFR = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}

// LongTime writes a moment in words, for emails, with the zone's
// abbreviation or offset: "1er décembre 2026 à 00:30 CET",
// "1 December 2026 at 00:30 CET". The zero time is "".
func (z Zone) LongTime(t time.Time, lang string) string { return z.longTime(t, lang, "15:04 MST") }

// LongTimeSeconds is LongTime to the second, the zone named as everywhere
// else: "13 mars 2026 à 11:00:00 CET", "13 March 2026 at 11:00:00 CET".
// A claim's acknowledgement says when it was received so (a withdrawal's
// must give the date, the time and the zone).
func (z Zone) LongTimeSeconds(t time.Time, lang string) string {
	return z.longTime(t, lang, "15:04:05 MST")
}

// LongDate writes the local date of a moment in words, as a customer reads
// a document's date: "1er mars 2026", "12 March 2026". The zero time is "".
func (z Zone) LongDate(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	t = z.In(t)
	if lang == "fr" {
		day := fmt.Sprint(t.Day())
		if t.Day() == 1 {
			day = "1er"
		}
		return fmt.Sprintf("%s %s %d", day, monthsFR[t.Month()-1], t.Year())
	}
	return t.Format("2 January 2006")
}

func (z Zone) longTime(t time.Time, lang, clock string) string {
	if t.IsZero() {
		return ""
	}
	t = z.In(t)
	if lang == "fr" {
		// Appended to one buffer: a confirmation email writes its order's
		// time so at every checkout.
		var buf [64]byte
		b := buf[:0]
		if t.Day() == 1 {
			b = append(b, "1er"...) // le 1er mars
		} else {
			b = strconv.AppendInt(b, int64(t.Day()), 10)
		}
		b = append(append(append(b, ' '), monthsFR[t.Month()-1]...), ' ')
		b = strconv.AppendInt(b, int64(t.Year()), 10)
		b = t.AppendFormat(append(b, " à "...), clock)
		return string(b)
	}
	return t.Format("2 January 2006 at " + clock)
}
