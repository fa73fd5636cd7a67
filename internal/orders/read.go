package orders

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/id"
	"comptoir/internal/money"
)

// Get returns an order with its lines.
func (s *Service) Get(ctx context.Context, orderID string) (Order, error) {
	return getOrder(ctx, s.db.Read, orderID)
}

// GetForCustomer returns the order only when it belongs to customerID: for
// anyone else it does not exist (ErrNotFound), which reveals nothing.
func (s *Service) GetForCustomer(ctx context.Context, customerID, orderID string) (Order, error) {
	o, err := s.Get(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	if o.CustomerID != customerID {
		return Order{}, ErrNotFound
	}
	return o, nil
}

const orderColumns = `id, customer_id, status, currency, total, paid, refunded, payment_method, policy_version, lang, placed_at, paid_at`

func scanOrder(row interface{ Scan(...any) error }) (Order, error) {
	var o Order
	var currency string
	var total, paid, refunded int64
	var paidAt sql.NullTime
	if err := row.Scan(&o.ID, &o.CustomerID, &o.Status, &currency, &total, &paid, &refunded, &o.PaymentMethod, &o.PolicyVersion, &o.Lang, &o.PlacedAt, &paidAt); err != nil {
		return Order{}, err
	}
	o.Total = money.Amount{Minor: total, Currency: currency}
	o.Paid = money.Amount{Minor: paid, Currency: currency}
	o.Refunded = money.Amount{Minor: refunded, Currency: currency}
	o.PlacedAt = o.PlacedAt.UTC()
	if paidAt.Valid {
		o.PaidAt = paidAt.Time.UTC()
	}
	return o, nil
}

// GetTx is Get in the caller's transaction: for a reader that needs the
// order consistent with other records it reads in the same snapshot.
func GetTx(ctx context.Context, q db.Querier, orderID string) (Order, error) {
	return getOrder(ctx, q, orderID)
}

func getOrder(ctx context.Context, q db.Querier, orderID string) (Order, error) {
	o, err := scanOrder(q.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = $1`, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, ErrNotFound
	}
	if err != nil {
		return Order{}, wrapDB("get order", err)
	}
	lines, err := linesOf(ctx, q, []string{o.ID})
	if err != nil {
		return Order{}, err
	}
	o.Lines = lines[o.ID]
	return o, nil
}

// linesQuery reads the lines of the orders in the list in (db.InList),
// through the index of UNIQUE (order_id, position) (TestOrderQueriesUseIndexes).
func linesQuery(in string) string {
	return `SELECT l.order_id, l.id, l.position, l.product_id, l.product_revision, l.kind, l.name, l.unit_price, l.quantity,
		l.delivered, l.amount, l.refunded, l.processing_until, l.licence_key, l.download_until, l.settled_at, o.currency
		FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE l.order_id IN (` + in + `) ORDER BY l.order_id, l.position`
}

// linesOf reads the lines of several orders at once (one query for a whole
// page of orders, never one per order).
func linesOf(ctx context.Context, q db.Querier, orderIDs []string) (map[string][]Line, error) {
	out := map[string][]Line{}
	if len(orderIDs) == 0 {
		return out, nil
	}
	in, args := db.InList(orderIDs)
	rows, err := q.QueryContext(ctx, linesQuery(in), args...)
	if err != nil {
		return nil, wrapDB("lines", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l Line
		var orderID, cur string
		var unit, amount, refunded int64
		var until, downloadUntil, settled sql.NullTime
		var key sql.NullString
		if err := rows.Scan(&orderID, &l.ID, &l.Position, &l.ProductID, &l.ProductRevision, &l.Kind, &l.Name, &unit, &l.Quantity,
			&l.Delivered, &amount, &refunded, &until, &key, &downloadUntil, &settled, &cur); err != nil {
			return nil, err
		}
		l.UnitPrice = money.Amount{Minor: unit, Currency: cur}
		l.Amount = money.Amount{Minor: amount, Currency: cur}
		l.Refunded = money.Amount{Minor: refunded, Currency: cur}
		if until.Valid {
			l.ProcessingUntil = until.Time.UTC()
		}
		l.LicenceKey = key.String
		if downloadUntil.Valid {
			l.DownloadUntil = downloadUntil.Time.UTC()
		}
		if settled.Valid {
			l.SettledAt = settled.Time.UTC()
		}
		out[orderID] = append(out[orderID], l)
	}
	return out, rows.Err()
}

// ListFilter selects orders for a page.
type ListFilter struct {
	CustomerID string // only this customer's orders; empty for all (agents)
	Status     string // optional
	After      string // cursor: the last id of the previous page
	Limit      int    // default 20, at most 100
}

// List returns a page of orders, newest first, and the cursor of the next
// page ("" on the last).
func (s *Service) List(ctx context.Context, f ListFilter) ([]Order, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	if limit > 100 {
		limit = 100
	}
	query, args, err := listQuery(f, limit)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.db.Read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", wrapDB("list", err)
	}
	var page []Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			rows.Close()
			return nil, "", err
		}
		page = append(page, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(page) > limit {
		page = page[:limit]
		next = page[limit-1].ID
	}
	ids := make([]string, len(page))
	for i, o := range page {
		ids[i] = o.ID
	}
	lines, err := linesOf(ctx, s.db.Read, ids)
	if err != nil {
		return nil, "", err
	}
	for i := range page {
		page[i].Lines = lines[page[i].ID]
	}
	return page, next, nil
}

// listQuery is List's query: newest first, by customer and by status
// through orders_by_customer and orders_by_status, all orders through the
// primary key (TestOrderQueriesUseIndexes).
func listQuery(f ListFilter, limit int) (string, []any, error) {
	query := `SELECT ` + orderColumns + ` FROM orders WHERE 1 = 1`
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		query += " AND " + cond + " $" + strconv.Itoa(len(args))
	}
	if f.CustomerID != "" {
		add("customer_id =", f.CustomerID)
	}
	switch f.Status {
	case "":
	case StatusPendingPayment, StatusPaid, StatusProcessing, StatusPartial, StatusCompleted, StatusCanceled, StatusRefunded:
		add("status =", f.Status)
	default:
		// A status no order can have ("shipped", "Paid") is refused, as a
		// cursor this list never gave is, rather than answered with an
		// empty list that reads as "no orders".
		return "", nil, &ValidationError{Fields: map[string]string{"status": "invalid"}}
	}
	if f.After != "" {
		// A cursor is an id this list gave; anything else is refused
		// rather than read as "nothing after it".
		if !id.Valid("ord", f.After) {
			return "", nil, &ValidationError{Fields: map[string]string{"after": "invalid"}}
		}
		add("id <", f.After)
	}
	args = append(args, limit+1)
	query += " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	return query, args, nil
}

// Consent is what the buyer was shown and ticked at checkout.
type Consent struct {
	Required             bool
	ImmediatePerformance bool
	WithdrawalWaiver     bool
	WordingVersion       string
	Lang                 string
	ImmediateText        string
	WaiverText           string
	PolicyVersion        string
	// TermsVersion is the terms of sale version accepted ("terms@1"); ""
	// for an order placed before the store had versioned terms.
	TermsVersion string
	At           time.Time
	IP           string
	UserAgent    string
}

// ConsentOf returns an order's consent record, or ErrNotFound.
func (s *Service) ConsentOf(ctx context.Context, orderID string) (Consent, error) {
	return ConsentTx(ctx, s.db.Read, orderID)
}

// ConsentTx is ConsentOf in the caller's transaction.
func ConsentTx(ctx context.Context, q db.Querier, orderID string) (Consent, error) {
	var c Consent
	var terms sql.NullString
	err := q.QueryRowContext(ctx, `SELECT required, immediate_performance, withdrawal_waiver, wording_version, lang, immediate_text, waiver_text, policy_version, at, ip, user_agent, terms_version
		FROM order_consents WHERE order_id = $1`, orderID).Scan(&c.Required, &c.ImmediatePerformance, &c.WithdrawalWaiver, &c.WordingVersion, &c.Lang,
		&c.ImmediateText, &c.WaiverText, &c.PolicyVersion, &c.At, &c.IP, &c.UserAgent, &terms)
	c.TermsVersion = terms.String
	if errors.Is(err, sql.ErrNoRows) {
		return Consent{}, ErrNotFound
	}
	c.At = c.At.UTC()
	return c, wrapDB("consent", err)
}
