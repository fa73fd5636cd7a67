package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"comptoir/internal/clock"
	"comptoir/internal/db"
)

// SendArgs is the job that sends one stored message.
type SendArgs struct {
	// MessageID is the outgoing_mail row id ("msg_…"), not the Message-ID
	// header.
	MessageID string `json:"message_id"`
}

// Kind names the job for River; renaming it would orphan queued jobs.
func (SendArgs) Kind() string { return "mail.send" }

// Worker sends stored messages. Jobs run at least once, so it reads the row
// first and does nothing for a message already sent; the rare duplicate left
// (a crash between the relay's acceptance and the status update) carries
// the same Message-ID, which lets mail programs recognise it.
type Worker struct {
	river.WorkerDefaults[SendArgs]
	db     *db.DB
	sender Sender
	clock  clock.Clock
	log    *slog.Logger
	// renderers draw attachments named by Source, by the part before ":".
	renderers map[string]Renderer
}

// Renderer draws the document an attachment names (Attachment.Source
// "kind:ref" → the bytes of ref).
type Renderer func(ctx context.Context, ref string) ([]byte, error)

// RenderAttachments registers how attachments with Source "kind:…" are drawn
// when their message is sent. Call it before the worker runs.
func (w *Worker) RenderAttachments(kind string, r Renderer) {
	if w.renderers == nil {
		w.renderers = map[string]Renderer{}
	}
	w.renderers[kind] = r
}

// render fills the Data of attachments named by Source.
func (w *Worker) render(ctx context.Context, m *Stored) error {
	for i, a := range m.Attachments {
		if a.Source == "" {
			continue
		}
		kind, ref, _ := strings.Cut(a.Source, ":")
		r := w.renderers[kind]
		if r == nil {
			return fmt.Errorf("mail %s: no renderer for attachment %q", m.ID, a.Source)
		}
		data, err := r(ctx, ref)
		if err != nil {
			return fmt.Errorf("mail %s: render attachment %q: %w", m.ID, a.Source, err)
		}
		m.Attachments[i].Data = data
	}
	return nil
}

// NewWorker returns the worker that sends through s. Register it with
// river.AddWorker(workers, w).
func NewWorker(d *db.DB, s Sender, c clock.Clock, logger *slog.Logger) *Worker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{db: d, sender: s, clock: c, log: logger}
}

// maxErrorLen keeps a relay's chatty reply from bloating the row.
const maxErrorLen = 2000

// Work sends the job's message once. Its only database work is a read
// before and one short update after: the network call happens outside any
// transaction, so a slow relay never holds a lock. The dispatcher now
// queues batches (BatchWorker); this job remains for the messages a
// previous version dispatched one by one.
func (w *Worker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	r, err := w.sendOne(ctx, w.sender.Send, job.Args.MessageID, job.Attempt, job.Attempt >= job.MaxAttempts)
	switch {
	case err != nil:
		return err
	case r.gone:
		// Nothing to send, and retrying will not make it appear.
		return river.JobCancel(fmt.Errorf("mail %s: %w", job.Args.MessageID, ErrNotFound))
	case r.failure == nil:
		return nil
	case r.permanent:
		return river.JobCancel(r.failure)
	default:
		return fmt.Errorf("send mail %s: %w", job.Args.MessageID, r.failure)
	}
}

// sendResult is what became of one attempt at a message.
type sendResult struct {
	// failure is why the relay did not take it (nil: sent, or nothing to
	// send); it is recorded on the message, as its last error.
	failure   error
	permanent bool // the relay refused it for good: marked failed
	gone      bool // no such message
}

// sendOne sends the stored message msgID if it is still queued and records
// the outcome on its row: sent, or one more failed attempt (failed for good
// when the relay refused it for good or when last says no attempt
// follows). err is a failure to read, draw or record, after which the
// message is left as it was, for the next attempt.
func (w *Worker) sendOne(ctx context.Context, send func(context.Context, Stored) error, msgID string, attempt int, last bool) (sendResult, error) {
	m, err := get(ctx, w.db.Read, msgID)
	if errors.Is(err, ErrNotFound) {
		return sendResult{gone: true}, nil
	}
	if err != nil {
		return sendResult{}, err
	}
	if m.Status != Queued {
		return sendResult{}, nil
	}
	if err := w.render(ctx, &m); err != nil {
		return sendResult{}, err
	}

	sendErr := send(ctx, m)

	// Record the outcome even if the job's context ended meanwhile: a
	// message the relay accepted must be marked sent, or it goes out twice.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if sendErr == nil {
		_, err := w.db.Exec(rctx, `UPDATE outgoing_mail SET status = 'sent', sent_at = $1, attempts = attempts + 1
			WHERE id = $2 AND status = 'queued'`, w.clock.Now(), m.ID)
		if err != nil {
			return sendResult{}, fmt.Errorf("mark mail %s sent: %w", m.ID, err)
		}
		return sendResult{}, nil
	}

	perm := permanent(sendErr)
	final := perm || last
	status := Queued
	if final {
		status = Failed
	}
	msg := sendErr.Error()
	if len(msg) > maxErrorLen {
		// Cut on a character boundary: PostgreSQL refuses invalid UTF-8.
		msg = strings.ToValidUTF8(msg[:maxErrorLen], "")
	}
	if _, err := w.db.Exec(rctx, `UPDATE outgoing_mail SET attempts = attempts + 1, last_error = $1, status = $2
		WHERE id = $3 AND status = 'queued'`, msg, string(status), m.ID); err != nil {
		sendErr = errors.Join(sendErr, fmt.Errorf("record failure: %w", err))
	}
	w.log.Warn("mail not sent", "id", m.ID, "kind", m.Kind, "attempt", attempt, "final", final, "error", sendErr)
	return sendResult{failure: sendErr, permanent: perm}, nil
}

// SendBatchArgs is the job that sends the messages the dispatcher put in
// one batch (dispatch.go). It names the batch, not the messages nor their
// recipients: the job's row, and the errors River keeps on it, hold nothing
// an erasure would have to find.
type SendBatchArgs struct {
	Batch string `json:"batch"`
}

// Kind names the job for River; renaming it would orphan queued jobs.
func (SendBatchArgs) Kind() string { return "mail.send_batch" }

// BatchWorker sends batches of stored messages, one after the other, with
// the Worker's sender and attachment renderers.
type BatchWorker struct {
	river.WorkerDefaults[SendBatchArgs]
	w *Worker
}

// Batches returns the worker of the dispatcher's batch jobs, which sends as
// w does. Register both with River.
func (w *Worker) Batches() *BatchWorker { return &BatchWorker{w: w} }

// Work sends the batch's messages still queued, in the order they were
// queued. A message the relay refuses for good is marked failed and the
// others go on. Any other failure (the relay down or busy) would meet the
// rest of the batch too: the attempt stops there and River retries the
// batch later, sending only what is still queued. On the last attempt every
// message still queued gets its try, and those that fail are marked failed.
// The errors returned name messages, never the relay's reply, which is on
// the message (last_error) and may quote an address.
func (b *BatchWorker) Work(ctx context.Context, job *river.Job[SendBatchArgs]) error {
	ids, err := b.w.queuedInBatch(ctx, job.Args.Batch)
	if err != nil {
		return err
	}
	last := job.Attempt >= job.MaxAttempts
	send := b.w.sender.Send
	if ss, ok := b.w.sender.(SessionSender); ok && len(ids) > 1 {
		conn := &sessionConn{open: ss.Session}
		defer conn.close()
		send = conn.send
	}
	var unsent []string
	for _, id := range ids {
		r, err := b.w.sendOne(ctx, send, id, job.Attempt, last)
		if err != nil && !last {
			return fmt.Errorf("mail batch %s: %w", job.Args.Batch, err)
		}
		if err != nil || r.failure != nil && !r.permanent {
			if !last {
				return fmt.Errorf("mail batch %s: %s not sent on attempt %d (the relay's reply is on the message)", job.Args.Batch, id, job.Attempt)
			}
			unsent = append(unsent, id)
		}
	}
	if len(unsent) > 0 {
		return fmt.Errorf("mail batch %s: not sent on the last attempt: %s", job.Args.Batch, strings.Join(unsent, ", "))
	}
	return nil
}

// sessionConn sends a batch's messages over one connection, opened at the
// first message and opened again after a failure that may have broken it
// (anything but the relay refusing that message for good).
type sessionConn struct {
	open func(context.Context) (Session, error)
	s    Session
}

func (c *sessionConn) send(ctx context.Context, m Stored) error {
	if c.s == nil {
		s, err := c.open(ctx)
		if err != nil {
			return err
		}
		c.s = s
	}
	err := c.s.Send(ctx, m)
	if err != nil && !permanent(err) {
		c.close()
	}
	return err
}

func (c *sessionConn) close() {
	if c.s != nil {
		c.s.Close()
		c.s = nil
	}
}

// queuedInBatch lists the batch's messages still queued, oldest first.
func (w *Worker) queuedInBatch(ctx context.Context, batch string) ([]string, error) {
	ids, err := db.Strings(ctx, w.db.Read, `SELECT id FROM outgoing_mail WHERE batch = $1 AND status = 'queued'
		ORDER BY created_at, id`, batch)
	if err != nil {
		return nil, fmt.Errorf("mail batch %s: %w", batch, err)
	}
	return ids, nil
}
