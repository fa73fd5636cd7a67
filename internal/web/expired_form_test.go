package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// TestFormSentWithExpiredSessionSaysItWasNotRecorded: a form sent once the
// session had expired (a cancellation, a reply) led to the sign-in page
// with "Your session has expired. Please sign in again." and nothing said
// the form was not recorded: signed in again, the customer was back on the
// page believing it went. The sign-in page now says what was sent was not
// recorded and to send it again; a page opened says only that the session
// expired, as before.
func TestFormSentWithExpiredSessionSaysItWasNotRecorded(t *testing.T) {
	for _, tc := range []struct{ lang, form, page string }{
		{"en", "Your session has expired, so what you just sent was not recorded.", "Your session has expired. Please sign in again."},
		{"fr", "Votre session a expiré\u00a0: ce que vous venez d’envoyer n’a pas été enregistré.", "Votre session a expiré. Veuillez vous reconnecter."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			h := apptest.Start(t)
			plan := newPlan(t, h, "pro", 990, 0)
			u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
			credit(t, h, u, 990)
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
			h.Clock.Advance(31 * 24 * time.Hour)

			r := c.PostForm("/subscriptions/"+subID+"/cancel", url.Values{"mode": {"now"}})
			if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/signin?") || !strings.Contains(r.Location, "expired=form") {
				t.Fatalf("a form sent with an expired session: %d %q", r.Status, r.Location)
			}
			page := c.Get(r.Location)
			mustContain(t, page, tc.form, `name="next" value="/subscriptions/`+subID+`"`)

			// A page opened with an expired session: the session only.
			c = h.NewClient(t)
			c.Lang = tc.lang
			if r := c.PostForm("/signin", url.Values{"email": {"ana@example.fr"}, "password": {apptest.Password}}); r.Status != http.StatusSeeOther {
				t.Fatalf("sign in: %d", r.Status)
			}
			h.Clock.Advance(31 * 24 * time.Hour)
			r = c.Get("/subscriptions/" + subID)
			if r.Status != http.StatusSeeOther || !strings.Contains(r.Location, "expired=1") {
				t.Fatalf("a page opened with an expired session: %d %q", r.Status, r.Location)
			}
			page = c.Get(r.Location)
			mustContain(t, page, tc.page)
			if strings.Contains(page.Body, tc.form) {
				t.Fatal("a page opened says a form was not recorded")
			}
		})
	}
}
