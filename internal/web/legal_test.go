package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/legal"
	"comptoir/internal/mail"
)

// Every page's footer links to the legal pages and the refund policy, and
// each legal page shows the version in force in the visitor's language.
func TestLegalPagesInBothLanguagesLinkedFromEveryPage(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.Lang = "en"
	for _, p := range []string{"/", "/shop", "/legal/privacy"} {
		mustContain(t, c.Get(p), `<a href="/legal/notice" id="footer-notice">Legal notice</a>`, `<a href="/legal/terms" id="footer-terms">Terms of sale</a>`,
			`<a href="/policy" id="footer-policy">Refund policy</a>`, `<a href="/legal/privacy" id="footer-privacy">Privacy</a>`,
			`<a href="/legal/mediator" id="footer-mediator">Mediator</a>`)
	}
	for slug, want := range map[string][]string{
		"notice":   {"<h1>Legal notice</h1>", `id="legal-version">Version 1, published on `, "<h2>Publisher</h2>", `<mark class="placeholder">[postal address]</mark>`},
		"terms":    {"<h1>Terms of sale</h1>", `id="legal-version">Version 1, published on `, "Your right of withdrawal", "14 days"},
		"privacy":  {"<h1>Privacy notice</h1>", `id="legal-version">Version 1, published on `, "Stripe", "Cookies"},
		"mediator": {"<h1>Consumer mediator</h1>", `id="legal-version">Version 1, published on `, "within one year"},
	} {
		r := c.Get("/legal/" + slug)
		if r.Status != http.StatusOK {
			t.Fatalf("/legal/%s: %d", slug, r.Status)
		}
		mustContain(t, r, want...)
	}
	fr := h.NewClient(t)
	fr.Lang = "fr"
	mustContain(t, fr.Get("/legal/terms"), "<h1>Conditions générales de vente</h1>", "Votre droit de rétractation", `lang="fr"`,
		`id="footer-terms">Conditions générales de vente</a>`)
	// An email's link names its language.
	mustContain(t, fr.Get("/legal/terms?lang=en"), "Your right of withdrawal", `<article class="legal" lang="en"`)
	for _, p := range []string{"/legal/cookies", "/legal/terms?version=9", "/legal/terms?version=privacy@1", "/legal/terms?version=x"} {
		if r := c.Get(p); r.Status != http.StatusNotFound {
			t.Errorf("%s: %d", p, r.Status)
		}
	}
}

// An admin writes a new version, reads its preview, publishes it; the pages
// then show it, the old one stays reachable, and no one else can edit.
func TestAdminPublishesALegalPage(t *testing.T) {
	h := apptest.Start(t)
	_, adm := h.User(t, account.RoleAdmin, "admin@shop.test")
	adm.PostForm("/lang", url.Values{"lang": {"en"}})

	// The shipped versions still have placeholders: the admin is told.
	mustContain(t, adm.Get("/admin"), `href="/admin/legal"`)
	mustContain(t, adm.Get("/admin/legal"), `id="legal-row-terms"`, "placeholder-warning", "to fill")
	edit := adm.Get("/admin/legal/notice")
	mustContain(t, edit, `id="placeholder-warning"`, "legal_notice@1", "<li>postal address</li>", `id="body_fr"`, "# Éditeur")

	// A bad draft: the error beside the field, nothing saved.
	r := adm.PostForm("/admin/legal/notice", url.Values{"body_fr": {" "}, "body_en": {"# Publisher"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="body_fr-error"`) || !strings.Contains(r.Body, "# Publisher") {
		t.Fatalf("empty French text: %d", r.Status)
	}
	// A draft with markup the page must escape, not obey.
	fr := "# Éditeur\nComptoir SAS, 1 rue de la Paix, Paris. <script>alert(1)</script>\n- RCS Paris 123 456 789"
	en := "# Publisher\nComptoir SAS, 1 rue de la Paix, Paris.\n- Paris trade register 123 456 789"
	r = adm.PostForm("/admin/legal/notice", url.Values{"body_fr": {fr}, "body_en": {en}})
	if r.Status != http.StatusSeeOther || r.Location != "/admin/legal/notice" {
		t.Fatalf("save: %d %s", r.Status, r.Body)
	}
	page := adm.Get("/admin/legal/notice")
	mustContain(t, page, "Draft saved", `id="legal-draft"`, "legal_notice@2", "<h2>Publisher</h2>", "<li>Paris trade register 123 456 789</li>",
		`id="placeholder-warning"`) // the version in force still has them
	if strings.Contains(page.Body, "draft-placeholder-warning") {
		t.Error("a draft without placeholders is warned about")
	}
	// Not yet in force.
	anon := h.NewClient(t)
	anon.Lang = "fr"
	mustContain(t, anon.Get("/legal/notice"), `<mark class="placeholder">`)

	r = adm.PostForm("/admin/legal/notice/publish", url.Values{"version": {"2"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	page = adm.Get("/admin/legal/notice")
	mustContain(t, page, "published and in force")
	if strings.Contains(page.Body, `id="placeholder-warning"`) {
		t.Error("the placeholder warning stays after a version without placeholders is published")
	}
	if r := adm.PostForm("/admin/legal/notice/publish", url.Values{"version": {"2"}}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("publishing twice: %d", r.Status)
	}

	// The page shows the new version in each language, escaped…
	got := anon.Get("/legal/notice")
	mustContain(t, got, "<h2>Éditeur</h2>", "&lt;script&gt;alert(1)&lt;/script&gt;", "<li>RCS Paris 123 456 789</li>")
	if strings.Contains(got.Body, "<script>alert") {
		t.Fatal("an admin's text reached the page as HTML")
	}
	anon.Lang = "en"
	mustContain(t, h.NewClient(t).Get("/legal/notice?lang=en"), "<h2>Publisher</h2>")
	// …and the old one still, marked as such.
	mustContain(t, anon.Get("/legal/notice?version=1"), `id="legal-old"`, `<mark class="placeholder">`)

	// No one but an admin edits: customers and agents get a 404, visitors
	// the sign-in page, and nothing changes.
	_, cust := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	for _, who := range []*apptest.Client{cust, agent} {
		for _, p := range []string{"/admin/legal", "/admin/legal/terms"} {
			if r := who.Get(p); r.Status != http.StatusNotFound {
				t.Errorf("GET %s: %d", p, r.Status)
			}
		}
		if r := who.PostForm("/admin/legal/terms", url.Values{"body_fr": {"x"}, "body_en": {"x"}}); r.Status != http.StatusNotFound {
			t.Errorf("POST /admin/legal/terms: %d", r.Status)
		}
		if r := who.PostForm("/admin/legal/terms/publish", url.Values{"version": {"1"}}); r.Status != http.StatusNotFound {
			t.Errorf("POST publish: %d", r.Status)
		}
	}
	if r := h.NewClient(t).Get("/admin/legal"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/signin") {
		t.Errorf("a visitor: %d %s", r.Status, r.Location)
	}
	if vs, err := h.App.Legal.List(context.Background(), legal.Terms); err != nil || len(vs) != 1 {
		t.Fatalf("terms versions after refused edits: %d, %v", len(vs), err)
	}
}

var acceptTerms = regexp.MustCompile(`name="accept_terms" value="([^"]+)"`)

// The checkout links to the versions in force, and the order records the
// terms version its buyer was shown, which the confirmation names.
func TestCheckoutRecordsTheTermsInForce(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	if _, err := h.App.Legal.SaveDraft(ctx, adminActor, legal.Terms, "# CGV\nv2", "# Terms\nv2"); err != nil {
		t.Fatal(err)
	}
	if err := h.App.Legal.Publish(ctx, adminActor, legal.Terms, 2); err != nil {
		t.Fatal(err)
	}
	p := newService(t, h, "posts", 25)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 10000)
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	c.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"100"}})
	cart := c.Get("/cart")
	mustContain(t, cart, `id="checkout-legal"`, "terms of sale:", `href="/legal/terms?version=terms%402" id="checkout-terms" class="docref">Terms of sale, version 2 of `,
		`href="/policy?version=default%401"`, `href="/legal/privacy" id="checkout-privacy"`)
	if m := acceptTerms.FindStringSubmatch(cart.Body); m == nil || m[1] != "terms@2" {
		t.Fatalf("accept_terms: %v", m)
	}
	key := checkoutKey.FindStringSubmatch(cart.Body)[1]
	form := url.Values{"checkout_key": {key}, "payment": {"balance"}, "accept_policy": {"default@1"}, "accept_terms": {"terms@1"},
		"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}}
	// Terms read before a change: refused, nothing charged.
	r := c.PostForm("/checkout", form)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "terms of sale have changed") || balanceOf(t, h, u) != 10000 {
		t.Fatalf("stale terms: %d", r.Status)
	}
	form.Set("accept_terms", "terms@2")
	form.Set("checkout_key", checkoutKey.FindStringSubmatch(r.Body)[1])
	r = c.PostForm("/checkout", form)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/orders/ord_") {
		t.Fatalf("checkout: %d %s", r.Status, r.Body)
	}
	consent, err := h.App.Orders.ConsentOf(ctx, strings.TrimPrefix(r.Location, "/orders/"))
	if err != nil || consent.TermsVersion != "terms@2" {
		t.Fatalf("consent: %+v, %v", consent, err)
	}
	mails, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "order_confirmation"})
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "terms of sale (version 2) as in force at that time") || strings.Contains(mails[0].Text, "terms@2") ||
		!strings.Contains(mails[0].Text, h.URL+"/legal/terms?version=terms%402&lang=en") || !strings.Contains(mails[0].Text, "Model withdrawal form") {
		t.Fatalf("confirmation: %d mails", len(mails))
	}
	mustContain(t, c.Get(r.Location), `id="consent-terms"`, `href="/legal/terms?version=terms%402" class="docref">Terms of sale, version 2 of `)
	// The link in the email shows the version accepted.
	mustContain(t, c.Get("/legal/terms?version=terms%402&lang=en"), "<h2>Terms</h2>")
}
