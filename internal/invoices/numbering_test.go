package invoices_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/apptest"
	"comptoir/internal/db"
	"comptoir/internal/invoices"
	"comptoir/internal/mail"
	"comptoir/internal/money"
)

// Payments write their documents pending; numberers running at once (the
// app's own, woken by the commits, and several more here, as other nodes
// would) give every one a number, consecutive per series, in the order
// the documents were issued, each once. Credit notes of invoices still
// pending (a refund right after the payment) refer to the number their
// invoice gets.
func TestConcurrentNumberersNumberInIssueOrder(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u := customer(t, h, "num@example.fr", "fr", "FR", "consumer", "", 0)
	buyer := invoices.Buyer{ID: u.ID, Name: u.Name, Email: u.Email, Type: "consumer", Country: "FR", City: "Ville"}

	const rounds, perRound = 4, 30
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := h.App.Invoices.NumberPending(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	credits := 0
	for r := range rounds {
		h.Clock.Advance(time.Second)
		err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			for i := range perRound {
				src := fmt.Sprintf("ord_%d_%d", r, i)
				inv, err := h.App.Invoices.IssueTx(ctx, tx, invoices.IssueInput{Source: invoices.SourceOrder, SourceID: src, Buyer: buyer, Lang: "fr",
					Lines: []invoices.LineInput{{Ref: "l1", Description: "Posts", Quantity: 1, Amount: money.MustNew(1200, "EUR")}}})
				if err != nil {
					return err
				}
				if inv.Number != "" {
					return fmt.Errorf("invoice numbered in the payment's transaction: %s", inv.Number)
				}
				if i%10 == 0 {
					if _, err := h.App.Invoices.CreditTx(ctx, tx, invoices.CreditInput{RefundID: "ref_" + src, Source: invoices.SourceOrder,
						SourceID: src, Amount: money.MustNew(600, "EUR"), Buyer: buyer}); err != nil {
						return err
					}
					credits++
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("numberer: %v", err)
	}
	checkSequence(t, h, invoices.SeriesInvoice, rounds*perRound)
	checkSequence(t, h, invoices.SeriesCreditNote, credits)

	// Numbers follow the order of issue (issued_at, then id).
	docs, err := h.App.Invoices.ListForCustomer(ctx, u.ID, 500)
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]invoices.Invoice{}
	for i := len(docs) - 1; i >= 0; i-- { // oldest first
		d := docs[i]
		if p, ok := last[d.Series]; ok && d.Seq != p.Seq+1 {
			t.Fatalf("%s (issued %s, %s) follows %s (issued %s, %s)", d.Number, d.IssuedAt, d.ID, p.Number, p.IssuedAt, p.ID)
		}
		last[d.Series] = d
		if d.Kind == invoices.KindCreditNote {
			orig, err := h.App.Invoices.Get(ctx, d.RefersTo)
			if err != nil || d.RefersToNumber == "" || d.RefersToNumber != orig.Number {
				t.Fatalf("credit note %s refers to %q, its invoice is %q (%v)", d.Number, d.RefersToNumber, orig.Number, err)
			}
		}
	}
	var counter int
	h.App.DB.Read.QueryRow(`SELECT last FROM invoice_counters WHERE series = 'F' AND year = 2026`).Scan(&counter)
	if counter != rounds*perRound {
		t.Fatalf("counter at %d after %d invoices", counter, rounds*perRound)
	}

	// Every document got its email, with its number, once; none waits.
	sent, err := h.App.Outbox.List(ctx, mail.Filter{UserID: u.ID, Kind: "invoice_issued", Limit: 500})
	if err != nil || len(sent) != rounds*perRound+credits {
		t.Fatalf("%d invoice emails for %d documents (%v)", len(sent), rounds*perRound+credits, err)
	}
	seen := map[string]bool{}
	for _, m := range sent {
		for _, d := range docs {
			if strings.Contains(m.Subject, d.Number) {
				if seen[d.Number] {
					t.Fatalf("two emails for %s", d.Number)
				}
				seen[d.Number] = true
			}
		}
	}
	if len(seen) != len(docs) {
		t.Fatalf("%d of %d documents named in an email subject", len(seen), len(docs))
	}
	var waiting int
	h.App.DB.Read.QueryRow(`SELECT COUNT(*) FROM invoice_notices`).Scan(&waiting)
	if waiting != 0 {
		t.Fatalf("%d emails still wait for a number", waiting)
	}
}

// A reader never sees a pending document: reading numbers it.
func TestReadersNumberPendingDocuments(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	// A service of its own: its commits wake nobody, so the document
	// stays pending until read (or the app's numberer's next sweep).
	svc := invoices.New(h.App.DB, h.Clock, h.App.Outbox, invoices.Options{StoreName: "Comptoir", BaseURL: h.URL,
		Labels: func(lang string) invoices.Translate { return translator(h, lang) }})
	u := customer(t, h, "read@example.fr", "fr", "FR", "consumer", "", 0)
	var id string
	err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		inv, err := svc.IssueTx(ctx, tx, invoices.IssueInput{Source: invoices.SourceOrder, SourceID: "ord_read",
			Buyer: invoices.Buyer{ID: u.ID, Name: u.Name, Email: u.Email, Country: "FR"}, Lang: "fr",
			Lines: []invoices.LineInput{{Description: "Posts", Quantity: 1, Amount: money.MustNew(1200, "EUR")}}})
		id = inv.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := svc.ForOrder(ctx, "ord_read")
	if err != nil || len(docs) != 1 || docs[0].ID != id || docs[0].Number != "F-2026-000001" {
		t.Fatalf("read %+v, %v", docs, err)
	}
	// The PDF the email carries is drawn with the number, and named after it.
	if d, err := svc.RenderPDF(ctx, id); err != nil || !bytes.HasPrefix(d.Data, []byte("%PDF-")) || d.Filename != "F-2026-000001.pdf" {
		t.Fatalf("drawn %q (%d bytes), %v", d.Filename, len(d.Data), err)
	}
}

// A customer erased while their invoice waits for its number leaves no
// address behind: the waiting notice goes with the erasure, the document is
// numbered all the same, and no email is queued to the erased address.
func TestErasedCustomersNoticeIsForgotten(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u := customer(t, h, "gone@example.fr", "fr", "FR", "consumer", "", 0)
	buyer := invoices.Buyer{ID: u.ID, Name: u.Name, Email: u.Email, Type: "consumer", Country: "FR", City: "Ville"}
	var inv invoices.Invoice
	err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		inv, err = h.App.Invoices.IssueTx(ctx, tx, invoices.IssueInput{Source: invoices.SourceOrder, SourceID: "ord_gone", Buyer: buyer, Lang: "fr",
			Lines: []invoices.LineInput{{Ref: "l1", Description: "Posts", Quantity: 1, Amount: money.MustNew(1200, "EUR")}}})
		if err != nil {
			return err
		}
		var waiting int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM invoice_notices WHERE user_id = $1`, u.ID).Scan(&waiting); err != nil || waiting != 1 {
			return fmt.Errorf("notices before erasure: %d %v", waiting, err)
		}
		return invoices.EraseNoticesTx(ctx, tx, u.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.App.Invoices.Get(ctx, inv.ID)
	if err != nil || got.Number == "" {
		t.Fatalf("the document after erasure: %+v %v", got, err)
	}
	sent, err := h.App.Outbox.List(ctx, mail.Filter{UserID: u.ID, Kind: "invoice_issued"})
	if err != nil || len(sent) != 0 {
		t.Fatalf("%d invoice emails to the erased customer, %v", len(sent), err)
	}
}

// A source is invoiced once: issued again it gives back its invoice, and
// declared new when it is not it is refused, the first invoice unchanged.
func TestSourceIsInvoicedOnce(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u := customer(t, h, "once@example.fr", "fr", "FR", "consumer", "", 0)
	in := invoices.IssueInput{Source: invoices.SourceOrder, SourceID: "ord_once", NewSource: true, Lang: "fr",
		Buyer: invoices.Buyer{ID: u.ID, Name: u.Name, Email: u.Email, Type: "consumer", Country: "FR"},
		Lines: []invoices.LineInput{{Ref: "l1", Description: "Posts", Quantity: 1, Amount: money.MustNew(1200, "EUR")}}}
	issue := func(in invoices.IssueInput) (inv invoices.Invoice, err error) {
		err = h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			inv, err = h.App.Invoices.IssueTx(ctx, tx, in)
			return err
		})
		return inv, err
	}
	first, err := issue(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := issue(in); !errors.Is(err, invoices.ErrAlreadyInvoiced) {
		t.Fatalf("a second invoice of a source declared new: %v, want ErrAlreadyInvoiced", err)
	}
	in.NewSource = false
	again, err := issue(in)
	if err != nil || again.ID != first.ID {
		t.Fatalf("issued again: %q, %v; want the first invoice %q", again.ID, err, first.ID)
	}
	var n int
	if err := h.App.DB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM invoices WHERE source_id = 'ord_once'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d invoices of the source (%v), want 1", n, err)
	}
}

// On PostgreSQL a document and its lines are one statement (they were a
// round trip each: issue #9), at once or appended (IssueInput.Append, a
// checkout's): read back, the lines are all there, in order; issued again
// appended, the source's invoice already there fails the transaction from
// its commit with ErrAlreadyInvoiced, nothing more written.
func TestIssueWritesTheDocumentWithItsLines(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB
	u := customer(t, h, "lines@example.fr", "fr", "FR", "consumer", "", 0)
	in := invoices.IssueInput{Source: invoices.SourceOrder, SourceID: "ord_lines", NewSource: true, Lang: "fr",
		Buyer: invoices.Buyer{ID: u.ID, Name: u.Name, Email: u.Email, Type: "consumer", Country: "FR"}, Announced: true,
		Lines: []invoices.LineInput{{Ref: "l1", Description: "Posts", Quantity: 1, Amount: money.MustNew(1200, "EUR")},
			{Ref: "l2", Description: "Stories", Quantity: 3, Amount: money.MustNew(3600, "EUR")},
			{Ref: "l3", Description: "Reels", Quantity: 2, Amount: money.MustNew(100, "EUR")}}}
	// The rates in memory, as a checkout has them (WarmRates).
	if err := h.App.Invoices.WarmRates(ctx); err != nil {
		t.Fatal(err)
	}
	issue := func(in invoices.IssueInput) (inv invoices.Invoice, rt int64, err error) {
		var n db.RoundTrips
		cctx := db.CountRoundTrips(ctx, &n)
		err = d.Tx(cctx, func(tx *sql.Tx) error {
			inv, err = h.App.Invoices.IssueTx(cctx, tx, in)
			return err
		})
		return inv, n.Load(), err
	}
	for _, appended := range []bool{false, true} {
		in.Append = appended
		in.SourceID = fmt.Sprintf("ord_lines_%v", appended)
		inv, rt, err := issue(in)
		if err != nil {
			t.Fatal(err)
		}
		// BEGIN, the document with its lines, the audit line, COMMIT; or
		// BEGIN, the pipeline of both, COMMIT.
		if want := map[bool]int64{false: 4, true: 3}[appended]; d.Engine == db.Postgres && rt != want {
			t.Errorf("appended %v: %d round trips to issue a document of 3 lines, want %d", appended, rt, want)
		}
		got, err := h.App.Invoices.Get(ctx, inv.ID)
		if err != nil || len(got.Lines) != 3 {
			t.Fatalf("appended %v: %+v %v", appended, got, err)
		}
		for i, l := range got.Lines {
			if l.Position != i+1 || l.Ref != in.Lines[i].Ref || l.Description != in.Lines[i].Description || l.Quantity != in.Lines[i].Quantity ||
				l != inv.Lines[i] {
				t.Errorf("appended %v: line %d = %+v, want %+v", appended, i+1, l, inv.Lines[i])
			}
		}
		if got.Total != money.MustNew(4900, "EUR") {
			t.Errorf("appended %v: total %v", appended, got.Total)
		}
	}
	var before int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM invoice_lines`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if _, _, err := issue(in); !errors.Is(err, invoices.ErrAlreadyInvoiced) {
		t.Fatalf("the source's invoice issued again, appended: %v, want ErrAlreadyInvoiced", err)
	}
	var after int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM invoice_lines`).Scan(&after); err != nil || after != before {
		t.Fatalf("%d invoice lines after the refused issue, want %d (%v)", after, before, err)
	}
}
