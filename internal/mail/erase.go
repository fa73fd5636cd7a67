package mail

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"comptoir/internal/db"
)

// ErasedAddress replaces an erased person's address in stored mail.
const ErasedAddress = "erased@invalid"

// EraseRecipientTx erases the stored copies of the mail sent to a customer
// (by account or by address) and of the staff mail that quotes their
// address: recipient, subject, bodies, attachments and the Message-IDs of
// their messages it answered (In-Reply-To, References: they name their
// mail and often their domain) go; the row stays
// (kind, dates, Message-ID) so the outbox's history holds. Mail still
// queued is marked failed: there is nobody to send it to. It returns the
// ids of the messages, whose spooled files ScrubSpool removes. The address
// is looked for in the bodies literally, whatever its case: its _ and % are
// escaped, or erasing a_b@x.fr would also erase the mail quoting axb@x.fr.
// An empty email erases the mail of the account alone.
func EraseRecipientTx(ctx context.Context, tx *sql.Tx, userID, email string) ([]string, error) {
	// Not lowered here: the Kelvin sign would become "k" (db.LowerIn
	// keeps look-alikes apart).
	email = strings.TrimSpace(email)
	if email == "" {
		ids, err := db.Strings(ctx, tx, `SELECT id FROM outgoing_mail WHERE user_id = $1`, userID)
		if err != nil {
			return nil, fmt.Errorf("mail: erase: %w", err)
		}
		return ids, EraseMessagesTx(ctx, tx, ids, true)
	}
	// Their address in any case, accents included, and not a look-alike
	// of it (db.LowerIn: account.SameEmail's rule).
	toThem, forms := db.LowerIn("to_addr", 3, email)
	query := `SELECT id FROM outgoing_mail m JOIN outgoing_mail_content c ON c.content_id = m.content_id WHERE user_id = $1 OR ` + toThem
	args := append([]any{userID, db.LikeEscape}, forms...)
	if len(email) > 3 {
		// lower() finds the address in any case on either engine (its
		// forms, and PostgreSQL's lowering of it); db.ASCIILower then
		// keeps only those that are the address itself, not one written
		// with the Kelvin sign for "k".
		var anyCase, exact []string
		full := strings.ToLower(email)
		for _, f := range append(db.LowerForms(email), full) {
			n := strconv.Itoa(len(args) + 1)
			args = append(args, "%"+db.EscapeLike(f)+"%")
			for _, body := range []string{"text_body", "html_body"} {
				anyCase = append(anyCase, `lower(`+body+`) LIKE $`+n+` ESCAPE $2`)
				if f != full || slices.Contains(db.LowerForms(email), full) {
					exact = append(exact, db.ASCIILower(body)+` LIKE $`+n+` ESCAPE $2`)
				}
			}
		}
		query += ` OR ((` + strings.Join(anyCase, " OR ") + `) AND (` + strings.Join(exact, " OR ") + `))`
	}
	ids, err := db.Strings(ctx, tx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("mail: erase: %w", err)
	}
	toThem, toArgs := db.LowerIn("to_addr", 4, email)
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM outgoing_mail_attachments WHERE mail_id = $1`, id); err != nil {
			return nil, fmt.Errorf("mail: erase: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outgoing_mail SET
			to_addr = CASE WHEN user_id = $1 OR `+toThem+` THEN $2 ELSE to_addr END,
			to_name = CASE WHEN user_id = $1 OR `+toThem+` THEN '' ELSE to_name END,
			last_error = '', in_reply_to = '', list_unsubscribe = NULL,
			status = CASE WHEN status = 'queued' THEN 'failed' ELSE status END WHERE id = $3`,
			append([]any{userID, ErasedAddress, id}, toArgs...)...); err != nil {
			return nil, fmt.Errorf("mail: erase: %w", err)
		}
		if err := eraseContentTx(ctx, tx, id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// EraseMessagesTx erases the stored copies of messages ids, found by what
// they were about rather than by their recipient (the mail of a ticket
// whose content a retention erases): subject, bodies, attachments, the
// last error and the Message-IDs answered go, mail still queued is marked
// failed. With recipient, the
// address and name go too (mail to the person being forgotten); without,
// they stay (mail to staff that quoted that person). The rows stay, as in
// EraseRecipientTx. The spooled copies are ScrubSpool's.
func EraseMessagesTx(ctx context.Context, tx *sql.Tx, ids []string, recipient bool) error {
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM outgoing_mail_attachments WHERE mail_id = $1`, id); err != nil {
			return fmt.Errorf("mail: erase: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outgoing_mail SET
			to_addr = CASE WHEN $1 THEN $2 ELSE to_addr END, to_name = CASE WHEN $1 THEN '' ELSE to_name END,
			last_error = '', in_reply_to = '', list_unsubscribe = NULL,
			status = CASE WHEN status = 'queued' THEN 'failed' ELSE status END WHERE id = $3`,
			recipient, ErasedAddress, id); err != nil {
			return fmt.Errorf("mail: erase: %w", err)
		}
		if err := eraseContentTx(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

// eraseContentTx blanks a message's subject, bodies and References.
func eraseContentTx(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE outgoing_mail_content SET subject = 'erased', text_body = '', html_body = '', refs = ''
		WHERE content_id = (SELECT content_id FROM outgoing_mail WHERE id = $1)`, id); err != nil {
		return fmt.Errorf("mail: erase content: %w", err)
	}
	return nil
}

// KindSLAWarning is the kind of the staff's email about a ticket due soon
// (internal/desk), the staff mail that SLAWarningsMentioningTx finds.
const KindSLAWarning = "ticket_sla_warning"

// slaWarningsQuery is SLAWarningsMentioningTx's query, with until when
// withUntil. The kind is written in it, not passed: the index that bounds
// what it reads, outgoing_mail_sla_warnings (created_at), holds only these
// messages (WHERE kind = 'ticket_sla_warning'), so that the far more
// numerous others (every checkout's confirmation) are not written into it,
// and a partial index serves a query only when the query names its kind.
func slaWarningsQuery(withUntil bool) string {
	q := `SELECT id FROM outgoing_mail m JOIN outgoing_mail_content c ON c.content_id = m.content_id
		WHERE kind = '` + KindSLAWarning + `' AND created_at >= $1 AND text_body LIKE $2 ESCAPE $3`
	if withUntil {
		q += ` AND created_at <= $4`
	}
	return q + ` ORDER BY created_at, id`
}

// SLAWarningsMentioningTx returns the ids of the SLA warnings created from
// since on (and until, when not zero) whose text names ref, literally (see
// MentioningTx): the staff mail about one ticket, found by its reference.
func SLAWarningsMentioningTx(ctx context.Context, q db.Querier, ref string, since, until time.Time) ([]string, error) {
	args := []any{since.UTC(), "%" + db.EscapeLike(ref) + "%", db.LikeEscape}
	if !until.IsZero() {
		args = append(args, until.UTC())
	}
	ids, err := db.Strings(ctx, q, slaWarningsQuery(!until.IsZero()), args...)
	if err != nil {
		return nil, fmt.Errorf("mail mentioning %s: %w", ref, err)
	}
	return ids, nil
}

// ScrubSpool removes the spooled files of messages ids from the data
// directory's mail spool, overwriting each with zeros first so that a copy
// of the bytes is not left for the next file to reuse. A missing file is
// not an error: scrubbing twice is scrubbing once.
func ScrubSpool(dataDir string, ids []string) error {
	dir := SpoolDir(dataDir)
	for _, id := range ids {
		p := filepath.Join(dir, filepath.Base(id)+".eml")
		if err := zeroAndRemove(p); err != nil {
			return err
		}
	}
	return nil
}

func zeroAndRemove(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mail spool: %w", err)
	}
	st, err := f.Stat()
	if err == nil {
		_, err = f.Write(make([]byte, st.Size()))
	}
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		return fmt.Errorf("mail spool: %w", err)
	}
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("mail spool: %w", err)
	}
	return nil
}
