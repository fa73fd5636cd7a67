package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/apptest"
)

// TestSignUpNamesCountriesAndSaysWhoNeedsAVATNumber: the sign-up form's
// country was a bare two-letter box ("FR" its placeholder), and its VAT
// number field said nothing of who needs one. The country is a <select>
// of countries named in the page's language (the value, the ISO code; the
// store's country chosen at first), and the VAT number is labelled as for
// businesses only. Neither needs JavaScript; a typed code still signs up.
func TestSignUpNamesCountriesAndSaysWhoNeedsAVATNumber(t *testing.T) {
	h := apptest.Start(t)
	for _, tc := range []struct{ lang, germany, france, vat string }{
		{"fr", "Allemagne", "France", "Numéro de TVA intracommunautaire (professionnels uniquement)"},
		{"en", "Germany", "France", "VAT number (businesses only)"},
	} {
		c := h.NewClient(t)
		c.Lang = tc.lang
		r := c.Get("/signup")
		mustContain(t, r, `<select id="country" name="country"`, `<option value="DE">`+tc.germany+`</option>`,
			`<option value="FR" selected>`+tc.france+`</option>`, `<label for="vat_number">`+tc.vat+`</label>`,
			`id="vat_number" name="vat_number" aria-describedby="vat_number-help"`)
		if strings.Contains(r.Body, `placeholder="FR"`) {
			t.Fatalf("%s: the country is still a code box", tc.lang)
		}
		// Names sort in the page's language: "Allemagne" before "Autriche"
		// and "États-Unis" among the E's in French, "Austria" before
		// "Germany" in English.
		order := map[string][]string{"fr": {"Allemagne", "Autriche", "Espagne", "États-Unis", "Finlande"}, "en": {"Austria", "Germany"}}[tc.lang]
		for i := 1; i < len(order); i++ {
			if a, b := strings.Index(r.Body, ">"+order[i-1]+"<"), strings.Index(r.Body, ">"+order[i]+"<"); a < 0 || b < 0 || a > b {
				t.Fatalf("%s: %q (%d) and %q (%d)", tc.lang, order[i-1], a, order[i], b)
			}
		}
		// A refused form keeps the country chosen.
		r = c.PostForm("/signup", url.Values{"name": {"Ana"}, "email": {"ana-" + tc.lang + "@example.fr"}, "password": {"short"},
			"password_confirm": {"short"}, "customer_type": {"consumer"}, "country": {"de"}, "city": {"Berlin"}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: a short password: %d", tc.lang, r.Status)
		}
		mustContain(t, r, `<option value="DE" selected>`+tc.germany+`</option>`)
		// A code the list does not name, sent by hand, still signs up.
		r = c.PostForm("/signup", url.Values{"name": {"Ana"}, "email": {"ana-" + tc.lang + "@example.fr"}, "password": {apptest.Password},
			"password_confirm": {apptest.Password}, "customer_type": {"consumer"}, "country": {"jp"}, "city": {"Tokyo"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("%s: a typed code: %d %s", tc.lang, r.Status, r.Body)
		}
	}
}
