package id

import (
	"strconv"
	"strings"
	"time"
)

// Cursor is a list's position just after one row: its id and, unless at is
// zero, the time it was sorted by as the page showed it
// ("tkt_…~1767225600.123456789", or "tkt_…~"). Lists page by position
// rather than by the row read again, which may have moved since (a ticket
// answered, a claim decided), so that the next page starts where the last
// one ended.
func Cursor(id string, at time.Time) string {
	if at.IsZero() {
		return id + "~"
	}
	return id + "~" + strconv.FormatInt(at.Unix(), 10) + "." + strconv.Itoa(at.Nanosecond())
}

// ParseCursor reads a Cursor whose id has prefix: the id, and the time
// (zero when the cursor has none, UTC otherwise). ok is false for anything
// else, a bare id included.
func ParseCursor(prefix, cursor string) (id string, at time.Time, ok bool) {
	id, rest, ok := strings.Cut(cursor, "~")
	if !ok || !Valid(prefix, id) {
		return "", time.Time{}, false
	}
	if rest == "" {
		return id, time.Time{}, true
	}
	secs, nanos, ok := strings.Cut(rest, ".")
	sec, err1 := strconv.ParseInt(secs, 10, 64)
	nsec, err2 := strconv.Atoi(nanos)
	if !ok || err1 != nil || err2 != nil || nsec < 0 || nsec > 999999999 {
		return "", time.Time{}, false
	}
	return id, time.Unix(sec, int64(nsec)).UTC(), true
}
