package proof

import (
	"testing"
	"time"

	"comptoir/internal/locale"
)

func TestRoundedEdges(t *testing.T) {
	tests := []struct {
		d    time.Duration
		unit string
		n    int
	}{
		{0, UnitMinutes, 5},
		{10 * time.Minute, UnitMinutes, 10},
		{12*time.Minute + 29*time.Second, UnitMinutes, 10},
		{12*time.Minute + 30*time.Second, UnitMinutes, 15},
		{49*time.Minute + 59*time.Second, UnitMinutes, 50},
		{50 * time.Minute, UnitHours, 1},
		{89 * time.Minute, UnitHours, 1},
		{90 * time.Minute, UnitHours, 2},
		{23*time.Hour + 29*time.Minute, UnitHours, 23},
		{23*time.Hour + 30*time.Minute, UnitDays, 1},
		{36*time.Hour - time.Second, UnitDays, 1},
		{36 * time.Hour, UnitDays, 2},
		{7 * 24 * time.Hour, UnitDays, 7},
	}
	for _, tt := range tests {
		unit, n := Rounded(tt.d)
		if unit != tt.unit || n != tt.n {
			t.Errorf("Rounded(%v) = %d %s, want %d %s", tt.d, n, unit, tt.n, tt.unit)
		}
	}
}

// The words follow each language's plural rules through go-i18n: French
// "une heure", "2 heures"; English "an hour", "2 hours".
func TestAgoPluralsInBothLanguages(t *testing.T) {
	cat := locale.MustLoad()
	tests := []struct {
		d      time.Duration
		fr, en string
	}{
		{10 * time.Minute, "il y a environ 10\u00A0minutes", "about 10 minutes ago"},
		{time.Hour, "il y a environ une heure", "about an hour ago"},
		{2 * time.Hour, "il y a environ 2\u00A0heures", "about 2 hours ago"},
		{24 * time.Hour, "il y a environ un jour", "about a day ago"},
		{3 * 24 * time.Hour, "il y a environ 3\u00A0jours", "about 3 days ago"},
	}
	for _, tt := range tests {
		if got := Ago(cat, "fr", tt.d); got != tt.fr {
			t.Errorf("fr %v: %q, want %q", tt.d, got, tt.fr)
		}
		if got := Ago(cat, "en", tt.d); got != tt.en {
			t.Errorf("en %v: %q, want %q", tt.d, got, tt.en)
		}
	}
}

func TestWordEachLevelInBothLanguages(t *testing.T) {
	cat := locale.MustLoad()
	paid := time.Date(2026, 3, 8, 9, 0, 0, 0, time.UTC)
	now := paid.Add(time.Hour)
	n := notice{OrderID: "ord_x", PaidAt: paid, Slot: paid, ProductID: "prd_x", NameFR: "Logo", NameEN: "Logo design"}
	tests := []struct {
		level  Level
		place  string
		fr, en string
	}{
		{LevelCity, "Lyon", "Quelqu’un à Lyon a acheté «\u00A0Logo\u00A0» il y a environ une heure", "Someone in Lyon bought “Logo design” about an hour ago"},
		{LevelRegion, "Bretagne", "Quelqu’un de la région Bretagne a acheté «\u00A0Logo\u00A0» il y a environ une heure", "Someone in the Bretagne region bought “Logo design” about an hour ago"},
		{LevelCountry, "DE", "Quelqu’un (Allemagne) a acheté «\u00A0Logo\u00A0» il y a environ une heure", "Someone in Germany bought “Logo design” about an hour ago"},
		{LevelNone, "", "Quelqu’un a acheté «\u00A0Logo\u00A0» il y a environ une heure", "Someone bought “Logo design” about an hour ago"},
		// French joins a city's article to "à"; English puts "the" before
		// the countries that take it.
		{LevelCity, "Le Havre", "Quelqu’un au Havre a acheté «\u00A0Logo\u00A0» il y a environ une heure", "Someone in Le Havre bought “Logo design” about an hour ago"},
		{LevelCity, "Les Abymes", "Quelqu’un aux Abymes a acheté «\u00A0Logo\u00A0» il y a environ une heure", "Someone in Les Abymes bought “Logo design” about an hour ago"},
		{LevelCity, "La Rochelle", "Quelqu’un à La Rochelle a acheté «\u00A0Logo\u00A0» il y a environ une heure", "Someone in La Rochelle bought “Logo design” about an hour ago"},
		{LevelCity, "Lesneven", "Quelqu’un à Lesneven a acheté «\u00A0Logo\u00A0» il y a environ une heure", "Someone in Lesneven bought “Logo design” about an hour ago"},
		{LevelCountry, "NL", "Quelqu’un (Pays-Bas) a acheté «\u00A0Logo\u00A0» il y a environ une heure", "Someone in the Netherlands bought “Logo design” about an hour ago"},
	}
	for _, tt := range tests {
		n.Level, n.Place = tt.level, tt.place
		if got := Word(cat, n, "fr", now).Text; got != tt.fr {
			t.Errorf("fr %s: %q, want %q", tt.level, got, tt.fr)
		}
		it := Word(cat, n, "en", now)
		if it.Text != tt.en {
			t.Errorf("en %s: %q, want %q", tt.level, it.Text, tt.en)
		}
		if it.ID == "" || it.ID == n.OrderID || it.Place.Level != tt.level {
			t.Errorf("item %+v: id must be opaque, level %s", it, tt.level)
		}
	}
}
