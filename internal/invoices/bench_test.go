package invoices_test

import (
	"context"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/testcpu"
)

// BenchmarkRenderPDF draws an order's invoice the way the mail worker does
// for every order confirmation (RenderPDF: read back, then drawn in the
// buyer's language), a business buyer with a VAT number and a consumer:
//
//	go test ./internal/invoices -run '^$' -bench RenderPDF -benchmem
func BenchmarkRenderPDF(b *testing.B) {
	h, docs := benchInvoices(b)
	ctx := context.Background()
	for _, d := range docs {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			defer testcpu.PerOp(b)()
			for b.Loop() {
				if _, err := h.App.Invoices.RenderPDF(ctx, d.id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPDF is RenderPDF's second half: the invoice, already read,
// drawn in its language.
//
//	go test ./internal/invoices -run '^$' -bench 'PDF$' -benchmem
func BenchmarkPDF(b *testing.B) {
	h, docs := benchInvoices(b)
	ctx := context.Background()
	for _, d := range docs {
		inv, err := h.App.Invoices.Get(ctx, d.id)
		if err != nil {
			b.Fatal(err)
		}
		t := translator(h, inv.Lang)
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			defer testcpu.PerOp(b)()
			for b.Loop() {
				if _, err := h.App.Invoices.PDF(inv, t); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGet is RenderPDF's first half: the invoice read back.
func BenchmarkGet(b *testing.B) {
	h, docs := benchInvoices(b)
	ctx := context.Background()
	b.ReportAllocs()
	defer testcpu.PerOp(b)()
	for b.Loop() {
		if _, err := h.App.Invoices.Get(ctx, docs[0].id); err != nil {
			b.Fatal(err)
		}
	}
}

type benchDoc struct{ name, id string }

// benchInvoices places an order for a French consumer and one for an
// English business buyer, and gives their numbered invoices.
func benchInvoices(b *testing.B) (*apptest.Harness, []benchDoc) {
	b.Helper()
	h := apptest.Start(b)
	p := product(b, h, "bench-posts", 2500)
	var docs []benchDoc
	for _, bc := range []struct{ name, lang, country, ctype, vat string }{
		{"consumer-fr", "fr", "FR", account.CustomerConsumer, ""},
		{"business-en", "en", "DE", account.CustomerBusiness, "DE123456789"},
	} {
		u := customer(b, h, bc.name+"@shop.test", bc.lang, bc.country, bc.ctype, bc.vat, 1_000_000)
		o, err := buy(h, u, p, 2)
		if err != nil {
			b.Fatal(err)
		}
		invs, err := h.App.Invoices.ForOrder(context.Background(), o.ID) // numbers it
		if err != nil || len(invs) != 1 {
			b.Fatalf("order %s: %d documents, %v", o.ID, len(invs), err)
		}
		docs = append(docs, benchDoc{bc.name, invs[0].ID})
	}
	return h, docs
}
