package id

import (
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	tkt := New("tkt")
	for _, at := range []time.Time{{}, time.Unix(1767225600, 123456789), time.Unix(1767225600, 0), time.Date(1969, 7, 20, 20, 17, 40, 5, time.UTC)} {
		got, gotAt, ok := ParseCursor("tkt", Cursor(tkt, at))
		if !ok || got != tkt || !gotAt.Equal(at) {
			t.Errorf("%s: read back %q %s %v", at, got, gotAt, ok)
		}
	}
}

func TestParseCursorRefusesWhatCursorNeverGives(t *testing.T) {
	tkt := New("tkt")
	for _, c := range []string{"", tkt, "~", tkt + "~x", tkt + "~1", tkt + "~1.", tkt + "~1.-1", tkt + "~1.1000000000",
		New("clm") + "~1.0", "tkt_nope~1.0", tkt + "~1.0~2"} {
		if _, _, ok := ParseCursor("tkt", c); ok {
			t.Errorf("%q read as a cursor", c)
		}
	}
}
