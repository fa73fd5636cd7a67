package invoices_test

import (
	"comptoir/internal/apptest"
	"comptoir/internal/billing"
	"comptoir/internal/cardpay"
	"comptoir/internal/id"
	"comptoir/internal/money"
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
