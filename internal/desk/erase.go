package desk

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"comptoir/internal/db"
)

// erasedEmail is the placeholder address of an erased ticket's customer.
const erasedEmail = "erased@invalid"

// EraseCustomerTx erases the personal content of every ticket of a customer:
// those of their account and those opened as a guest from their address. It
// returns the blob keys of the attachments, to delete once tx commits.
func EraseCustomerTx(ctx context.Context, tx *sql.Tx, customerID, email string, at time.Time) ([]string, error) {
	ids, err := ticketIDs(ctx, tx, `SELECT id FROM tickets WHERE customer_id = $1
		OR (customer_id IS NULL AND lower(customer_email) = $2)`, customerID, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return nil, err
	}
	return eraseTicketsTx(ctx, tx, ids, at)
}

// EraseClosedBeforeTx erases the personal content of the tickets closed
// (and left untouched) since before: the retention of closed tickets. The
// ticket rows stay, with their reference, topic and dates, for statistics.
func EraseClosedBeforeTx(ctx context.Context, tx *sql.Tx, before time.Time) (int, []string, error) {
	ids, err := ticketIDs(ctx, tx, `SELECT id FROM tickets WHERE status = 'closed' AND updated_at < $1
		AND customer_email <> $2`, before.UTC(), erasedEmail)
	if err != nil {
		return 0, nil, err
	}
	keys, err := eraseTicketsTx(ctx, tx, ids, before)
	return len(ids), keys, err
}

func ticketIDs(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	ids, err := db.Strings(ctx, tx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("desk: erase: %w", err)
	}
	return ids, nil
}

// eraseTicketsTx blanks what people wrote or sent in the tickets: the
// customer's address and name, every message's text, headers and raw mail,
// notes (they speak of the customer), survey comments; guest links go (the
// link then answers 404), and so do attachments' rows, whose blob keys are
// returned. An open ticket is closed: nobody is
// left to answer. Without a customer, an erased ticket keeps its updated_at
// (the retention job erases it once).
func eraseTicketsTx(ctx context.Context, tx *sql.Tx, ids []string, at time.Time) ([]string, error) {
	var keys []string
	for _, id := range ids {
		ks, err := db.Strings(ctx, tx, `SELECT a.blob_key FROM ticket_attachments a
			JOIN ticket_messages m ON m.id = a.message_id WHERE m.ticket_id = $1`, id)
		if err != nil {
			return nil, fmt.Errorf("desk: erase: %w", err)
		}
		keys = append(keys, ks...)
		if err := db.ExecEach(ctx, tx, []string{
			`DELETE FROM ticket_attachments WHERE message_id IN (SELECT id FROM ticket_messages WHERE ticket_id = $1)`,
			`UPDATE ticket_messages SET from_email = '', subject = '', body_text = '', body_html = '', raw = NULL,
				in_reply_to = '', refs = '', message_id = CASE WHEN direction = 'in' THEN NULL ELSE message_id END
				WHERE ticket_id = $1`,
			`UPDATE ticket_surveys SET comment = '' WHERE ticket_id = $1`,
			// A guest's link would still open the (blanked) ticket and
			// show it exists: the link dies with the content.
			`DELETE FROM ticket_guest_links WHERE ticket_id = $1`,
		}, id); err != nil {
			return nil, fmt.Errorf("desk: erase: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET customer_email = $1, customer_name = '',
			status = 'closed', target_at = NULL, promise_at = NULL,
			updated_at = CASE WHEN status = 'closed' THEN updated_at ELSE $2 END WHERE id = $3`,
			erasedEmail, at.UTC(), id); err != nil {
			return nil, fmt.Errorf("desk: erase: %w", err)
		}
	}
	return keys, nil
}
