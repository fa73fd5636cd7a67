package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/claims"
	"comptoir/internal/desk"
	"comptoir/internal/policy"
	"comptoir/internal/privacy"
)

// The evidence ZIP of a card dispute about a digital file carries the
// files that exist for the order: the product file as delivered, the
// evidence file the customer gave with a claim, the file they attached to
// a support message, each byte for byte under files/, and a files.txt
// listing them. Once the customer's data are erased at their request,
// their files are left out and the bundle says so, while the delivered
// file (the store's) stays.
func TestDisputeZIPCarriesTheOrdersFiles(t *testing.T) {
	h := startWithStripe(t)
	ctx := context.Background()
	_, adm := h.User(t, account.RoleAdmin, "admin@shop.test")
	agent, ag := h.User(t, account.RoleAgent, "agent@shop.test")

	guide := []byte("%PDF-1.4\n% the guide, as delivered\n")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"kind": "digital", "slug": "guide", "name_fr": "Guide", "name_en": "Guide",
		"description_fr": "Un guide.", "description_en": "A guide.", "unit_price": "25,00", "currency": "EUR",
		"min_quantity": "1", "max_quantity": "1", "download_hours": "48"} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "guide.pdf")
	fw.Write(guide)
	mw.Close()
	if r := adm.Send(http.MethodPost, "/admin/products", mw.FormDataContentType(), &buf, http.Header{"Sec-Fetch-Site": {"same-origin"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("create a file product: %d %s", r.Status, r.Body)
	}
	p, err := h.App.Catalog.GetBySlug(ctx, "guide")
	if err != nil {
		t.Fatal(err)
	}

	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":1}],"payment":"card","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	r := postJSON(c, "/api/v1/orders", body, h.Bearer(t, u.ID))
	var created struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &created) != nil {
		t.Fatalf("card order: %d %s", r.Status, r.Body)
	}
	orderID := created.ID
	pay, ok, err := h.App.Card.Pending(ctx, cardpay.PurposeOrder, orderID)
	if err != nil || !ok {
		t.Fatalf("pending payment: %v %v", ok, err)
	}
	deliver := webhookDeliverer(t, h)
	deliver(stripe.EventTypeCheckoutSessionCompleted, completed(pay))

	// The customer's claim with a screenshot, and a support message with
	// an attached text file.
	screenshot := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 64)...)
	cl, err := h.App.Claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: orderID,
		Message: "The guide is empty.", Actor: audit.Actor{ID: u.ID, Role: account.RoleCustomer}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.App.Claims.AddEvidence(ctx, u.ID, cl.ID, []claims.EvidenceInput{{Name: "capture.png", File: bytes.NewReader(screenshot)}}); err != nil {
		t.Fatal(err)
	}
	note := []byte("Page 3 is blank on my reader.\n")
	atts, _, err := desk.StoreUploads(ctx, h.App.Blobs, []desk.Upload{{Name: "notes.txt", File: bytes.NewReader(note)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{CustomerID: u.ID, Name: "Ana", Email: "ana@example.fr", OrderRef: orderID,
		Topic: desk.TopicOrder, Message: "See the attached notes.", Lang: "fr", Attachments: atts}); err != nil {
		t.Fatal(err)
	}

	dispute := map[string]any{"id": "dp_test_files", "object": "dispute", "amount": 2500,
		"currency": "eur", "payment_intent": "pi_" + pay.ID, "reason": "product_unacceptable", "status": "needs_response"}
	deliver(stripe.EventTypeChargeDisputeCreated, dispute)
	cases, err := h.App.Disputes.ForReference(ctx, orderID)
	if err != nil || len(cases) != 1 {
		t.Fatalf("cases: %+v %v", cases, err)
	}
	dc := cases[0]

	bundle := func() map[string][]byte {
		t.Helper()
		zr := ag.Get("/console/disputes/" + dc.ID + "/evidence.zip")
		zf, err := zip.NewReader(bytes.NewReader([]byte(zr.Body)), int64(len(zr.Body)))
		if zr.Status != http.StatusOK || err != nil {
			t.Fatalf("zip: %d %v", zr.Status, err)
		}
		out := map[string][]byte{}
		for _, f := range zf.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			out[f.Name] = b
		}
		return out
	}
	names := func(z map[string][]byte) []string {
		var out []string
		for n := range z {
			out = append(out, n)
		}
		return out
	}

	z := bundle()
	for name, want := range map[string][]byte{
		"files/01-delivered_file-guide.pdf":    guide,
		"files/02-claim_evidence-capture.png":  screenshot,
		"files/03-ticket_attachment-notes.txt": note,
		"evidence-" + dc.ID + ".pdf":           nil,
		"04-consent_record.txt":                nil,
		"refund-policy-default-1.toml":         nil,
	} {
		got, ok := z[name]
		if !ok {
			t.Errorf("the ZIP lacks %s: %v", name, names(z))
			continue
		}
		if want != nil && !bytes.Equal(got, want) {
			t.Errorf("%s holds %q, want %q", name, got, want)
		}
	}
	manifest := string(z["files.txt"])
	for _, want := range []string{"Delivered product file from the store", "Claim evidence from the customer (" + cl.ID + "): capture.png, image/png",
		"Support attachment from the customer", "notes.txt", "files/02-claim_evidence-capture.png"} {
		if !strings.Contains(manifest, want) {
			t.Errorf("files.txt lacks %q:\n%s", want, manifest)
		}
	}

	// Once the dispute is over (erasure waits for it: TestErasureWaitsForAnOpenDispute),
	// the customer asks to be forgotten: their files leave the bundle,
	// which says so; the delivered file stays.
	dispute["status"] = "won"
	deliver(stripe.EventTypeChargeDisputeClosed, dispute)
	// Its claim decided too (erasure waits for open claims: TestErasureWaitsForAnOpenClaim).
	if _, err := h.App.Claims.Decide(ctx, claims.AgentDecision{ClaimID: cl.ID, Outcome: policy.OutcomeRefused, ReasonCode: "expectation_only",
		Actor: agent.Actor()}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Privacy.Erase(ctx, u.ID, audit.Actor{ID: u.ID, Role: account.RoleCustomer}, privacy.ReasonCustomerRequest); err != nil {
		t.Fatal(err)
	}
	z = bundle()
	if !bytes.Equal(z["files/01-delivered_file-guide.pdf"], guide) {
		t.Errorf("after erasure the delivered file is gone: %v", names(z))
	}
	for name, b := range z {
		if strings.Contains(name, "claim_evidence") || strings.Contains(name, "ticket_attachment") || strings.Contains(name, "capture") ||
			bytes.Contains(b, screenshot) || bytes.Contains(b, note) {
			t.Errorf("after erasure the ZIP still holds the customer's file in %s", name)
		}
	}
	manifest = string(z["files.txt"])
	for _, want := range []string{"Claim evidence from the customer (" + cl.ID + ")", "Erased at the customer's request (GDPR): not included",
		"The customer's personal data were erased"} {
		if !strings.Contains(manifest, want) {
			t.Errorf("after erasure files.txt lacks %q:\n%s", want, manifest)
		}
	}
	if strings.Contains(manifest, "capture.png") || strings.Contains(manifest, "notes.txt") {
		t.Errorf("after erasure files.txt still names the customer's files:\n%s", manifest)
	}
}
