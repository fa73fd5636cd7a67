package proof

import (
	"strings"
	"time"

	"comptoir/internal/locale"
)

// Messages is what wording needs from the catalogs.
type Messages interface {
	T(lang, id string, data ...any) string
	N(lang, id string, count int, data ...any) string
}

var _ Messages = (*locale.Catalog)(nil)

// Ago words a rounded elapsed time in lang, with the plural form that
// language gives the count ("il y a environ une heure", "about 2 hours ago").
func Ago(m Messages, lang string, d time.Duration) string {
	unit, n := Rounded(d)
	return m.N(lang, "proof.ago."+unit, n)
}

// Word writes a notice in lang as of now.
func Word(m Messages, n notice, lang string, now time.Time) Item {
	if lang != locale.FR {
		lang = locale.EN
	}
	name := n.NameEN
	if lang == locale.FR {
		name = n.NameFR
	}
	place := n.Place
	if n.Level == LevelCountry {
		place = locale.CountryName(n.Place, lang)
	}
	ago := Ago(m, lang, now.Sub(n.Slot))
	level := n.Level
	if level == "" {
		level = LevelNone
	}
	text := m.T(lang, "proof.notice."+string(level), map[string]any{"Place": placeInText(place, level, lang), "InCity": inCity(place, lang), "Product": name, "Ago": ago})
	return Item{
		ID: itemID(n.OrderID), Text: text, Product: ItemProduct{ID: n.ProductID, Name: name},
		Place: ItemPlace{Level: level, Name: place}, Ago: ago,
	}
}

// inCity is a city's name with the preposition of "someone in <city>":
// French joins the article of a name that has one to "à" ("au Havre",
// "aux Abymes"; "à La Rochelle" keeps it), where "à Le Havre" reads as a
// mistake.
func inCity(city, lang string) string {
	if lang != locale.FR {
		return "in " + city
	}
	for _, c := range []struct{ article, at string }{{"le ", "au "}, {"les ", "aux "}} {
		if len(city) > len(c.article) && strings.EqualFold(city[:len(c.article)], c.article) {
			return c.at + city[len(c.article):]
		}
	}
	return "à " + city
}

// placeInText is the place as a notice's sentence names it: English puts
// "the" before the countries whose names take it ("in the Netherlands");
// the item's place stays the bare name.
func placeInText(place string, level Level, lang string) string {
	if lang == locale.EN && level == LevelCountry && englishCountriesWithThe[place] {
		return "the " + place
	}
	return place
}

// englishCountriesWithThe: the English names (golang.org/x/text/language/
// display) that take "the" in a sentence.
var englishCountriesWithThe = map[string]bool{
	"United States": true, "United Kingdom": true, "Netherlands": true, "United Arab Emirates": true,
	"Philippines": true, "Dominican Republic": true, "Central African Republic": true, "Bahamas": true,
	"Gambia": true, "Maldives": true, "Comoros": true, "Marshall Islands": true, "Solomon Islands": true,
	"Seychelles": true, "Czech Republic": true, "Vatican City": true,
}
