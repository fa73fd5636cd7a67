package invoices_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/money"
	"comptoir/internal/orders"
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
			defer cpuPerOp(b)()
			for b.Loop() {
				if _, err := h.App.Invoices.RenderPDF(ctx, d.id); err != nil {
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
	defer cpuPerOp(b)()
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
	ctx := context.Background()
	p, err := h.App.Catalog.Create(ctx, adminActor, catalog.ProductInput{
		Slug: "bench-posts", Kind: catalog.KindService, NameFR: "Publications soignées", NameEN: "Careful posts",
		DescriptionFR: "Des publications.", DescriptionEN: "Some posts.", UnitPrice: money.MustNew(2500, "EUR"),
		MinQuantity: 1, MaxQuantity: 1000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		b.Fatal(err)
	}
	var docs []benchDoc
	for _, bc := range []struct{ name, lang, country, ctype, vat string }{
		{"consumer-fr", "fr", "FR", account.CustomerConsumer, ""},
		{"business-en", "en", "DE", account.CustomerBusiness, "DE123456789"},
	} {
		u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{
			Email: bc.name + "@shop.test", Password: apptest.Password, Name: "Zoé Lefèvre", Language: bc.lang,
			Country: bc.country, City: "Ville", CustomerType: bc.ctype, VATNumber: bc.vat,
		})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.App.Ledger.AdminCredit(ctx, adminActor, u.ID, money.MustNew(1_000_000, "EUR"), "bench"); err != nil {
			b.Fatal(err)
		}
		o, err := h.App.Orders.Place(ctx, orders.PlaceInput{
			CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 2}}, Payment: orders.PayBalance,
			ImmediatePerformance: true, WithdrawalWaiver: true,
		}, nil)
		if err != nil {
			b.Fatal(err)
		}
		invs, err := h.App.Invoices.ForOrder(ctx, o.ID) // numbers it
		if err != nil || len(invs) != 1 {
			b.Fatalf("order %s: %d documents, %v", o.ID, len(invs), err)
		}
		docs = append(docs, benchDoc{bc.name, invs[0].ID})
	}
	return h, docs
}

// cpuPerOp reports the process's CPU time per operation (user + system),
// which a machine shared with other work skews far less than wall time.
func cpuPerOp(b *testing.B) func() {
	var start syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &start)
	return func() {
		b.StopTimer()
		var end syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &end)
		used := time.Duration(end.Utime.Nano() + end.Stime.Nano() - start.Utime.Nano() - start.Stime.Nano())
		b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-µs/op")
	}
}
