package proof

import "testing"

// The place named is the most precise one that at least k distinct
// customers share; the table walks each level at k-1 and k.
func TestPlaceOfAtTheEdgesOfK(t *testing.T) {
	const k = 5
	lyon := Billing{Country: "FR", Region: "Auvergne-Rhône-Alpes", City: "Lyon"}
	type counts struct{ city, restOfRegion, restOfCountry int }
	crowd := func(c counts) *Crowd {
		cr := NewCrowd()
		if c.city > 0 {
			cr.Add(lyon, c.city)
		}
		if c.restOfRegion > 0 {
			cr.Add(Billing{Country: "FR", Region: "Auvergne-Rhône-Alpes", City: "Grenoble"}, c.restOfRegion)
		}
		if c.restOfCountry > 0 {
			cr.Add(Billing{Country: "FR", Region: "Bretagne", City: "Rennes"}, c.restOfCountry)
		}
		return cr
	}
	tests := []struct {
		name      string
		b         Billing
		c         counts
		level     Level
		placeName string
	}{
		{"city at k", lyon, counts{k, 0, 0}, LevelCity, "Lyon"},
		{"city at k-1, region at k", lyon, counts{k - 1, 1, 0}, LevelRegion, "Auvergne-Rhône-Alpes"},
		{"city at k-1, region at k-1, country at k", lyon, counts{k - 1, 0, 1}, LevelCountry, "FR"},
		{"city and region at k-1, country at k-1", lyon, counts{k - 2, 1, 0}, LevelNone, ""},
		{"region at k from other cities", lyon, counts{1, k - 1, 0}, LevelRegion, "Auvergne-Rhône-Alpes"},
		{"region at k-1 from other cities", lyon, counts{1, k - 2, 0}, LevelNone, ""},
		{"country at k from other regions", lyon, counts{1, 1, k - 2}, LevelCountry, "FR"},
		{"no region: city at k-1 falls to the country", Billing{Country: "FR", City: "Lyon"}, counts{k - 1, 0, 1}, LevelCountry, "FR"},
		{"no city: region", Billing{Country: "FR", Region: "Auvergne-Rhône-Alpes"}, counts{k, 0, 0}, LevelRegion, "Auvergne-Rhône-Alpes"},
		{"no place at all", Billing{}, counts{k, k, k}, LevelNone, ""},
		{"city as its crowd writes it, not as typed", Billing{Country: "fr", Region: "auvergne-rhône-alpes", City: "  LYON "}, counts{k, 0, 0}, LevelCity, "Lyon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			level, name := PlaceOf(tt.b, crowd(tt.c), k)
			if level != tt.level || name != tt.placeName {
				t.Fatalf("PlaceOf = %s %q, want %s %q", level, name, tt.level, tt.placeName)
			}
		})
	}
}

// A city of the same name in another country is another crowd.
func TestPlaceOfKeepsCountriesApart(t *testing.T) {
	c := NewCrowd()
	c.Add(Billing{Country: "FR", City: "Paris"}, 3)
	c.Add(Billing{Country: "US", Region: "Texas", City: "Paris"}, 3)
	if level, _ := PlaceOf(Billing{Country: "FR", City: "Paris"}, c, 4); level != LevelNone {
		t.Fatalf("Paris FR with 3 customers named at level %s, want none", level)
	}
	if level, _ := PlaceOf(Billing{Country: "FR", City: "paris"}, c, 3); level != LevelCity {
		t.Fatalf("Paris FR with 3 customers and k=3: level %s, want city", level)
	}
}

// People type the same place in many ways; the crowd counts them as one
// place: case, spaces, accents (French capitals often lose theirs),
// hyphens and apostrophes do not make another city or region.
func TestPlaceOfFoldsHowAPlaceIsTyped(t *testing.T) {
	for _, tt := range []struct {
		name    string
		crowd   []Billing
		b       Billing
		level   Level
		display string
	}{
		{"accents and capitals", []Billing{{Country: "FR", City: "Béziers"}, {Country: "FR", City: "BEZIERS"}},
			Billing{Country: "FR", City: "Beziers"}, LevelCity, "Béziers"},
		{"hyphens and accents", []Billing{{Country: "FR", City: "Saint-Étienne"}, {Country: "FR", City: "saint etienne"}},
			Billing{Country: "FR", City: "SAINT-ETIENNE"}, LevelCity, "Saint-Étienne"},
		{"apostrophes", []Billing{{Country: "FR", City: "L’Haÿ-les-Roses"}, {Country: "FR", City: "L'Hay les Roses"}},
			Billing{Country: "FR", City: "l'haÿ-les-roses"}, LevelCity, "L’Haÿ-les-Roses"},
		{"region with and without accents", []Billing{{Country: "FR", Region: "Île-de-France", City: "Paris"}, {Country: "FR", Region: "ILE DE FRANCE", City: "Créteil"}},
			Billing{Country: "FR", Region: "île-de-france", City: "Versailles"}, LevelRegion, "Île-de-France"},
		{"another city is still another city", []Billing{{Country: "FR", City: "Béziers"}, {Country: "FR", City: "Bézier"}},
			Billing{Country: "FR", City: "Béziers"}, LevelCountry, "FR"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCrowd()
			for _, b := range append(tt.crowd, tt.b) {
				c.Add(b, 1)
			}
			if level, name := PlaceOf(tt.b, c, 3); level != tt.level || name != tt.display {
				t.Fatalf("PlaceOf = %s %q, want %s %q", level, name, tt.level, tt.display)
			}
		})
	}
}

// A notice names a place as most of its crowd writes it: the buyer who
// typed it their own way ("LYON", "lyon ", without accents) is not told
// apart from the others by the notice.
func TestPlaceOfNamesThePlaceAsItsCrowdWritesIt(t *testing.T) {
	type spelled struct {
		as string
		n  int
	}
	for _, tt := range []struct {
		name   string
		crowd  []spelled // the buyer's own spelling is one of these
		buyer  string
		region bool
		want   string
	}{
		{"the most frequent spelling", []spelled{{"Lyon", 3}, {"LYON", 1}, {"lyon", 1}}, "LYON", false, "Lyon"},
		{"even lower case, when most write it so", []spelled{{"lyon", 3}, {"Lyon", 2}}, "Lyon", false, "lyon"},
		{"as frequent: mixed case first", []spelled{{"BEZIERS", 1}, {"Béziers", 1}, {"beziers", 1}}, "BEZIERS", false, "Béziers"},
		{"as frequent: accents first", []spelled{{"Beziers", 1}, {"Béziers", 1}, {"BÉZIERS", 1}}, "Beziers", false, "Béziers"},
		{"spaces do not make a spelling", []spelled{{"  Saint   Malo ", 2}, {"Saint Malo", 1}, {"SAINT-MALO", 2}}, "SAINT-MALO", false, "Saint Malo"},
		{"a region too", []spelled{{"BRETAGNE", 1}, {"Bretagne", 2}}, "BRETAGNE", true, "Bretagne"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCrowd()
			total := 0
			for _, s := range tt.crowd {
				b := Billing{Country: "FR", City: s.as}
				if tt.region {
					b = Billing{Country: "FR", Region: s.as}
				}
				c.Add(b, s.n)
				total += s.n
			}
			b, level := Billing{Country: "FR", City: tt.buyer}, LevelCity
			if tt.region {
				b, level = Billing{Country: "FR", Region: tt.buyer}, LevelRegion
			}
			if gotLevel, got := PlaceOf(b, c, total); gotLevel != level || got != tt.want {
				t.Fatalf("PlaceOf = %s %q, want %s %q", gotLevel, got, level, tt.want)
			}
		})
	}
}
