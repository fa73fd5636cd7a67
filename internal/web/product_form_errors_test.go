package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
)

// The product form refused a field it reads itself (a price or a number
// that does not parse) and stopped there: the catalog's reasons (a name
// missing, an address with capitals) came one save after another. Every
// field's reason is now on the first answer, each beside its field, with
// what was typed kept; nothing is created.
func TestProductFormShowsEveryFieldErrorAtOnce(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	for _, tc := range []struct {
		lang                               string
		required, slug, price, wholeNumber string
	}{
		{"fr", "Obligatoire.", "Utilisez des minuscules, des chiffres et des tirets.",
			"Indiquez un prix supérieur à zéro, par exemple 12,50.", "Indiquez un nombre entier."},
		{"en", "Required.", "Use lower-case letters, digits and hyphens.",
			"Enter a price above zero, such as 12.50.", "Enter a whole number."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			admin.PostForm("/lang", url.Values{"lang": {tc.lang}})
			form := url.Values{"kind": {"service"}, "slug": {"Mon Logo"}, "name_fr": {""}, "name_en": {"Logo design"},
				"description_fr": {"Un logo."}, "description_en": {"A logo."}, "unit_price": {"douze"}, "currency": {"EUR"},
				"min_quantity": {"1"}, "max_quantity": {"3"}, "processing_hours": {"deux jours"}}
			r := admin.PostForm("/admin/products", form)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("invalid product: %d, want 422", r.Status)
			}
			mustContain(t, r,
				`<p class="error" id="unit_price-error">`+html.EscapeString(tc.price)+`</p>`,
				`<p class="error" id="processing_hours-error">`+html.EscapeString(tc.wholeNumber)+`</p>`,
				`<p class="error" id="name_fr-error">`+html.EscapeString(tc.required)+`</p>`,
				`<p class="error" id="slug-error">`+html.EscapeString(tc.slug)+`</p>`,
				`value="Mon Logo"`, `value="douze"`, `value="deux jours"`, `value="Logo design"`)
			if _, err := h.App.Catalog.GetBySlug(context.Background(), "mon-logo"); err != catalog.ErrNotFound {
				t.Fatalf("a refused form made a product: %v", err)
			}
		})
	}
}
