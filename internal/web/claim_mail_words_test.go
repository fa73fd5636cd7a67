package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
)

// A claim's mails named its time zone "(fuseau horaire Europe/Paris)",
// "(Europe/Paris time)" where its page says "CET", and its kind in words
// of their own ("non-livraison", "non-delivery") where the page says "Non
// livré", "Not delivered". The mail now says both as the page does, from
// the same words (the claim.kind.* keys, localtime's zone), in French and
// English.
func TestClaimMailNamesKindAndZoneAsThePage(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.Zone = "Europe/Paris" })
	for _, tc := range []struct{ lang, kind, filed, quoted string }{
		{"fr", "Non livré", "Déposée le ", "«\u00a0Non livré\u00a0»"},
		{"en", "Not delivered", "Filed ", "“Not delivered”"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			u, c := h.User(t, account.RoleCustomer, "ana-"+tc.lang+"@example.fr")
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			o := buyAndDeliver(t, h, u, 40)
			r := c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"non_delivery"}, "message": {"Only 40 posts so far."}})
			if r.Status != http.StatusSeeOther {
				t.Fatalf("file: %d %s", r.Status, r.Body)
			}
			page := c.Get(r.Location)
			// The page's words: the kind in its title, the time with its zone.
			mustContain(t, page, html.EscapeString(tc.kind)+"</h1>", tc.filed)
			i := strings.Index(page.Body, tc.filed) + len(tc.filed)
			filed := page.Body[i : i+strings.Index(page.Body[i:], " ·")]
			zone := filed[strings.LastIndex(filed, " ")+1:]
			if zone != "CET" {
				t.Fatalf("the page gives the filing time as %q", filed)
			}
			ms := mailsOf(t, h, u, "claim_filed")
			if len(ms) != 1 {
				t.Fatalf("%d claim_filed mails", len(ms))
			}
			text := ms[0].Text
			if !strings.Contains(text, tc.quoted) || !strings.Contains(text, ":00 "+zone+".") {
				t.Fatalf("the mail does not name the kind %q and the zone %q as the page does:\n%s", tc.quoted, zone, text)
			}
			for _, other := range []string{"fuseau", "Europe/Paris", "non-livraison", "non-delivery"} {
				if strings.Contains(text, other) {
					t.Fatalf("the mail still says %q:\n%s", other, text)
				}
			}
		})
	}
}
