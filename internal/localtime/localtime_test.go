package localtime

import (
	"testing"
	"time"
)

func TestTimesAndDatesAreWrittenInTheZone(t *testing.T) {
	paris, err := Load("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	late := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	summer := time.Date(2026, 7, 14, 8, 5, 0, 0, time.UTC)
	for _, tc := range []struct{ got, want string }{
		{paris.Time(late, "fr"), "1er décembre 2026 à 00:30 CET"},
		{paris.Time(late, "en"), "1 December 2026 at 00:30 CET"},
		{paris.Time(summer, "en"), "14 July 2026 at 10:05 CEST"},
		{paris.Date(late, "fr"), "01/12/2026"},
		{paris.Date(late, "en"), "2026-12-01"},
		{paris.LongTime(late, "fr"), "1er décembre 2026 à 00:30 CET"},
		{paris.LongTime(late, "en"), "1 December 2026 at 00:30 CET"},
		{Zone{}.Time(late, "en"), "30 November 2026 at 23:30 UTC"},
		{Zone{}.Date(late, "fr"), "30/11/2026"},
		{paris.Time(time.Time{}, "fr"), "—"},
		{paris.LongTime(time.Time{}, "fr"), ""},
		{paris.LongDate(late, "fr"), "1er décembre 2026"},
		{paris.LongDate(late, "en"), "1 December 2026"},
		{paris.LongDate(summer, "fr"), "14 juillet 2026"},
		{paris.LongDate(time.Time{}, "en"), ""},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	// A day asked for as a date begins at local midnight.
	day := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	if got := paris.DayStart(day); !got.Equal(time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("1 December begins in Paris at %v", got.UTC())
	}
}

func TestLoadRefusesWhatIsNotAZone(t *testing.T) {
	for _, name := range []string{"", "Local", "Paris", "Mars/Olympus", "../../etc/passwd"} {
		if _, err := Load(name); err == nil {
			t.Errorf("Load(%q) accepted", name)
		}
	}
}

// Regression guard (issue #9): every checkout's confirmation writes the
// order's time in French; fmt took 6 allocations for it, one buffer 1.
func TestLongTimeInFrenchAllocatesOnce(t *testing.T) {
	paris, err := Load("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{at, "8 mars 2026 à 11:00 CET"},
		{time.Date(2026, 5, 1, 22, 5, 0, 0, time.UTC), "2 mai 2026 à 00:05 CEST"},
		{time.Date(2026, 9, 30, 22, 5, 0, 0, time.UTC), "1er octobre 2026 à 00:05 CEST"},
		{time.Date(12026, 12, 31, 12, 0, 0, 0, time.UTC), "31 décembre 12026 à 13:00 CET"},
	} {
		if got := paris.LongTime(tc.at, "fr"); got != tc.want {
			t.Errorf("LongTime(%v) = %q, want %q", tc.at, got, tc.want)
		}
	}
	if got := paris.LongTimeSeconds(at, "fr"); got != "8 mars 2026 à 11:00:00 CET" {
		t.Errorf("LongTimeSeconds = %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { paris.LongTime(at, "fr") }); n > 1 {
		t.Errorf("LongTime in French: %v allocations, want 1", n)
	}
}
