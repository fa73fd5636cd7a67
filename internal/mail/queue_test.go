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

// queueRows returns the ids in outgoing_mail_queue, sorted, with their
// batch ("" for none).
func queueRows(t *testing.T, d *db.DB) map[string]string {
	t.Helper()
	rows, err := d.Read.QueryContext(context.Background(), `SELECT mail_id, COALESCE(batch, '') FROM outgoing_mail_queue`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, batch string
		if err := rows.Scan(&id, &batch); err != nil {
			t.Fatal(err)
		}
		out[id] = batch
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A message is in the queue from the transaction that stores it until its
// outcome: sent, refused for good, or its recipient erased. Nothing that is
// no longer to be sent stays there for a dispatcher or a job to find.
func TestMessageLeavesTheQueueWithItsOutcome(t *testing.T) {
	ctx := context.Background()
	d, clk, o := outboxOnly(t)
	r := startRelay(t, "127.0.0.1:0", rejecting("nobody@example.net"))
	w := mail.NewWorker(d, smtpSender(t, r), clk, nil).Batches()
	ids, batch := queueBatch(t, d, o, "a@example.net", "nobody@example.net", "gone@example.net")
	waiting := enqueue(t, d, o, plainMessage("later@example.net"))
	if got := queueRows(t, d); len(got) != 4 || got[ids[0]] != batch || got[waiting] != "" {
		t.Fatalf("queue before sending: %v", got)
	}

	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		_, err := mail.EraseRecipientTx(ctx, tx, "", "gone@example.net")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.Work(ctx, batchJob(batch, 1, 25)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recipients(r), " "); got != "a@example.net" {
		t.Fatalf("relay received for %q", got)
	}
	for i, want := range []mail.Status{mail.Sent, mail.Failed, mail.Failed} {
		if s := get(t, o, ids[i]); s.Status != want {
			t.Fatalf("message %d: %s, want %s", i, s.Status, want)
		}
	}
	if got := queueRows(t, d); len(got) != 1 || got[waiting] != "" {
		t.Fatalf("queue after the batch: %v, want only the undispatched %s", got, waiting)
	}

	// The rule is the database's, whoever changes the status.
	if _, err := d.Write.ExecContext(ctx, `UPDATE outgoing_mail SET status = 'failed' WHERE id = $1`, waiting); err != nil {
		t.Fatal(err)
	}
	if got := queueRows(t, d); len(got) != 0 {
		t.Fatalf("queue after the last message failed: %v", got)
	}
	if n, err := o.DispatchPending(ctx); err != nil || n != 0 {
		t.Fatalf("DispatchPending = %d, %v; nothing is left to send", n, err)
	}
}

// Messages queued by the version before the queue table keep their place
// through the migration: not yet dispatched, or in their batch. One
// dispatched with a job of its own (before batches), one sent and one
// failed have nothing left in the queue.
func TestMigrationKeepsQueuedMessagesQueued(t *testing.T) {
	ctx := context.Background()
	d := dbtest.OpenMigratedTo(t, 31)
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	insert := func(id, status string, dispatched bool, batch any) {
		t.Helper()
		var sentAt any
		if status == "sent" {
			sentAt = at
		}
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO outgoing_mail (id, kind, from_addr, to_addr, subject, text_body,
			message_id, status, created_at, sent_at, dispatched, batch)
			VALUES ($1, 'test', 'shop@example.com', 'a@example.net', 'Hi', 'Hello', $2, $3, $4, $5, $6, $7)`,
			id, "<"+id+"@example.com>", status, at, sentAt, dispatched, batch); err != nil {
			t.Fatal(err)
		}
	}
	insert("msg_waiting", "queued", false, nil)
	insert("msg_batched", "queued", true, "mlb_1")
	insert("msg_own_job", "queued", true, nil)
	insert("msg_sent", "sent", true, "mlb_1")
	insert("msg_failed", "failed", true, "mlb_1")
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got := queueRows(t, d)
	if len(got) != 2 || got["msg_waiting"] != "" || got["msg_batched"] != "mlb_1" {
		t.Fatalf("queue after the migration: %v, want msg_waiting undispatched and msg_batched in mlb_1", got)
	}
	var queuedAt time.Time
	if err := d.Read.QueryRowContext(ctx, `SELECT queued_at FROM outgoing_mail_queue WHERE mail_id = 'msg_waiting'`).Scan(&queuedAt); err != nil || !queuedAt.Equal(at) {
		t.Fatalf("queued_at %v (%v), want the message's created_at %v", queuedAt, err, at)
	}
}
