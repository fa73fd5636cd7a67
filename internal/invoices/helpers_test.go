package invoices_test

import (
	"context"

	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/cardpay"
	"comptoir/internal/claims"
	"comptoir/internal/id"
	"comptoir/internal/money"
	"comptoir/internal/policy"
	"comptoir/internal/subscriptions"
)

func subscriptionsStart(customerID, planID string) subscriptions.StartInput {
	return subscriptions.StartInput{CustomerID: customerID, PlanID: planID, Payment: subscriptions.PayBalance,
		ImmediatePerformance: true, WithdrawalWaiver: true}
}

func cardpayPayment(customerID string, minor int64) cardpay.Payment {
	return cardpay.Payment{ID: id.New("pay"), Purpose: cardpay.PurposeTopUp, CustomerID: customerID,
		Amount: money.MustNew(minor, "EUR"), Status: cardpay.StatusSucceeded, CardCountry: "BE"}
}

func topUpNext(h *apptest.Harness) cardpay.Handler { return billing.TopUpHandler{L: h.App.Ledger} }

func fileCancel(h *apptest.Harness, customerID, subID string) (string, error) {
	c, err := h.App.Claims.File(context.Background(), claims.FileInput{Kind: policy.SubscriptionCancel, CustomerID: customerID,
		SubscriptionID: subID, Choice: policy.CancelNow, Message: "Je résilie.",
		Actor: audit.Actor{ID: customerID, Role: "customer"}})
	return c.ID + " " + c.Status, err
}
