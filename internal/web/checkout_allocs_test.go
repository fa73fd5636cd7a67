package web

import (
	"net/http/httptest"
	"testing"

	"comptoir/internal/cardpay"
)

// Regression guards for the checkout's request path (issue #9): a paid
// order's answer is not decoded into a map to learn that it needs no
// Checkout page.
func TestCheckoutPathAllocations(t *testing.T) {
	s := &Server{Deps: Deps{Card: &cardpay.Service{}}}
	r := httptest.NewRequest("POST", "/api/v1/orders", nil)
	paid := []byte(`{"id":"ord_1","status":"paid","customer_id":"usr_1","lines":[{"id":"oln_1","product_id":"prd_1","product_revision":1,"kind":"service","name":"Posts","quantity":2,"delivered":0,"amount":{"minor":5000,"currency":"EUR"},"refunded":{"minor":0,"currency":"EUR"},"processing_until":"2026-11-30T08:00:00Z","overdue":false}],"total":{"minor":5000,"currency":"EUR"},"paid":{"minor":5000,"currency":"EUR"},"refunded":{"minor":0,"currency":"EUR"},"payment":"balance","policy_version":"default@1","overdue":false,"placed_at":"2026-11-27T08:00:00Z"}`)
	n := testing.AllocsPerRun(100, func() {
		if out := s.withCheckoutURL(r, paid, 0); &out[0] != &paid[0] {
			t.Fatal("a paid order's answer changed")
		}
	})
	if n > 10 {
		t.Errorf("withCheckoutURL on a paid order: %v allocations, want at most 10 (the map took 111)", n)
	}
}
