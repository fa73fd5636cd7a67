package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A server that waits longer than a customer's 5 s for a Checkout page
// (tests, through apptest) gives its requests as much more budget: the
// 10 s budget ended a 30 s wait after 10 s, with a 503, and a test waiting
// for a slow page failed all the same.
func TestBudgetMakesRoomForALongerCheckoutWait(t *testing.T) {
	for _, tc := range []struct{ wait, want time.Duration }{
		{0, requestBudget},
		{checkoutWait, requestBudget},
		{30 * time.Second, requestBudget + 30*time.Second - checkoutWait},
	} {
		s := &Server{Deps: Deps{CheckoutWait: tc.wait}}
		var deadline time.Time
		h := s.budget(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			deadline, _ = r.Context().Deadline()
		}))
		before := time.Now()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/orders/ord_1/pay", nil))
		after := time.Now()
		if deadline.Sub(before) < tc.want || deadline.Sub(after) > tc.want {
			t.Errorf("CheckoutWait %v: budget ends %v after the request, want %v", tc.wait, deadline.Sub(before), tc.want)
		}
	}
}
