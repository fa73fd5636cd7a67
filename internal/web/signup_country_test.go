package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/apptest"
)

// A sign-up whose country is no country (a form sent by hand, a stale
// page, a name where the select sends a code) said "Enter a two-letter
// country code, such as FR or BE." beside a list the visitor cannot type
// in, and kept the bad code as the list's chosen entry. It asks the
// visitor to choose from the list, the list asks for a choice again, and
// the field says what to do when the country is not listed (write to the
// store), in the visitor's language. The API, which takes a code, still
// asks for one.
func TestSignUpWithAnUnknownCountrySaysWhatToDo(t *testing.T) {
	h := apptest.Start(t)
	for _, tc := range []struct{ lang, choose, invalid, help string }{
		{"fr", "Choisissez un pays", "Choisissez votre pays dans la liste.", "Votre pays n’est pas dans la liste\u00a0? <a href=\"/contact\">Écrivez-nous</a>"},
		{"en", "Choose a country", "Choose your country from the list.", "Your country is not in the list? <a href=\"/contact\">Write to us</a>"},
	} {
		for _, country := range []string{"XX", "France"} {
			c := h.NewClient(t)
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			r := c.PostForm("/signup", url.Values{"name": {"Zoé Martin"}, "email": {"zoe@example.fr"}, "password": {apptest.Password},
				"password_confirm": {apptest.Password}, "customer_type": {"consumer"}, "country": {country}, "city": {"Lyon"}, "language": {tc.lang}})
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("%s %s: %d", tc.lang, country, r.Status)
			}
			mustContain(t, r, `<p class="error" id="country-error">`+tc.invalid+`</p>`, `<option value="" selected>`+tc.choose+`</option>`,
				`aria-describedby="country-help country-error"`, tc.help)
			if strings.Contains(r.Body, `value="XX"`) {
				t.Errorf("%s: the unknown code is offered as a country", tc.lang)
			}
		}
		// The form as served names the way out too.
		c := h.NewClient(t)
		c.PostForm("/lang", url.Values{"lang": {tc.lang}})
		mustContain(t, c.Get("/signup"), `id="country-help"`, tc.help)
	}
	if _, err := h.App.Accounts.UserByEmail(context.Background(), "zoe@example.fr"); err == nil {
		t.Fatal("an account was opened")
	}
	// The API has no list: its field error still asks for a code.
	api := h.NewClient(t)
	api.Lang = "en"
	r := postJSON(api, "/api/v1/signup", `{"email":"zoe@example.fr","password":"`+apptest.Password+`","name":"Zoé","language":"fr","country":"XX","city":"Lyon"}`, nil)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"country":"Enter a two-letter country code, such as FR or BE."`) {
		t.Errorf("API sign-up with country XX: %d %s", r.Status, r.Body)
	}
	// A valid code outside the list is still taken, and kept when the form comes back.
	c := h.NewClient(t)
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	r = c.PostForm("/signup", url.Values{"name": {"Aiko"}, "email": {"aiko@example.jp"}, "password": {apptest.Password},
		"password_confirm": {apptest.Password + "x"}, "customer_type": {"consumer"}, "country": {"JP"}, "city": {"Kyoto"}, "language": {"en"}})
	mustContain(t, r, `<option value="JP" selected>Japan</option>`)
}
