package invoices

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/clock"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/id"
	"comptoir/internal/localtime"
	"comptoir/internal/money"
	"comptoir/internal/testcpu"
)

// The mail worker draws a checkout's invoice from the copy kept when it
// was issued (issuedCache) rather than reading it back: that copy, once
// numbered, must be the document the database holds, field for field, for
// every kind of buyer, and the PDF drawn from it the same bytes.
func TestKeptInvoiceIsTheOneReadBack(t *testing.T) {
	ctx := context.Background()
	s, labels, ids := issueKept(t)
	at := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	draw := func(inv Invoice) []byte {
		pdf := newPDF()
		pdf.SetCreationDate(at)
		pdf.SetModificationDate(at)
		b, err := s.drawPDF(pdf, inv, labels(inv.Lang))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, invID := range ids {
		s.issued.mu.Lock()
		kept, ok := s.issued.docs[invID]
		s.issued.mu.Unlock()
		if !ok || kept.Number == "" {
			t.Fatalf("%s: not kept numbered (%v, %q)", invID, ok, kept.Number)
		}
		read, err := s.Get(ctx, invID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(kept, read) {
			t.Errorf("kept:\n%+v\nread back:\n%+v", kept, read)
		}
		if string(draw(kept)) != string(draw(read)) {
			t.Errorf("%s: the PDF drawn from the kept copy differs from the one drawn from the database", invID)
		}
		// RenderPDF takes the kept copy, once; the next drawing reads.
		if _, err := s.RenderPDF(ctx, invID); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.issued.take(invID); ok {
			t.Errorf("%s: still kept after its PDF was drawn", invID)
		}
		if d, err := s.RenderPDF(ctx, invID); err != nil || d.Filename != read.Number+".pdf" {
			t.Errorf("%s: drawn again %q, %v", invID, d.Filename, err)
		}
	}
}

// The kept copies are bounded: the oldest make room, and are read back.
func TestIssuedCacheKeepsTheNewest(t *testing.T) {
	var c issuedCache
	for i := range issuedCacheSize + 10 {
		c.put(Invoice{ID: fmt.Sprint(i)})
	}
	c.numbered([]givenNumber{{"5", 5, "F-5"}, {"20", 20, "F-20"}})
	if len(c.docs) != issuedCacheSize {
		t.Errorf("%d kept, want %d", len(c.docs), issuedCacheSize)
	}
	if _, ok := c.take("5"); ok {
		t.Error("the oldest is still kept")
	}
	if inv, ok := c.take("20"); !ok || inv.Number != "F-20" || inv.Seq != 20 {
		t.Errorf("took %+v, %v", inv, ok)
	}
	if _, ok := c.take("21"); ok {
		t.Error("a document not numbered here was taken")
	}
}

// issueKept issues and numbers invoices for four kinds of buyer, at times
// with nanoseconds, on a service of its own, as checkouts do (Announced):
// the service keeps them.
func issueKept(tb testing.TB) (*Service, func(string) Translate, []string) {
	tb.Helper()
	d := dbtest.Open(tb)
	ctx := context.Background()
	// Nanoseconds in the issue time: the database keeps what it keeps of
	// them, and the kept copy must say the same.
	clk := clock.NewManual(time.Date(2026, 3, 8, 22, 59, 59, 987654321, time.UTC))
	paris, err := localtime.Load("Europe/Paris")
	if err != nil {
		tb.Fatal(err)
	}
	labels := func(lang string) Translate {
		return func(id string, kv ...any) string { return lang + ":" + id + fmt.Sprint(kv...) }
	}
	s := New(d, clk, nil, Options{Zone: paris, Labels: labels, Seller: Seller{Name: "Éditions Zoé SAS", Address: "12 rue de la Paix\n75002 Paris",
		Country: "fr", VATNumber: "FR12345678901", Registration: "RCS Paris 123 456 789"}})
	accounts := account.New(d, clk, nil, account.Options{HashParams: &account.FastHashParams})
	eur := func(minor int64) money.Amount { return money.MustNew(minor, "EUR") }
	var ids []string
	for i, bc := range []struct {
		lang, country, ctype, vat, card string
		inclusive                       bool
	}{
		{"fr", "FR", account.CustomerConsumer, "", "", true},
		{"en", "DE", account.CustomerBusiness, "DE123456789", "", true},
		{"en", "US", account.CustomerConsumer, "", "", false},
		{"fr", "BE", account.CustomerConsumer, "", "fr", true},
	} {
		u, err := accounts.CreateUser(ctx, account.CreateUserInput{Email: fmt.Sprintf("buyer%d@shop.test", i), Role: account.RoleCustomer,
			Password: "correct horse battery", Language: bc.lang, Name: "Łukasz Dvořák", Country: bc.country, City: "Ville"})
		if err != nil {
			tb.Fatal(err)
		}
		b := Buyer{ID: u.ID, Name: u.Name, Email: u.Email, Type: bc.ctype, VATNumber: bc.vat, Country: bc.country, City: "Ville",
			Street: "3 rue des Lilas", Postcode: "69001", Region: "Rhône"}
		err = d.Tx(ctx, func(tx *sql.Tx) error {
			inv, err := s.IssueTx(ctx, tx, IssueInput{ID: id.New("inv"), Source: SourceOrder, SourceID: id.New("ord"), Buyer: b, Lang: bc.lang,
				CardCountry: bc.card, Charged: bc.inclusive, NewSource: true, Announced: true,
				Lines: []LineInput{{Ref: id.New("oln"), Description: "Publications soignées", Quantity: 2, Amount: eur(5000)},
					{Ref: id.New("oln"), Description: "Rapport", Quantity: 1, Amount: eur(1234)}}})
			ids = append(ids, inv.ID)
			return err
		})
		if err != nil {
			tb.Fatal(err)
		}
		clk.Advance(time.Second + 1234567*time.Nanosecond)
	}
	if _, err := s.NumberPending(ctx); err != nil {
		tb.Fatal(err)
	}
	return s, labels, ids
}

// BenchmarkRenderPDFKept is RenderPDF (BenchmarkRenderPDF) for an invoice
// this node issued and numbered: drawn from the copy it kept rather than
// read back.
//
//	go test ./internal/invoices -run '^$' -bench RenderPDFKept -benchmem
func BenchmarkRenderPDFKept(b *testing.B) {
	ctx := context.Background()
	s, _, ids := issueKept(b)
	kept := make([]Invoice, len(ids))
	for i, invID := range ids {
		inv, err := s.Get(ctx, invID)
		if err != nil {
			b.Fatal(err)
		}
		kept[i] = inv
	}
	for _, tc := range []struct {
		name string
		keep bool
	}{{"kept", true}, {"read", false}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			defer testcpu.PerOp(b)()
			// Kept copies are put a batch at a time (stopping the timer
			// per document would cost more than what is measured), each
			// under an id of its own: RenderPDF finds it kept, or reads
			// the document back by its real id.
			var batch []string
			i := 0
			for b.Loop() {
				inv := kept[i%len(kept)]
				i++
				if tc.keep {
					if len(batch) == 0 {
						b.StopTimer()
						for range issuedCacheSize {
							c := inv
							c.ID = id.New("inv")
							s.issued.put(c)
							batch = append(batch, c.ID)
						}
						b.StartTimer()
					}
					inv.ID, batch = batch[len(batch)-1], batch[:len(batch)-1]
				}
				if _, err := s.RenderPDF(ctx, inv.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
