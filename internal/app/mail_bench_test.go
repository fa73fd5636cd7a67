package app_test

import (
	"context"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/config"
	"comptoir/internal/db"
	"comptoir/internal/invoices"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/smtpsink"
	"comptoir/internal/testcpu"
	"comptoir/internal/testwait"
)

// BenchmarkOrderConfirmationMail is the mail worker's share of a checkout
// (issue #9): an order confirmation, queued by a balance checkout, sent
// end to end as the worker sends it: dispatched into batches, each batch
// read back, its invoices drawn, composed, sent over SMTP to a relay on
// loopback (a sink in this process, whose CPU counts here too) and
// marked sent. The checkouts and the numbering of their invoices are
// done with the timer stopped; one op is one confirmation:
//
//	go test ./internal/app -run '^$' -bench OrderConfirmationMail -benchtime 400x -benchmem -cpuprofile cpu.out
//
// The profile also holds the set-up and the checkouts: the timed part is
// labelled part=send (go tool pprof -tagfocus part=send), save what the
// store's goroutines (the database's group commit) and the sink do for it.
func BenchmarkOrderConfirmationMail(b *testing.B) {
	ctx := context.Background()
	sink, h, p, us := mailBenchStore(b, func(c *config.Config) {
		c.SellerName, c.SellerAddress, c.SellerVATNumber, c.SellerRegistration = "Comptoir SARL", "3 rue des Lilas, 69001 Lyon", "FR12345678901", "RCS Lyon 123 456 789"
	})
	// The store's own workers stop: this benchmark runs the batches.
	if err := h.App.StopWorkers(ctx); err != nil {
		b.Fatal(err)
	}
	sender, err := mail.NewSMTPSender(mail.SMTPConfig{Host: "127.0.0.1", Port: sink.Port(), TLS: mail.TLSNone})
	if err != nil {
		b.Fatal(err)
	}
	w := mail.NewWorker(h.App.DB, sender, h.Clock, nil)
	w.RenderAttachments(invoices.AttachmentSource, h.App.Invoices.RenderPDF)
	bw := w.Batches()
	// On PostgreSQL, the round trips of the dispatching, the reads and
	// the marks (River's fetching and completing of the jobs aside).
	var rt db.RoundTrips
	sendAll := func() int {
		counted := db.CountRoundTrips(ctx, &rt)
		if _, err := h.App.Outbox.DispatchPending(counted); err != nil {
			b.Fatal(err)
		}
		batches, err := db.Strings(ctx, h.App.DB.Read, `SELECT DISTINCT q.batch FROM outgoing_mail_queue q JOIN outgoing_mail m ON m.id = q.mail_id
			WHERE m.status = 'queued' AND q.batch IS NOT NULL`)
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range batches {
			job := &river.Job[mail.SendBatchArgs]{JobRow: &rivertype.JobRow{ID: 1, Kind: mail.SendBatchArgs{}.Kind(), Attempt: 1, MaxAttempts: 25},
				Args: mail.SendBatchArgs{Batch: batch}}
			if err := bw.Work(counted, job); err != nil {
				b.Fatal(err)
			}
		}
		return len(batches)
	}
	place := func(n int) {
		for i := range n {
			if _, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: us[i%mailBuyers].ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 2}},
				Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := h.App.Invoices.NumberPending(ctx); err != nil {
			b.Fatal(err)
		}
	}
	// Warm up (templates, fonts, statements) and send the welcome mails.
	place(mailBuyers)
	sendAll()

	// A batch holds what was queued since the dispatcher's last pass: a
	// few messages under a steady stream of checkouts (8 at 200 a
	// second in a test), up to dispatchChunk (25) behind a backlog.
	sent := pprof.Labels("part", "send")
	for _, size := range []int{1, 8, 25} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			before, trips, stmts := sink.Received(), rt.Load(), rt.Statements()
			var cpu time.Duration
			b.ReportAllocs()
			b.StopTimer()
			for left := b.N; left > 0; left -= size {
				place(min(size, left))
				b.StartTimer()
				cpu += testcpu.Spent(func() { pprof.Do(ctx, sent, func(context.Context) { sendAll() }) })
				b.StopTimer()
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
			if h.App.DB.Engine == db.Postgres {
				b.ReportMetric(float64(rt.Load()-trips)/float64(b.N), "round-trips/op")
				b.ReportMetric(float64(rt.Statements()-stmts)/float64(b.N), "statements/op")
			}
			if got := sink.Received() - before; got != int64(b.N) {
				b.Fatalf("the relay received %d messages, want %d", got, b.N)
			}
		})
	}
}

// BenchmarkCheckoutMailFlow is checkouts paid from the balance, 8 at a
// time, with the store's workers running as serve runs them: the
// confirmations are dispatched, their batch jobs run by River and sent to
// a relay on loopback (a sink in this process) while checkouts go on. One
// op is a checkout and its confirmation sent; batch-msgs is how many
// messages a batch job sent on average (each job, its dispatch, its reads,
// its connection and its marks are a cost shared by its messages).
func BenchmarkCheckoutMailFlow(b *testing.B) {
	ctx := context.Background()
	_, h, p, us := mailBenchStore(b, nil)
	count := func(q string) int {
		var n int
		if err := h.App.DB.Read.QueryRow(q).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	const sentQ = `SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'order_confirmation' AND status = 'sent'`
	const jobsQ = `SELECT COUNT(*) FROM river_job WHERE kind = 'mail.send_batch'`
	sent0, jobs0 := count(sentQ), count(jobsQ)
	var next atomic.Int64
	b.ResetTimer()
	stop := testcpu.PerOp(b)
	var wg sync.WaitGroup
	for g := range mailBuyers {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if _, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: us[g].ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 2}},
					Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	testwait.For(b, 5*time.Minute, "every confirmation sent", func() bool { return count(sentQ)-sent0 == b.N })
	stop()
	b.ReportMetric(float64(b.N)/float64(count(jobsQ)-jobs0), "batch-msgs")
}

// mailBenchStore is the mail benchmarks' store: its mail sent to a sink
// on loopback (configure may set more), a 25.00 service and mailBuyers
// customers with a balance no benchmark spends.
func mailBenchStore(b *testing.B, configure func(*config.Config)) (*smtpsink.Sink, *apptest.Harness, catalog.Product, []account.User) {
	b.Helper()
	ctx := context.Background()
	sink, err := smtpsink.Start()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sink.Close() })
	h := apptest.StartWith(b, func(c *config.Config) {
		c.SMTPRelay = sink.URL()
		if configure != nil {
			configure(c)
		}
	})
	p, err := h.App.Catalog.Create(ctx, faultAdmin, catalog.ProductInput{
		Slug: "posts", Kind: catalog.KindService, NameFR: "Publications soignées", NameEN: "Careful posts", DescriptionFR: "Des publications.",
		DescriptionEN: "Some posts.", UnitPrice: money.MustNew(2500, "EUR"), MinQuantity: 1, MaxQuantity: 10, ProcessingTime: time.Hour,
	})
	if err != nil {
		b.Fatal(err)
	}
	var us []account.User
	for i := range mailBuyers {
		u, _ := h.User(b, account.RoleCustomer, "buyer"+strconv.Itoa(i)+"@example.fr")
		if _, err := h.App.Ledger.AdminCredit(ctx, faultAdmin, u.ID, money.MustNew(1_000_000_000, "EUR"), "bench"); err != nil {
			b.Fatal(err)
		}
		us = append(us, u)
	}
	return sink, h, p, us
}

// mailBuyers is how many customers check out at once in the mail
// benchmarks.
const mailBuyers = 8
