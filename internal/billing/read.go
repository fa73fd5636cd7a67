package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"comptoir/internal/db"
	"comptoir/internal/id"
	"comptoir/internal/money"
)

// Balance returns what the customer has in currency: zero when they never
// had any.
func (l *Ledger) Balance(ctx context.Context, customerID, currency string) (money.Amount, error) {
	fields := map[string]string{}
	checkID(fields, "customer_id", customerID, true)
	if err := money.CheckCurrency(currency); err != nil {
		fields["currency"] = CodeCurrencyInvalid
	}
	if len(fields) > 0 {
		return money.Amount{}, &ValidationError{Fields: fields}
	}
	return BalanceTx(ctx, l.db.Read, customerID, currency)
}

// BalanceTx is Balance read through q (a transaction's view), without the
// checks of its arguments.
func BalanceTx(ctx context.Context, q db.Querier, customerID, currency string) (money.Amount, error) {
	var balance int64
	err := q.QueryRowContext(ctx, `SELECT balance FROM balance_accounts WHERE customer_id = $1 AND currency = $2`,
		customerID, currency).Scan(&balance)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return money.Amount{}, fmt.Errorf("billing: balance: %w", err)
	}
	return money.Amount{Minor: balance, Currency: currency}, nil
}

const entryColumns = `id, customer_id, currency, amount, balance_after, kind, reference_type, reference_id, reason, actor_id, created_at`

// Entries lists a customer's entries in every currency, newest first, limit
// at a time (50 when limit <= 0, at most 200). after is the next cursor of
// the previous page, empty for the first; next is empty on the last page.
func (l *Ledger) Entries(ctx context.Context, customerID, after string, limit int) (entries []EntryRow, next string, err error) {
	fields := map[string]string{}
	checkID(fields, "customer_id", customerID, true)
	if after != "" && !id.Valid("ble", after) {
		fields["after"] = CodeInvalid
	}
	if len(fields) > 0 {
		return nil, "", &ValidationError{Fields: fields}
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	// Ids grow with time, so id order is creation order and the last id of a
	// page is a cursor that stays valid while entries are added. One more row
	// than asked tells whether there is a next page.
	q := `SELECT ` + entryColumns + ` FROM balance_entries WHERE customer_id = $1 ORDER BY id DESC LIMIT $2`
	args := []any{customerID, limit + 1}
	if after != "" {
		q = `SELECT ` + entryColumns + ` FROM balance_entries WHERE customer_id = $1 AND id < $3 ORDER BY id DESC LIMIT $2`
		args = append(args, after)
	}
	rows, err := l.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("billing: entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r EntryRow
		var currency string
		var actorID sql.NullString
		if err := rows.Scan(&r.ID, &r.CustomerID, &currency, &r.Amount.Minor, &r.BalanceAfter.Minor, &r.Kind,
			&r.ReferenceType, &r.ReferenceID, &r.Reason, &actorID, &r.CreatedAt); err != nil {
			return nil, "", fmt.Errorf("billing: entries: %w", err)
		}
		r.Amount.Currency, r.BalanceAfter.Currency = currency, currency
		r.ActorID = actorID.String
		r.CreatedAt = r.CreatedAt.UTC()
		entries = append(entries, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("billing: entries: %w", err)
	}
	if len(entries) > limit {
		entries = entries[:limit]
		next = entries[limit-1].ID
	}
	return entries, next, nil
}

// Reconcile compares every account's running total with the sum of its
// entries and returns the accounts where they differ, plus entries without
// an account (the foreign key forbids them; checked anyway, as this is the
// test of last resort). The list should always be empty: anything in it
// means money moved outside this package. It is one statement, so it reads
// one consistent snapshot while writes go on.
func (l *Ledger) Reconcile(ctx context.Context) ([]Mismatch, error) {
	rows, err := l.db.Read.QueryContext(ctx, `
		SELECT a.customer_id, a.currency, a.balance, COALESCE(s.total, 0)
		FROM balance_accounts a
		LEFT JOIN (SELECT customer_id, currency, CAST(SUM(amount) AS BIGINT) AS total
			FROM balance_entries GROUP BY customer_id, currency) s
			ON s.customer_id = a.customer_id AND s.currency = a.currency
		WHERE a.balance <> COALESCE(s.total, 0)
		UNION ALL
		SELECT e.customer_id, e.currency, 0, CAST(SUM(e.amount) AS BIGINT)
		FROM balance_entries e
		WHERE NOT EXISTS (SELECT 1 FROM balance_accounts a WHERE a.customer_id = e.customer_id AND a.currency = e.currency)
		GROUP BY e.customer_id, e.currency
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("billing: reconcile: %w", err)
	}
	defer rows.Close()
	var out []Mismatch
	for rows.Next() {
		var m Mismatch
		if err := rows.Scan(&m.CustomerID, &m.Currency, &m.Balance, &m.Entries); err != nil {
			return nil, fmt.Errorf("billing: reconcile: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("billing: reconcile: %w", err)
	}
	return out, nil
}
