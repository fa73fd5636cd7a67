package invoices

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/jobs"
)

// Numbering. The payment's transaction writes its invoice pending (seq and
// number NULL); NumberPending gives the pending documents their numbers
// afterwards. Taking the number in the payment's transaction made every
// checkout hold the series' counter row until its durable commit: they
// all waited for one another.
//
// The legal guarantees hold per series and year:
//   - consecutive, no gap: numbers are taken from the counter in the same
//     transaction that writes them on the invoices, so both commit or
//     neither does; an invoice is only written when its payment commits,
//     so a failed payment never takes a number.
//   - no reuse: the counter only grows, and an invoice takes a number once
//     (the triggers refuse any other change; the UPDATE is conditional on
//     number IS NULL).
//   - in the order issued: pending documents are numbered by (issued_at,
//     id), one numberer at a time (PostgreSQL: a transaction-scoped
//     advisory lock, so nodes take turns; SQLite: one writer). issued_at
//     is the payment's time, taken before its transaction commits: a
//     payment that commits after a later-issued one was numbered comes
//     next, so the order is that of issue within the length of one
//     payment's transaction (milliseconds), and never across years: the
//     series' year is the issue date's.
//   - immutable once numbered: the triggers allow exactly one update,
//     setting seq and number on a pending row.

// numberBatch is how many documents one numbering transaction takes.
const numberBatch = 500

// numberingLockKey is the PostgreSQL advisory lock numberers take turns
// on (internal/db's migration lock is 7_244_310_001).
const numberingLockKey = 7_244_310_017

// DefaultSweep is how often Run looks for pending documents nobody woke it
// for: those of a process that stopped before numbering them, of another
// node, of a CLI command.
const DefaultSweep = 5 * time.Second

// Wake tells Run that documents wait for their numbers. Issuing calls it
// when the payment's transaction commits.
func (s *Service) Wake() { s.wake.Wake() }

// Run numbers pending documents until ctx ends: at once when woken (Wake),
// and every sweep otherwise. A database error is logged and the documents
// wait for the next pass (readers number them too).
func (s *Service) Run(ctx context.Context, sweep time.Duration, log *slog.Logger) {
	if sweep <= 0 {
		sweep = DefaultSweep
	}
	// Nobody waits on these transactions (db.Unhurried); a reader that
	// numbers pending documents itself (Get) does not wait here.
	s.wake.Loop(db.Unhurried(ctx), sweep, log, "invoice numbering", func(ctx context.Context) error {
		_, err := s.NumberPending(ctx)
		return err
	})
}

// NumberPending numbers every pending document, oldest first, and queues
// their emails; it reports how many it numbered.
func (s *Service) NumberPending(ctx context.Context) (int, error) {
	return jobs.Drain(ctx, numberBatch, s.numberOnce)
}

type pendingDoc struct {
	id, series string
	year       int
}

type seriesYear struct {
	series string
	year   int
}

func (s *Service) numberOnce(ctx context.Context) (int, error) {
	n := 0
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		n = 0
		if s.db.Engine == db.Postgres {
			// Nodes number one after the other: with two at once, the
			// later documents could take the counter first.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, numberingLockKey); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, series, year FROM invoices WHERE number IS NULL
			ORDER BY issued_at, id LIMIT $1`, numberBatch)
		if err != nil {
			return err
		}
		var docs []pendingDoc
		count := map[seriesYear]int{}
		for rows.Next() {
			var d pendingDoc
			if err := rows.Scan(&d.id, &d.series, &d.year); err != nil {
				rows.Close()
				return err
			}
			docs = append(docs, d)
			count[seriesYear{d.series, d.year}]++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(docs) == 0 {
			return nil
		}
		// One counter update per series and year for the whole batch,
		// in a fixed order.
		keys := make([]seriesYear, 0, len(count))
		for k := range count {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].series != keys[j].series {
				return keys[i].series < keys[j].series
			}
			return keys[i].year < keys[j].year
		})
		next := map[seriesYear]int{}
		for _, k := range keys {
			var last int
			if err := tx.QueryRowContext(ctx, `INSERT INTO invoice_counters (series, year, last) VALUES ($1, $2, $3)
				ON CONFLICT (series, year) DO UPDATE SET last = invoice_counters.last + EXCLUDED.last
				RETURNING last`, k.series, k.year, count[k]).Scan(&last); err != nil {
				return fmt.Errorf("counter %s %d: %w", k.series, k.year, err)
			}
			next[k] = last - count[k] + 1
		}
		// One statement numbers the batch: per document a round trip
		// would make numbering slower than the checkouts it follows.
		var values strings.Builder
		args := make([]any, 0, 3*len(docs))
		first := map[seriesYear]int{}
		var given []givenNumber
		if s.issued.has() {
			given = make([]givenNumber, 0, len(docs))
		}
		for i, d := range docs {
			k := seriesYear{d.series, d.year}
			seq := next[k]
			next[k]++
			if _, ok := first[k]; !ok {
				first[k] = seq
			}
			if i > 0 {
				values.WriteString(", ")
			}
			fmt.Fprintf(&values, "($%d, CAST($%d AS BIGINT), $%d)", 3*i+1, 3*i+2, 3*i+3)
			number := FormatNumber(d.series, d.year, seq)
			args = append(args, d.id, seq, number)
			if given != nil {
				given = append(given, givenNumber{d.id, seq, number})
			}
		}
		// VALUES names its columns column1, column2… on both engines.
		res, err := tx.ExecContext(ctx, `UPDATE invoices SET seq = v.column2, number = v.column3
			FROM (VALUES `+values.String()+`) AS v WHERE invoices.id = v.column1 AND invoices.number IS NULL`, args...)
		if err != nil {
			return fmt.Errorf("number: %w", err)
		}
		if c, err := res.RowsAffected(); err != nil || c != int64(len(docs)) {
			return fmt.Errorf("numbered %d of %d documents (%v): numbered meanwhile?", c, len(docs), err)
		}
		if given != nil {
			s.db.AfterCommit(tx, func() { s.issued.numbered(given) })
		}
		// The audit names the range each series took; which document has
		// which number is on the documents, which never change.
		now := s.clock.Now().UTC()
		for _, k := range keys {
			if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "invoice_series",
				SubjectID: fmt.Sprintf("%s-%d", k.series, k.year), Action: "number",
				After: map[string]any{"from": first[k], "to": next[k] - 1, "count": count[k]}}); err != nil {
				return err
			}
		}
		if err := s.notifyNumbered(ctx, tx); err != nil {
			return err
		}
		n = len(docs)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("invoices: numbering: %w", err)
	}
	return n, nil
}

// noticesQuery reads the waiting notices of numbered documents. It starts
// from invoice_notices (the few documents waiting) and looks the invoices
// up by id: joined the other way round, SQLite walked every invoice ever
// issued on each numbering pass. CROSS JOIN keeps that order on SQLite;
// PostgreSQL plans it as an inner join.
//
// The customer's language is read as it is now (users.language; empty for an
// account gone): the email speaks it, whatever the document's.
const noticesQuery = `SELECT n.user_id, n.email, n.name, COALESCE((SELECT u.language FROM users u WHERE u.id = n.user_id), ''), ` + invoiceCols + `
	FROM invoice_notices n CROSS JOIN invoices i LEFT JOIN invoices r ON r.id = i.refers_to
	WHERE i.id = n.invoice_id AND i.number IS NOT NULL ORDER BY i.issued_at, i.id`

// notifyNumbered queues the emails of the documents just numbered that
// have one waiting (invoice_notices), now that they have their numbers.
func (s *Service) notifyNumbered(ctx context.Context, tx *sql.Tx) error {
	if s.mailer == nil {
		return nil
	}
	rows, err := tx.QueryContext(ctx, noticesQuery)
	if err != nil {
		return fmt.Errorf("notices: %w", err)
	}
	type notice struct {
		b    Buyer
		lang string // the customer's language now
		inv  Invoice
	}
	var notices []notice
	for rows.Next() {
		var n notice
		n.inv, err = scanInvoice(prefixed{rows, []any{&n.b.ID, &n.b.Email, &n.b.Name, &n.lang}})
		if err != nil {
			rows.Close()
			return err
		}
		notices = append(notices, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(notices) == 0 {
		return nil
	}
	for _, n := range notices {
		if err := s.notify(ctx, tx, n.b, n.lang, n.inv); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM invoice_notices WHERE EXISTS (
		SELECT 1 FROM invoices i WHERE i.id = invoice_notices.invoice_id AND i.number IS NOT NULL)`); err != nil {
		return fmt.Errorf("notices: %w", err)
	}
	return nil
}

// prefixed scans some columns before those scanInvoice reads.
type prefixed struct {
	row interface{ Scan(...any) error }
	pre []any
}

func (p prefixed) Scan(dest ...any) error { return p.row.Scan(append(p.pre, dest...)...) }

// EraseNoticesTx forgets the invoice emails still waiting for their
// documents' numbers to a customer being erased: they hold the address,
// and there is nobody left to send them to. The documents stay.
func EraseNoticesTx(ctx context.Context, tx *sql.Tx, userID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM invoice_notices WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("invoices: erase notices: %w", err)
	}
	return nil
}
