package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// TestPageAskedWithAnotherMethodIs405: a form's address opened as a page
// (from the history, a shared link: /balance/topup, /checkout, a
// subscription's /cancel) answered "Page not found: it does not exist or
// has moved", and so did a page sent a method it does not take (DELETE
// /signin), where the API answers 405 with Allow. Pages now answer 405
// with Allow, say the form is sent from its page and lead back to it, in
// the visitor's language; an address with no route at all is still 404.
func TestPageAskedWithAnotherMethodIs405(t *testing.T) {
	h := apptest.Start(t)
	_, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	for _, tc := range []struct{ lang, title, form, other, back, notFound string }{
		{"en", "Error 405", "This address only receives a form sent from its page", "This address does not take this kind of request",
			"Back to the form", "Page not found"},
		{"fr", "Erreur 405", "Cette adresse ne reçoit qu’un formulaire envoyé depuis sa page", "Cette adresse n’accepte pas ce type de requête",
			"Revenir au formulaire", "Page introuvable"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			for _, f := range []struct{ path, allow, back string }{
				{"/balance/topup", "POST", "/balance"},
				{"/checkout", "POST", "/cart"},
				{"/subscriptions/sub_01M8MR4XRMSNHDH93ZWWF1EGJ7/cancel", "POST", "/subscriptions/sub_01M8MR4XRMSNHDH93ZWWF1EGJ7"},
				{"/orders/ord_01M8MR4XRMSNHDH93ZWWF1EGJ7/claims", "POST", "/orders/ord_01M8MR4XRMSNHDH93ZWWF1EGJ7"},
			} {
				r := c.Get(f.path)
				if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != f.allow ||
					!strings.Contains(r.Body, "<h1>"+tc.title+"</h1>") || !strings.Contains(r.Body, tc.form) ||
					!strings.Contains(r.Body, `<a href="`+f.back+`" id="error-back">`+tc.back+`</a>`) {
					t.Errorf("GET %s: %d Allow %q:\n%s", f.path, r.Status, r.Header.Get("Allow"), r.Body)
				}
			}
			r := c.Send(http.MethodDelete, "/signin", "", nil, nil)
			if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD, POST" ||
				!strings.Contains(r.Body, tc.other) || strings.Contains(r.Body, `id="error-back"`) {
				t.Errorf("DELETE /signin: %d Allow %q:\n%s", r.Status, r.Header.Get("Allow"), r.Body)
			}
			if r := c.Get("/no/such/page"); r.Status != http.StatusNotFound || !strings.Contains(r.Body, tc.notFound) {
				t.Errorf("GET /no/such/page: %d:\n%s", r.Status, r.Body)
			}
		})
	}
}
