package proof

import (
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
		place = CountryName(n.Place, lang)
	}
	ago := Ago(m, lang, now.Sub(n.Slot))
	level := n.Level
	if level == "" {
		level = LevelNone
	}
	text := m.T(lang, "proof.notice."+string(level), map[string]any{"Place": place, "Product": name, "Ago": ago})
	return Item{
		ID: itemID(n.OrderID), Text: text, Product: ItemProduct{ID: n.ProductID, Name: name},
		Place: ItemPlace{Level: level, Name: place}, Ago: ago,
	}
}
