package sla

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris and America/New_York without system tzdata

	"comptoir/internal/testcpu"
)

const h = time.Hour

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustCal(t testing.TB, zone string, weekly map[string]string, holidays ...string) *Calendar {
	t.Helper()
	c, err := ParseCalendar(zone, weekly, holidays)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var weekdays = []string{"mon", "tue", "wed", "thu", "fri"}

func everyDay(days []string, hours string) map[string]string {
	m := map[string]string{}
	for _, d := range days {
		m[d] = hours
	}
	return m
}

// calendars used by the tables.
type calendars struct {
	wall  *Calendar // nil
	biz   *Calendar // Mon–Fri 09:00–18:00 Paris, Christmas and New Year closed
	lunch *Calendar // Mon–Fri 09:00–12:00, 13:00–18:00 Paris
	night *Calendar // Sundays 00:00–06:00 Paris: contains both DST changes
	open  *Calendar // every day 00:00–24:00 Paris (business = wall, minus holidays)
	ny    *Calendar // Mon–Fri 08:30–17:00 New York
}

func testCalendars(t testing.TB) calendars {
	return calendars{
		biz:   mustCal(t, "Europe/Paris", everyDay(weekdays, "09:00-18:00"), "2026-12-25", "2027-01-01"),
		lunch: mustCal(t, "Europe/Paris", everyDay(weekdays, "13:00-18:00, 09:00-12:00")),
		night: mustCal(t, "Europe/Paris", map[string]string{"sunday": "00:00-06:00"}),
		open: mustCal(t, "Europe/Paris",
			everyDay([]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, "00:00-24:00"), "2026-07-14"),
		ny: mustCal(t, "America/New_York", everyDay(weekdays, "08:30-17:00")),
	}
}

func TestAddElapsedTable(t *testing.T) {
	cs := testCalendars(t)
	paris := mustLoc(t, "Europe/Paris")
	ny := mustLoc(t, "America/New_York")
	p := func(mo time.Month, d, hh, mm int) time.Time { return time.Date(2026, mo, d, hh, mm, 0, 0, paris) }

	tests := []struct {
		name string
		cal  *Calendar
		from time.Time
		d    time.Duration
		want time.Time
	}{
		// Wall clock.
		{"wall 24h", cs.wall, p(11, 25, 10, 0), 24 * h, p(11, 26, 10, 0)},
		{"wall 48h over a weekend", cs.wall, p(11, 27, 17, 0), 48 * h, p(11, 29, 17, 0)},
		{"wall across spring DST is real hours", cs.wall, p(3, 28, 12, 0), 24 * h, p(3, 29, 13, 0)},
		{"wall across autumn DST is real hours", cs.wall, p(10, 24, 12, 0), 24 * h, p(10, 25, 11, 0)},
		{"wall zero", cs.wall, p(11, 25, 10, 0), 0, p(11, 25, 10, 0)},
		{"wall negative", cs.wall, p(11, 25, 10, 0), -h, p(11, 25, 10, 0)},

		// Business Mon–Fri 09:00–18:00 Paris.
		{"within the day", cs.biz, p(11, 25, 10, 0), 3 * h, p(11, 25, 13, 0)},
		{"ends exactly at closing", cs.biz, p(11, 25, 16, 0), 2 * h, p(11, 25, 18, 0)},
		{"overnight", cs.biz, p(11, 25, 17, 0), 2 * h, p(11, 26, 10, 0)},
		{"Friday 17:00 + 2h is Monday 10:00", cs.biz, p(11, 27, 17, 0), 2 * h, p(11, 30, 10, 0)},
		{"before opening starts at opening", cs.biz, p(11, 25, 7, 0), h, p(11, 25, 10, 0)},
		{"after closing starts next opening", cs.biz, p(11, 25, 20, 0), h, p(11, 26, 10, 0)},
		{"start on a Sunday", cs.biz, p(11, 29, 15, 0), h, p(11, 30, 10, 0)},
		{"start on a Saturday, a whole day", cs.biz, p(11, 28, 11, 0), 9 * h, p(11, 30, 18, 0)},
		{"minutes and seconds kept", cs.biz, p(11, 25, 10, 7).Add(13*time.Second + 5*time.Microsecond), 90 * time.Minute,
			p(11, 25, 11, 37).Add(13*time.Second + 5*time.Microsecond)},
		{"24h of business time", cs.biz, p(11, 25, 10, 0), 24 * h, p(11, 27, 16, 0)},
		{"48h of business time spans a week", cs.biz, p(11, 25, 10, 0), 48 * h, p(12, 2, 13, 0)},
		{"48h from Monday opening", cs.biz, p(11, 30, 9, 0), 48 * h, p(12, 7, 12, 0)},
		{"holiday: Thursday 17:00 before Christmas Friday", cs.biz, p(12, 24, 17, 0), 2 * h, p(12, 28, 10, 0)},
		{"holiday: start on the holiday", cs.biz, p(12, 25, 10, 0), h, p(12, 28, 10, 0)},
		{"holiday: New Year 2027", cs.biz, time.Date(2026, 12, 31, 18, 0, 0, 0, paris), 9 * h,
			time.Date(2027, 1, 4, 18, 0, 0, 0, paris)},
		{"spring DST weekend: Friday 17:00 CET + 2h", cs.biz, p(3, 27, 17, 0), 2 * h, p(3, 30, 10, 0)},
		{"autumn DST weekend: Friday 17:00 CEST + 2h", cs.biz, p(10, 23, 17, 0), 2 * h, p(10, 26, 10, 0)},

		// Split days with a lunch break.
		{"lunch: across the break", cs.lunch, p(11, 25, 11, 0), 2 * h, p(11, 25, 14, 0)},
		{"lunch: ends at the break", cs.lunch, p(11, 25, 11, 0), h, p(11, 25, 12, 0)},
		{"lunch: from inside the break", cs.lunch, p(11, 25, 12, 30), h, p(11, 25, 14, 0)},
		{"lunch: a full day is 8h", cs.lunch, p(11, 25, 9, 0), 9 * h, p(11, 26, 10, 0)},
		{"lunch: Friday 17:00 + 2h", cs.lunch, p(11, 27, 17, 0), 2 * h, p(11, 30, 10, 0)},

		// DST inside an opening span: local hours, real durations.
		{"spring DST: 00:00-06:00 is 5 real hours", cs.night, p(3, 29, 0, 0), 5 * h, p(3, 29, 6, 0)},
		{"spring DST: 01:00 + 1h is 03:00", cs.night, p(3, 29, 1, 0), h, p(3, 29, 3, 0)},
		{"spring DST: 6h runs into next Sunday", cs.night, p(3, 29, 0, 0), 6 * h, p(4, 5, 1, 0)},
		{"autumn DST: 00:00-06:00 is 7 real hours", cs.night, p(10, 25, 0, 0), 7 * h, p(10, 25, 6, 0)},
		{"autumn DST: 6h ends at 05:00 CET", cs.night, p(10, 25, 0, 0), 6 * h, p(10, 25, 5, 0)},
		{"always open: spring DST is 23h", cs.open, p(3, 29, 0, 0), 23 * h, p(3, 30, 0, 0)},
		{"always open: autumn DST is 25h", cs.open, p(10, 25, 0, 0), 25 * h, p(10, 26, 0, 0)},
		{"always open: holiday skipped", cs.open, p(7, 13, 23, 0), 2 * h, p(7, 15, 1, 0)},

		// Another zone: the calendar's zone, not the zone of from, decides.
		{"New York: Paris 22:00 is NY 16:00, ends at NY closing", cs.ny, p(11, 25, 22, 0), h,
			time.Date(2026, 11, 25, 17, 0, 0, 0, ny)},
		{"New York: Paris 23:30 is after NY closing", cs.ny, p(11, 25, 23, 30), h,
			time.Date(2026, 11, 26, 9, 30, 0, 0, ny)},
		{"New York: from given in UTC", cs.ny, time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC), h,
			time.Date(2026, 11, 25, 10, 0, 0, 0, ny)},
		// US DST (8 March 2026) differs from Europe's.
		{"New York: Friday before US DST", cs.ny, time.Date(2026, 3, 6, 16, 0, 0, 0, ny), 2 * h,
			time.Date(2026, 3, 9, 9, 30, 0, 0, ny)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Add(tc.cal, tc.from, tc.d)
			if !got.Equal(tc.want) {
				t.Fatalf("Add(%v, %v) = %v, want %v", tc.from, tc.d, got, tc.want.UTC())
			}
			if got.Location() != time.UTC {
				t.Errorf("Add returned location %v, want UTC", got.Location())
			}
			if tc.d > 0 {
				if e := Elapsed(tc.cal, tc.from, tc.want); e != tc.d {
					t.Errorf("Elapsed(%v, %v) = %v, want %v", tc.from, tc.want, e, tc.d)
				}
			}
		})
	}
}

func TestElapsedTable(t *testing.T) {
	cs := testCalendars(t)
	paris := mustLoc(t, "Europe/Paris")
	p := func(mo time.Month, d, hh, mm int) time.Time { return time.Date(2026, mo, d, hh, mm, 0, 0, paris) }
	tests := []struct {
		name     string
		cal      *Calendar
		from, to time.Time
		want     time.Duration
	}{
		{"wall", cs.wall, p(11, 25, 10, 0), p(11, 26, 12, 0), 26 * h},
		{"wall spring DST day", cs.wall, p(3, 29, 0, 0), p(3, 30, 0, 0), 23 * h},
		{"to before from", cs.wall, p(11, 26, 10, 0), p(11, 25, 10, 0), 0},
		{"business to before from", cs.biz, p(11, 26, 10, 0), p(11, 25, 10, 0), 0},
		{"weekend is nothing", cs.biz, p(11, 28, 0, 0), p(11, 30, 9, 0), 0},
		{"Friday 17:00 to Monday 10:00", cs.biz, p(11, 27, 17, 0), p(11, 30, 10, 0), 2 * h},
		{"night to night", cs.biz, p(11, 25, 20, 0), p(11, 26, 7, 0), 0},
		{"a week", cs.biz, p(11, 23, 0, 0), p(11, 30, 0, 0), 45 * h},
		{"Christmas week", cs.biz, p(12, 21, 0, 0), p(12, 28, 0, 0), 36 * h},
		{"lunch day", cs.lunch, p(11, 25, 0, 0), p(11, 26, 0, 0), 8 * h},
		{"inside lunch", cs.lunch, p(11, 25, 12, 10), p(11, 25, 12, 50), 0},
		{"autumn night", cs.night, p(10, 24, 12, 0), p(10, 26, 0, 0), 7 * h},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Elapsed(tc.cal, tc.from, tc.to); got != tc.want {
				t.Fatalf("Elapsed(%v, %v) = %v, want %v", tc.from, tc.to, got, tc.want)
			}
		})
	}
}

// TestAddProperties checks, on random inputs with a fixed seed, that
// Elapsed∘Add is the identity, that Add composes, that Elapsed is additive,
// and that Add agrees with a minute-by-minute reference.
func TestAddProperties(t *testing.T) {
	cs := testCalendars(t)
	cals := []*Calendar{cs.wall, cs.biz, cs.lunch, cs.night, cs.open, cs.ny}
	rng := rand.New(rand.NewPCG(2026, 11))
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	span := int64(10 * 365 * 24 * h)
	for i := range 3000 {
		c := cals[i%len(cals)]
		from := base.Add(time.Duration(rng.Int64N(span)))
		d := time.Duration(1 + rng.Int64N(int64(1000*h)))
		got := Add(c, from, d)
		if got.Before(from) {
			t.Fatalf("cal %d: Add(%v, %v) = %v, before from", i%len(cals), from, d, got)
		}
		if e := Elapsed(c, from, got); e != d {
			t.Fatalf("cal %d: Elapsed(%v, Add(.., %v) = %v) = %v", i%len(cals), from, d, got, e)
		}
		d1 := time.Duration(1 + rng.Int64N(int64(d)))
		if d1 < d {
			if twice := Add(c, Add(c, from, d1), d-d1); !twice.Equal(got) {
				t.Fatalf("cal %d: Add(Add(%v, %v), %v) = %v, want %v", i%len(cals), from, d1, d-d1, twice, got)
			}
		}
		mid := from.Add(time.Duration(rng.Int64N(int64(got.Sub(from)) + 1)))
		if a, b := Elapsed(c, from, mid), Elapsed(c, mid, got); a+b != d {
			t.Fatalf("cal %d: Elapsed not additive at %v: %v + %v != %v", i%len(cals), mid, a, b, d)
		}
	}

	// Reference: step minute by minute (business hours read on the local
	// clock). Whole minutes only, and no span boundary inside a DST change.
	for i := range 300 {
		c := cals[1+i%(len(cals)-1)]
		from := base.Add(time.Duration(rng.Int64N(span))).Truncate(time.Minute)
		d := time.Duration(1+rng.Int64N(20*60)) * time.Minute
		if got, want := Add(c, from, d), referenceAdd(c, from, d); !got.Equal(want) {
			t.Fatalf("Add(%v, %v) = %v, reference says %v", from, d, got, want)
		}
	}

	// Reference again, from every third hour around both 2026 Paris DST
	// weekends.
	for _, first := range []time.Time{
		time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 23, 0, 0, 0, 0, time.UTC),
	} {
		for step := range 32 {
			from := first.Add(time.Duration(step) * 3 * h)
			for _, c := range cals[1:] {
				d := time.Duration(1+rng.Int64N(5*60)) * time.Minute
				if got, want := Add(c, from, d), referenceAdd(c, from, d); !got.Equal(want) {
					t.Fatalf("Add(%v, %v) = %v, reference says %v", from, d, got, want)
				}
			}
		}
	}
}

// referenceAdd is the obvious, slow definition of Add for whole minutes.
func referenceAdd(c *Calendar, from time.Time, d time.Duration) time.Time {
	left := int(d / time.Minute)
	for t := from; ; t = t.Add(time.Minute) {
		l := t.In(c.location())
		if len(c.Holidays) == 0 || !c.Holidays[l.Format(time.DateOnly)] {
			m := l.Hour()*60 + l.Minute()
			for _, s := range c.Hours[l.Weekday()] {
				if s.Start <= m && m < s.End {
					left--
					break
				}
			}
		}
		if left == 0 {
			return t.Add(time.Minute).UTC()
		}
	}
}

func TestAddLongDurationsAreFast(t *testing.T) {
	cs := testCalendars(t)
	from := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	// Ten years of business time is about 47 years of days: must still be
	// quick (O(days), not O(minutes)).
	var got time.Time
	if took := testcpu.Spent(func() { got = Add(cs.biz, from, 10*365*24*h) }); took > 2*time.Second {
		t.Errorf("Add of ten years of business time took %v of CPU", took)
	}
	if e := Elapsed(cs.biz, from, got); e != 10*365*24*h {
		t.Errorf("Elapsed = %v", e)
	}
}

func TestAddWithoutOpeningHours(t *testing.T) {
	c := &Calendar{Location: time.UTC}
	from := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if got := Add(c, from, h); !got.Equal(Never) {
		t.Errorf("Add on a closed calendar = %v, want Never", got)
	}
	if got := Elapsed(c, from, from.Add(1000*h)); got != 0 {
		t.Errorf("Elapsed on a closed calendar = %v, want 0", got)
	}
	var nilLoc = &Calendar{Hours: [7][]Span{time.Monday: {{540, 1080}}}}
	if got, want := Add(nilLoc, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), h), time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("nil Location: got %v, want %v (UTC)", got, want)
	}
}

func TestParseCalendar(t *testing.T) {
	c, err := ParseCalendar("Europe/Paris", map[string]string{
		"Mon": "09:00-12:00,13:00-18:00", "tuesday": " 9:00-17:30 ", "sat": "closed", "sun": "", "fri": "00:00-24:00",
	}, []string{"2026-12-25", " 2027-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Location.String() != "Europe/Paris" {
		t.Errorf("Location = %v", c.Location)
	}
	wantHours := [7][]Span{
		time.Monday:  {{540, 720}, {780, 1080}},
		time.Tuesday: {{540, 1050}},
		time.Friday:  {{0, 1440}},
	}
	for wd := range 7 {
		if len(c.Hours[wd]) != len(wantHours[wd]) {
			t.Fatalf("Hours[%v] = %v, want %v", time.Weekday(wd), c.Hours[wd], wantHours[wd])
		}
		for i := range c.Hours[wd] {
			if c.Hours[wd][i] != wantHours[wd][i] {
				t.Errorf("Hours[%v] = %v, want %v", time.Weekday(wd), c.Hours[wd], wantHours[wd])
			}
		}
	}
	if !c.Holidays["2026-12-25"] || !c.Holidays["2027-01-01"] || len(c.Holidays) != 2 {
		t.Errorf("Holidays = %v", c.Holidays)
	}
	if got := c.Hours[time.Monday][1].String(); got != "13:00-18:00" {
		t.Errorf("Span.String = %q", got)
	}

	bad := []struct {
		name     string
		zone     string
		weekly   map[string]string
		holidays []string
		want     string
	}{
		{"no zone", "", map[string]string{"mon": "09:00-18:00"}, nil, "sla: calendar zone: missing"},
		{"unknown zone", "Europe/Pariss", map[string]string{"mon": "09:00-18:00"}, nil, `sla: calendar zone "Europe/Pariss"`},
		{"unknown weekday", "UTC", map[string]string{"mun": "09:00-18:00"}, nil, `sla: calendar hours["mun"]: unknown weekday`},
		{"duplicate weekday", "UTC", map[string]string{"mon": "09:00-18:00", "Monday": "10:00-11:00"}, nil, `weekday already given`},
		{"no dash", "UTC", map[string]string{"mon": "09:00"}, nil, `sla: calendar hours["mon"]: span "09:00": want HH:MM-HH:MM`},
		{"bad start", "UTC", map[string]string{"tue": "9h-18:00"}, nil, `sla: calendar hours["tue"]: span "9h-18:00": start`},
		{"bad minutes", "UTC", map[string]string{"tue": "09:60-18:00"}, nil, `hours["tue"]: span "09:60-18:00": start`},
		{"signed", "UTC", map[string]string{"tue": "+9:00-18:00"}, nil, `hours["tue"]`},
		{"past 24:00", "UTC", map[string]string{"wed": "09:00-24:30"}, nil, `sla: calendar hours["wed"]: span "09:00-24:30": end`},
		{"start at 24:00", "UTC", map[string]string{"wed": "24:00-24:00"}, nil, `24:00 is only allowed as an end`},
		{"reversed", "UTC", map[string]string{"thu": "18:00-09:00"}, nil, `sla: calendar hours["thu"]: span "18:00-09:00": start must be before end`},
		{"empty span", "UTC", map[string]string{"thu": "09:00-09:00"}, nil, `start must be before end`},
		{"overlap", "UTC", map[string]string{"fri": "09:00-13:00,12:00-18:00"}, nil, `sla: calendar hours["fri"]: spans 09:00-13:00 and 12:00-18:00 overlap`},
		{"bad holiday", "UTC", map[string]string{"mon": "09:00-18:00"}, []string{"2026-12-25", "2026-13-01"}, `sla: calendar holidays[1] "2026-13-01"`},
		{"no hours", "UTC", map[string]string{"sat": "closed"}, nil, "sla: calendar hours: no opening hours"},
		{"nothing", "UTC", nil, nil, "sla: calendar hours: no opening hours"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCalendar(tc.zone, tc.weekly, tc.holidays)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestCalendarValidate(t *testing.T) {
	var nilCal *Calendar
	if err := nilCal.Validate(); err != nil {
		t.Errorf("nil calendar: %v", err)
	}
	bad := []*Calendar{
		{},
		{Hours: [7][]Span{time.Monday: {{600, 540}}}},
		{Hours: [7][]Span{time.Monday: {{-1, 540}}}},
		{Hours: [7][]Span{time.Monday: {{0, 1441}}}},
		{Hours: [7][]Span{time.Monday: {{780, 1080}, {540, 720}}}},
		{Hours: [7][]Span{time.Monday: {{540, 1080}}}, Holidays: map[string]bool{"Christmas": true}},
	}
	for i, c := range bad {
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "sla: calendar ") {
			t.Errorf("bad[%d]: err = %v", i, err)
		}
	}
}

// FuzzAdd: Add never panics, never returns a time before from, and is
// monotone in d; Elapsed inverts it.
func FuzzAdd(f *testing.F) {
	cs := testCalendars(f)
	cals := []*Calendar{cs.wall, cs.biz, cs.lunch, cs.night, cs.open, cs.ny}
	f.Add(int64(1795600800), int64(0), int64(2*h), int64(h), uint8(1))
	f.Add(int64(1774573200), int64(123), int64(48*h), int64(0), uint8(3))
	f.Add(int64(1792800000), int64(999999999), int64(-h), int64(5*h), uint8(4))
	f.Add(int64(0), int64(0), int64(1), int64(1), uint8(5))
	f.Fuzz(func(t *testing.T, sec, nsec, di, extra int64, which uint8) {
		// Keep instants within years ~1900–2200 and durations within ~5
		// years so each call stays fast; the properties are what matter.
		const maxSec = 7_000_000_000
		sec %= maxSec
		nsec %= int64(time.Second)
		const maxD = int64(5 * 365 * 24 * h)
		d := time.Duration(di % maxD)
		if extra < 0 {
			extra = -extra
		}
		extra %= maxD
		c := cals[int(which)%len(cals)]
		from := time.Unix(sec, nsec)

		a := Add(c, from, d)
		if a.Before(from) {
			t.Fatalf("Add(%v, %v) = %v, before from", from, d, a)
		}
		b := Add(c, from, d+time.Duration(extra))
		if b.Before(a) {
			t.Fatalf("not monotone: Add(%v, %v) = %v but Add(.., %v) = %v", from, d, a, d+time.Duration(extra), b)
		}
		if d > 0 {
			if e := Elapsed(c, from, a); e != d {
				t.Fatalf("Elapsed(%v, Add(.., %v)) = %v", from, d, e)
			}
		}
	})
}

func BenchmarkAdd(b *testing.B) {
	cs := testCalendars(b)
	from := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	b.Run("business48h", func(b *testing.B) {
		for b.Loop() {
			Add(cs.biz, from, 48*h)
		}
	})
	b.Run("wall48h", func(b *testing.B) {
		for b.Loop() {
			Add(nil, from, 48*h)
		}
	})
}
