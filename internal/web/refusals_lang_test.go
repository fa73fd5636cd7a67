package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/locale"
)

// Every refusal a visitor can meet is a page of the store in their
// language: a form sent from another site (CSRF), a body too large, a
// malformed form or query, a form refused field by field, a wrong
// password, too many attempts, a missing page or asset. The crawl fetches
// what links lead to; these are what they do not. Each answer is checked
// as the crawl checks a page (<html lang>, no message of the other
// language, no key shown as text) and must say its own message. Before, a
// form refused as cross-site was in French whatever the visitor read
// (the refusal runs before the visitor is identified), and a missing asset
// was Go's plain-text "404 page not found".
func TestRefusalsSpeakTheVisitorsLanguage(t *testing.T) {
	h := apptest.Start(t)
	ct := newCrawlTexts(h.App.Messages)
	msgs := h.App.Messages
	same := http.Header{"Sec-Fetch-Site": {"same-origin"}}
	crossSite := http.Header{"Sec-Fetch-Site": {"cross-site"}}
	const form = "application/x-www-form-urlencoded"
	big := "email=" + strings.Repeat("x", 2<<20)

	for _, lang := range locale.Supported {
		other := locale.FR
		if lang == locale.FR {
			other = locale.EN
		}
		t.Run(lang, func(t *testing.T) {
			anon := h.NewClient(t)
			anon.Lang = lang
			// A customer whose saved language is lang, with a browser
			// asking for the other one: the saved choice wins.
			u, _ := h.User(t, account.RoleCustomer, "ana-"+lang+"@example.fr")
			_, cust := signedInClient(t, h, u)
			cust.Lang = other
			if r := cust.PostForm("/lang", url.Values{"lang": {lang}}); r.Status != http.StatusSeeOther {
				t.Fatalf("switch to %s: %d", lang, r.Status)
			}
			type answer struct {
				name   string
				r      apptest.Response
				status int
				key    string // the message the page must say
			}
			answers := []answer{
				{"cross-site form", anon.Send(http.MethodPost, "/contact", form, strings.NewReader("topic=order"), crossSite), http.StatusForbidden, "error.csrf"},
				{"cross-site form, signed in", cust.Send(http.MethodPost, "/account/profile", form, strings.NewReader("name=X"), crossSite), http.StatusForbidden, "error.csrf"},
				{"body too large", anon.Send(http.MethodPost, "/signin", form, strings.NewReader(big), same), http.StatusRequestEntityTooLarge, "error.too_large"},
				{"malformed form", anon.Send(http.MethodPost, "/signin", form, strings.NewReader("%zz"), same), http.StatusBadRequest, ""},
				{"malformed query", anon.Get("/shop?after=%00"), http.StatusBadRequest, "error.bad_request"},
				{"missing asset", anon.Get("/static/nope.css"), http.StatusNotFound, ""},
				{"missing order", cust.Get("/orders/ord_01M8JGXW8B2CHTZC9MHYQ2NJQP"), http.StatusNotFound, ""},
				{"sign-up refused field by field", anon.PostForm("/signup", url.Values{"email": {"not-an-address"}}), http.StatusUnprocessableEntity, ""},
				{"contact refused field by field", anon.PostForm("/contact", url.Values{"topic": {"order"}}), http.StatusUnprocessableEntity, ""},
				{"wrong password", anon.PostForm("/signin", url.Values{"email": {u.Email}, "password": {"not the password"}}), http.StatusUnauthorized, ""},
			}
			for i := 0; i < 50; i++ {
				r := anon.PostForm("/signin", url.Values{"email": {"nobody-" + lang + "@example.org"}, "password": {"not the password"}})
				if r.Status == http.StatusTooManyRequests {
					answers = append(answers, answer{"too many attempts", r, http.StatusTooManyRequests, "error.rate_limited"})
					break
				}
			}
			if len(answers) != 11 {
				t.Fatal("sign-in attempts were never limited")
			}
			for _, a := range answers {
				if a.r.Status != a.status {
					t.Errorf("%s: %d, want %d", a.name, a.r.Status, a.status)
				}
				if !strings.Contains(a.r.Header.Get("Content-Type"), "text/html") {
					t.Errorf("%s: %s, not a page: %.200s", a.name, a.r.Header.Get("Content-Type"), a.r.Body)
					continue
				}
				for _, p := range ct.pageProblems(a.r.Body, lang) {
					t.Errorf("%s: %s", a.name, p)
				}
				if a.key != "" && !strings.Contains(html.UnescapeString(a.r.Body), msgs.T(lang, a.key)) {
					t.Errorf("%s: does not say %q", a.name, msgs.T(lang, a.key))
				}
			}
		})
	}
}
