package invoices_test

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/invoices"
	"comptoir/internal/money"
)

// Get reads a document and its lines in one query (a row per line); lists
// read the documents, then each one's lines. Both give the same document:
// every line, in order, with its amounts, and a credit note's reference to
// its invoice; a document that does not exist is ErrNotFound.
func TestGetReadsWhatListsRead(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	svc := h.App.Invoices
	u := customer(t, h, "lines@example.fr", "fr", "FR", "consumer", "", 0)
	buyer := invoices.Buyer{ID: u.ID, Name: u.Name, Email: u.Email, Country: "FR"}
	var credit invoices.Invoice
	err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := svc.IssueTx(ctx, tx, invoices.IssueInput{Source: invoices.SourceOrder, SourceID: "ord_lines", Buyer: buyer, Lang: "fr",
			Lines: []invoices.LineInput{
				{Ref: "l1", Description: "Publications", Quantity: 3, Amount: money.MustNew(3600, "EUR")},
				{Ref: "l2", Description: "Relecture soignée", Quantity: 1, Amount: money.MustNew(1250, "EUR")},
				{Ref: "l3", Description: "Traduction", Quantity: 2, Amount: money.MustNew(999, "EUR")},
			}})
		if err != nil {
			return err
		}
		credit, err = svc.CreditTx(ctx, tx, invoices.CreditInput{RefundID: "ref_lines", Source: invoices.SourceOrder, SourceID: "ord_lines",
			LineRef: "l2", Amount: money.MustNew(1250, "EUR"), Buyer: buyer})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	listed, err := svc.ForOrder(ctx, "ord_lines")
	if err != nil || len(listed) != 2 {
		t.Fatalf("ForOrder: %d documents, %v", len(listed), err)
	}
	if len(listed[0].Lines) != 3 || listed[1].ID != credit.ID || listed[1].RefersToNumber == "" {
		t.Fatalf("listed %+v", listed)
	}
	for _, want := range listed {
		got, err := svc.Get(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Get(%s) =\n%+v\nForOrder gave\n%+v", want.ID, got, want)
		}
	}
	if _, err := svc.Get(ctx, "inv_missing"); !errors.Is(err, invoices.ErrNotFound) {
		t.Errorf("Get of a missing document: %v, want ErrNotFound", err)
	}
	// Issuing the same source again gives back the document as read.
	var again invoices.Invoice
	err = h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		again, err = svc.IssueTx(ctx, tx, invoices.IssueInput{Source: invoices.SourceOrder, SourceID: "ord_lines", Buyer: buyer, Lang: "fr",
			Lines: []invoices.LineInput{{Description: "Autre", Quantity: 1, Amount: money.MustNew(100, "EUR")}}})
		return err
	})
	if err != nil || !reflect.DeepEqual(again, listed[0]) {
		t.Errorf("IssueTx again = %+v, %v; want %+v", again, err, listed[0])
	}
}
