package cardpay

import (
	"net/http"
	"strings"
	"testing"

	"comptoir/internal/cardpay/cardpaytest"
)

// The deletion of an erased customer's Stripe Customer: done when Stripe
// deletes it or no longer has it, given up (and logged) when Stripe refuses
// it, retried when Stripe cannot answer.
func TestDeleteCustomerWorker(t *testing.T) {
	e := newEnv(t, envOpts{stripe: true})
	w := &deleteCustomerWorker{s: e.svc}
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string // "done", "cancel" or "retry"
	}{
		{"deleted", 0, "", "done"},
		{"already gone", http.StatusNotFound, cardpaytest.StripeError("invalid_request_error", "resource_missing", "No such customer", nil), "done"},
		{"refused", http.StatusBadRequest, cardpaytest.StripeError("invalid_request_error", "", "Cannot delete", nil), "cancel"},
		{"Stripe down", http.StatusInternalServerError, cardpaytest.StripeError("api_error", "", "Try again", nil), "retry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.rec.ClearRules()
			id := "cus_" + strings.ReplaceAll(tc.name, " ", "_")
			if tc.status != 0 {
				e.rec.Respond(cardpaytest.To("DELETE", "/v1/customers/"+id), tc.status, tc.body)
			}
			err := w.Work(e.ctx, job(DeleteCustomerArgs{StripeCustomerID: id}, 1))
			got := "retry"
			switch {
			case err == nil:
				got = "done"
			case isCancel(err):
				got = "cancel"
			}
			if got != tc.want {
				t.Fatalf("Work = %v (%s), want %s", err, got, tc.want)
			}
			if n := len(e.rec.Requests("DELETE", "/v1/customers/"+id)); n == 0 {
				t.Fatal("Stripe was not asked")
			}
		})
	}
}
