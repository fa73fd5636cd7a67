package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/legal"
	"comptoir/internal/localtime"
	"comptoir/internal/policy"
	"comptoir/internal/subscriptions"
)

var (
	tagOrComment = regexp.MustCompile(`(?s)<!--.*?-->|<script.*?</script>|<style.*?</style>|<[^>]*>`)
	versionID    = regexp.MustCompile(`\b(default|terms|legal_notice|privacy|mediator|consent|subscription-consent)@[0-9]+\b`)
)

// visibleText is a page's text as a reader sees it: without its tags and
// their attributes (a form's hidden value, a link's address), entities read.
func visibleText(body string) string {
	return html.UnescapeString(tagOrComment.ReplaceAllString(body, " "))
}

// mustShowNoVersionID fails when a page shows a document version's ID
// ("default@1", "terms@2") as text: customers read a title and a date.
func mustShowNoVersionID(t *testing.T, what string, r apptest.Response) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("%s: %d", what, r.Status)
	}
	if m := versionID.FindAllString(visibleText(r.Body), -1); m != nil {
		t.Errorf("%s shows version IDs %q to a customer", what, m)
	}
}

// Customer pages named the documents an order was placed under by their
// IDs: "Refund policy default@1", "Terms of sale accepted: terms@2". They
// name each by its title and the date its version was published, linked to
// that version's text, in the page's language; the console shows the ID
// beside the name, and the JSON API keeps its fields.
func TestCustomerPagesNameDocumentVersionsByTitleAndDate(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	policyAt, err := h.App.Policies.PublishedAt(ctx, "default@1")
	if err != nil {
		// Seeded by the first read of the version in force.
		if _, err := h.App.Policies.Current(ctx); err != nil {
			t.Fatal(err)
		}
		if policyAt, err = h.App.Policies.PublishedAt(ctx, "default@1"); err != nil {
			t.Fatal(err)
		}
	}
	// Terms of sale v2, published on another day than the policy.
	h.Clock.Advance(50 * 24 * time.Hour)
	if _, err := h.App.Legal.SaveDraft(ctx, adminActor, legal.Terms, "# CGV\nv2", "# Terms\nv2"); err != nil {
		t.Fatal(err)
	}
	if err := h.App.Legal.Publish(ctx, adminActor, legal.Terms, 2); err != nil {
		t.Fatal(err)
	}
	terms, err := h.App.Legal.Get(ctx, legal.Terms, 2)
	if err != nil {
		t.Fatal(err)
	}
	zone := localtime.Of(time.UTC)
	names := map[string][2]string{} // lang → policy name, terms name
	for lang, form := range map[string]string{"fr": "%s, version %d du %s", "en": "%s, version %d of %s"} {
		title, _ := policy.Default().Page(lang)
		termsTitle := map[string]string{"fr": "Conditions générales de vente", "en": "Terms of sale"}[lang]
		names[lang] = [2]string{
			fmt.Sprintf(form, title, 1, zone.LongDate(policyAt, lang)),
			fmt.Sprintf(form, termsTitle, 2, zone.LongDate(terms.Published, lang)),
		}
	}
	if names["fr"][1] == names["fr"][0] || !strings.Contains(names["en"][1], "Terms of sale, version 2 of ") {
		t.Fatalf("names: %q", names)
	}
	policyLink := func(lang string) string {
		return `<a href="/policy?version=default%401" class="docref">` + html.EscapeString(names[lang][0]) + `</a>`
	}
	termsLink := func(lang string) string {
		return `href="/legal/terms?version=terms%402"` // the checkout's carries its id before the class
	}

	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 100000)
	_, staff := h.User(t, account.RoleAgent, "agent@shop.test")
	for _, lang := range []string{"fr", "en"} {
		c.PostForm("/lang", url.Values{"lang": {lang}})
		staff.PostForm("/lang", url.Values{"lang": {lang}})
		c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
		cart := c.Get("/cart")
		mustShowNoVersionID(t, lang+" cart", cart)
		mustContain(t, cart, policyLink(lang), termsLink(lang), html.EscapeString(names[lang][1])+"</a>")

		form := checkoutForm(t, cart)
		form.Set("accept_terms", "terms@2")
		r := c.PostForm("/checkout", form)
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/orders/ord_") {
			t.Fatalf("%s checkout: %d %s", lang, r.Status, r.Body)
		}
		orderID := strings.TrimPrefix(r.Location, "/orders/")
		order := c.Get(r.Location)
		mustShowNoVersionID(t, lang+" order page", order)
		mustContain(t, order, `id="consent-policy"`, policyLink(lang), `id="consent-terms"`,
			`<a href="/legal/terms?version=terms%402" class="docref">`+html.EscapeString(names[lang][1])+`</a>`)
		mustShowNoVersionID(t, lang+" receipt", c.Get(r.Location+"/receipt"))
		mustContain(t, c.Get(r.Location+"/receipt"), policyLink(lang))

		r = c.PostForm("/orders/"+orderID+"/claims", url.Values{"kind": {"dissatisfied"}, "message": {"Not what I hoped."}})
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/claims/") {
			t.Fatalf("%s claim: %d %s", lang, r.Status, r.Body)
		}
		claim := c.Get(r.Location)
		mustShowNoVersionID(t, lang+" claim page", claim)
		mustContain(t, claim, `id="claim-policy"`, policyLink(lang))

		// The console shows the IDs beside the names.
		mustContain(t, staff.Get("/console/orders/"+orderID), policyLink(lang), "<code>default@1</code>", "<code>terms@2</code>")
		mustContain(t, staff.Get("/console"+r.Location), policyLink(lang), "default@1")

		// The texts themselves say which version they are by its date.
		mustShowNoVersionID(t, lang+" policy page", c.Get("/policy?version=default%401"))
		mustContain(t, c.Get("/policy?version=default%401"), map[string]string{"fr": "Version 1, publiée le ", "en": "Version 1, published on "}[lang]+zone.LongDate(policyAt, lang))
		old := c.Get("/legal/terms?version=terms%401")
		mustShowNoVersionID(t, lang+" old terms", old)
		mustContain(t, old, `id="legal-old"`, zone.LongDate(terms.Published, lang))
	}
	// The API keeps the IDs.
	r := c.Get("/api/v1/orders")
	if !strings.Contains(r.Body, `"policy_version":"default@1"`) {
		t.Errorf("API orders lost policy_version: %s", r.Body)
	}
}

// A new store has two versions of the refund policy published the same
// day: default@1, seeded at its first start, and default@2, published by
// migration 0054. Named by title and date, both read "Politique de
// remboursement du 12 mars 2026", and a customer holding orders under each
// saw the same name for two texts that differ (so did terms of sale
// published twice in a day). Every name carries the version's number as
// well: "Politique de remboursement, version 2 du 12 mars 2026", on the
// pages that link a version and on the version's own page.
func TestVersionsPublishedTheSameDayHaveDistinctNames(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	// default@2 was published by the migration, on the real clock; the
	// store starts just after, and seeds default@1 then, as a new store
	// does on its first start.
	at2, err := h.App.Policies.PublishedAt(ctx, "default@2")
	if err != nil {
		t.Fatal(err)
	}
	// A second away from it, on its side of midnight (UTC, the store's
	// zone here): the same day whenever the test runs.
	seedAt := at2.Add(time.Second)
	if at2.UTC().Hour() >= 12 {
		seedAt = at2.Add(-time.Second)
	}
	h.Clock.Set(seedAt)
	if _, err := h.App.Policies.Current(ctx); err != nil {
		t.Fatal(err)
	}
	at1, err := h.App.Policies.PublishedAt(ctx, "default@1")
	if err != nil {
		t.Fatal(err)
	}
	zone := localtime.Of(time.UTC)
	if zone.LongDate(at1, "fr") != zone.LongDate(at2, "fr") {
		t.Fatalf("default@1 published %s, default@2 %s: not the same day", at1, at2)
	}
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 100000)
	order := func(policy string) string {
		t.Helper()
		c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
		form := checkoutForm(t, c.Get("/cart"))
		form.Set("accept_policy", policy)
		r := c.PostForm("/checkout", form)
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/orders/ord_") {
			t.Fatalf("checkout: %d %s", r.Status, r.Body)
		}
		return r.Location
	}
	first := order("default@1") // and terms@1
	h.Clock.Advance(time.Second)
	if err := h.App.Policies.Publish(ctx, adminActor, "default@2"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Legal.SaveDraft(ctx, adminActor, legal.Terms, "# CGV\nv2", "# Terms\nv2"); err != nil {
		t.Fatal(err)
	}
	if err := h.App.Legal.Publish(ctx, adminActor, legal.Terms, 2); err != nil {
		t.Fatal(err)
	}
	terms := map[int64]time.Time{}
	for _, n := range []int64{1, 2} {
		d, err := h.App.Legal.Get(ctx, legal.Terms, n)
		if err != nil {
			t.Fatal(err)
		}
		terms[n] = d.Published
	}
	h.Clock.Advance(time.Second)
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	second := order("default@2") // and terms@2, in English
	// So does a subscription's first email.
	subscribeWithBalance(t, c, h.Bearer(t, u.ID), newPlan(t, h, "pro", 990, 0).ID)
	if ms := mailsOf(t, h, u, subscriptions.MailStarted); len(ms) != 1 {
		t.Errorf("%d subscription emails", len(ms))
	} else if full, err := h.App.Outbox.Get(ctx, ms[0].ID); err != nil || !strings.Contains(full.Text, "refund policy (version 2) as in force") {
		t.Errorf("the subscription's email does not name default@2 by its number (%v):\n%s", err, full.Text)
	}
	// The confirmations name each version by its number too.
	for n, o := range map[int64]string{1: first, 2: second} {
		orderID := strings.TrimPrefix(o, "/orders/")
		found := false
		for _, m := range mailsOf(t, h, u, "order_confirmation") {
			full, err := h.App.Outbox.Get(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(full.Text, orderID) {
				continue
			}
			found = true
			want := map[string][2]string{"fr": {"politique de remboursement (version %d) telle", "conditions générales de vente (version %d) telles"},
				"en": {"refund policy (version %d) as in force", "terms of sale (version %d) as in force"}}[full.Lang]
			for _, w := range want {
				if !strings.Contains(full.Text, fmt.Sprintf(w, n)) {
					t.Errorf("the confirmation of %s (%s) lacks %q:\n%s", orderID, full.Lang, fmt.Sprintf(w, n), full.Text)
				}
			}
		}
		if !found {
			t.Errorf("no confirmation of %s", orderID)
		}
	}
	for _, tc := range []struct {
		lang, policy, terms, page, current string
	}{
		{"fr", ", version %d du ", "Conditions générales de vente, version %d du ",
			"Version %d, publiée le ", "Lire la version en vigueur, version 2 publiée le "},
		{"en", ", version %d of ", "Terms of sale, version %d of ",
			"Version %d, published on ", "Read the version in force, version 2 published on "},
	} {
		c.PostForm("/lang", url.Values{"lang": {tc.lang}})
		day := zone.LongDate(at1, tc.lang)
		title, _ := policy.Default().Page(tc.lang) // default@2's too
		for n, o := range map[int64]string{1: first, 2: second} {
			page := c.Get(o)
			mustShowNoVersionID(t, tc.lang+" order page", page)
			mustContain(t, page, html.EscapeString(title+fmt.Sprintf(tc.policy, n)+day)+"</a>",
				html.EscapeString(fmt.Sprintf(tc.terms, n)+zone.LongDate(terms[n], tc.lang))+"</a>")
			mustContain(t, c.Get(fmt.Sprintf("/policy?version=default%%40%d", n)), html.EscapeString(fmt.Sprintf(tc.page, n)+day))
		}
		old := c.Get("/legal/terms?version=terms%401")
		mustContain(t, old, html.EscapeString(fmt.Sprintf(tc.page, 1)+zone.LongDate(terms[1], tc.lang)),
			html.EscapeString(tc.current+zone.LongDate(terms[2], tc.lang)))
		mustContain(t, c.Get("/legal/terms"), html.EscapeString(fmt.Sprintf(tc.page, 2)+zone.LongDate(terms[2], tc.lang)))
	}
}
