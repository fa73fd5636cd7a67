package catalog_test

import (
	"slices"
	"testing"
	"time"

	"comptoir/internal/catalog"
)

func TestWarnings(t *testing.T) {
	const day = 24 * time.Hour
	window := 7 * day
	warn := []catalog.Warning{{Code: catalog.WarnProcessingExceedsClaimWindow, Field: "processing_seconds", Limit: window}}
	for _, c := range []struct {
		name   string
		p      catalog.Product
		window time.Duration
		want   []catalog.Warning
	}{
		{"3 days", catalog.Product{Kind: catalog.KindService, ProcessingTime: 3 * day}, window, nil},
		{"a second short of the window", catalog.Product{Kind: catalog.KindService, ProcessingTime: window - time.Second}, window, nil},
		{"exactly the window", catalog.Product{Kind: catalog.KindService, ProcessingTime: window}, window, warn},
		{"longer than the window", catalog.Product{Kind: catalog.KindService, ProcessingTime: 10 * day}, window, warn},
		{"digital, delivered at once", catalog.Product{Kind: catalog.KindDigital}, window, nil},
		{"plan", catalog.Product{Kind: catalog.KindSubscription}, window, nil},
		{"no window in the policy", catalog.Product{Kind: catalog.KindService, ProcessingTime: 30 * day}, 0, nil},
		{"shorter window", catalog.Product{Kind: catalog.KindService, ProcessingTime: 3 * day}, 2 * day,
			[]catalog.Warning{{Code: catalog.WarnProcessingExceedsClaimWindow, Field: "processing_seconds", Limit: 2 * day}}},
	} {
		if got := catalog.Warnings(c.p, c.window); !slices.Equal(got, c.want) {
			t.Errorf("%s: Warnings = %v, want %v", c.name, got, c.want)
		}
	}
}
