package invoices

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/eu"
	"comptoir/internal/localtime"
	"comptoir/internal/money"
)

const invoiceCols = `i.id, i.kind, i.series, i.year, COALESCE(i.seq, 0), COALESCE(i.number, ''), i.source_type, i.source_id, i.order_id, i.customer_id,
	COALESCE(i.refers_to, ''), COALESCE(r.number, ''), i.issued_at, i.lang, i.currency, i.net, i.vat, i.total,
	i.seller_name, i.seller_address, i.seller_country, i.seller_vat_number, i.seller_registration,
	i.buyer_name, i.buyer_address, i.buyer_country, i.buyer_type, i.buyer_vat_number, i.prices_include_vat,
	i.billing_country, i.card_country, i.vat_country, i.vat_reason, i.reverse_charge, i.zone`

const invoiceFrom = ` FROM invoices i LEFT JOIN invoices r ON r.id = i.refers_to `

func scanInvoice(row interface{ Scan(...any) error }) (Invoice, error) {
	var r invoiceRow
	err := row.Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return Invoice{}, ErrNotFound
	}
	if err != nil {
		return Invoice{}, fmt.Errorf("invoices: read: %w", err)
	}
	return r.invoice(), nil
}

// invoiceRow is what the columns of invoiceCols are scanned into.
type invoiceRow struct {
	inv             Invoice
	cur             string
	net, vat, total int64
}

// dest lists where the 35 columns of invoiceCols go, then more, in one
// allocation (a row is scanned per document read, one per order's email).
func (r *invoiceRow) dest(more ...any) []any {
	inv := &r.inv
	return append(append(make([]any, 0, 35+len(more)), &inv.ID, &inv.Kind, &inv.Series, &inv.Year, &inv.Seq, &inv.Number, &inv.Source, &inv.SourceID, &inv.OrderID, &inv.CustomerID,
		&inv.RefersTo, &inv.RefersToNumber, &inv.IssuedAt, &inv.Lang, &r.cur, &r.net, &r.vat, &r.total,
		&inv.Seller.Name, &inv.Seller.Address, &inv.Seller.Country, &inv.Seller.VATNumber, &inv.Seller.Registration,
		&inv.BuyerName, &inv.BuyerAddress, &inv.BuyerCountry, &inv.BuyerType, &inv.BuyerVATNumber, &inv.PricesInclVAT,
		&inv.BillingCountry, &inv.CardCountry, &inv.VATCountry, &inv.VATReason, &inv.ReverseCharge, &inv.Zone), more...)
}

func (r *invoiceRow) invoice() Invoice {
	inv := r.inv
	inv.IssuedAt = inv.IssuedAt.UTC()
	inv.Net, inv.VAT, inv.Total = money.Amount{Minor: r.net, Currency: r.cur}, money.Amount{Minor: r.vat, Currency: r.cur}, money.Amount{Minor: r.total, Currency: r.cur}
	return inv
}

func loadLines(ctx context.Context, q db.Querier, inv *Invoice) error {
	// As getQuery, a credit note's lines with those they credit ($2 is
	// empty for an invoice, which finds none).
	rows, err := q.QueryContext(ctx, `SELECT l.position, l.ref, l.description, l.quantity, l.net, l.rate_bp, l.vat, l.total,
		COALESCE((SELECT o.quantity FROM invoice_lines o WHERE o.invoice_id = $2 AND o.ref = l.ref ORDER BY o.position LIMIT 1), 0),
		COALESCE((SELECT o.total FROM invoice_lines o WHERE o.invoice_id = $2 AND o.ref = l.ref ORDER BY o.position LIMIT 1), 0)
		FROM invoice_lines l WHERE l.invoice_id = $1 ORDER BY l.position`, inv.ID, inv.RefersTo)
	if err != nil {
		return fmt.Errorf("invoices: lines: %w", err)
	}
	defer rows.Close()
	cur := inv.Total.Currency
	for rows.Next() {
		var l Line
		var net, vat, total, invoicedTotal int64
		if err := rows.Scan(&l.Position, &l.Ref, &l.Description, &l.Quantity, &net, &l.RateBP, &vat, &total,
			&l.InvoicedQuantity, &invoicedTotal); err != nil {
			return fmt.Errorf("invoices: lines: %w", err)
		}
		l.Net, l.VAT, l.Total = money.Amount{Minor: net, Currency: cur}, money.Amount{Minor: vat, Currency: cur}, money.Amount{Minor: total, Currency: cur}
		if invoicedTotal != 0 {
			l.InvoicedTotal = money.Amount{Minor: invoicedTotal, Currency: cur}
		}
		inv.Lines = append(inv.Lines, l)
	}
	return rows.Err()
}

// getQuery reads a document with its lines, in one query (a row per line)
// rather than one for the document and one for its lines: the mail worker
// reads every order's invoice back to draw its PDF. A document without
// lines (none is issued so) comes as one row of zero values, position 0.
//
// A credit note's line also reads the quantity and total of the line it
// credits (Line.InvoicedQuantity, InvoicedTotal), which say whether it
// credits the whole line or a part; an invoice (refers_to NULL) finds
// none.
const getQuery = `SELECT ` + invoiceCols + `, COALESCE(l.position, 0), COALESCE(l.ref, ''), COALESCE(l.description, ''),
	COALESCE(l.quantity, 0), COALESCE(l.net, 0), COALESCE(l.rate_bp, 0), COALESCE(l.vat, 0), COALESCE(l.total, 0),
	COALESCE((SELECT o.quantity FROM invoice_lines o WHERE o.invoice_id = i.refers_to AND o.ref = l.ref ORDER BY o.position LIMIT 1), 0),
	COALESCE((SELECT o.total FROM invoice_lines o WHERE o.invoice_id = i.refers_to AND o.ref = l.ref ORDER BY o.position LIMIT 1), 0)` +
	invoiceFrom + ` LEFT JOIN invoice_lines l ON l.invoice_id = i.id WHERE `

const (
	byIDQuery     = getQuery + `i.id = $1 ORDER BY l.position`
	bySourceQuery = getQuery + `i.source_type = $1 AND i.source_id = $2 ORDER BY l.position`
)

// getOne reads the one document query (byIDQuery, bySourceQuery) selects.
func getOne(ctx context.Context, q db.Querier, query string, args ...any) (Invoice, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return Invoice{}, fmt.Errorf("invoices: read: %w", err)
	}
	defer rows.Close()
	var r invoiceRow
	var l Line
	var net, vat, total, invoicedTotal int64
	dest := r.dest(&l.Position, &l.Ref, &l.Description, &l.Quantity, &net, &l.RateBP, &vat, &total, &l.InvoicedQuantity, &invoicedTotal)
	var inv Invoice
	found := false
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return Invoice{}, fmt.Errorf("invoices: read: %w", err)
		}
		if !found {
			inv, found = r.invoice(), true
		}
		if l.Position > 0 {
			cur := inv.Total.Currency
			l.Net, l.VAT, l.Total = money.Amount{Minor: net, Currency: cur}, money.Amount{Minor: vat, Currency: cur}, money.Amount{Minor: total, Currency: cur}
			if invoicedTotal != 0 { // a credit note's: an invoice's lines read as issued
				l.InvoicedTotal = money.Amount{Minor: invoicedTotal, Currency: cur}
			}
			inv.Lines = append(inv.Lines, l)
		}
	}
	if err := rows.Err(); err != nil {
		return Invoice{}, fmt.Errorf("invoices: read: %w", err)
	}
	if !found {
		return Invoice{}, ErrNotFound
	}
	return inv, nil
}

func (s *Service) bySource(ctx context.Context, q db.Querier, source, sourceID string) (Invoice, error) {
	return getOne(ctx, q, bySourceQuery, source, sourceID)
}

// Get returns a document with its lines. A document still pending (just
// issued, not yet numbered) is numbered first: nobody sees an invoice
// without its number.
func (s *Service) Get(ctx context.Context, invoiceID string) (Invoice, error) {
	inv, err := getOne(ctx, s.db.Read, byIDQuery, invoiceID)
	if err != nil || !inv.pending() {
		return inv, err
	}
	if _, err := s.NumberPending(ctx); err != nil {
		return Invoice{}, err
	}
	return getOne(ctx, s.db.Read, byIDQuery, invoiceID)
}

// pending: issued, not numbered yet; or a credit note whose invoice is.
func (inv Invoice) pending() bool {
	return inv.Number == "" || (inv.RefersTo != "" && inv.RefersToNumber == "")
}

// ForOrder returns the documents of an order (its invoice and credit
// notes), oldest first.
func (s *Service) ForOrder(ctx context.Context, orderID string) ([]Invoice, error) {
	if strings.HasPrefix(orderID, "ord_") {
		return s.list(ctx, forOrderWhere, []any{orderID}, "")
	}
	return s.list(ctx, notOfOrderWhere, []any{orderID}, "")
}

// notOfOrderWhere finds the documents of a subscription or a top-up (their
// invoices and credit notes name it as order_id) through
// invoices_not_of_orders (order_id, issued_at, id) WHERE source_type <>
// 'order', which a checkout's invoice is not written into; the query
// repeats the index's condition, for SQLite to use it
// (TestForSubscriptionOrTopUpQueryUsesItsIndex).
const notOfOrderWhere = `i.source_type <> '` + SourceOrder + `' AND i.order_id = $1`

// forOrderWhere finds an order's documents among those of the customer
// its invoice names (its source, UNIQUE (source_type, source_id)), through
// invoices_by_customer (customer_id, issued_at): no index of order_id is
// kept (migration 0055 dropped invoices_by_order, which every checkout
// wrote into), and the order page, which reads them on every view, must
// not read every invoice (TestForOrderQueryUsesIndexes). An order's credit
// notes are its invoice's customer's (CreditTx); without an invoice it
// has none.
const forOrderWhere = `i.customer_id = (SELECT customer_id FROM invoices
	WHERE source_type = '` + SourceOrder + `' AND source_id = $1) AND i.order_id = $1`

// ListForCustomer returns a customer's documents, newest first; an empty
// customerID lists everyone's (admins).
func (s *Service) ListForCustomer(ctx context.Context, customerID string, limit int) ([]Invoice, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	if customerID == "" {
		return s.list(ctx, `1 = 1`, nil, fmt.Sprintf(" ORDER BY i.issued_at DESC, i.id DESC LIMIT %d", limit))
	}
	return s.list(ctx, `i.customer_id = $1`, []any{customerID}, fmt.Sprintf(" ORDER BY i.issued_at DESC, i.id DESC LIMIT %d", limit))
}

// Page is one page of ListForCustomer's documents, newest first: those
// after the document named by after (the previous page's next; an unknown
// one, or another customer's, is ErrNotFound). next names the page's last
// document, and is empty on the last page.
func (s *Service) Page(ctx context.Context, customerID, after string, limit int) (page []Invoice, next string, err error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if customerID != "" {
		where = append(where, "i.customer_id = "+arg(customerID))
	}
	if after != "" {
		q, qargs := `SELECT issued_at FROM invoices WHERE id = $1`, []any{after}
		if customerID != "" {
			q, qargs = q+` AND customer_id = $2`, append(qargs, customerID)
		}
		var at time.Time
		err := s.db.Read.QueryRowContext(ctx, q, qargs...).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, "", ErrNotFound
		}
		if err != nil {
			return nil, "", fmt.Errorf("invoices: read cursor: %w", err)
		}
		// The list's order, issued_at then id, both descending.
		where = append(where, "(i.issued_at < "+arg(at.UTC())+" OR (i.issued_at = "+arg(at.UTC())+" AND i.id < "+arg(after)+"))")
	}
	if len(where) == 0 {
		where = append(where, "1 = 1")
	}
	page, err = s.list(ctx, strings.Join(where, " AND "), args, fmt.Sprintf(" ORDER BY i.issued_at DESC, i.id DESC LIMIT %d", limit+1))
	if err != nil {
		return nil, "", err
	}
	if len(page) > limit {
		page = page[:limit]
		next = page[limit-1].ID
	}
	return page, next, nil
}

// Period returns the documents dated from first to last, both included,
// by series and number: the accounting export. The days are the dates
// printed on the documents, each the seller's local date in the zone it
// was issued in (IssuedOn): only first's and last's year, month and day
// are read.
func (s *Service) Period(ctx context.Context, first, last time.Time) ([]Invoice, error) {
	from, to := first.Format(time.DateOnly), last.Format(time.DateOnly)
	// The documents' zones differ (the store may have changed its own):
	// the query takes the UTC days around the period, which hold every
	// local day of it in any zone (no zone is a day away from UTC), and
	// each document is kept by its own local date.
	lo, hi := localtime.UTC.DayStart(first).AddDate(0, 0, -1), localtime.UTC.DayStart(last).AddDate(0, 0, 2)
	docs, err := s.list(ctx, `i.issued_at >= $1 AND i.issued_at < $2`, []any{lo, hi}, " ORDER BY i.series, i.year, i.seq")
	if err != nil {
		return nil, err
	}
	kept := docs[:0]
	for _, inv := range docs {
		if day := s.zoneOf(inv).In(inv.IssuedAt).Format(time.DateOnly); day >= from && day <= to {
			kept = append(kept, inv)
		}
	}
	return kept, nil
}

// list reads documents; when one of them is pending it numbers what is
// pending and reads again, so every document read has its number (the
// check costs nothing: the rows are read anyway).
func (s *Service) list(ctx context.Context, where string, args []any, tail string) ([]Invoice, error) {
	out, err := s.listOnce(ctx, where, args, tail)
	if err != nil {
		return nil, err
	}
	for _, inv := range out {
		if inv.pending() {
			if _, err := s.NumberPending(ctx); err != nil {
				return nil, err
			}
			return s.listOnce(ctx, where, args, tail)
		}
	}
	return out, nil
}

func (s *Service) listOnce(ctx context.Context, where string, args []any, tail string) ([]Invoice, error) {
	if tail == "" {
		tail = " ORDER BY i.issued_at, i.id"
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+invoiceCols+invoiceFrom+` WHERE `+where+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("invoices: list: %w", err)
	}
	var out []Invoice
	for rows.Next() {
		inv, err := scanInvoice(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, inv)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := loadLines(ctx, s.db.Read, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RateRow is one VAT rate and the date it took effect.
type RateRow struct {
	Country       string
	EffectiveFrom string // YYYY-MM-DD
	RateBP        int
}

// Rates lists the VAT rate table, by country then date.
func (s *Service) Rates(ctx context.Context) ([]RateRow, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT country, effective_from, rate_bp FROM vat_rates ORDER BY country, effective_from`)
	if err != nil {
		return nil, fmt.Errorf("invoices: rates: %w", err)
	}
	defer rows.Close()
	var out []RateRow
	for rows.Next() {
		var r RateRow
		if err := rows.Scan(&r.Country, &r.EffectiveFrom, &r.RateBP); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ErrRateInvalid: a rate that is not a percentage, a date that is not a
// date, a country that is not an EU member state.
var ErrRateInvalid = errors.New("invoices: invalid VAT rate")

// ErrRateExists: that country already has a rate from that date.
var ErrRateExists = errors.New("invoices: a rate from that date exists")

// AddRate records a new rate for a country from a date (YYYY-MM-DD).
// Rates are never edited: a change is a new row with its date, so the
// invoices already issued keep matching the table.
func (s *Service) AddRate(ctx context.Context, country, from string, rateBP int, actorID string) error {
	country = strings.ToUpper(strings.TrimSpace(country))
	if _, err := time.Parse(time.DateOnly, from); err != nil || len(country) != 2 || rateBP < 0 || rateBP >= 10000 {
		return ErrRateInvalid
	}
	// A member state by its ISO code: "EL", Greece's VAT prefix, is not
	// one, and a rate filed under it would never apply (Greek buyers are
	// GR), leaving the old Greek rate in force.
	if !eu.Member(country) {
		return ErrRateInvalid
	}
	now := s.clock.Now()
	defer s.rates.Changed() // whatever the outcome: this node sees its change at once
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vat_rates (country, effective_from, rate_bp, created_at) VALUES ($1, $2, $3, $4)`,
			country, from, rateBP, now); err != nil {
			if db.IsUniqueViolation(err) {
				return ErrRateExists
			}
			return fmt.Errorf("invoices: add rate: %w", err)
		}
		return auditRate(ctx, tx, now, actorID, country, from, rateBP)
	})
}
