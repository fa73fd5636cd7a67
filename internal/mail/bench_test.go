package mail_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"comptoir/internal/mail"
	"comptoir/internal/testcpu"
)

// orderConfirmation is a stored order confirmation as the mail worker sends
// it after each checkout: the French text, and a PDF invoice of the usual
// size (3 to 4 kB) drawn into its attachment.
func orderConfirmation(tb testing.TB) mail.Stored {
	tb.Helper()
	subject, text, err := mail.Render("fr", "order_confirmation", confirmationData())
	if err != nil {
		tb.Fatal(err)
	}
	pdf := []byte("%PDF-1.3\n" + strings.Repeat("BT /F1 10.00 Tf ET\n2 J\n0.57 w\n42.52 785.20 Td (Facture F-2026-000042) Tj\n", 45))
	return mail.Stored{
		ID: "msg_01JD3X9K2M4N5P6Q7R8S9T0V", Kind: "order_confirmation", From: from, To: "zoe@example.org", ToName: "Zoé Lefèvre",
		Lang: "fr", Subject: subject, Text: text, MessageID: "<msg_01JD3X9K2M4N5P6Q7R8S9T0V@shop.example>", CreatedAt: start,
		Attachments: []mail.Attachment{{Filename: "F-2026-000042.pdf", ContentType: "application/pdf", Data: pdf}},
	}
}

// confirmationData is an order confirmation's template data, one line.
func confirmationData() map[string]any {
	line := map[string]any{"Name": "Publications soignées", "Quantity": 2, "Amount": "50,00\u00a0€", "Key": ""}
	return map[string]any{
		"Name": "Zoé Lefèvre", "StoreName": "Comptoir", "Trader": "Comptoir SARL, 3 rue des Lilas, 69001 Lyon, France, support@shop.example",
		"OrderID": "ord_01JD3X9K2M4N5P6Q7R8S9T0V", "OrderLink": "https://shop.example/orders/ord_01JD3X9K2M4N5P6Q7R8S9T0V",
		"PlacedAt": "8 mars 2026 à 11:00", "Lines": []map[string]any{line}, "Total": "50,00\u00a0€", "PaidWith": "balance",
		"ConsentShown": true, "Immediate": "Je demande que la prestation commence avant la fin du délai de rétractation.",
		"Waiver": "Je reconnais perdre mon droit de rétractation une fois la prestation pleinement exécutée.",
		"Ticked": true, "ImmediateTicked": true, "WaiverTicked": true, "PolicyVersion": "default@1",
		"PolicyLink": "https://shop.example/policy?version=default%401&lang=fr", "TermsVersion": "", "TermsLink": "",
		"PolicyNumber": "1", "TermsNumber": "",
		"InvoiceLink": "https://shop.example/invoices/inv_01JD3X9K2M4N5P6Q7R8S9T0V", "InvoiceAttached": true,
	}
}

// BenchmarkRender renders an order confirmation's subject and text, which
// every checkout paid from the balance does before its transaction:
//
//	go test ./internal/mail -run '^$' -bench Render -benchmem
func BenchmarkRender(b *testing.B) {
	data := confirmationData()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := mail.Render("fr", "order_confirmation", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteMessage composes an order confirmation with its invoice
// and writes its MIME bytes, which both senders do once per message:
//
//	go test ./internal/mail -run '^$' -bench WriteMessage -benchmem
func BenchmarkWriteMessage(b *testing.B) {
	s := orderConfirmation(b)
	var buf bytes.Buffer
	if err := mail.WriteMessage(&buf, s); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	defer testcpu.PerOp(b)()
	for b.Loop() {
		if err := mail.WriteMessage(io.Discard, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSpoolSend is the same message written to the spool directory
// (the sender of a store without a relay, and of the in-process benchmarks).
func BenchmarkSpoolSend(b *testing.B) {
	s := orderConfirmation(b)
	sp, err := mail.NewSpoolSender(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	defer testcpu.PerOp(b)()
	for b.Loop() {
		if err := sp.Send(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
}
