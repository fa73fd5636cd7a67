package sla

import (
	"testing"
	"time"
)

func TestParseHours(t *testing.T) {
	c, err := ParseHours("Europe/Paris", "mon-fri 09:00-12:30,13:30-18:00; sat 10:00-12:00", "2026-12-25, 2027-01-01")
	if err != nil {
		t.Fatal(err)
	}
	if c.Location.String() != "Europe/Paris" || len(c.Hours[time.Monday]) != 2 || len(c.Hours[time.Friday]) != 2 ||
		c.Hours[time.Saturday][0] != (Span{600, 720}) || c.Hours[time.Sunday] != nil || !c.Holidays["2027-01-01"] {
		t.Fatalf("calendar %+v", c)
	}
	// A range may wrap over the week's end.
	if c, err := ParseHours("UTC", "fri-mon 10:00-11:00", ""); err != nil || c.Hours[time.Sunday] == nil || c.Hours[time.Tuesday] != nil {
		t.Fatalf("fri-mon: %+v, %v", c, err)
	}
	if c, err := ParseHours("UTC", " ", ""); c != nil || err != nil {
		t.Fatalf("no hours: %+v, %v", c, err)
	}
	for _, bad := range [][3]string{
		{"UTC", "mon-fri", ""},
		{"UTC", "mon-fri 18:00-09:00", ""},
		{"UTC", "mon-fri 09:00-18:00; fri 10:00-11:00", ""},
		{"UTC", "lun 09:00-18:00", ""},
		{"Mars/Olympus", "mon 09:00-18:00", ""},
		{"", "mon 09:00-18:00", ""},
		{"UTC", "mon 09:00-18:00", "25/12/2026"},
		{"UTC", "", "2026-12-25"},
	} {
		if c, err := ParseHours(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("ParseHours(%q, %q, %q) = %+v, want an error", bad[0], bad[1], bad[2], c)
		}
	}
}
