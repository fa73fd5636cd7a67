package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/mail"
	"comptoir/internal/subscriptions"
)

// Cancelling a subscription from its page files a subscription_cancel
// claim, and the customer got two emails for it: the cancellation's
// confirmation (subscription_cancel_confirmed, the effective date that
// L215-1-1 asks for) and the claim's "we received your claim" with the
// refund decision. They get one: the confirmation, which says that the
// subscription is cancelled, until when it runs, what the refund policy
// decided (the refund and where it goes, or why none), when the request was
// received and where to follow it.
func TestCancellingASubscriptionSendsOneEmail(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	plan := newPlan(t, h, "pro", 990, 0)
	for _, tc := range []struct {
		lang   string
		refund bool
		want   []string
	}{
		{"fr", true, []string{"Résiliation de votre abonnement Formule pro confirmée", "Nous confirmons la résiliation", "Il a pris fin le ",
			"Aucun autre paiement ne sera pris.", "nous vous remboursons intégralement ce paiement, soit 9,90\u00a0€",
			"Votre demande nous est parvenue le ", "(référence clm_", "/claims/clm_"}},
		{"fr", false, []string{"Résiliation de votre abonnement Formule pro confirmée", "Il reste actif jusqu’au ", "Aucun autre paiement ne sera pris.",
			"Comme vous l’avez demandé, aucun remboursement n’est effectué.", "Votre demande nous est parvenue le ", "/claims/clm_",
			"Vous changez d’avis\u00a0?"}},
		{"en", true, []string{"Cancellation of your subscription to Plan pro confirmed", "It ended on ", "No further payment will be taken.",
			"we refund that payment in full, €9.90", "We received your request on ", "(reference clm_", "/claims/clm_"}},
		{"en", false, []string{"Cancellation of your subscription to Plan pro confirmed", "It remains active until ", "No further payment will be taken.",
			"As you asked, no refund is made.", "We received your request on ", "/claims/clm_", "Changed your mind?"}},
	} {
		name := tc.lang + map[bool]string{true: " refund", false: " no refund"}[tc.refund]
		h.Clock.Advance(time.Hour)
		u, c := h.User(t, account.RoleCustomer, strings.ReplaceAll(name, " ", "-")+"@example.fr")
		credit(t, h, u, 5000)
		c.PostForm("/lang", url.Values{"lang": {tc.lang}})
		subID := subscribeWithBalance(t, c, h.Bearer(t, u.ID), plan.ID)
		// The first period's invoice has its email once numbered.
		if _, err := h.App.Invoices.NumberPending(ctx); err != nil {
			t.Fatal(err)
		}
		before, err := h.App.Outbox.List(ctx, mail.Filter{UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		h.Clock.Advance(2 * 24 * time.Hour)
		form := url.Values{"mode": {"period_end"}, "cancel_key": {formKey(t, c.Get("/subscriptions/"+subID), "cancel_key")}}
		if tc.refund {
			form.Set("refund", "yes")
		}
		r := c.PostForm("/subscriptions/"+subID+"/cancel", form)
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/claims/") {
			t.Fatalf("%s: cancel: %d %q", name, r.Status, r.Location)
		}
		if _, err := h.App.Invoices.NumberPending(ctx); err != nil {
			t.Fatal(err)
		}
		after, err := h.App.Outbox.List(ctx, mail.Filter{UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		// One email says what happened; a refund's credit note, a
		// document of its own, comes with its own (invoice_issued).
		var kinds []string
		for _, m := range after[:len(after)-len(before)] {
			kinds = append(kinds, m.Kind)
		}
		want := []string{subscriptions.MailCancelConfirmed}
		if tc.refund {
			want = []string{"invoice_issued", subscriptions.MailCancelConfirmed}
		}
		slices.Sort(kinds)
		if !slices.Equal(kinds, want) {
			t.Errorf("%s: emails %v for one cancellation, want %v", name, kinds, want)
		}
		sent := mailsOf(t, h, u, subscriptions.MailCancelConfirmed)
		if len(sent) != 1 {
			t.Fatalf("%s: %d cancellation confirmations", name, len(sent))
		}
		m, err := h.App.Outbox.Get(ctx, sent[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		text := m.Subject + "\n" + m.Text
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the email lacks %q:\n%s", name, w, text)
			}
		}
		if !strings.Contains(text, strings.TrimPrefix(r.Location, "/claims/")) || m.Lang != tc.lang {
			t.Errorf("%s: the email (%s) does not name claim %s:\n%s", name, m.Lang, r.Location, text)
		}
		if got := balanceOf(t, h, u); got != map[bool]int64{true: 5000, false: 4010}[tc.refund] {
			t.Errorf("%s: balance %d", name, got)
		}
	}
}
