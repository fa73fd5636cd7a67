package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/id"
)

// maxKeysPerCall bounds one AddLicenceKeys call (one pasted list or file),
// so that a single request cannot hold the writer for long.
const maxKeysPerCall = 10_000

// AddLicenceKeys adds keys to the pool of a digital product delivered by
// licence key and returns how many were new. Keys are trimmed; blank lines
// are skipped; a key already in the pool (sold or not) or repeated in the
// list is added once, so pasting the same list twice is harmless. The key
// values never reach the audit log, only their count.
func (s *Service) AddLicenceKeys(ctx context.Context, actor audit.Actor, productID string, keys []string) (int, error) {
	seen := make(map[string]bool, len(keys))
	var clean []string
	for _, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" || seen[k] {
			continue
		}
		switch {
		case !plainText(k, false):
			return 0, &ValidationError{Fields: map[string]string{"keys": CodeInvalidCharacters}}
		case utf8.RuneCountInString(k) > maxLicenceKeyLen:
			return 0, &ValidationError{Fields: map[string]string{"keys": CodeTooLong}}
		}
		seen[k] = true
		clean = append(clean, k)
	}
	switch {
	case len(clean) == 0:
		return 0, &ValidationError{Fields: map[string]string{"keys": CodeRequired}}
	case len(clean) > maxKeysPerCall:
		return 0, &ValidationError{Fields: map[string]string{"keys": CodeTooLarge}}
	}
	now := s.clock.Now()
	added := 0
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		added = 0 // a rerun (see db.Tx) counts afresh
		p, err := getProduct(ctx, tx, productID)
		if err != nil {
			return err
		}
		if p.Kind != KindDigital || p.DigitalDelivery != DeliveryLicenceKey {
			return ErrNotLicenceProduct
		}
		for _, k := range clean {
			// The unique (product_id, key_value) decides what is new, so two
			// admins pasting overlapping lists at once add each key once.
			res, err := tx.ExecContext(ctx, `INSERT INTO licence_keys (id, product_id, key_value, added_at)
				VALUES ($1, $2, $3, $4) ON CONFLICT (product_id, key_value) DO NOTHING`,
				id.New("lic"), productID, k, now)
			if err != nil {
				return fmt.Errorf("catalog: add licence key: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("catalog: add licence key: %w", err)
			}
			added += int(n)
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "product", SubjectID: productID,
			Action: "licence_keys_add", After: map[string]int{"submitted": len(clean), "added": added}})
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// AvailableKeys counts the product's keys neither sold nor reserved by a
// card order awaiting payment: the keys a new checkout can still get. Zero
// means its sale must stop.
func (s *Service) AvailableKeys(ctx context.Context, productID string) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM licence_keys k
			WHERE k.product_id = p.id AND k.assigned_at IS NULL AND k.reserved_order_line_id IS NULL)
		FROM products p WHERE p.id = $1`, productID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("catalog: count licence keys: %w", err)
	}
	return n, nil
}

// AssignLicenceKeyTx hands an order line its licence key inside the
// caller's transaction (the checkout or the payment that sells it), so the
// key is sold exactly when the sale is recorded, and not if that
// transaction rolls back. The key is the one the line reserved at a card
// checkout (ReserveLicenceKeyTx), else one of the product's oldest free
// keys (keys added in one batch leave in no particular order). It returns
// ErrOutOfStock when the line has no reservation and the pool is empty.
// fromPool reports that the key was taken from the free keys by this call,
// so the pool may just have emptied; a reserved key had already left it.
//
// Called again for the same order line (a redelivery), it returns the key
// that line already has: a customer gets one key per line, never a second.
//
// Two checkouts at once never get the same key: the key is taken by an
// update conditional on its still being free. On SQLite writers are
// serialized anyway; on PostgreSQL (at READ COMMITTED, db.Tx's level) the
// loser of a race waits for the winner's commit, finds the key taken (zero
// rows) and tries the next one. Each retry means another checkout got a key,
// so the loop ends within the size of the pool.
func (s *Service) AssignLicenceKeyTx(ctx context.Context, tx *sql.Tx, productID, orderLineID string) (key string, fromPool bool, err error) {
	if orderLineID == "" {
		return "", false, errors.New("catalog: assign licence key: empty order line id")
	}
	now := s.clock.Now()
	// One look-up finds the line's key, sold or reserved, so a balance
	// checkout (which never reserves) runs no more statements than before
	// reservations existed.
	var keyID, owner string
	var sold bool
	err = tx.QueryRowContext(ctx, `SELECT id, product_id, key_value, assigned_at IS NOT NULL FROM licence_keys
		WHERE assigned_order_line_id = $1 OR reserved_order_line_id = $1`, orderLineID).Scan(&keyID, &owner, &key, &sold)
	switch {
	case err == nil && owner != productID:
		return "", false, fmt.Errorf("catalog: order line %s already holds a key of product %s", orderLineID, owner)
	case err == nil && sold:
		return key, false, nil
	case err == nil:
		// Reserved at checkout: only the end of its order unpaid releases
		// it, in a transaction that also moves the order out of
		// pending_payment, so finding it gone means the order changed
		// under this one; failing lets the caller's transaction retry and
		// see the order as it is.
		res, err := tx.ExecContext(ctx, `UPDATE licence_keys SET assigned_at = $1, assigned_order_line_id = $2,
			reserved_order_line_id = NULL, reserved_at = NULL
			WHERE id = $3 AND reserved_order_line_id = $2 AND assigned_at IS NULL`, now, orderLineID, keyID)
		if err != nil {
			return "", false, fmt.Errorf("catalog: assign reserved licence key: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return "", false, fmt.Errorf("catalog: reserved licence key of line %s released meanwhile (%v)", orderLineID, err)
		}
		return key, false, recordAssignment(ctx, tx, now, keyID, productID, orderLineID)
	case !errors.Is(err, sql.ErrNoRows):
		return "", false, fmt.Errorf("catalog: find the line's licence key: %w", err)
	}
	keyID, key, err = s.takeFreeKeyTx(ctx, tx, productID, `assigned_at = $1, assigned_order_line_id = $2`, now, orderLineID)
	if err != nil {
		return "", false, err
	}
	return key, true, recordAssignment(ctx, tx, now, keyID, productID, orderLineID)
}

// recordAssignment ties a sold key to its line in the audit log. The
// system acts here: the person who bought is recorded with the order; this
// entry names the key by id, never by value.
func recordAssignment(ctx context.Context, tx *sql.Tx, now time.Time, keyID, productID, orderLineID string) error {
	return audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "licence_key", SubjectID: keyID,
		Action: "licence_key_assign", After: map[string]string{"product_id": productID, "order_line_id": orderLineID}})
}

// takeFreeKeyTx sets one of the product's oldest free keys (neither sold
// nor reserved) to set, whose two placeholders take now and orderLineID,
// and returns the key. The update is conditional on the key's still being
// free: a key taken by a concurrent checkout since it was read (zero rows)
// sends it to the next one.
func (s *Service) takeFreeKeyTx(ctx context.Context, tx *sql.Tx, productID, set string, now time.Time, orderLineID string) (keyID, key string, err error) {
	for {
		if err := ctx.Err(); err != nil {
			return "", "", err
		}
		err := tx.QueryRowContext(ctx, `SELECT id, key_value FROM licence_keys
			WHERE product_id = $1 AND assigned_at IS NULL AND reserved_order_line_id IS NULL
			ORDER BY added_at, id LIMIT 1`, productID).Scan(&keyID, &key)
		if errors.Is(err, sql.ErrNoRows) {
			return "", "", ErrOutOfStock
		}
		if err != nil {
			return "", "", fmt.Errorf("catalog: find free licence key: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE licence_keys SET `+set+`
			WHERE id = $3 AND assigned_at IS NULL AND reserved_order_line_id IS NULL`, now, orderLineID, keyID)
		if err != nil {
			return "", "", fmt.Errorf("catalog: take licence key: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return "", "", fmt.Errorf("catalog: take licence key: %w", err)
		}
		if n == 1 {
			return keyID, key, nil
		}
		// taken by a concurrent checkout since we read it
	}
}

// ReserveLicenceKeyTx sets one of the product's free keys aside for an
// order line awaiting its card payment, inside the checkout's transaction:
// from then on no other checkout gets it and the pool does not count it,
// so a second card order for the last key is refused (ErrOutOfStock)
// rather than paid for nothing. The payment's success hands that key to the
// line (AssignLicenceKeyTx); the order's end unpaid frees it
// (ReleaseLicenceKeysTx). Concurrent reservations and sales are safe as
// AssignLicenceKeyTx's are.
func (s *Service) ReserveLicenceKeyTx(ctx context.Context, tx *sql.Tx, productID, orderLineID string) error {
	if orderLineID == "" {
		return errors.New("catalog: reserve licence key: empty order line id")
	}
	_, _, err := s.takeFreeKeyTx(ctx, tx, productID, `reserved_at = $1, reserved_order_line_id = $2`, s.clock.Now(), orderLineID)
	return err
}

// ReleaseLicenceKeysTx frees the keys reserved for the given order lines,
// inside the transaction that ends their order unpaid, and returns how many
// went back to the pool. A line without a reservation (nothing reserved, or
// its key already sold) is left alone.
func (s *Service) ReleaseLicenceKeysTx(ctx context.Context, tx *sql.Tx, orderLineIDs []string) (int, error) {
	if len(orderLineIDs) == 0 {
		return 0, nil
	}
	in, args := db.InList(orderLineIDs)
	res, err := tx.ExecContext(ctx, `UPDATE licence_keys SET reserved_order_line_id = NULL, reserved_at = NULL
		WHERE reserved_order_line_id IN (`+in+`) AND assigned_at IS NULL`, args...)
	if err != nil {
		return 0, fmt.Errorf("catalog: release licence keys: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("catalog: release licence keys: %w", err)
	}
	return int(n), nil
}

// AvailableKeysTx counts the free keys of a product (neither sold nor
// reserved) inside the caller's transaction, so a checkout that took the
// last one can tell.
func (s *Service) AvailableKeysTx(ctx context.Context, tx *sql.Tx, productID string) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM licence_keys
		WHERE product_id = $1 AND assigned_at IS NULL AND reserved_order_line_id IS NULL`, productID).Scan(&n)
	return n, err
}

// AssignedKey is a licence key as handed to an order line, and when.
type AssignedKey struct {
	OrderLineID string
	Key         string
	AssignedAt  time.Time
}

// AssignedKeysTx returns the keys handed to the given order lines, in q
// (the dispute evidence reads them within its own snapshot), by time of
// assignment.
func AssignedKeysTx(ctx context.Context, q db.Querier, orderLineIDs []string) ([]AssignedKey, error) {
	if len(orderLineIDs) == 0 {
		return nil, nil
	}
	in, args := db.InList(orderLineIDs)
	rows, err := q.QueryContext(ctx, `SELECT assigned_order_line_id, key_value, assigned_at FROM licence_keys
		WHERE assigned_order_line_id IN (`+in+`) ORDER BY assigned_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: assigned licence keys: %w", err)
	}
	defer rows.Close()
	var out []AssignedKey
	for rows.Next() {
		var k AssignedKey
		if err := rows.Scan(&k.OrderLineID, &k.Key, &k.AssignedAt); err != nil {
			return nil, fmt.Errorf("catalog: assigned licence keys: %w", err)
		}
		k.AssignedAt = k.AssignedAt.UTC()
		out = append(out, k)
	}
	return out, rows.Err()
}
