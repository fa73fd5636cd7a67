package proof

import (
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/unicode/norm"
)

// Level is how precisely a notice names the buyer's place.
type Level string

// Levels, most precise first.
const (
	LevelCity    Level = "city"
	LevelRegion  Level = "region"
	LevelCountry Level = "country"
	LevelNone    Level = "none"
)

// Billing is the buyer's billing place as written on their account.
type Billing struct {
	Country string // ISO 3166-1 alpha-2
	Region  string
	City    string
}

// Crowd counts distinct customers who bought from each place in the
// anonymity window (the last 90 days). Each customer has one billing place,
// so the counts of the places inside a region add up to the region's.
type Crowd struct {
	cities, regions, countries map[string]int
}

// NewCrowd returns an empty crowd.
func NewCrowd() *Crowd {
	return &Crowd{cities: map[string]int{}, regions: map[string]int{}, countries: map[string]int{}}
}

// Add counts n distinct customers whose billing place is b.
func (c *Crowd) Add(b Billing, n int) {
	if k := countryKey(b); k != "" {
		c.countries[k] += n
	}
	if k := regionKey(b); k != "" {
		c.regions[k] += n
	}
	if k := cityKey(b); k != "" {
		c.cities[k] += n
	}
}

// fold makes "  LYON " and "lyon", "Béziers" and "BEZIERS", "Saint-Étienne"
// and "saint etienne" the same place: people type their city in many ways
// (in French, capitals often without their accents), and counting them
// apart would hide a crowd. Marks are dropped after canonical
// decomposition; hyphens and apostrophes count as spaces.
var folder = cases.Fold()

func fold(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.Is(unicode.Mn, r):
			return -1
		case r == '-' || r == '\'' || r == '’':
			return ' '
		}
		return r
	}, norm.NFD.String(s))
	return folder.String(strings.Join(strings.Fields(s), " "))
}

func countryKey(b Billing) string { return strings.ToUpper(strings.TrimSpace(b.Country)) }

// regionKey and cityKey include the country: Paris, Texas is not Paris.
func regionKey(b Billing) string {
	c, r := countryKey(b), fold(b.Region)
	if c == "" || r == "" {
		return ""
	}
	return c + "\x00" + r
}

func cityKey(b Billing) string {
	c, city := countryKey(b), fold(b.City)
	if c == "" || city == "" {
		return ""
	}
	return c + "\x00" + city
}

// PlaceOf decides what a notice may say about where the buyer is: the city
// when at least k distinct customers bought from that city in the window,
// else the region on the same rule, else the country, else nothing. It
// returns the level and the place as the buyer wrote it (a country code for
// LevelCountry; see CountryName). A buyer outside the crowd (which should
// not happen: the crowd includes them) is never named more precisely than
// the crowd allows.
func PlaceOf(b Billing, c *Crowd, k int) (Level, string) {
	if k < 1 {
		k = 1
	}
	if key := cityKey(b); key != "" && c.cities[key] >= k {
		return LevelCity, strings.Join(strings.Fields(b.City), " ")
	}
	if key := regionKey(b); key != "" && c.regions[key] >= k {
		return LevelRegion, strings.Join(strings.Fields(b.Region), " ")
	}
	if key := countryKey(b); key != "" && c.countries[key] >= k {
		return LevelCountry, key
	}
	return LevelNone, ""
}

// CountryName is the name of a country in lang ("FR" → "France",
// "DE" → "Allemagne" in French); the code itself when unknown.
func CountryName(code, lang string) string {
	r, err := language.ParseRegion(code)
	if err != nil || len(code) != 2 || !r.IsCountry() {
		return code
	}
	tag := language.English
	if lang == "fr" {
		tag = language.French
	}
	if n := display.Regions(tag).Name(r); n != "" {
		return n
	}
	return code
}
