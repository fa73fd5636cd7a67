package proof

import (
	"strings"
	"unicode"

	"golang.org/x/text/cases"
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
// so the counts of the places inside a region add up to the region's. It
// also counts how they spelled each city and region, so that a notice
// names the place as its crowd writes it, not as one buyer typed it.
type Crowd struct {
	cities, regions, countries map[string]int
	spellings                  map[string]map[string]int // by city or region key
}

// NewCrowd returns an empty crowd.
func NewCrowd() *Crowd {
	return &Crowd{cities: map[string]int{}, regions: map[string]int{}, countries: map[string]int{},
		spellings: map[string]map[string]int{}}
}

// Add counts n distinct customers whose billing place is b.
func (c *Crowd) Add(b Billing, n int) {
	if k := countryKey(b); k != "" {
		c.countries[k] += n
	}
	if k := regionKey(b); k != "" {
		c.regions[k] += n
		c.spelled("region\x00"+k, b.Region, n)
	}
	if k := cityKey(b); k != "" {
		c.cities[k] += n
		c.spelled("city\x00"+k, b.City, n)
	}
}

func (c *Crowd) spelled(key, as string, n int) {
	if c.spellings[key] == nil {
		c.spellings[key] = map[string]int{}
	}
	c.spellings[key][strings.Join(strings.Fields(as), " ")] += n
}

// spelling is how a place is written in a notice: the spelling most of its
// crowd used, so that the name shown does not single out the one customer
// who typed "LYON" or "lyon" among the k who make the crowd; between
// spellings as frequent, one in mixed case ("Lyon"), then the one that
// sorts last, which puts accents first ("Béziers" over "Beziers"). typed
// is the buyer's own, used should the crowd not know the place.
func (c *Crowd) spelling(key, typed string) string {
	best, bestN := strings.Join(strings.Fields(typed), " "), 0
	for as, n := range c.spellings[key] {
		if n > bestN || n == bestN && (mixedCase(as) && !mixedCase(best) || mixedCase(as) == mixedCase(best) && as > best) {
			best, bestN = as, n
		}
	}
	return best
}

func mixedCase(s string) bool { return strings.ToUpper(s) != s && strings.ToLower(s) != s }

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
// returns the level and the place as most of its crowd writes it (a
// country code for LevelCountry; see CountryName). A buyer outside the crowd (which should
// not happen: the crowd includes them) is never named more precisely than
// the crowd allows.
func PlaceOf(b Billing, c *Crowd, k int) (Level, string) {
	if k < 1 {
		k = 1
	}
	if key := cityKey(b); key != "" && c.cities[key] >= k {
		return LevelCity, c.spelling("city\x00"+key, b.City)
	}
	if key := regionKey(b); key != "" && c.regions[key] >= k {
		return LevelRegion, c.spelling("region\x00"+key, b.Region)
	}
	if key := countryKey(b); key != "" && c.countries[key] >= k {
		return LevelCountry, key
	}
	return LevelNone, ""
}
