package orders

import (
	"testing"

	"comptoir/internal/catalog"
)

// paidStatus is the status a balance checkout writes with the order: it
// must be what statusFor says once deliverAtOnce has delivered the digital
// lines (Place refuses to commit otherwise).
func TestPaidStatus(t *testing.T) {
	digital := Line{Kind: catalog.KindDigital, Quantity: 1}
	digitalTwo := Line{Kind: catalog.KindDigital, Quantity: 2}
	service := Line{Kind: catalog.KindService, Quantity: 100}
	for _, tc := range []struct {
		name  string
		lines []Line
		want  string
	}{
		{"one service", []Line{service}, StatusProcessing},
		{"one digital", []Line{digital}, StatusCompleted},
		{"digital lines only", []Line{digital, digitalTwo}, StatusCompleted},
		{"digital and service", []Line{digitalTwo, service}, StatusPartial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := paidStatus(tc.lines); got != tc.want {
				t.Errorf("paidStatus = %s, want %s", got, tc.want)
			}
			for _, l := range tc.lines {
				if l.Delivered != 0 {
					t.Fatal("paidStatus changed the caller's lines")
				}
			}
		})
	}
}
