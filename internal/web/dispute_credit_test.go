package web_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/claims"
	"comptoir/internal/invoices"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/pdftext"
	"comptoir/internal/policy"
	"comptoir/internal/subscriptions"
	"comptoir/internal/testwait"
)

// paidCardOrder places a card order of 100 posts at 25 (25.00) for a new
// customer and pays it by webhook.
func paidCardOrder(t *testing.T, h *apptest.Harness, email string) (account.User, orders.Order, cardpay.Payment) {
	t.Helper()
	ctx := context.Background()
	p := newService(t, h, "posts-"+strings.ReplaceAll(strings.Split(email, "@")[0], ".", "-"), 25)
	u, c := h.User(t, account.RoleCustomer, email)
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":100}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
	var created struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &created) != nil {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	pay, ok, err := h.App.Card.Pending(ctx, cardpay.PurposeOrder, created.ID)
	if err != nil || !ok {
		t.Fatalf("pending payment: %v %v", ok, err)
	}
	webhookDeliverer(t, h)(stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	o, err := h.App.Orders.Get(ctx, created.ID)
	if err != nil || o.Paid.Minor != 2500 {
		t.Fatalf("paid order: %+v %v", o, err)
	}
	return u, o, pay
}

// closeDisputeAtOnce delivers n events closing the dispute with status at
// the same time, each under its own event id (as Stripe's "closed" and an
// "updated" saying the same would), and fails unless each is taken.
func closeDisputeAtOnce(t *testing.T, h *apptest.Harness, dispute map[string]any, status string, n int) {
	t.Helper()
	dispute["status"] = status
	payloads := make([][]byte, n)
	sigs := make([]string, n)
	for i := range n {
		typ := stripe.EventTypeChargeDisputeClosed
		if i%2 == 1 {
			typ = stripe.EventTypeChargeDisputeUpdated
		}
		payloads[i], sigs[i] = cardpaytest.Event(t, webhookSecret, cardpaytest.EventID(), typ, dispute)
	}
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/v1/webhooks/stripe", bytes.NewReader(payloads[i]))
			req.Header.Set("Stripe-Signature", sigs[i])
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Fatalf("closing event %d answered %d (all: %v)", i, code, codes)
		}
	}
}

// exportGross is the accounting export's gross total of every document
// issued so far (credit notes subtracted).
func exportGross(t *testing.T, h *apptest.Harness) int64 {
	t.Helper()
	now := h.Clock.Now()
	docs, err := h.App.Invoices.Period(context.Background(), now.AddDate(-1, 0, 0), now.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	var gross int64
	for _, tot := range invoices.Totals(docs) {
		gross += tot.Gross
	}
	return gross
}

// A dispute the store loses is money the bank gave back to the buyer: it
// issues one credit note, for the disputed amount only (a partial
// dispute), numbered in the credit note series, referring to the order's
// invoice, with its PDF, in the accounting export and emailed to the
// customer; the order counts it as refunded. Eight closing events at once
// ("closed" and "updated", each its own event) issue it once. Before, a
// lost dispute issued nothing: the invoice still said the store was paid
// 25.00 and the export counted it.
func TestLostDisputeIssuesOneCreditNote(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	u, o, pay := paidCardOrder(t, h, "ana@example.fr")
	docs, err := h.App.Invoices.ForOrder(ctx, o.ID)
	if err != nil || len(docs) != 1 || docs[0].Kind != invoices.KindInvoice {
		t.Fatalf("the order's invoice: %+v %v", docs, err)
	}
	inv := docs[0]
	before := exportGross(t, h)
	deliver := webhookDeliverer(t, h)
	dispute := map[string]any{"id": "dp_lost_part", "object": "dispute", "amount": 1000, "currency": "eur",
		"payment_intent": "pi_" + pay.ID, "reason": "product_not_received", "status": "needs_response"}
	deliver(stripe.EventTypeChargeDisputeCreated, dispute)
	if cn := creditNotes(t, h, o.ID); len(cn) != 0 {
		t.Fatalf("an open dispute issued %d credit notes", len(cn))
	}
	closeDisputeAtOnce(t, h, dispute, "lost", 8)
	// A late replay of the close, in sequence, changes nothing either.
	deliver(stripe.EventTypeChargeDisputeClosed, dispute)

	cn := creditNotes(t, h, o.ID)
	if len(cn) != 1 {
		t.Fatalf("%d credit notes after the lost dispute, want 1", len(cn))
	}
	c := cn[0]
	if c.Total != money.MustNew(1000, "EUR") || c.RefersTo != inv.ID || c.RefersToNumber != inv.Number ||
		!strings.HasPrefix(c.Number, invoices.SeriesCreditNote+"-") || c.Series != invoices.SeriesCreditNote {
		t.Fatalf("credit note: %+v (invoice %s %s)", c, inv.ID, inv.Number)
	}
	if got := exportGross(t, h); got != before-1000 {
		t.Fatalf("export gross %d after the lost dispute, want %d", got, before-1000)
	}
	drawn, err := h.App.Invoices.RenderPDF(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if text := pdftext.Text(t, drawn.Data); !strings.Contains(text, c.Number) || !strings.Contains(text, inv.Number) {
		t.Fatalf("the credit note's PDF lacks its number or the invoice's:\n%s", text)
	}
	notices := 0
	for _, m := range mailsOf(t, h, u, "invoice_issued") {
		if strings.Contains(m.Text, c.Number) {
			notices++
		}
	}
	if notices != 1 {
		t.Fatalf("%d emails of the credit note to the customer, want 1", notices)
	}
	got, err := h.App.Orders.Get(ctx, o.ID)
	if err != nil || got.Refunded.Minor != 1000 || got.Status == orders.StatusRefunded {
		t.Fatalf("order after a partial chargeback: refunded %v, status %s, %v", got.Refunded, got.Status, err)
	}
}

// A chargeback never credits more than is left uncredited on the invoice:
// after a refund of 20.00 of the 25.00, a lost dispute of the whole
// payment credits the last 5.00 and the order is refunded in full. A won
// dispute issues nothing.
func TestLostDisputeCreditsOnlyWhatIsLeft(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	_, o, pay := paidCardOrder(t, h, "ben@example.fr")
	if err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		return h.App.Orders.RefundLineTx(ctx, tx, o.ID, o.Lines[0].ID, money.MustNew(2000, "EUR"), audit.System)
	}); err != nil {
		t.Fatal(err)
	}
	deliver := webhookDeliverer(t, h)
	dispute := map[string]any{"id": "dp_lost_all", "object": "dispute", "amount": 2500, "currency": "eur",
		"payment_intent": "pi_" + pay.ID, "reason": "fraudulent", "status": "needs_response"}
	deliver(stripe.EventTypeChargeDisputeCreated, dispute)
	closeDisputeAtOnce(t, h, dispute, "lost", 4)
	cn := creditNotes(t, h, o.ID)
	var totals []int64
	for _, c := range cn {
		totals = append(totals, c.Total.Minor)
	}
	if fmt.Sprint(totals) != "[2000 500]" {
		t.Fatalf("credit notes %v, want the refund's 2000 then the chargeback's 500", totals)
	}
	if got, _ := h.App.Orders.Get(ctx, o.ID); got.Refunded.Minor != 2500 || got.Status != orders.StatusRefunded {
		t.Fatalf("order after the chargeback: refunded %v, status %s", got.Refunded, got.Status)
	}

	_, won, wonPay := paidCardOrder(t, h, "cleo@example.fr")
	wonDispute := map[string]any{"id": "dp_won", "object": "dispute", "amount": 2500, "currency": "eur",
		"payment_intent": "pi_" + wonPay.ID, "reason": "fraudulent", "status": "needs_response"}
	deliver(stripe.EventTypeChargeDisputeCreated, wonDispute)
	closeDisputeAtOnce(t, h, wonDispute, "won", 2)
	if cn := creditNotes(t, h, won.ID); len(cn) != 0 {
		t.Fatalf("a won dispute issued %d credit notes", len(cn))
	}
	if got, _ := h.App.Orders.Get(ctx, won.ID); got.Refunded.Minor != 0 {
		t.Fatalf("a won dispute refunded %v", got.Refunded)
	}
}

// A card top-up is a voucher: its document carries no VAT. A dispute of it
// that the store loses credits that document for the amount the bank took
// back (at VAT 0), once; the balance stays taken back.
func TestLostTopUpDisputeCreditsTheVoucher(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "dan@example.fr")
	r := postJSON(c, "/api/v1/balance/topups", `{"amount":{"amount":2000,"currency":"EUR"}}`, h.Bearer(t, u.ID))
	var out struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &out) != nil {
		t.Fatalf("top-up: %d %s", r.Status, r.Body)
	}
	pay, err := h.App.Card.Get(ctx, out.ID)
	if err != nil {
		t.Fatal(err)
	}
	deliver := webhookDeliverer(t, h)
	deliver(stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	dispute := map[string]any{"id": "dp_topup", "object": "dispute", "amount": 2000, "currency": "eur",
		"payment_intent": "pi_" + pay.ID, "reason": "fraudulent", "status": "needs_response"}
	deliver(stripe.EventTypeChargeDisputeCreated, dispute)
	closeDisputeAtOnce(t, h, dispute, "lost", 4)
	cn := creditNotes(t, h, pay.ID)
	if len(cn) != 1 || cn[0].Total.Minor != 2000 || cn[0].VAT.Minor != 0 || cn[0].Series != invoices.SeriesCreditNote {
		t.Fatalf("credit notes of the disputed top-up: %+v", cn)
	}
	if b := balanceOf(t, h, u); b != 0 {
		t.Fatalf("balance after the lost top-up dispute: %d", b)
	}
}

// A subscription's card payment whose dispute the store loses gets its
// credit note against the period's invoice, once.
func TestLostSubscriptionDisputeCreditsThePeriod(t *testing.T) {
	h, _ := scaStore(t)
	u, c := h.User(t, account.RoleCustomer, "eve@example.fr")
	sub := scaSubscription(t, h, u, c)
	deliver := webhookDeliverer(t, h)
	dispute := map[string]any{"id": "dp_sub_lost", "object": "dispute", "amount": 990, "currency": "eur", "charge": "ch_first",
		"payment_intent": "pi_first", "reason": "fraudulent", "status": "needs_response"}
	deliver(stripe.EventTypeChargeDisputeCreated, dispute)
	closeDisputeAtOnce(t, h, dispute, "lost", 4)
	cn := creditNotes(t, h, sub.ID)
	if len(cn) != 1 || cn[0].Total.Minor != 990 || cn[0].RefersTo == "" {
		t.Fatalf("credit notes of the disputed subscription: %+v", cn)
	}
}

// A claim's card refund still pending when the store loses a dispute of the
// whole payment, and that then fails: the bank has returned everything, so
// the failed refund's amount is the dispute's. It stays counted on the
// line (nothing to refund again), gets its credit note, and no agent is
// told to give the money back another way.
func TestFailedRefundAfterLostDisputeIsTheDisputes(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	agent, _ := h.User(t, account.RoleAgent, "agent@example.fr")
	u, o, pay := paidCardOrder(t, h, "fay@example.fr")
	if _, err := h.App.Orders.RecordDelivery(ctx, deliveryOf(o.ID, o.Lines[0].ID, 40)); err != nil {
		t.Fatal(err)
	}
	// Stripe takes the refund but has not settled it yet.
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/refunds"), func(m map[string]any) { m["status"] = "pending" })
	h.Clock.Advance(73 * time.Hour)
	cl, err := h.App.Claims.File(ctx, claims.FileInput{Kind: policy.NonDelivery, CustomerID: u.ID, OrderID: o.ID, Actor: u.Actor()})
	if err != nil {
		t.Fatal(err)
	}
	refunds, _ := h.App.Claims.Refunds(ctx, cl.ID)
	if len(refunds) != 1 || refunds[0].Destination != claims.DestCard || refunds[0].Amount.Minor != 1500 {
		t.Fatalf("claim refunds %+v", refunds)
	}
	var cardRefund cardpay.Refund
	testwait.Until(t, "the card refund to be pending at Stripe", func() bool {
		cardRefund, err = h.App.Card.GetRefund(ctx, refunds[0].CardRefundID)
		return err == nil && cardRefund.StripeRefundID != ""
	})

	deliver := webhookDeliverer(t, h)
	dispute := map[string]any{"id": "dp_pending_refund", "object": "dispute", "amount": 2500, "currency": "eur",
		"payment_intent": "pi_" + pay.ID, "reason": "fraudulent", "status": "needs_response"}
	deliver(stripe.EventTypeChargeDisputeCreated, dispute)
	closeDisputeAtOnce(t, h, dispute, "lost", 2)
	if cn := creditNotes(t, h, o.ID); len(cn) != 1 || cn[0].Total.Minor != 1000 {
		t.Fatalf("credit notes after the chargeback: %+v, want one of 1000 (1500 held by the pending refund)", cn)
	}

	deliver(stripe.EventTypeRefundFailed, map[string]any{"id": cardRefund.StripeRefundID, "object": "refund", "status": "failed",
		"amount": 1500, "currency": "eur", "payment_intent": "pi_" + pay.ID, "metadata": map[string]any{"refund_id": cardRefund.ID}})
	if rs, _ := h.App.Claims.Refunds(ctx, cl.ID); rs[0].Status != claims.RefundFailed {
		t.Fatalf("claim refund after refund.failed: %s", rs[0].Status)
	}
	var totals []int64
	for _, c := range creditNotes(t, h, o.ID) {
		totals = append(totals, c.Total.Minor)
	}
	if fmt.Sprint(totals) != "[1000 1500]" {
		t.Errorf("credit notes %v, want the chargeback's 1000 and 1500 for the failed refund it took over", totals)
	}
	got, _ := h.App.Orders.Get(ctx, o.ID)
	if got.Lines[0].Refunded.Minor != 2500 || got.Refunded.Minor != 2500 || got.Status != orders.StatusRefunded {
		t.Errorf("order after the failure: line refunded %v, order refunded %v, status %s; want all 2500 back, refunded",
			got.Lines[0].Refunded, got.Refunded, got.Status)
	}
	err = h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		return h.App.Orders.RefundLineTx(ctx, tx, o.ID, o.Lines[0].ID, money.MustNew(1, "EUR"), adminActor)
	})
	if !errors.Is(err, orders.ErrOverRefund) {
		t.Errorf("refunding the line again: %v, want ErrOverRefund (the bank returned it all)", err)
	}
	if n := len(mailsOf(t, h, agent, "alert_card_refund_failed")); n != 0 {
		t.Errorf("%d alerts asking agents to pay back what the bank already returned", n)
	}
}

// The same for a subscription: the card refund of a cancellation is still
// pending when the store loses the dispute of the period's payment, and
// then fails. The bank returned the money, so the period stays refunded,
// the period's invoice stays credited once (by the dispute), and no agent
// is told to pay it back another way.
func TestFailedSubscriptionRefundAfterLostDispute(t *testing.T) {
	h, rec := scaStore(t)
	ctx := context.Background()
	agent, _ := h.User(t, account.RoleAgent, "agent@example.fr")
	u, c := h.User(t, account.RoleCustomer, "gus@example.fr")
	sub := scaSubscription(t, h, u, c)
	rec.Rewrite(cardpaytest.To(http.MethodPost, "/v1/refunds"), func(m map[string]any) { m["status"] = "pending" })
	refund := cancelRefunded(t, h, u, c, sub, string(claims.RefundPending))
	var cardRefund cardpay.Refund
	testwait.Until(t, "the card refund to be pending at Stripe", func() bool {
		var err error
		cardRefund, err = h.App.Card.GetRefund(ctx, refund.CardRefundID)
		return err == nil && cardRefund.StripeRefundID != ""
	})

	deliver := webhookDeliverer(t, h)
	dispute := map[string]any{"id": "dp_sub_pending", "object": "dispute", "amount": 990, "currency": "eur", "charge": "ch_first",
		"payment_intent": "pi_first", "reason": "fraudulent", "status": "needs_response"}
	deliver(stripe.EventTypeChargeDisputeCreated, dispute)
	closeDisputeAtOnce(t, h, dispute, "lost", 2)
	deliver(stripe.EventTypeRefundFailed, map[string]any{"id": cardRefund.StripeRefundID, "object": "refund", "status": "failed",
		"amount": 990, "currency": "eur", "payment_intent": "pi_first", "metadata": map[string]any{"refund_id": cardRefund.ID}})

	rs, _ := h.App.Claims.Refunds(ctx, refund.ClaimID)
	if len(rs) != 1 || rs[0].Status != claims.RefundFailed {
		t.Fatalf("claim refunds after refund.failed: %+v", rs)
	}
	periods, _ := h.App.Subscriptions.Periods(ctx, sub.ID)
	if len(periods) != 1 || periods[0].Status != subscriptions.PeriodRefunded {
		t.Errorf("the period after its refund failed: %+v, want still refunded (the bank returned it)", periods)
	}
	if cn := creditNotes(t, h, sub.ID); len(cn) != 1 || cn[0].Total.Minor != 990 {
		t.Errorf("credit notes: %+v, want the dispute's one of 990", cn)
	}
	if n := len(mailsOf(t, h, agent, "alert_card_refund_failed")); n != 0 {
		t.Errorf("%d alerts asking agents to pay back what the bank already returned", n)
	}
}
