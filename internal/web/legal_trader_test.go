package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/config"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/subscriptions"
)

// The legal notice shows the trader identity the invoices print (the
// seller settings, the support address as contact) above the admin's text;
// with every seller setting given the admin pages warn of nothing.
func TestLegalNoticeShowsTheSellerIdentity(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) {
		c.SellerName, c.SellerAddress = "Atelier Lune SARL", "3 quai des Arts, 75006 Paris"
		c.SellerRegistration, c.SellerVATNumber = "RCS Paris 123 456 789", "FR12123456789"
	})
	for _, lang := range []string{"en", "fr"} {
		page := h.NewClient(t).Get("/legal/notice?lang=" + lang)
		mustContain(t, page, `id="trader-identity"`, `<dd id="trader-name">Atelier Lune SARL</dd>`,
			`<dd id="trader-address">3 quai des Arts<br>75006 Paris</dd>`, `<dd id="trader-registration">RCS Paris 123 456 789</dd>`,
			`<dd id="trader-vat">FR12123456789</dd>`, `href="mailto:support@shop.test"`)
		// Above the admin's text.
		if i, j := strings.Index(page.Body, `id="trader-identity"`), strings.Index(page.Body, "<h2>"); j >= 0 && j < i {
			t.Fatalf("the identity block comes after the text (%s)", lang)
		}
	}
	mustContain(t, h.NewClient(t).Get("/legal/notice?lang=fr"), "Identité du commerçant", "Dénomination")
	if strings.Contains(h.NewClient(t).Get("/legal/terms").Body, `id="trader-identity"`) {
		t.Fatal("the terms show the trader identity block")
	}
	_, adm := h.User(t, account.RoleAdmin, "admin@shop.test")
	for _, p := range []string{"/admin/legal", "/admin/legal/notice"} {
		if r := adm.Get(p); strings.Contains(r.Body, `id="seller-warning"`) {
			t.Fatalf("%s warns with every seller setting given", p)
		}
	}
	mustContain(t, adm.Get("/admin/legal/notice"), `id="trader-note"`, `<dd id="trader-vat">FR12123456789</dd>`)
}

// Without seller settings the admin legal pages name the flags to set: the
// invoices and the notice would print them blank.
func TestAdminLegalWarnsOfMissingSellerSettings(t *testing.T) {
	h := apptest.Start(t)
	_, adm := h.User(t, account.RoleAdmin, "admin@shop.test")
	for _, p := range []string{"/admin/legal", "/admin/legal/notice"} {
		r := adm.Get(p + "?lang=en")
		mustContain(t, r, `id="seller-warning"`, "--seller-address", "--seller-registration", "--seller-vat-number")
		if strings.Contains(r.Body, "--seller-name") {
			t.Fatalf("%s: the seller name defaults to the store name, yet it is reported missing", p)
		}
	}
	if strings.Contains(adm.Get("/admin/legal/terms").Body, `id="seller-warning"`) {
		t.Fatal("the terms editor warns about the seller settings")
	}
	page := h.NewClient(t).Get("/legal/notice")
	mustContain(t, page, `id="trader-identity"`, `id="trader-name"`)
	if strings.Contains(page.Body, `id="trader-vat"`) {
		t.Fatal("an empty VAT number is shown")
	}
}

// The model withdrawal form in an order's confirmation and in a
// subscription's welcome email is addressed to the trader as the law's
// model has it (Directive 2011/83/EU, annex I(B): name, geographical
// address, email), not to the shop's name alone, which leaves the consumer
// nowhere to send it.
func TestWithdrawalFormNamesTheTraderAddressAndEmail(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) {
		c.SellerName, c.SellerAddress = "Atelier Lune SARL", "3 quai des Arts\n75006 Paris"
	})
	ctx := context.Background()
	p := newService(t, h, "posts", 25)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	credit(t, h, u, 10_000)
	if _, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 10}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en"}, nil); err != nil {
		t.Fatal(err)
	}
	plan, err := h.App.Catalog.Create(ctx, adminActor, catalog.ProductInput{
		Slug: "plan", Kind: catalog.KindSubscription, NameFR: "Formule", NameEN: "Plan",
		DescriptionFR: "Chaque mois.", DescriptionEN: "Every month.", UnitPrice: money.MustNew(990, "EUR"), PlanInterval: catalog.IntervalMonth,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Subscriptions.Start(ctx, subscriptions.StartInput{CustomerID: u.ID, PlanID: plan.ID, Payment: subscriptions.PayBalance,
		ImmediatePerformance: true, WithdrawalWaiver: true}, nil); err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[string]string{
		"order_confirmation":   "To Atelier Lune SARL, 3 quai des Arts, 75006 Paris, support@shop.test:",
		"subscription_started": "À l’attention de Atelier Lune SARL, 3 quai des Arts, 75006 Paris, support@shop.test\u00a0:",
	} {
		sent, err := h.App.Outbox.List(ctx, mail.Filter{UserID: u.ID, Kind: kind})
		if err != nil || len(sent) != 1 {
			t.Fatalf("%s: %d emails, %v", kind, len(sent), err)
		}
		if !strings.Contains(sent[0].Text, want) {
			t.Errorf("%s's withdrawal form is not addressed %q:\n%s", kind, want, sent[0].Text)
		}
	}
}

// The model withdrawal form is given before the purchase, as the law asks
// (Directive 2011/83/EU art. 6(1)(h)), not only in the confirmation emails:
// a page anyone can open, addressed to the seller as those emails address
// it, linked from every page's footer and from the checkout.
func TestModelWithdrawalFormBeforePurchase(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) {
		c.SellerName, c.SellerAddress = "Atelier Lune SARL", "3 quai des Arts\n75006 Paris"
	})
	for _, tt := range []struct{ lang, to, form string }{
		{"fr", "À l’attention de\u00A0: Atelier Lune SARL, 3 quai des Arts, 75006 Paris, support@shop.test", "vous notifie/notifions (*) par la présente ma/notre (*) rétractation"},
		{"en", "To: Atelier Lune SARL, 3 quai des Arts, 75006 Paris, support@shop.test", "hereby give notice that I/We (*) withdraw from my/our (*) contract"},
	} {
		visitor := h.NewClient(t)
		visitor.PostForm("/lang", url.Values{"lang": {tt.lang}})
		page := visitor.Get("/legal/withdrawal-form")
		if page.Status != http.StatusOK {
			t.Fatalf("%s: %d", tt.lang, page.Status)
		}
		mustContain(t, page, `id="withdrawal-form"`, tt.to, tt.form)
		mustContain(t, visitor.Get("/"), `href="/legal/withdrawal-form" id="footer-withdrawal-form"`)
	}
	p := newService(t, h, "posts", 25)
	_, buyer := h.User(t, account.RoleCustomer, "buyer@example.fr")
	buyer.PostForm("/cart", url.Values{"product_id": {p.ID}, "quantity": {"10"}})
	mustContain(t, buyer.Get("/cart"), `id="checkout-withdrawal-form"`)
}
