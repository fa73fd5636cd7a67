package web_test

import (
	"context"
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
	for lang, form := range map[string]string{"fr": "%s du %s", "en": "%s of %s"} {
		title, _ := policy.Default().Page(lang)
		termsTitle := map[string]string{"fr": "Conditions générales de vente", "en": "Terms of sale"}[lang]
		names[lang] = [2]string{
			strings.Replace(strings.Replace(form, "%s", title, 1), "%s", zone.LongDate(policyAt, lang), 1),
			strings.Replace(strings.Replace(form, "%s", termsTitle, 1), "%s", zone.LongDate(terms.Published, lang), 1),
		}
	}
	if names["fr"][1] == names["fr"][0] || !strings.Contains(names["en"][1], "Terms of sale of ") {
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
		mustContain(t, c.Get("/policy?version=default%401"), map[string]string{"fr": "Version publiée le ", "en": "Version published on "}[lang]+zone.LongDate(policyAt, lang))
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
