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
		{paris.Time(late, "fr"), "01/12/2026 00:30 CET"},
		{paris.Time(late, "en"), "2026-12-01 00:30 CET"},
		{paris.Time(summer, "en"), "2026-07-14 10:05 CEST"},
		{paris.Date(late, "fr"), "01/12/2026"},
		{paris.Date(late, "en"), "2026-12-01"},
		{paris.LongTime(late, "fr"), "1er décembre 2026 à 00:30 CET"},
		{paris.LongTime(late, "en"), "1 December 2026 at 00:30 CET"},
		{Zone{}.Time(late, "en"), "2026-11-30 23:30 UTC"},
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
