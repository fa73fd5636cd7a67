package claims_test

import (
	"testing"

	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/money"
	"comptoir/internal/orders"
)

// The console offers for a switch only what the decision accepts: a
// product for sale, not the line's own, in the line's currency.
func TestSwitchableTo(t *testing.T) {
	line := orders.Line{ProductID: "prd_posts", Amount: money.MustNew(2500, "EUR")}
	eur, usd := money.MustNew(100, "EUR"), money.MustNew(100, "USD")
	for _, c := range []struct {
		name string
		p    catalog.Product
		want bool
	}{
		{"another service", catalog.Product{ID: "prd_other", Kind: catalog.KindService, UnitPrice: eur}, true},
		{"a digital product", catalog.Product{ID: "prd_ebook", Kind: catalog.KindDigital, UnitPrice: eur}, true},
		{"its own product", catalog.Product{ID: "prd_posts", Kind: catalog.KindService, UnitPrice: eur}, false},
		{"archived", catalog.Product{ID: "prd_old", Kind: catalog.KindService, UnitPrice: eur, Archived: true}, false},
		{"a plan", catalog.Product{ID: "prd_plan", Kind: catalog.KindSubscription, UnitPrice: eur}, false},
		{"another currency", catalog.Product{ID: "prd_us", Kind: catalog.KindService, UnitPrice: usd}, false},
	} {
		if got := claims.SwitchableTo(line, c.p); got != c.want {
			t.Errorf("%s: SwitchableTo = %v, want %v", c.name, got, c.want)
		}
	}
}
