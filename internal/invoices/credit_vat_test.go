package invoices_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/db"
	"comptoir/internal/invoices"
	"comptoir/internal/money"
	"comptoir/internal/testwait"
)

// A line refunded in several parts is, once fully refunded, fully
// credited: the credit notes together take back exactly the net and the
// VAT the invoice charged, so the line counts for nothing in the VAT
// return. Each credit note rounded its own VAT: 1,00 € at 20 % is 0,83 €
// + 0,17 € of VAT, but two refunds of 0,50 € each credited 0,42 € +
// 0,08 €, leaving 0,01 € of VAT declared on a sale entirely refunded and
// net sales of -0,01 €. The VAT of a credit note is now that of all the
// line's credits so far less what earlier notes took back.
func TestRefundInPartsCreditsTheInvoicedVATExactly(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	for i, tc := range []struct {
		name  string
		price int64
		parts []int64
	}{
		{"two halves", 100, []int64{50, 50}},
		{"three thirds", 100, []int64{33, 33, 34}},
		{"many cents", 1199, []int64{1, 1, 1, 1, 1, 1194}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := product(t, h, fmt.Sprintf("posts-%d", i), tc.price)
			u := customer(t, h, fmt.Sprintf("c%d@example.fr", i), "fr", "FR", "consumer", "", 10_000)
			o, err := buy(h, u, p, 1)
			if err != nil {
				t.Fatal(err)
			}
			inv := invoiceOf(t, h, o.ID)
			for _, part := range tc.parts {
				if err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
					return h.App.Orders.RefundLineTx(ctx, tx, o.ID, o.Lines[0].ID, money.MustNew(part, "EUR"), adminActor)
				}); err != nil {
					t.Fatal(err)
				}
			}
			docs, err := h.App.Invoices.ForOrder(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 1+len(tc.parts) {
				t.Fatalf("%d documents, want the invoice and %d credit notes", len(docs), len(tc.parts))
			}
			var net, vat, total int64
			for _, cn := range docs[1:] {
				if cn.Kind != invoices.KindCreditNote || cn.Net.Minor+cn.VAT.Minor != cn.Total.Minor || cn.VAT.Minor < 0 {
					t.Fatalf("credit note %+v", cn)
				}
				net, vat, total = net+cn.Net.Minor, vat+cn.VAT.Minor, total+cn.Total.Minor
			}
			if net != inv.Net.Minor || vat != inv.VAT.Minor || total != inv.Total.Minor {
				t.Fatalf("invoice %d + %d VAT = %d; its credit notes together %d + %d VAT = %d",
					inv.Net.Minor, inv.VAT.Minor, inv.Total.Minor, net, vat, total)
			}
			all := append([]invoices.Invoice{inv}, docs[1:]...)
			for _, tot := range invoices.Totals(all) {
				if tot.Net != 0 || tot.VAT != 0 || tot.Gross != 0 {
					t.Fatalf("a fully refunded sale leaves %+v in the export's totals", tot)
				}
			}
		})
	}
}

// Two credit notes of one line issued at the same moment on PostgreSQL:
// each read the line's earlier notes before the other's existed, both
// rounded the VAT of 0,50 € down to 0,08 €, and the line fully refunded
// still declared 0,01 € of VAT. The second now waits for the first.
// (SQLite's one writer runs them in turn.)
func TestConcurrentCreditNotesOfALineCreditItsVATExactly(t *testing.T) {
	h := apptest.Start(t)
	if h.App.DB.Engine != db.Postgres {
		t.Skip("one writer: transactions never overlap on SQLite")
	}
	ctx := context.Background()
	p := product(t, h, "posts", 100)
	u := customer(t, h, "c@example.fr", "fr", "FR", "consumer", "", 10_000)
	o, err := buy(h, u, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	inv := invoiceOf(t, h, o.ID)
	credit := func(tx *sql.Tx, refundID string) error {
		_, err := h.App.Invoices.CreditTx(ctx, tx, invoices.CreditInput{RefundID: refundID, Source: invoices.SourceOrder,
			SourceID: o.ID, Amount: money.MustNew(50, "EUR"), NewRefund: true})
		return err
	}
	first, err := h.App.DB.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback()
	if err := credit(first, "ref_first"); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() {
		second <- func() error {
			tx, err := h.App.DB.Write.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if err := credit(tx, "ref_second"); err != nil {
				return err
			}
			return tx.Commit()
		}()
	}()
	// The second credit either waits on the first (its lock) or, without
	// one, has already issued its note: either way the first then commits.
	testwait.Until(t, "the second credit note waits or is written", func() bool {
		if len(second) > 0 {
			return true
		}
		var waiting int
		err := h.App.DB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return err == nil && waiting > 0
	})
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	docs, err := h.App.Invoices.ForOrder(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	var vat, total int64
	for _, cn := range docs[1:] {
		vat, total = vat+cn.VAT.Minor, total+cn.Total.Minor
	}
	if len(docs) != 3 || total != inv.Total.Minor || vat != inv.VAT.Minor {
		t.Fatalf("%d documents; invoice %d with %d VAT, credit notes together %d with %d VAT", len(docs), inv.Total.Minor, inv.VAT.Minor, total, vat)
	}
}
