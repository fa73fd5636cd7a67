package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/money"
)

// The product page says of each kind of product, in each language, what it
// said when the template asked the product, Money and T for each line
// (issue #9 moved the wording to the handler): name and description
// escaped, the price per unit or period, the kind, a service's delivery
// time and quantities, a plan's trial.
func TestProductPageDescribesEachKind(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	for _, in := range []catalog.ProductInput{
		{Slug: "svc", Kind: catalog.KindService, NameFR: "Publications <b>&'\"+", NameEN: "Posts",
			DescriptionFR: "Des publications & \"soignées\" + <i>.", DescriptionEN: "Careful posts.", UnitPrice: money.MustNew(2550, "EUR"),
			MinQuantity: 3, MaxQuantity: 1000, ProcessingTime: 36 * time.Hour},
		{Slug: "dig", Kind: catalog.KindDigital, NameFR: "Guide", NameEN: "Guide EN", DescriptionFR: "PDF", DescriptionEN: "PDF en",
			UnitPrice: money.MustNew(990, "EUR"), MinQuantity: 1, MaxQuantity: 1, DigitalDelivery: catalog.DeliveryFile, FileKey: "g.pdf", DownloadTTL: time.Hour},
		{Slug: "plan", Kind: catalog.KindSubscription, NameFR: "Formule", NameEN: "Plan", DescriptionFR: "Chaque mois.", DescriptionEN: "Every month.",
			UnitPrice: money.MustNew(990, "EUR"), PlanInterval: catalog.IntervalMonth, TrialDays: 14},
		{Slug: "plan2", Kind: catalog.KindSubscription, NameFR: "Formule an", NameEN: "Yearly", DescriptionFR: "Chaque an.", DescriptionEN: "Every year.",
			UnitPrice: money.MustNew(9900, "EUR"), PlanInterval: catalog.IntervalYear},
	} {
		if _, err := h.App.Catalog.Create(ctx, adminActor, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ lang, slug, want string }{
		{"fr", "svc", `<h1>Publications &lt;b&gt;&amp;&#39;&#34;&#43;</h1>
<p class="price">25,50 € <small>l’unité</small></p>
<div class="description">Des publications &amp; &#34;soignées&#34; &#43; &lt;i&gt;.</div>
<dl class="facts">
  <dt>Type</dt><dd>Service livré dans la durée</dd>
  <dt>Délai de traitement</dt><dd id="processing-time">livré sous 36 heures</dd>
  <dt>Quantités</dt><dd>3 – 1 000</dd>
  
</dl>`},
		{"en", "svc", `<p class="price">€25.50 <small>per unit</small></p>
<div class="description">Careful posts.</div>
<dl class="facts">
  <dt>Type</dt><dd>Service delivered over time</dd>
  <dt>Processing time</dt><dd id="processing-time">delivered within 36 hours</dd>`},
		{"en", "dig", `<h1>Guide EN</h1>
<p class="price">€9.90</p>
<div class="description">PDF en</div>
<dl class="facts">
  <dt>Type</dt><dd>Digital product</dd>
  
  
</dl>`},
		{"en", "plan", `<h1>Plan</h1>
<p class="price">€9.90 <small>per month</small></p>
<div class="description">Every month.</div>
<dl class="facts">
  <dt>Type</dt><dd>Subscription</dd>
  
  <dt>Free trial</dt><dd>14 days</dd>
</dl>`},
		{"fr", "plan2", `<h1>Formule an</h1>
<p class="price">99,00 € <small>par an</small></p>
<div class="description">Chaque an.</div>
<dl class="facts">
  <dt>Type</dt><dd>Abonnement</dd>
  
  
</dl>`},
	} {
		cl := h.NewClient(t)
		cl.Lang = c.lang
		// The block is rendered once, then kept: both visits say it.
		for range 2 {
			if r := cl.Get("/shop/" + c.slug); !strings.Contains(r.Body, c.want) {
				t.Fatalf("%s /shop/%s: %d, want\n%s\nin\n%s", c.lang, c.slug, r.Status, c.want, r.Body)
			}
		}
	}
}

// The product's block, kept once rendered, is its current revision's: an
// edit shows at once, in each language.
func TestProductPageShowsTheEditAtOnce(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	in := catalog.ProductInput{Slug: "svc", Kind: catalog.KindService, NameFR: "Publications", NameEN: "Posts",
		DescriptionFR: "Avant.", DescriptionEN: "Before.", UnitPrice: money.MustNew(2500, "EUR"),
		MinQuantity: 1, MaxQuantity: 10, ProcessingTime: 72 * time.Hour}
	p, err := h.App.Catalog.Create(ctx, adminActor, in)
	if err != nil {
		t.Fatal(err)
	}
	fr, en := h.NewClient(t), h.NewClient(t)
	fr.Lang, en.Lang = "fr", "en"
	mustContain(t, fr.Get("/shop/svc"), "<h1>Publications</h1>", "Avant.", "25,00\u00a0€", "72\u00a0heures")
	mustContain(t, en.Get("/shop/svc"), "<h1>Posts</h1>", "Before.", "€25.00", "72 hours")
	in.NameFR, in.NameEN, in.DescriptionFR, in.DescriptionEN = "Billets", "Notes", "Après.", "After."
	in.UnitPrice, in.ProcessingTime = money.MustNew(3000, "EUR"), 48*time.Hour
	if _, err := h.App.Catalog.Update(ctx, adminActor, p.ID, in); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cl   *apptest.Client
		want []string
		gone []string
	}{
		{fr, []string{"<h1>Billets</h1>", "Après.", "30,00\u00a0€", "48\u00a0heures"}, []string{"Publications", "Avant.", "25,00", "72\u00a0heures"}},
		{en, []string{"<h1>Notes</h1>", "After.", "€30.00", "48 hours"}, []string{"Posts", "Before.", "25.00", "72 hours"}},
	} {
		r := c.cl.Get("/shop/svc")
		mustContain(t, r, c.want...)
		for _, g := range c.gone {
			if strings.Contains(r.Body, g) {
				t.Errorf("%s: still says %q", c.cl.Lang, g)
			}
		}
	}
}
