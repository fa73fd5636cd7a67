package mail_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/mail"
)

// A message's subject and bodies are written once, beside its row: the
// status changes that follow (dispatch, sent, failed) rewrite a row small
// enough to share its page with many others (issue #9). Sixteen order
// confirmations of some 2 kB each filled seventeen pages of outgoing_mail
// on SQLite (a row per 4 kB page). PostgreSQL's TOAST already compressed
// such rows (or moved their bodies out of line): there the test checks that
// the content reads back.
func TestMessageRowsShareTheirPages(t *testing.T) {
	ctx := context.Background()
	d, _, o := outboxOnly(t)
	body := strings.Repeat("Votre commande ord_0123456789 est confirmée. ", 45) // ~2 kB, as a confirmation
	for range 16 {
		m := plainMessage("buyer@example.net")
		m.Kind, m.Text = "order_confirmation", body
		enqueue(t, d, o, m)
	}
	if d.Engine == db.SQLite {
		var pages int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM dbstat WHERE name = 'outgoing_mail'`).Scan(&pages); err != nil {
			t.Fatal(err)
		}
		if pages > 1 {
			t.Errorf("16 messages take %d pages of outgoing_mail, want 1", pages)
		}
	}
	// Their content is all there, each message's own.
	got, err := o.List(ctx, mail.Filter{Kind: "order_confirmation"})
	if err != nil || len(got) != 16 {
		t.Fatalf("List: %d messages, %v", len(got), err)
	}
	for _, s := range got {
		if s.Text != body || s.Subject != "Welcome" {
			t.Fatalf("message %s read back with subject %q and %d bytes of text", s.ID, s.Subject, len(s.Text))
		}
	}
}

// Migration 0057 moves the subject, bodies and References of the messages
// already stored to outgoing_mail_content: each reads back as it was, can
// still be sent, found by its text and erased, and none is left behind in
// outgoing_mail.
func TestMigrationMovesMailContent(t *testing.T) {
	ctx := context.Background()
	d := dbtest.OpenMigratedTo(t, 56)
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	insert := func(id, to, subject, text, html, refs, status string) {
		t.Helper()
		var sentAt any
		if status == "sent" {
			sentAt = at
		}
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO outgoing_mail (id, kind, user_id, from_addr, to_addr, lang, subject, text_body,
			html_body, in_reply_to, refs, message_id, status, attempts, created_at, sent_at)
			VALUES ($1, 'ticket_reply', 'usr_1', 'shop@example.com', $2, 'fr', $3, $4, $5, '<a@x>', $6, $7, $8, 1, $9, $10)`,
			id, to, subject, text, html, refs, "<"+id+"@example.com>", status, at, sentAt); err != nil {
			t.Fatal(err)
		}
	}
	insert("msg_01", "ana@example.net", "Votre ticket", "Bonjour Ana, ticket TKT-1.\n", "<p>Bonjour Ana</p>", "<a@x> <b@x>", "sent")
	insert("msg_02", "bob@example.net", "Your ticket", "Hello Bob, ticket TKT-2.\n", "", "", "queued")
	if _, err := d.Write.ExecContext(ctx, `INSERT INTO outgoing_mail_queue (mail_id, queued_at) VALUES ('msg_02', $1)`, at); err != nil {
		t.Fatal(err)
	}
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	o, err := mail.NewOutbox(d, nil, nil, from)
	if err != nil {
		t.Fatal(err)
	}
	ana, err := o.Get(ctx, "msg_01")
	if err != nil {
		t.Fatal(err)
	}
	if ana.Subject != "Votre ticket" || ana.Text != "Bonjour Ana, ticket TKT-1.\n" || ana.HTML != "<p>Bonjour Ana</p>" ||
		strings.Join(ana.References, " ") != "<a@x> <b@x>" || ana.InReplyTo != "<a@x>" || ana.Status != mail.Sent ||
		!ana.SentAt.Equal(at) || ana.To != "ana@example.net" || ana.Attempts != 1 {
		t.Fatalf("msg_01 after the migration: %+v", ana)
	}
	if bob, err := o.GetByMessageID(ctx, "<msg_02@example.com>"); err != nil || bob.Subject != "Your ticket" || bob.Text != "Hello Bob, ticket TKT-2.\n" || bob.Status != mail.Queued {
		t.Fatalf("msg_02 after the migration: %+v, %v", bob, err)
	}
	if all, err := o.List(ctx, mail.Filter{UserID: "usr_1"}); err != nil || len(all) != 2 {
		t.Fatalf("List after the migration: %d messages, %v", len(all), err)
	}
	for _, col := range []string{"subject", "text_body", "html_body", "refs"} {
		var n int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(`+col+`) FROM outgoing_mail`).Scan(&n); err == nil {
			t.Errorf("outgoing_mail still has %s", col)
		}
	}

	// Erasing Bob, found by his address in the text as well, blanks his
	// message's content and leaves Ana's.
	var ids []string
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		ids, err = mail.EraseRecipientTx(ctx, tx, "", "bob@example.net")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != "msg_02" {
		t.Fatalf("erased %v, want msg_02", ids)
	}
	bob, err := o.Get(ctx, "msg_02")
	if err != nil || bob.Subject != "erased" || bob.Text != "" || bob.HTML != "" || len(bob.References) != 0 ||
		bob.To != mail.ErasedAddress || bob.Status != mail.Failed {
		t.Fatalf("msg_02 after its erasure: %+v, %v", bob, err)
	}
	var left int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outgoing_mail_content WHERE text_body LIKE '%Bob%'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d messages still name Bob (%v)", left, err)
	}
	if ana, err := o.Get(ctx, "msg_01"); err != nil || ana.Text != "Bonjour Ana, ticket TKT-1.\n" {
		t.Fatalf("msg_01 after Bob's erasure: %+v, %v", ana, err)
	}
}

// A message names content of its own, which must exist and which it
// keeps: a missing, unknown or already used content_id is refused, and so
// is changing it.
func TestMessageNeedsItsContent(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	content := func() int64 {
		t.Helper()
		var id int64
		if err := d.Write.QueryRowContext(ctx, `INSERT INTO outgoing_mail_content (subject, text_body) VALUES ('Hi', 'Hello')
			RETURNING content_id`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	insert := func(id string, content any) error {
		_, err := d.Write.ExecContext(ctx, `INSERT INTO outgoing_mail (id, kind, from_addr, to_addr, message_id, created_at, content_id)
			VALUES ($1, 'test', 'shop@example.com', 'a@example.net', $2, $3, $4)`, id, "<"+id+"@example.com>", start, content)
		return err
	}
	first, second := content(), content()
	if err := insert("msg_1", first); err != nil {
		t.Fatal(err)
	}
	for _, c := range []any{nil, second + 1000, first} {
		if err := insert("msg_2", c); err == nil {
			t.Errorf("a message with content_id %v was stored", c)
		}
	}
	if _, err := d.Write.ExecContext(ctx, `UPDATE outgoing_mail SET content_id = $1 WHERE id = 'msg_1'`, second); err == nil {
		t.Error("a message changed its content")
	}
	if err := insert("msg_2", second); err != nil {
		t.Fatalf("a message with content of its own: %v", err)
	}
	var n int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outgoing_mail WHERE content_id IN ($1, $2)`, first, second).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d messages with their content (%v), want 2", n, err)
	}
}
