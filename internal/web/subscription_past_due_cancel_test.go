package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// A subscription whose renewal failed (past due) has no paid period left
// to keep: cancelling ends it now, whatever the mode. Its page offered
// "Keep until 8 April" two days after that date, and the API's decision
// said "cancel": "period_end" and "it ends at the end of the paid period,
// on 8 April 2026" while effective_at was today. The page now offers to
// stop now only, and the decision says it stops now.
func TestPastDueSubscriptionCancelsNow(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	plan := newPlan(t, h, "pro", 990, 0)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 990) // one period, not two
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	auth := h.Bearer(t, u.ID)
	subID := subscribeWithBalance(t, c, auth, plan.ID)
	sub, _ := h.App.Subscriptions.Get(ctx, subID)
	h.Clock.Set(sub.CurrentPeriodEnd)
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(48 * time.Hour)
	c = signInAgain(t, h, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	page := c.Get("/subscriptions/" + subID)
	mustContain(t, page, `id="mode-now-only"`, `id="if-now"`, "immediately")
	if strings.Contains(page.Body, `id="mode-period-end"`) {
		t.Fatal("a past-due subscription's page offers to keep a period that is over")
	}
	r := postJSON(c, "/api/v1/subscriptions/"+subID+"/cancel", `{"mode":"period_end"}`, auth)
	got := decodeAs[struct {
		Cancel      string
		EffectiveAt time.Time `json:"effective_at"`
		Decision    struct {
			Cancel string
			Reason struct{ EN string }
		}
	}](t, r)
	if r.Status != http.StatusOK || got.Cancel != "now" || got.Decision.Cancel != "now" || !got.EffectiveAt.Equal(h.Clock.Now()) ||
		strings.Contains(got.Decision.Reason.EN, "8 April") {
		t.Fatalf("cancel a past-due subscription: %d %s", r.Status, r.Body)
	}
}
