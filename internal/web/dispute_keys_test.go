package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/catalog"
	"comptoir/internal/money"
	"comptoir/internal/pdftext"
)

// The evidence pack of a disputed licence-key order shows the key that was
// delivered: masked but for its last characters, when it was assigned, the
// confirmation email that carried it, the order page views since; on the
// console page, in the PDF, in the ZIP and in the text for Stripe. The key
// itself appears nowhere in the pack, not even inside the confirmation
// email it quotes. Before, the pack did not mention the key, and quoted the
// confirmation email with the key in clear.
func TestDisputePackShowsTheLicenceKeyMasked(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	admin, _ := h.User(t, account.RoleAdmin, "admin@shop.test")
	_, ag := h.User(t, account.RoleAgent, "agent@shop.test")
	adm := audit.Actor{ID: admin.ID, Role: account.RoleAdmin}
	p, err := h.App.Catalog.Create(ctx, adm, catalog.ProductInput{
		Slug: "licence", Kind: catalog.KindDigital, NameFR: "Logiciel", NameEN: "Software", DescriptionFR: "Une licence.", DescriptionEN: "One licence.",
		UnitPrice: money.MustNew(500, "EUR"), MinQuantity: 1, MaxQuantity: 1, DigitalDelivery: catalog.DeliveryLicenceKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	const key, masked = "WXYZ-1234-ABCD-9876", "****-****-****-9876"
	if _, err := h.App.Catalog.AddLicenceKeys(ctx, adm, p.ID, []string{key}); err != nil {
		t.Fatal(err)
	}
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":1}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
	var created struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &created) != nil {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	pay, ok, err := h.App.Card.Pending(ctx, cardpay.PurposeOrder, created.ID)
	if err != nil || !ok {
		t.Fatalf("pending payment: %v %v", ok, err)
	}
	paidAt := h.Clock.Now().UTC().Format("2006-01-02 15:04:05 UTC")
	deliver := webhookDeliverer(t, h)
	deliver(stripe.EventTypeCheckoutSessionCompleted, completed(pay))
	h.Clock.Advance(time.Hour)
	if page := c.Get("/orders/" + created.ID); page.Status != http.StatusOK || !strings.Contains(page.Body, key) {
		t.Fatalf("the customer's order page does not show the key: %d", page.Status)
	}
	viewedAt := h.Clock.Now().UTC().Format("2006-01-02 15:04:05 UTC")

	h.Clock.Advance(48 * time.Hour)
	deliver(stripe.EventTypeChargeDisputeCreated, map[string]any{"id": "dp_key", "object": "dispute", "amount": 500, "currency": "eur",
		"payment_intent": "pi_" + pay.ID, "reason": "product_not_received", "status": "needs_response"})
	cases, err := h.App.Disputes.ForReference(ctx, created.ID)
	if err != nil || len(cases) != 1 {
		t.Fatalf("cases: %+v %v", cases, err)
	}
	dc := cases[0]
	o, err := h.App.Orders.Get(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	wants := []string{o.Lines[0].Name + ": licence key " + masked + ", assigned to the order on " + paidAt,
		"Sent in the order_confirmation email to ana@example.fr", "viewed 1 time(s) since: first " + viewedAt}
	check := func(where, text string) {
		t.Helper()
		for _, want := range wants {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q", where, want)
			}
		}
		if strings.Contains(text, key) {
			t.Errorf("%s holds the licence key in clear", where)
		}
	}

	page := ag.Get("/console/disputes/" + dc.ID)
	if page.Status != http.StatusOK {
		t.Fatalf("dispute page: %d", page.Status)
	}
	check("the console page", page.Body)
	pdf := ag.Get("/console/disputes/" + dc.ID + "/evidence.pdf")
	if pdf.Status != http.StatusOK {
		t.Fatalf("pdf: %d", pdf.Status)
	}
	check("the PDF", strings.Join(strings.Fields(pdftext.Text(t, []byte(pdf.Body))), " "))
	zr := ag.Get("/console/disputes/" + dc.ID + "/evidence.zip")
	zf, err := zip.NewReader(bytes.NewReader([]byte(zr.Body)), int64(len(zr.Body)))
	if zr.Status != http.StatusOK || err != nil {
		t.Fatalf("zip: %d %v", zr.Status, err)
	}
	var keysPart string
	for _, f := range zf.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if bytes.Contains(data, []byte(key)) {
			t.Errorf("the ZIP's %s holds the licence key in clear", f.Name)
		}
		if strings.HasSuffix(f.Name, "-licence_keys.txt") {
			keysPart = string(data)
		}
	}
	check("the ZIP's licence_keys part", keysPart)
	pack, err := h.App.Disputes.Pack(ctx, dc.ID)
	if err != nil {
		t.Fatal(err)
	}
	ev := pack.StripeEvidence()
	if ev.UncategorizedText == nil {
		t.Fatal("no uncategorized_text for Stripe")
	}
	check("the text for Stripe", *ev.UncategorizedText)
	if !strings.Contains(*ev.UncategorizedText, "order_confirmation") {
		t.Error("the text for Stripe lost the confirmation email")
	}
}
