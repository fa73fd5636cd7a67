package orders

import (
	"context"
	"database/sql"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/catalog"
	"comptoir/internal/db"
	"comptoir/internal/id"
)

// Download is a customer downloading the file of a paid line: it checks the
// line is theirs and its link still valid, records the download (time,
// address, browser: evidence of supply), and returns the blob key of the
// file as it was when bought.
func (s *Service) Download(ctx context.Context, customerID, orderID, lineID, ip, userAgent string) (fileKey, fileName string, err error) {
	o, err := s.GetForCustomer(ctx, customerID, orderID)
	if err != nil {
		return "", "", err
	}
	l, ok := o.Line(lineID)
	if !ok || l.DownloadUntil.IsZero() {
		return "", "", ErrNotFound
	}
	now := s.clock.Now()
	if now.After(l.DownloadUntil) {
		return "", "", ErrDownloadExpired
	}
	if o.Status == StatusCanceled || (l.Amount.IsPositive() && l.Refunded.Minor >= l.Amount.Minor) {
		// Paid back in full (a withdrawal, an upheld claim, an agent's
		// refund, even while a card refund settles): the file is no longer
		// the customer's, and the link ends as if it had expired.
		return "", "", ErrDownloadExpired
	}
	p, err := s.catalog.Revision(ctx, l.ProductID, l.ProductRevision)
	if err != nil {
		return "", "", err
	}
	if p.DigitalDelivery != catalog.DeliveryFile || p.FileKey == "" {
		return "", "", ErrNotFound
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO download_events (id, order_id, order_line_id, customer_id, at, ip, user_agent)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, id.New("dwn"), orderID, lineID, customerID, now, clip(ip, 64), clip(userAgent, 512)); err != nil {
			return wrapDB("record download", err)
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.Actor{ID: customerID, Role: "customer"},
			SubjectType: "order_line", SubjectID: lineID, Action: "download"})
	})
	if err != nil {
		return "", "", err
	}
	return p.FileKey, p.Slug, nil
}

// Downloads counts the downloads of a line, for the order page.
func (s *Service) Downloads(ctx context.Context, lineID string) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM download_events WHERE order_line_id = $1`, lineID).Scan(&n)
	return n, wrapDB("downloads", err)
}

// DownloadEvent is one recorded download of a line's file: when, from which
// address and browser (evidence of supply).
type DownloadEvent struct {
	LineID    string
	LineName  string // the line's name, as bought
	At        time.Time
	IP        string
	UserAgent string
}

// DownloadEventsTx lists the downloads of an order's files, oldest first
// (ties in the order they were recorded), in the caller's transaction.
func DownloadEventsTx(ctx context.Context, q db.Querier, orderID string) ([]DownloadEvent, error) {
	rows, err := q.QueryContext(ctx, `SELECT d.order_line_id, l.name, d.at, d.ip, d.user_agent FROM download_events d
		JOIN order_lines l ON l.id = d.order_line_id WHERE d.order_id = $1 ORDER BY d.at, d.id`, orderID)
	if err != nil {
		return nil, wrapDB("download events", err)
	}
	defer rows.Close()
	var out []DownloadEvent
	for rows.Next() {
		var e DownloadEvent
		if err := rows.Scan(&e.LineID, &e.LineName, &e.At, &e.IP, &e.UserAgent); err != nil {
			return nil, wrapDB("download events", err)
		}
		out = append(out, e)
	}
	return out, wrapDB("download events", rows.Err())
}
