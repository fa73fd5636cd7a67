package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/money"
	"comptoir/internal/testcpu"
)

// Benchmarks of the hot pages through the whole handler chain (middleware,
// session, database, templates), in-process so that the load generator and
// the network are not in the profile:
//
//	go test ./internal/web -run '^$' -bench 'ProductPage|Checkout' -cpuprofile cpu.out

func benchProduct(b *testing.B, h *apptest.Harness) catalog.Product {
	b.Helper()
	p, err := h.App.Catalog.Create(context.Background(), adminActor, catalog.ProductInput{
		Slug: "bench-service", Kind: catalog.KindService, NameFR: "Publications", NameEN: "Posts",
		DescriptionFR: strings.Repeat("Des publications soignées. ", 40), DescriptionEN: strings.Repeat("Careful posts. ", 40),
		UnitPrice: money.MustNew(25, "EUR"), MinQuantity: 1, MaxQuantity: 1000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkProductPage: GET /shop/{slug}, anonymous.
func BenchmarkProductPage(b *testing.B) {
	h := apptest.Start(b)
	p := benchProduct(b, h)
	handler := h.App.Web.Handler()
	b.ResetTimer()
	defer testcpu.PerOp(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/shop/"+p.Slug, nil)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("GET /shop/%s: %d", p.Slug, rec.Code)
				return
			}
		}
	})
}

// BenchmarkCheckoutBalance: POST /api/v1/orders paid from the balance with
// an idempotency key, from many goroutines (on SQLite they share commits).
func BenchmarkCheckoutBalance(b *testing.B) {
	h := apptest.Start(b)
	p := benchProduct(b, h)
	// As many buyers as the bench harness's pool, in turn: with a few,
	// PostgreSQL's checkouts queue on the same balance rows.
	const buyers = 256
	var auth [buyers]string
	for i := range auth {
		u, err := h.App.Accounts.CreateUser(context.Background(), account.CreateUserInput{
			Email: "buyer" + strconv.Itoa(i) + "@shop.test", Role: account.RoleCustomer, Password: apptest.Password,
			Language: "fr", Name: "Buyer", Country: "FR", City: "Lyon",
		})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.App.Ledger.AdminCredit(context.Background(), adminActor, u.ID, money.MustNew(1_000_000_000, "EUR"), "bench"); err != nil {
			b.Fatal(err)
		}
		auth[i] = h.Bearer(b, u.ID).Get("Authorization")
	}
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":2}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	handler := h.App.Web.Handler()
	var seq atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	defer testcpu.PerOp(b)()
	defer writerPerOp(b, h)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			req := httptest.NewRequest(http.MethodPost, "/api/v1/orders", strings.NewReader(body))
			req.Header.Set("Authorization", auth[n%buyers])
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "bench-"+strconv.FormatInt(n, 10))
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				b.Errorf("POST /api/v1/orders: %d %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

// writerPerOp reports, on SQLite, the single writer's time per operation
// ("writer-µs/op": its transactions and their share of the commits) and
// that time without the commits ("tx-µs/op"): every checkout waits for
// the writer, so what runs in it bounds the store's checkouts per second.
// Wall time, so a loaded machine inflates it; compare runs side by side.
//
// It also reports the pages the writer wrote to the write-ahead log
// ("wal-pages/op", and their bytes, "wal-KiB/op") and read from the files
// ("page-reads/op"), and how many transactions shared a commit
// ("tx/commit"): counts, which a busy machine does not change (the last
// only a little: a slower machine makes bigger groups).
func writerPerOp(b *testing.B, h *apptest.Harness) func() {
	ctx := context.Background()
	start := h.App.DB.CommitStats()
	startPages, err := h.App.DB.WriterPages(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return func() {
		end := h.App.DB.CommitStats()
		if end.Transactions == start.Transactions {
			return // PostgreSQL: no single writer
		}
		busy, flushing := end.Busy-start.Busy, end.Flushing-start.Flushing
		b.ReportMetric(float64(busy.Microseconds())/float64(b.N), "writer-µs/op")
		b.ReportMetric(float64((busy-flushing).Microseconds())/float64(b.N), "tx-µs/op")
		endPages, err := h.App.DB.WriterPages(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n := float64(b.N)
		b.ReportMetric(float64(endPages.Written-startPages.Written)/n, "wal-pages/op")
		b.ReportMetric(float64(endPages.Read-startPages.Read)/n, "page-reads/op")
		// The bytes those pages took in the log: each a frame of its page
		// and a 24-byte header, all written and checksummed by the writer.
		var pageSize int64
		if err := h.App.DB.Read.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64((endPages.Written-startPages.Written)*(pageSize+24))/1024/n, "wal-KiB/op")
		// How many transactions shared a commit (its disk flush).
		b.ReportMetric(float64(end.Transactions-start.Transactions)/float64(end.Commits-start.Commits), "tx/commit")
	}
}
