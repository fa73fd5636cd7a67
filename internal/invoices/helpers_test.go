package invoices_test

import (
	"context"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/cardpay"
	"comptoir/internal/catalog"
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

// subscribedToPlan creates the monthly plan "plan" at price (minor units,
// EUR) and subscribes u to it, paid from the balance.
func subscribedToPlan(t *testing.T, h *apptest.Harness, u account.User, price int64) subscriptions.Subscription {
	t.Helper()
	ctx := context.Background()
	plan, err := h.App.Catalog.Create(ctx, adminActor, catalog.ProductInput{
		Slug: "plan", Kind: catalog.KindSubscription, NameFR: "Formule", NameEN: "Plan",
		DescriptionFR: "Chaque mois.", DescriptionEN: "Every month.", UnitPrice: money.MustNew(price, "EUR"),
		PlanInterval: catalog.IntervalMonth,
	})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := h.App.Subscriptions.Start(ctx, subscriptionsStart(u.ID, plan.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}
