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
// transaction, so a slow relay never holds a lock.
func (w *Worker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	m, err := get(ctx, w.db.Read, job.Args.MessageID)
	if errors.Is(err, ErrNotFound) {
		// Nothing to send, and retrying will not make it appear.
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if m.Status != Queued {
		return nil
	}
	if err := w.render(ctx, &m); err != nil {
		return err
	}

	sendErr := w.sender.Send(ctx, m)

	// Record the outcome even if the job's context ended meanwhile: a
	// message the relay accepted must be marked sent, or it goes out twice.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if sendErr == nil {
		_, err := w.db.Exec(rctx, `UPDATE outgoing_mail SET status = 'sent', sent_at = $1, attempts = attempts + 1
			WHERE id = $2 AND status = 'queued'`, w.clock.Now(), m.ID)
		if err != nil {
			return fmt.Errorf("mark mail %s sent: %w", m.ID, err)
		}
		return nil
	}

	perm := permanent(sendErr)
	final := perm || job.Attempt >= job.MaxAttempts
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
	w.log.Warn("mail not sent", "id", m.ID, "kind", m.Kind, "attempt", job.Attempt,
		"max_attempts", job.MaxAttempts, "final", final, "error", sendErr)
	if perm {
		return river.JobCancel(sendErr)
	}
	return fmt.Errorf("send mail %s: %w", m.ID, sendErr)
}
