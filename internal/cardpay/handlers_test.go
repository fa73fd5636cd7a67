package cardpay

import (
	"testing"
)

func TestHandlersDispatchByPurpose(t *testing.T) {
	orders, topups := &recHandler{}, &recHandler{}
	hs := Handlers{PurposeOrder: orders, PurposeTopUp: topups}
	if err := hs.PaymentSucceeded(t.Context(), nil, Payment{Purpose: PurposeTopUp}); err != nil {
		t.Fatal(err)
	}
	if err := hs.RefundSettled(t.Context(), nil, Refund{}, Payment{Purpose: PurposeOrder}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, topups, "PaymentSucceeded")
	wantCalls(t, orders, "RefundSettled")
	// No handler for renewals yet: an error, so the event or job is retried
	// rather than its outcome lost.
	if err := hs.PaymentFailed(t.Context(), nil, Payment{Purpose: PurposeRenewal}); err == nil {
		t.Error("missing handler accepted")
	}
}
