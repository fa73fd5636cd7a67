package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// The subscription page's cancel form, seconds after the last payment,
// previewed "Votre demande est arrivée 4 secondes et 332 millisecondes
// après le dernier paiement" (the policy's wording of a span, which every
// decision of default@1 shares): a span shown to a person is worded to
// what a person reads.
func TestCancelPreviewSaysSpansAsAPersonReadsThem(t *testing.T) {
	h := apptest.Start(t)
	plan := newPlan(t, h, "pro", 990, 0)
	for _, tc := range []struct{ lang, soon, later string }{
		{"fr", "arrivée moins d’une minute après le dernier paiement", "arrivée 2 heures et 1 minute après le dernier paiement"},
		{"en", "came less than a minute after the last payment", "came 2 hours 1 minute after the last payment"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			u, c := h.User(t, account.RoleCustomer, "ana-"+tc.lang+"@example.fr")
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			credit(t, h, u, 5000)
			subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
			h.Clock.Advance(4*time.Second + 332*time.Millisecond)
			page := c.Get("/subscriptions/" + subID)
			body := strings.ReplaceAll(page.Body, "\u00a0", " ")
			if !strings.Contains(body, tc.soon) || strings.Contains(body, "second") || strings.Contains(body, "seconde") {
				t.Errorf("%s preview, 4.332 s after paying: want %q, no seconds:\n%s", tc.lang, tc.soon, page.Body)
			}
			h.Clock.Advance(2*time.Hour + time.Minute + 30*time.Second)
			if body := strings.ReplaceAll(c.Get("/subscriptions/"+subID).Body, "\u00a0", " "); !strings.Contains(body, tc.later) {
				t.Errorf("%s preview, 2 h 1 min 34 s after paying: want %q:\n%s", tc.lang, tc.later, body)
			}
		})
	}
}
