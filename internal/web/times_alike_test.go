package web_test

import (
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
	"comptoir/internal/localtime"
)

// A moment was written three ways: "12/03/2026 18:30 CET" on the order
// page, "12 mars 2026 à 18 h 30, heure de Paris" in the claim's decision
// (on its page and in its mail), "12 mars 2026 à 18:30 CET" in the
// emails' other times. A page, a mail and a decision now write a time
// alike in each language, the store's zone named the same way
// (localtime.Zone.Time and LongTime, which the policy's wording uses).
func TestATimeIsWrittenAlikeOnPagesMailsAndDecisions(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.Zone = "Europe/Paris" })
	zone, err := localtime.Load("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"fr", "en"} {
		t.Run(lang, func(t *testing.T) {
			u, c := h.User(t, account.RoleCustomer, "ana-"+lang+"@example.fr")
			c.PostForm("/lang", url.Values{"lang": {lang}})
			o := buyAndDeliver(t, h, u, 40)
			expected := zone.LongTime(o.Lines[0].ProcessingUntil, lang)
			if expected == "" {
				t.Fatal("the order line has no processing time")
			}
			mustContain(t, c.Get("/orders/"+o.ID), expected)
			// Inside the processing time: the decision says when delivery
			// is expected, as the order page does.
			r := c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"non_delivery"}, "message": {"Only 40 posts so far."}})
			if r.Status != 303 {
				t.Fatalf("file: %d %s", r.Status, r.Body)
			}
			mustContain(t, c.Get(r.Location), expected)
			ms := mailsOf(t, h, u, "claim_filed")
			if len(ms) != 1 || !strings.Contains(ms[0].Text, expected) {
				t.Fatalf("the claim's mail does not write the time as the pages (%q):\n%v", expected, ms)
			}
			for _, own := range []string{"heure de", "\u00a0h\u00a0", "Paris time"} {
				if strings.Contains(ms[0].Text, own) {
					t.Errorf("the claim's mail writes a time its own way (%q):\n%s", own, ms[0].Text)
				}
			}
		})
	}
}
