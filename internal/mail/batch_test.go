package mail_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/mail"
	"comptoir/internal/testwait"
)

// outboxOnly is a store whose outbox queues jobs that only the test works,
// by hand.
func outboxOnly(t *testing.T) (*db.DB, *clock.Manual, *mail.Outbox) {
	t.Helper()
	d := dbtest.Open(t)
	clk := clock.NewManual(start)
	return d, clk, newOutbox(t, d, insertOnly(t, d), clk)
}

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
	batches, err := db.Strings(context.Background(), d.Read, `SELECT DISTINCT batch FROM outgoing_mail_queue`)
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
	d, clk, o := outboxOnly(t)
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
	d, clk, o := outboxOnly(t)
	r := startRelay(t, stoppableAddr(t))
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
	d, clk, o := outboxOnly(t)
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
// the relay did not take are marked failed; the error counts them.
func TestBatchLastAttemptTriesEveryMessage(t *testing.T) {
	ctx := context.Background()
	d, clk, o := outboxOnly(t)
	r := startRelay(t, stoppableAddr(t))
	r.Close()
	w := mail.NewWorker(d, smtpSender(t, r), clk, nil).Batches()
	ids, batch := queueBatch(t, d, o, "a@example.net", "b@example.net")

	err := w.Work(ctx, batchJob(batch, 3, 3))
	if err == nil || !strings.Contains(err.Error(), "2 of 2") {
		t.Fatalf("last attempt with the relay down = %v, want both messages counted", err)
	}
	if strings.Contains(err.Error(), ids[0]) || strings.Contains(err.Error(), "example.net") {
		t.Errorf("the job's error names a message or an address: %v", err)
	}
	for _, id := range ids {
		if s := get(t, o, id); s.Status != mail.Failed || s.Attempts != 1 || s.LastError == "" {
			t.Errorf("%s after the last attempt: status %s, attempts %d, last_error %q", id, s.Status, s.Attempts, s.LastError)
		}
	}
}

// A recipient refused for now (451) holds back only its own message: the
// rest of the batch goes, and the retry sends it once the relay takes it.
func TestBatchDeferredRecipientWaitsAlone(t *testing.T) {
	ctx := context.Background()
	d, clk, o := outboxOnly(t)
	r := startRelay(t, "127.0.0.1:0", deferring("full@example.net"))
	w := mail.NewWorker(d, smtpSender(t, r), clk, nil).Batches()
	ids, batch := queueBatch(t, d, o, "full@example.net", "b@example.net", "c@example.net")

	err := w.Work(ctx, batchJob(batch, 1, 25))
	if err == nil || !strings.Contains(err.Error(), "1 of 3") {
		t.Fatalf("Work = %v, want the deferred message left for the retry", err)
	}
	if got := strings.Join(recipients(r), " "); got != "b@example.net c@example.net" {
		t.Fatalf("relay received for %q", got)
	}
	if s := get(t, o, ids[0]); s.Status != mail.Queued || s.Attempts != 1 || !strings.Contains(s.LastError, "451") {
		t.Fatalf("deferred message: status %s, attempts %d, last_error %q", s.Status, s.Attempts, s.LastError)
	}
	r.mu.Lock()
	r.deferRcpt = nil
	r.mu.Unlock()
	if err := w.Work(ctx, batchJob(batch, 2, 25)); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := strings.Join(recipients(r), " "); got != "b@example.net c@example.net full@example.net" {
		t.Fatalf("relay received for %q", got)
	}
}

// A message whose attachment cannot be drawn waits alone too, and goes
// without it on the last attempt (its text links the document).
func TestBatchUndrawableAttachmentWaitsAlone(t *testing.T) {
	ctx := context.Background()
	d, clk, o := outboxOnly(t)
	r := startRelay(t, "127.0.0.1:0")
	w := mail.NewWorker(d, smtpSender(t, r), clk, nil).Batches() // no renderer for "invoice"
	bad := plainMessage("a@example.net")
	bad.Attachments = []mail.Attachment{{Filename: "x.pdf", ContentType: "application/pdf", Source: "invoice:inv_1"}}
	badID := enqueue(t, d, o, bad)
	okID := enqueue(t, d, o, plainMessage("b@example.net"))
	if _, err := o.DispatchPending(ctx); err != nil {
		t.Fatal(err)
	}
	var batch string
	if err := d.Read.QueryRowContext(ctx, `SELECT batch FROM outgoing_mail_queue WHERE mail_id = $1`, badID).Scan(&batch); err != nil {
		t.Fatal(err)
	}
	if err := w.Work(ctx, batchJob(batch, 1, 25)); err == nil {
		t.Fatal("Work succeeded with a message it could not draw")
	}
	if s := get(t, o, okID); s.Status != mail.Sent {
		t.Fatalf("the message after the undrawable one: %s", s.Status)
	}
	if s := get(t, o, badID); s.Status != mail.Queued || s.Attempts != 1 || !strings.Contains(s.LastError, "renderer") {
		t.Fatalf("undrawable message: status %s, attempts %d, last_error %q", s.Status, s.Attempts, s.LastError)
	}
	if err := w.Work(ctx, batchJob(batch, 25, 25)); err != nil {
		t.Fatalf("last attempt: %v", err)
	}
	if s := get(t, o, badID); s.Status != mail.Sent {
		t.Fatalf("undrawable message after the last attempt: %s", s.Status)
	}
	if got := strings.Join(recipients(r), " "); got != "b@example.net a@example.net" {
		t.Fatalf("relay received for %q", got)
	}
}

// cancellingSender ends the attempt's context at the first message, as
// River's job timeout does.
type cancellingSender struct{ cancel context.CancelFunc }

func (c cancellingSender) Send(ctx context.Context, m mail.Stored) error {
	c.cancel()
	return ctx.Err()
}

// A last attempt that runs out of time leaves nothing queued: what it did
// not get to is marked failed, for someone to see.
func TestBatchLastAttemptOutOfTimeFailsTheRest(t *testing.T) {
	d, clk, o := outboxOnly(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := mail.NewWorker(d, cancellingSender{cancel}, clk, nil).Batches()
	ids, batch := queueBatch(t, d, o, "a@example.net", "b@example.net", "c@example.net")

	if err := w.Work(ctx, batchJob(batch, 25, 25)); err == nil || !strings.Contains(err.Error(), "3 of 3") {
		t.Fatalf("Work = %v, want all three counted", err)
	}
	for _, id := range ids {
		if s := get(t, o, id); s.Status != mail.Failed || s.LastError == "" {
			t.Errorf("%s after the last attempt: status %s, last_error %q", id, s.Status, s.LastError)
		}
	}
}

// rawRelay speaks just enough SMTP to take messages and records the
// commands it was sent (their verbs). With hangUp it hangs up on the client
// after it took a message: at once (hangUpAfterTaking), so that whatever
// the client says next fails; or when the client next speaks
// (hangUpWhenIdle), as a relay that closed an idle connection meanwhile.
// It counts what it accepted.
type rawRelay struct {
	port     int
	accepted atomic.Int64
	mu       sync.Mutex
	verbs    []string
}

type hangUp int

const (
	neverHangUp hangUp = iota
	hangUpAfterTaking
	hangUpWhenIdle
)

func (r *rawRelay) commands() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.verbs, " ")
}

func startRawRelay(t *testing.T, mode hangUp) *rawRelay {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	r := &rawRelay{port: l.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go r.serve(c, mode)
		}
	}()
	return r
}

func (r *rawRelay) serve(c net.Conn, mode hangUp) {
	defer c.Close()
	in := bufio.NewReader(c)
	fmt.Fprint(c, "220 fake ESMTP\r\n")
	took := false
	for {
		line, err := in.ReadString('\n')
		if err != nil || took && mode == hangUpWhenIdle {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		verb, _, _ := strings.Cut(cmd, " ")
		r.mu.Lock()
		r.verbs = append(r.verbs, verb)
		r.mu.Unlock()
		switch verb {
		case "EHLO", "HELO":
			fmt.Fprint(c, "250 fake\r\n")
		case "DATA":
			fmt.Fprint(c, "354 go on\r\n")
			for {
				l, err := in.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			r.accepted.Add(1)
			fmt.Fprint(c, "250 queued\r\n")
			if mode == hangUpAfterTaking {
				return
			}
			took = true
		case "QUIT":
			fmt.Fprint(c, "221 bye\r\n")
			return
		default: // MAIL, RCPT, NOOP, RSET
			fmt.Fprint(c, "250 ok\r\n")
		}
	}
}

// A batch's messages go one after the other on one connection with three
// commands each (MAIL, RCPT, DATA): no NOOP to probe the connection and no
// RSET after a message the relay took (its 250 ends the transaction), which
// would be two more round trips to the relay per message.
func TestBatchSendsThreeCommandsPerMessage(t *testing.T) {
	ctx := context.Background()
	d, clk, o := outboxOnly(t)
	relay := startRawRelay(t, neverHangUp)
	s, err := mail.NewSMTPSender(mail.SMTPConfig{Host: "127.0.0.1", Port: relay.port, TLS: mail.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, batch := queueBatch(t, d, o, "a@example.net", "b@example.net", "c@example.net")
	if err := mail.NewWorker(d, s, clk, nil).Batches().Work(ctx, batchJob(batch, 1, 25)); err != nil {
		t.Fatal(err)
	}
	want := "EHLO" + strings.Repeat(" MAIL RCPT DATA", 3) + " QUIT"
	testwait.Until(t, "the session to end", func() bool { return strings.HasSuffix(relay.commands(), "QUIT") })
	if got := relay.commands(); got != want || relay.accepted.Load() != 3 {
		t.Fatalf("relay was sent %q (%d messages), want %q", got, relay.accepted.Load(), want)
	}
}

// A relay that accepted a message and then dropped the connection took
// the message: it is marked sent and never sent again, by a batch's
// session or by the one-message path.
func TestAcceptedThenDroppedCountsAsSent(t *testing.T) {
	ctx := context.Background()
	d, clk, o := outboxOnly(t)
	relay := startRawRelay(t, hangUpAfterTaking)
	accepted := &relay.accepted
	s, err := mail.NewSMTPSender(mail.SMTPConfig{Host: "127.0.0.1", Port: relay.port, TLS: mail.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ids, batch := queueBatch(t, d, o, "a@example.net", "b@example.net")
	w := mail.NewWorker(d, s, clk, nil)
	for attempt := 1; attempt <= 2; attempt++ {
		if err := w.Batches().Work(ctx, batchJob(batch, attempt, 25)); err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
	}
	if n := accepted.Load(); n != 2 {
		t.Fatalf("relay accepted %d messages for 2 queued", n)
	}
	for _, id := range ids {
		if m := get(t, o, id); m.Status != mail.Sent || m.Attempts != 1 {
			t.Errorf("%s: status %s, attempts %d, last_error %q", id, m.Status, m.Attempts, m.LastError)
		}
	}
	one := enqueue(t, d, o, plainMessage("c@example.net"))
	for attempt := 1; attempt <= 2; attempt++ {
		if err := w.Work(ctx, job(one, attempt, 25)); err != nil {
			t.Fatalf("one message, attempt %d: %v", attempt, err)
		}
	}
	if n := accepted.Load(); n != 3 {
		t.Fatalf("relay accepted %d messages for 3 queued", n)
	}
}

// A batch whose job is gone (cancelled by hand, given up after a crash)
// gives its messages back to the dispatcher, once they are old enough that
// the job cannot be on its way; a batch whose job waits keeps them.
func TestOrphanBatchIsDispatchedAgain(t *testing.T) {
	ctx := context.Background()
	d, clk, o := outboxOnly(t)
	ids, batch := queueBatch(t, d, o, "a@example.net", "b@example.net")
	kept := queueAnotherBatch(t, d, o, batch, "c@example.net")

	clk.Advance(time.Hour)
	if n, err := o.RequeueOrphans(ctx); err != nil || n != 0 {
		t.Fatalf("RequeueOrphans with every job waiting = %d, %v", n, err)
	}
	if _, err := d.Write.ExecContext(ctx, `DELETE FROM river_job WHERE `+batchArg(d)+` = $1`, batch); err != nil {
		t.Fatal(err)
	}
	if n, err := o.RequeueOrphans(ctx); err != nil || n != 2 {
		t.Fatalf("RequeueOrphans after the job went = %d, %v; want its 2 messages", n, err)
	}
	if n, err := o.DispatchPending(ctx); err != nil || n != 2 {
		t.Fatalf("DispatchPending = %d, %v", n, err)
	}
	var again string
	if err := d.Read.QueryRowContext(ctx, `SELECT batch FROM outgoing_mail_queue WHERE mail_id = $1`, ids[0]).Scan(&again); err != nil || again == batch || again == "" {
		t.Fatalf("new batch %q (%v), old %q", again, err, batch)
	}
	var jobs int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE `+batchArg(d)+` = $1`, again).Scan(&jobs); err != nil || jobs != 1 {
		t.Fatalf("%d jobs for the new batch (%v)", jobs, err)
	}
	var still string
	if err := d.Read.QueryRowContext(ctx, `SELECT batch FROM outgoing_mail_queue WHERE mail_id = $1`, kept).Scan(&still); err != nil || still == again || still == batch {
		t.Fatalf("the other batch's message moved: %q (%v)", still, err)
	}
}

// queueAnotherBatch queues a message to addr and dispatches it, in a batch
// of its own (not first's), and returns its id.
func queueAnotherBatch(t *testing.T, d *db.DB, o *mail.Outbox, first, addr string) string {
	t.Helper()
	id := enqueue(t, d, o, plainMessage(addr))
	if n, err := o.DispatchPending(context.Background()); err != nil || n != 1 {
		t.Fatalf("DispatchPending = %d, %v", n, err)
	}
	var batch string
	if err := d.Read.QueryRowContext(context.Background(), `SELECT batch FROM outgoing_mail_queue WHERE mail_id = $1`, id).Scan(&batch); err != nil || batch == first {
		t.Fatalf("batch %q, %v", batch, err)
	}
	return id
}

func batchArg(d *db.DB) string {
	if d.Engine == db.Postgres {
		return `args->>'batch'`
	}
	return `json_extract(args, '$.batch')`
}

// A batch's connection that the relay closed while idle is found dead
// before the next message is sent: the session connects again and sends
// it at once, in the same attempt, once.
func TestBatchReconnectsAfterAnIdleHangUp(t *testing.T) {
	ctx := context.Background()
	d, clk, o := outboxOnly(t)
	relay := startRawRelay(t, hangUpWhenIdle)
	accepted := &relay.accepted
	s, err := mail.NewSMTPSender(mail.SMTPConfig{Host: "127.0.0.1", Port: relay.port, TLS: mail.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ids, batch := queueBatch(t, d, o, "a@example.net", "b@example.net", "c@example.net")
	if err := mail.NewWorker(d, s, clk, nil).Batches().Work(ctx, batchJob(batch, 1, 25)); err != nil {
		t.Fatalf("Work: %v", err)
	}
	if n := accepted.Load(); n != 3 {
		t.Fatalf("relay accepted %d messages for 3 queued", n)
	}
	for _, id := range ids {
		if m := get(t, o, id); m.Status != mail.Sent || m.Attempts != 1 {
			t.Errorf("%s: status %s, attempts %d, last_error %q", id, m.Status, m.Attempts, m.LastError)
		}
	}
}

// A batch reads its messages and their attachments at once: each message
// leaves with its own attachments, stored or drawn when sent, and none
// with another's.
func TestBatchMessagesKeepTheirAttachments(t *testing.T) {
	ctx := context.Background()
	d, clk, o := outboxOnly(t)
	r := startRelay(t, "127.0.0.1:0")
	wk := mail.NewWorker(d, smtpSender(t, r), clk, nil)
	wk.RenderAttachments("doc", func(_ context.Context, ref string) (mail.Drawn, error) {
		return mail.Drawn{Data: []byte("drawn " + ref)}, nil
	})
	stored := plainMessage("a@example.net")
	stored.Attachments = []mail.Attachment{{Filename: "a.txt", ContentType: "text/plain", Data: []byte("stored for a")}}
	drawn := plainMessage("c@example.net")
	drawn.Attachments = []mail.Attachment{{Filename: "c1.txt", ContentType: "text/plain", Source: "doc:c-one"},
		{Filename: "c2.txt", ContentType: "text/plain", Data: []byte("stored for c")}}
	for _, m := range []mail.Message{stored, plainMessage("b@example.net"), drawn} {
		enqueue(t, d, o, m)
	}
	if _, err := o.DispatchPending(ctx); err != nil {
		t.Fatal(err)
	}
	batch, err := db.Strings(ctx, d.Read, `SELECT DISTINCT batch FROM outgoing_mail_queue`)
	if err != nil || len(batch) != 1 {
		t.Fatalf("batches %v, %v", batch, err)
	}
	if err := wk.Batches().Work(ctx, batchJob(batch[0], 1, 25)); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"a@example.net": {"a.txt", "stored for a"},
		"b@example.net": nil,
		"c@example.net": {"c1.txt", "drawn c-one", "c2.txt", "stored for c"},
	}
	all := []string{"a.txt", "stored for a", "c1.txt", "drawn c-one", "c2.txt", "stored for c"}
	got := r.received()
	if len(got) != 3 {
		t.Fatalf("%d messages received, want 3", len(got))
	}
	for _, e := range got {
		for _, s := range all {
			// File names are in the headers as they are; contents are in
			// base64, on one line at these lengths.
			has := strings.Contains(string(e.Data), `"`+s+`"`) || strings.Contains(string(e.Data), base64.StdEncoding.EncodeToString([]byte(s)))
			if wanted := slices.Contains(want[e.To[0]], s); has != wanted {
				t.Errorf("message to %s: has %q = %v, want %v", e.To[0], s, has, wanted)
			}
		}
	}
}

// The marks of several messages sent are recorded together: each queued
// one becomes sent, at its own time, its attempt counted, and leaves the
// queue; one no longer queued (failed meanwhile) is left as it was. On
// PostgreSQL that is one statement, one round trip, rather than a
// transaction of one UPDATE each (issue #9).
func TestMarkSentRecordsABatchInOneStatement(t *testing.T) {
	ctx := context.Background()
	d, clk, o := outboxOnly(t)
	w := mail.NewWorker(d, nil, clk, nil)
	ids, _ := queueBatch(t, d, o, "a@example.net", "b@example.net", "c@example.net", "d@example.net")
	if _, err := d.Exec(ctx, `UPDATE outgoing_mail SET status = 'failed', last_error = 'refused' WHERE id = $1`, ids[2]); err != nil {
		t.Fatal(err)
	}
	var rt db.RoundTrips
	at := start.Add(time.Hour)
	if err := w.MarkSent(db.CountRoundTrips(ctx, &rt), ids, at); err != nil {
		t.Fatal(err)
	}
	if d.Engine == db.Postgres && rt.Load() != 1 {
		t.Errorf("marking %d messages sent took %d round trips, want 1", len(ids), rt.Load())
	}
	for i, id := range ids {
		s := get(t, o, id)
		if i == 2 {
			if s.Status != mail.Failed || s.Attempts != 0 || !s.SentAt.IsZero() {
				t.Errorf("%s, failed before the mark: %s, attempts %d, sent at %v", id, s.Status, s.Attempts, s.SentAt)
			}
			continue
		}
		if want := at.Add(time.Duration(i) * time.Second); s.Status != mail.Sent || s.Attempts != 1 || !s.SentAt.Equal(want) {
			t.Errorf("%s: %s, attempts %d, sent at %v, want sent once at %v", id, s.Status, s.Attempts, s.SentAt, want)
		}
	}
	if n, err := db.Strings(ctx, d.Read, `SELECT mail_id FROM outgoing_mail_queue`); err != nil || len(n) != 0 {
		t.Errorf("still queued: %v %v", n, err)
	}
}

// A message with attachments is stored, on PostgreSQL, in one statement
// with its place in the queue and its attachments (each a round trip of
// its own before, issue #9): read back, every attachment is there, in
// order, with its bytes or its source; EnqueueTx and AppendTx store the
// same. A failing attachment stores nothing of the message.
func TestEnqueueStoresAttachmentsWithTheMessage(t *testing.T) {
	ctx := context.Background()
	d, _, o := outboxOnly(t)
	m := plainMessage("a@example.net")
	m.Attachments = []mail.Attachment{{Filename: "one.txt", ContentType: "text/plain", Data: []byte("first")},
		{Filename: "two.pdf", ContentType: "application/pdf", Source: "doc:two"},
		{Filename: "three.txt", ContentType: "text/plain", Data: []byte{}}}
	for _, appended := range []bool{false, true} {
		var rt db.RoundTrips
		var id string
		cctx := db.CountRoundTrips(ctx, &rt)
		err := d.Tx(cctx, func(tx *sql.Tx) (err error) {
			if appended {
				id, err = o.AppendTx(cctx, tx, m)
			} else {
				id, err = o.EnqueueTx(cctx, tx, m)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// BEGIN, the statement, COMMIT.
		if d.Engine == db.Postgres && rt.Load() != 3 {
			t.Errorf("appended %v: %d round trips to store a message with 3 attachments, want 3", appended, rt.Load())
		}
		s := get(t, o, id)
		if s.Status != mail.Queued || len(s.Attachments) != 3 {
			t.Fatalf("appended %v: %s with %d attachments", appended, s.Status, len(s.Attachments))
		}
		for i, a := range s.Attachments {
			w := m.Attachments[i]
			if a.Filename != w.Filename || a.ContentType != w.ContentType || string(a.Data) != string(w.Data) || a.Source != w.Source {
				t.Errorf("appended %v: attachment %d = %+v, want %+v", appended, i+1, a, w)
			}
		}
		if queued, err := db.Strings(ctx, d.Read, `SELECT mail_id FROM outgoing_mail_queue WHERE mail_id = $1`, id); err != nil || len(queued) != 1 {
			t.Errorf("appended %v: queued %v %v", appended, queued, err)
		}
	}

	var before int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outgoing_mail`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	// Two attachments at the same position: the second breaks the
	// attachments' key.
	bad := m
	bad.To = "b@example.net"
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := o.EnqueueTx(ctx, tx, bad); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO outgoing_mail_attachments (mail_id, position, filename, content_type, content, source)
			SELECT id, 1, 'x.txt', 'text/plain', ''::bytea, '' FROM outgoing_mail WHERE to_addr = 'b@example.net'`)
		return err
	})
	if err == nil {
		t.Fatal("a message with two attachments at one position was stored")
	}
	var after int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outgoing_mail`).Scan(&after); err != nil || after != before {
		t.Fatalf("%d messages after the failed transaction, want %d (%v)", after, before, err)
	}
}

// The dispatcher pauses after a pass that dispatched messages (issue #9):
// what is queued meanwhile waits for the pause to end and goes in one
// batch, one job, rather than a batch per pass run back to back. A message
// queued after a quiet moment is dispatched at once, with no pause first.
func TestDispatcherGathersMessagesAfterAPass(t *testing.T) {
	ctx := context.Background()
	d, _, o := outboxOnly(t)
	paused, resume := make(chan struct{}, 1), make(chan struct{})
	o.GatherWith(func(ctx context.Context) {
		select {
		case paused <- struct{}{}:
		default:
		}
		select {
		case <-resume:
		case <-ctx.Done():
		}
	})
	dispatching(t, o)
	batchOf := func(id string) string {
		var b sql.NullString
		if err := d.Read.QueryRowContext(ctx, `SELECT batch FROM outgoing_mail_queue WHERE mail_id = $1`, id).Scan(&b); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return b.String
	}

	first := enqueue(t, d, o, plainMessage("a@example.net"))
	testwait.Until(t, "the first message dispatched at once", func() bool { return batchOf(first) != "" })
	select {
	case <-paused:
	case <-time.After(testwait.Default):
		t.Fatal("the dispatcher did not pause after a pass that dispatched a message")
	}
	second := enqueue(t, d, o, plainMessage("b@example.net"))
	third := enqueue(t, d, o, plainMessage("c@example.net"))
	if b2, b3 := batchOf(second), batchOf(third); b2 != "" || b3 != "" {
		t.Fatalf("messages dispatched during the pause: batches %q and %q", b2, b3)
	}
	close(resume)
	testwait.Until(t, "the messages queued during the pause dispatched", func() bool { return batchOf(second) != "" && batchOf(third) != "" })
	if b1, b2, b3 := batchOf(first), batchOf(second), batchOf(third); b2 != b3 || b2 == b1 {
		t.Fatalf("batches %q, %q, %q: want the first alone, the two queued during the pause together", b1, b2, b3)
	}
	if n := countJobs(t, d); n != 2 {
		t.Fatalf("%d sending jobs, want 2 (one per batch)", n)
	}
}

// A dispatcher stopped during its pause (the process shutting down) leaves
// what was queued meanwhile undispatched, for the next pass of any
// dispatcher: nothing is lost, and it gets one batch, one job.
func TestDispatcherStoppedInItsPauseLosesNothing(t *testing.T) {
	ctx := context.Background()
	d, clk, o := outboxOnly(t)
	paused := make(chan struct{}, 1)
	o.GatherWith(func(ctx context.Context) {
		select {
		case paused <- struct{}{}:
		default:
		}
		<-ctx.Done()
	})
	dctx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		o.Dispatch(dctx, time.Minute, nil)
	}()
	t.Cleanup(func() { stop(); <-stopped })

	first := enqueue(t, d, o, plainMessage("a@example.net"))
	select {
	case <-paused:
	case <-time.After(testwait.Default):
		t.Fatal("the dispatcher did not pause after a pass that dispatched a message")
	}
	second := enqueue(t, d, o, plainMessage("b@example.net"))
	stop()
	select {
	case <-stopped:
	case <-time.After(testwait.Default):
		t.Fatal("the dispatcher did not stop during its pause")
	}
	var batch sql.NullString
	if err := d.Read.QueryRowContext(ctx, `SELECT batch FROM outgoing_mail_queue WHERE mail_id = $1`, second).Scan(&batch); err != nil || batch.Valid {
		t.Fatalf("the message queued during the pause: batch %v (%v), want still waiting", batch, err)
	}
	next := newOutbox(t, d, insertOnly(t, d), clk)
	if n, err := next.DispatchPending(ctx); err != nil || n != 1 {
		t.Fatalf("the next dispatcher's pass dispatched %d (%v), want the one left", n, err)
	}
	if n := countJobs(t, d); n != 2 {
		t.Fatalf("%d sending jobs, want 2 (one per message)", n)
	}
	for _, id := range []string{first, second} {
		if s := get(t, o, id); s.Status != mail.Queued {
			t.Errorf("%s: status %s", id, s.Status)
		}
	}
}
