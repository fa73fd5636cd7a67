package web_test

import (
	"context"
	"database/sql"
	"html"
	"net/http"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/pdftext"
)

// The credit note of a partial refund printed its line as "Qty 1" of the
// product: 15 € back on 100 posts read as one post refunded. Its line now
// says, in the document's language, that it is a partial refund and of
// how much of the invoiced line, with no quantity; a line refunded whole
// keeps the quantity invoiced. On the page and in the PDF, French and
// English.
func TestCreditNoteSaysWhatPartWasRefunded(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	p := newService(t, h, "posts", 25)
	for _, tc := range []struct{ lang, name, part, of string }{
		{"fr", "Publications posts", "Publications posts — remboursement partiel\u00a0: 15,00\u00a0€ sur les 25,00\u00a0€ facturés", "sur les 25,00 € facturés"},
		{"en", "Posts posts", "Posts posts — partial refund: €15.00 of the €25.00 invoiced", "€25.00 invoiced"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			u, c := h.User(t, account.RoleCustomer, "ana-"+tc.lang+"@example.fr")
			credit(t, h, u, 10_000)
			refunded := func(amount int64) (page, pdf string) {
				t.Helper()
				o, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 100}},
					Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: tc.lang}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
					return h.App.Orders.RefundLineTx(ctx, tx, o.ID, o.Lines[0].ID, money.MustNew(amount, "EUR"), audit.System)
				}); err != nil {
					t.Fatal(err)
				}
				cn := creditNotes(t, h, o.ID)
				if len(cn) != 1 {
					t.Fatalf("%d credit notes", len(cn))
				}
				r := c.Get("/invoices/" + cn[0].ID)
				if r.Status != http.StatusOK {
					t.Fatalf("credit note page: %d", r.Status)
				}
				pdf = strings.Join(strings.Fields(pdftext.Text(t, []byte(c.Get("/invoices/"+cn[0].ID+".pdf").Body))), " ")
				return r.Body, pdf
			}

			page, pdf := refunded(1500)
			row := "<tr><td>" + html.EscapeString(tc.part) + "</td><td>—</td>"
			if !strings.Contains(page, row) {
				i := strings.Index(page, "<tbody>")
				t.Fatalf("the partial credit note's line is not %q:\n%s", row, page[max(i, 0):min(max(i, 0)+300, len(page))])
			}
			// The PDF wraps the description in its column (its text comes
			// cell by cell), with plain spaces for no-break ones.
			for _, want := range []string{tc.name + " — ", tc.of} {
				if !strings.Contains(pdf, want) || strings.Contains(pdf, tc.name+" 1 ") {
					t.Fatalf("the partial credit note's PDF lacks %q, or says one unit:\n%s", want, pdf)
				}
			}

			page, pdf = refunded(2500)
			row = "<tr><td>" + tc.name + "</td><td>100</td>"
			if !strings.Contains(page, row) {
				i := strings.Index(page, "<tbody>")
				t.Fatalf("the whole line's credit note is not %q:\n%s", row, page[max(i, 0):min(max(i, 0)+300, len(page))])
			}
			if want := tc.name + " 100 "; !strings.Contains(pdf, want) {
				t.Fatalf("the whole line's credit note PDF lacks %q:\n%s", want, pdf)
			}
		})
	}
}
