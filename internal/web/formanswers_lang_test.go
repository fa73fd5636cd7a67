package web_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/locale"
)

// Every form of the pages, sent as the authorization matrix sends it (its
// fixture's body, usually empty, so refused field by field) by a visitor
// who may send it, answers in that visitor's language: the page it
// renders, or the page it redirects to with its flash, passes the crawl's
// page checks in French and in English. The crawl follows links and GET
// forms; this covers the POST forms it cannot send.
func TestEveryFormAnswersInTheVisitorsLanguage(t *testing.T) {
	h := apptest.Start(t)
	users := authzUsers(t, h)
	o := authzSetup(t, h, users)
	ct := newCrawlTexts(h.App.Messages)
	fixtures := authzFixtures(o)
	pages, _ := h.App.Web.Routes()
	sender := map[string]string{"anyone": anon, "signed-in": custA, "customer": custA, "staff": agent, "admin": admin}

	sort.Slice(pages, func(i, j int) bool { return pages[i].Pattern < pages[j].Pattern })
	for _, lang := range locale.Supported {
		checked := 0
		clients := map[string]*apptest.Client{}
		for _, who := range []string{anon, custA, agent, admin} {
			if who == anon {
				clients[who] = h.NewClient(t)
				clients[who].Lang = lang
				continue
			}
			_, c := signedInClient(t, h, users[who])
			if r := c.PostForm("/lang", url.Values{"lang": {lang}}); r.Status != http.StatusSeeOther {
				t.Fatalf("%s to %s: %d", who, lang, r.Status)
			}
			clients[who] = c
		}
		for _, rt := range pages {
			method, _, _ := strings.Cut(rt.Pattern, " ")
			f, ok := fixtures[rt.Pattern]
			if method != http.MethodPost || !ok || f.fresh || f.throwaway || rt.Pattern == "POST /lang" || rt.Pattern == "POST /signout" {
				continue
			}
			who := sender[rt.Perm]
			c := clients[who]
			header := http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {h.URL}}
			var body bytes.Buffer
			ctype := "application/x-www-form-urlencoded"
			if f.multipart {
				fields, _ := url.ParseQuery(f.body)
				mw := multipart.NewWriter(&body)
				for k, vs := range fields {
					for _, v := range vs {
						mw.WriteField(k, v)
					}
				}
				mw.Close()
				ctype = mw.FormDataContentType()
			} else {
				body.WriteString(f.body)
			}
			r := c.Send(method, f.path, ctype, &body, header)
			where := lang + " " + rt.Pattern + " as " + who
			if r.Status >= 500 {
				t.Errorf("%s: %d", where, r.Status)
				continue
			}
			if r.Status >= 300 && r.Status < 400 {
				loc, err := url.Parse(r.Location)
				if err != nil || loc.Host != "" {
					continue // Stripe's page, or elsewhere
				}
				where += " → " + r.Location
				r = c.Get(r.Location)
				if r.Status >= 300 && r.Status < 400 || r.Status >= 500 {
					continue
				}
			}
			if !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
				continue // a file, an export
			}
			checked++
			for _, p := range ct.pageProblems(r.Body, lang) {
				t.Errorf("%s: %s", where, p)
			}
		}
		// Most forms answer with a page (theirs or the one they lead to).
		if checked < 40 {
			t.Errorf("%s: only %d forms answered with a page", lang, checked)
		}
		t.Logf("%s: %d form answers checked", lang, checked)
	}
}
