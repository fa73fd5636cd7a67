package web_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/catalog"
	"comptoir/internal/money"
)

// TestCountsOfOneAreSingular: a one-day trial read "1 days" ("1 jours"), a
// service delivered within an hour "delivered within 1 hours" ("livré
// sous 1 heures"), a licence pool down to its last key "1 keys left" ("1
// clés restantes"), in the shop, on the product's page and on the admin's
// products: the messages took no plural. They are plural messages now
// (French: 0 and 1 singular); more is plural as before.
func TestCountsOfOneAreSingular(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	admin := audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}
	create := func(in catalog.ProductInput) catalog.Product {
		t.Helper()
		in.NameFR, in.NameEN, in.DescriptionFR, in.DescriptionEN = "Produit "+in.Slug, "Product "+in.Slug, "Description.", "Description."
		p, err := h.App.Catalog.Create(ctx, admin, in)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	newPlan(t, h, "essai", 990, 1)
	create(catalog.ProductInput{Slug: "express", Kind: catalog.KindService, UnitPrice: money.MustNew(500, "EUR"),
		MinQuantity: 1, MaxQuantity: 1, ProcessingTime: time.Hour})
	create(catalog.ProductInput{Slug: "long", Kind: catalog.KindService, UnitPrice: money.MustNew(500, "EUR"),
		MinQuantity: 1, MaxQuantity: 1, ProcessingTime: 72 * time.Hour})
	key := create(catalog.ProductInput{Slug: "licence", Kind: catalog.KindDigital, UnitPrice: money.MustNew(500, "EUR"),
		MinQuantity: 1, MaxQuantity: 1, DigitalDelivery: catalog.DeliveryLicenceKey})
	if _, err := h.App.Catalog.AddLicenceKeys(ctx, admin, key.ID, []string{"K-LAST"}); err != nil {
		t.Fatal(err)
	}
	_, c := h.User(t, account.RoleAdmin, "admin@shop.test")
	for _, tc := range []struct{ lang, day, hour, hours, key string }{
		{"en", "<dd>1 day</dd>", "delivered within 1 hour<", "delivered within 72 hours<", "1 key left<"},
		{"fr", "<dd>1\u00a0jour</dd>", "livré sous 1\u00a0heure<", "livré sous 72\u00a0heures<", "1\u00a0clé restante<"},
	} {
		c.PostForm("/lang", url.Values{"lang": {tc.lang}})
		mustContain(t, c.Get("/shop/essai"), tc.day)
		mustContain(t, c.Get("/shop/express"), tc.hour)
		mustContain(t, c.Get("/shop"), tc.hour, tc.hours)
		mustContain(t, c.Get("/admin/products"), tc.key)
		mustContain(t, c.Get("/admin/products/"+key.ID), tc.key)
	}
}

// TestProcessingTimeIsNeverUnderstated: a processing time that is not a
// whole number of hours (the API takes seconds) was written in whole hours
// cut down: a 30-minute service read "delivered within 0 hours" ("livré
// sous 0 heure"), a 90-minute one "within 1 hour", a promise shorter than
// the time the order's delivery is counted late after. It is rounded up.
func TestProcessingTimeIsNeverUnderstated(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	admin := audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}
	for slug, d := range map[string]time.Duration{"half": 30 * time.Minute, "ninety": 90 * time.Minute} {
		if _, err := h.App.Catalog.Create(ctx, admin, catalog.ProductInput{Slug: slug, Kind: catalog.KindService,
			NameFR: "Produit " + slug, NameEN: "Product " + slug, DescriptionFR: "Description.", DescriptionEN: "Description.",
			UnitPrice: money.MustNew(500, "EUR"), MinQuantity: 1, MaxQuantity: 1, ProcessingTime: d}); err != nil {
			t.Fatal(err)
		}
	}
	_, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	for _, tc := range []struct{ lang, half, ninety string }{
		{"en", "delivered within 1 hour<", "delivered within 2 hours<"},
		{"fr", "livré sous 1\u00a0heure<", "livré sous 2\u00a0heures<"},
	} {
		c.PostForm("/lang", url.Values{"lang": {tc.lang}})
		mustContain(t, c.Get("/shop/half"), tc.half)
		mustContain(t, c.Get("/shop/ninety"), tc.ninety)
		mustContain(t, c.Get("/shop"), tc.half, tc.ninety)
	}
}
