package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/apptest"
)

// An address that reads as another (the Kelvin sign K for "k", a Cyrillic
// "а" among Latin letters) is refused on the sign-up page, by the API and
// on the Contact page, each saying why in the visitor's language (before:
// the sign-up took kate@example.net's key, the Contact form named her
// orders; see account.Confusable).
func TestLookalikeAddressIsRefusedWithItsReason(t *testing.T) {
	h := apptest.Start(t)
	kelvin := "\u212Aate@example.net"
	for _, tt := range []struct{ lang, signup, contact string }{
		{"fr", "se font passer pour d’autres", "nos réponses ne vous parviendraient pas"},
		{"en", "pass for others", "answers could not reach you"},
	} {
		c := h.NewClient(t)
		c.Lang = tt.lang
		r := c.PostForm("/signup", url.Values{"name": {"Kate"}, "email": {kelvin}, "password": {apptest.Password},
			"password_confirm": {apptest.Password}, "customer_type": {"consumer"}, "country": {"FR"},
			"city": {"Rennes"}, "language": {tt.lang}})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, tt.signup) {
			t.Errorf("%s sign-up: %d %.400s", tt.lang, r.Status, r.Body)
		}
		r = c.Send(http.MethodPost, "/api/v1/signup", "application/json", strings.NewReader(`{"email":"k\u0430te@example.net",`+
			`"password":"`+apptest.Password+`","name":"Kate","language":"`+tt.lang+`","country":"FR","city":"Rennes"}`), nil)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, tt.signup) {
			t.Errorf("%s API sign-up: %d %s", tt.lang, r.Status, r.Body)
		}
		r = c.PostForm("/contact", url.Values{"name": {"Kate"}, "email": {kelvin}, "topic": {"question"}, "message": {"Hello"}})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, tt.contact) {
			t.Errorf("%s contact: %d %.400s", tt.lang, r.Status, r.Body)
		}
	}
}
