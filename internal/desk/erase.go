package desk

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/mail"
)

// erasedEmail is the placeholder address of an erased ticket's customer.
const erasedEmail = "erased@invalid"

// Erased is what an erasure of tickets leaves to delete once its
// transaction commits: the attachments' blobs and the spooled copies of the
// mail sent about the tickets.
type Erased struct {
	BlobKeys []string
	MailIDs  []string
}

// EraseCustomerTx erases the personal content of every ticket of a customer:
// those of their account and those opened as a guest from email (none when
// email is empty: an address the account never proved it reads).
func EraseCustomerTx(ctx context.Context, tx *sql.Tx, customerID, email string, at time.Time) (Erased, error) {
	query, args := `SELECT id FROM tickets WHERE customer_id = $1`, []any{customerID}
	if email != "" {
		// Their address in any case, accents included (db.LowerIn:
		// SQLite's lower() leaves É as it is).
		sameEmail, forms := db.LowerIn("customer_email", 2, email)
		query += ` OR (customer_id IS NULL AND ` + sameEmail + `)`
		args = append(args, forms...)
	}
	ids, err := ticketIDs(ctx, tx, query, args...)
	if err != nil {
		return Erased{}, err
	}
	return eraseTicketsTx(ctx, tx, ids, at)
}

// EraseClosedBeforeTx erases the personal content of the tickets closed
// (and left untouched) since before: the retention of closed tickets. The
// ticket rows stay, with their reference, topic and dates, for statistics.
func EraseClosedBeforeTx(ctx context.Context, tx *sql.Tx, before time.Time) (int, Erased, error) {
	ids, err := ticketIDs(ctx, tx, `SELECT id FROM tickets WHERE status = 'closed' AND updated_at < $1
		AND customer_email <> $2`, before.UTC(), erasedEmail)
	if err != nil {
		return 0, Erased{}, err
	}
	e, err := eraseTicketsTx(ctx, tx, ids, before)
	return len(ids), e, err
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
// returned. The stored mail about the tickets goes the same way: what was
// sent to the customer (acknowledgement, answers, survey: recipient and
// content) and the staff's deadline warnings (which quote the customer's
// name and address); their ids are returned for the spool. An open ticket
// is closed: nobody is left to answer. Without a customer, an erased ticket
// keeps its updated_at (the retention job erases it once).
func eraseTicketsTx(ctx context.Context, tx *sql.Tx, ids []string, at time.Time) (Erased, error) {
	var out Erased
	for _, id := range ids {
		ks, err := db.Strings(ctx, tx, `SELECT a.blob_key FROM ticket_attachments a
			JOIN ticket_messages m ON m.id = a.message_id WHERE m.ticket_id = $1`, id)
		if err != nil {
			return Erased{}, fmt.Errorf("desk: erase: %w", err)
		}
		out.BlobKeys = append(out.BlobKeys, ks...)
		sent, warned, err := ticketMailTx(ctx, tx, id)
		if err != nil {
			return Erased{}, err
		}
		if err := mail.EraseMessagesTx(ctx, tx, sent, true); err != nil {
			return Erased{}, fmt.Errorf("desk: erase: %w", err)
		}
		if err := mail.EraseMessagesTx(ctx, tx, warned, false); err != nil {
			return Erased{}, fmt.Errorf("desk: erase: %w", err)
		}
		out.MailIDs = append(append(out.MailIDs, sent...), warned...)
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
			return Erased{}, fmt.Errorf("desk: erase: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET customer_email = $1, customer_name = '',
			status = 'closed', target_at = NULL, promise_at = NULL,
			updated_at = CASE WHEN status = 'closed' THEN updated_at ELSE $2 END WHERE id = $3`,
			erasedEmail, at.UTC(), id); err != nil {
			return Erased{}, fmt.Errorf("desk: erase: %w", err)
		}
	}
	return out, nil
}

// ticketMailTx finds the stored mail about a ticket: what was sent to its
// customer (each recorded as an out message) and the staff's deadline
// warnings, which name the ticket's reference and were sent while it was
// open (from its creation; until its last change when it is closed).
func ticketMailTx(ctx context.Context, tx *sql.Tx, ticketID string) (sent, warned []string, err error) {
	sent, err = db.Strings(ctx, tx, `SELECT outgoing_mail_id FROM ticket_messages
		WHERE ticket_id = $1 AND outgoing_mail_id IS NOT NULL`, ticketID)
	if err != nil {
		return nil, nil, fmt.Errorf("desk: erase: %w", err)
	}
	var ref, status string
	var created, updated time.Time
	if err := tx.QueryRowContext(ctx, `SELECT reference, status, created_at, updated_at FROM tickets WHERE id = $1`,
		ticketID).Scan(&ref, &status, &created, &updated); err != nil {
		return nil, nil, fmt.Errorf("desk: erase: %w", err)
	}
	var until time.Time
	if status == StatusClosed {
		until = updated
	}
	if warned, err = mail.SLAWarningsMentioningTx(ctx, tx, ref, created, until); err != nil {
		return nil, nil, fmt.Errorf("desk: erase: %w", err)
	}
	return sent, warned, nil
}
