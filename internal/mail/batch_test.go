package mail_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/mail"
)

// batchJob is what River would hand the batch worker on the given attempt.
func batchJob(batch string, attempt, maxAttempts int) *river.Job[mail.SendBatchArgs] {
	return &river.Job[mail.SendBatchArgs]{
		JobRow: &rivertype.JobRow{ID: 1, Kind: "mail.send_batch", Attempt: attempt, MaxAttempts: maxAttempts},
		Args:   mail.SendBatchArgs{Batch: batch},
	}
}

// queueBatch queues one message per address and dispatches them, and
// returns the message ids in order and their batch.
func queueBatch(t *testing.T, d *db.DB, o *mail.Outbox, addrs ...string) ([]string, string) {
	t.Helper()
	var ids []string
	for _, a := range addrs {
		ids = append(ids, enqueue(t, d, o, plainMessage(a)))
	}
	if n, err := o.DispatchPending(context.Background()); err != nil || n != len(addrs) {
		t.Fatalf("DispatchPending = %d, %v", n, err)
	}
	batches, err := db.Strings(context.Background(), d.Read, `SELECT DISTINCT batch FROM outgoing_mail`)
	if err != nil || len(batches) != 1 {
		t.Fatalf("batches %v, %v; want one", batches, err)
	}
	return ids, batches[0]
}

func recipients(r *relay) []string {
	var out []string
	for _, e := range r.received() {
		out = append(out, e.To...)
	}
	return out
}

// A batch sends each of its messages once, in the order queued; running
// the job again (at-least-once) sends nothing more.
func TestBatchSendsEachMessageOnce(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	r := startRelay(t, "127.0.0.1:0")
	w := mail.NewWorker(d, smtpSender(t, r), clk, nil).Batches()
	ids, batch := queueBatch(t, d, o, "a@example.net", "b@example.net", "c@example.net")

	for attempt := 1; attempt <= 2; attempt++ {
		if err := w.Work(ctx, batchJob(batch, attempt, 25)); err != nil {
			t.Fatalf("run %d: %v", attempt, err)
		}
	}
	if got := strings.Join(recipients(r), " "); got != "a@example.net b@example.net c@example.net" {
		t.Fatalf("relay received for %q", got)
	}
	for _, id := range ids {
		if s := get(t, o, id); s.Status != mail.Sent || s.Attempts != 1 {
			t.Errorf("%s: status %s, attempts %d", id, s.Status, s.Attempts)
		}
	}
	// One connection for the batch (the second run found nothing queued).
	if n := r.connections.Load(); n != 1 {
		t.Errorf("%d connections to the relay for one batch, want 1", n)
	}
}

// With the relay down the attempt stops at the first message (the others
// would fail the same way) and is retried; the retry sends every message
// once. The job's error, which River keeps, does not quote the relay.
func TestBatchRelayDownRetriesTheBatch(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	r := startRelay(t, "127.0.0.1:0")
	port := r.port
	r.Close()
	w := mail.NewWorker(d, smtpSender(t, r), clk, nil).Batches()
	ids, batch := queueBatch(t, d, o, "a@example.net", "b@example.net")

	err := w.Work(ctx, batchJob(batch, 1, 25))
	var cancel *rivertype.JobCancelError
	if err == nil || errors.As(err, &cancel) {
		t.Fatalf("Work with the relay down = %v, want an error River retries", err)
	}
	if strings.Contains(err.Error(), "example.net") || strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("the job's error quotes the relay or a recipient: %v", err)
	}
	first, second := get(t, o, ids[0]), get(t, o, ids[1])
	if first.Status != mail.Queued || first.Attempts != 1 || first.LastError == "" || second.Status != mail.Queued || second.Attempts != 0 {
		t.Fatalf("after the failed attempt: %s/%d/%q, %s/%d", first.Status, first.Attempts, first.LastError, second.Status, second.Attempts)
	}

	back := startRelay(t, "127.0.0.1:"+strconv.Itoa(port))
	clk.Advance(time.Minute)
	if err := w.Work(ctx, batchJob(batch, 2, 25)); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := strings.Join(recipients(back), " "); got != "a@example.net b@example.net" {
		t.Fatalf("relay received for %q", got)
	}
	if s := get(t, o, ids[0]); s.Status != mail.Sent || s.Attempts != 2 {
		t.Errorf("first: status %s, attempts %d", s.Status, s.Attempts)
	}
	if s := get(t, o, ids[1]); s.Status != mail.Sent || s.Attempts != 1 {
		t.Errorf("second: status %s, attempts %d", s.Status, s.Attempts)
	}
}

// A recipient the relay refuses for good fails alone: the rest of the
// batch is sent and the job succeeds.
func TestBatchRefusedRecipientFailsAlone(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	r := startRelay(t, "127.0.0.1:0", rejecting("nobody@example.net"))
	w := mail.NewWorker(d, smtpSender(t, r), clk, nil).Batches()
	ids, batch := queueBatch(t, d, o, "a@example.net", "nobody@example.net", "c@example.net")

	if err := w.Work(ctx, batchJob(batch, 1, 25)); err != nil {
		t.Fatalf("Work = %v, want success (the refusal is recorded on its message)", err)
	}
	if got := strings.Join(recipients(r), " "); got != "a@example.net c@example.net" {
		t.Fatalf("relay received for %q", got)
	}
	if s := get(t, o, ids[1]); s.Status != mail.Failed || !strings.Contains(s.LastError, "550") {
		t.Fatalf("refused message: status %s, last_error %q", s.Status, s.LastError)
	}
	if get(t, o, ids[0]).Status != mail.Sent || get(t, o, ids[2]).Status != mail.Sent {
		t.Fatal("the other messages were not sent")
	}
	// The refusal did not cost the connection.
	if n := r.connections.Load(); n != 1 {
		t.Errorf("%d connections to the relay, want 1", n)
	}
}

// On the last attempt every message still queued gets its try, and those
// the relay did not take are marked failed; the error names them.
func TestBatchLastAttemptTriesEveryMessage(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	o := newOutbox(t, d, insertOnly(t, d), clk)
	r := startRelay(t, "127.0.0.1:0")
	r.Close()
	w := mail.NewWorker(d, smtpSender(t, r), clk, nil).Batches()
	ids, batch := queueBatch(t, d, o, "a@example.net", "b@example.net")

	err := w.Work(ctx, batchJob(batch, 3, 3))
	if err == nil || !strings.Contains(err.Error(), ids[0]) || !strings.Contains(err.Error(), ids[1]) {
		t.Fatalf("last attempt with the relay down = %v, want both messages named", err)
	}
	for _, id := range ids {
		if s := get(t, o, id); s.Status != mail.Failed || s.Attempts != 1 || s.LastError == "" {
			t.Errorf("%s after the last attempt: status %s, attempts %d, last_error %q", id, s.Status, s.Attempts, s.LastError)
		}
	}
}
