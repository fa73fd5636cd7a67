package locale_test

import (
	"testing"

	"comptoir/internal/locale"
)

func TestCountryName(t *testing.T) {
	for _, tt := range []struct{ code, lang, want string }{
		{"FR", "fr", "France"}, {"DE", "fr", "Allemagne"}, {"DE", "en", "Germany"}, {"ZZZ", "en", "ZZZ"},
	} {
		if got := locale.CountryName(tt.code, tt.lang); got != tt.want {
			t.Errorf("CountryName(%s, %s) = %q, want %q", tt.code, tt.lang, got, tt.want)
		}
	}
}
