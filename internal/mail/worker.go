package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
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
type Renderer func(ctx context.Context, ref string) (Drawn, error)

// Drawn is a document drawn for an attachment. Filename, when set, replaces
// the stored name: some names are only known when the document is drawn
// (an invoice gets its number after the email announcing it was queued).
type Drawn struct {
	Data     []byte
	Filename string
}

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
		d, err := r(ctx, ref)
		if err != nil {
			return fmt.Errorf("mail %s: render attachment %q: %w", m.ID, a.Source, err)
		}
		m.Attachments[i].Data = d.Data
		if d.Filename != "" {
			m.Attachments[i].Filename = d.Filename
		}
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
// follows); an attachment that cannot be drawn is a failed attempt too,
// but on the last attempt the message goes without it.
// err is a failure to read or record, after which the message is left as
// it was, for the next attempt; it names no message (River keeps it).
func (w *Worker) sendOne(ctx context.Context, send func(context.Context, Stored) error, msgID string, attempt int, last bool) (sendResult, error) {
	m, err := get(ctx, w.db.Read, msgID)
	if errors.Is(err, ErrNotFound) {
		return sendResult{gone: true}, nil
	}
	if err != nil {
		return sendResult{}, fmt.Errorf("read the message: %w", err)
	}
	return w.sendStored(ctx, send, m, attempt, last, nil)
}

// sendStored is sendOne for a message already read. With marks, a message
// sent is marked so in the background (marks.wait collects the outcome):
// the next message goes out while the mark waits for its commit.
func (w *Worker) sendStored(ctx context.Context, send func(context.Context, Stored) error, m Stored, attempt int, last bool, marks *pendingMarks) (sendResult, error) {
	if m.Status != Queued {
		return sendResult{}, nil
	}
	var sendErr error
	switch err := w.render(ctx, &m); {
	case err == nil:
		sendErr = send(ctx, m)
	case last:
		// An email carrying a drawn document also links it: on its last
		// attempt it goes without the PDF rather than not at all (an
		// order's confirmation is the buyer's record of the contract).
		w.log.Warn("mail: sent without the attachments that could not be drawn", "message", m.ID, "err", err)
		m.Attachments = slices.DeleteFunc(m.Attachments, func(a Attachment) bool { return a.Source != "" && len(a.Data) == 0 })
		sendErr = send(ctx, m)
	default:
		sendErr = &messageError{err}
	}

	if sendErr == nil {
		mark := sentMark{id: m.ID, at: w.clock.Now()}
		if marks != nil {
			marks.add(mark)
			return sendResult{}, nil
		}
		return sendResult{}, w.markSent(ctx, []sentMark{mark})
	}
	rctx, cancel := recordContext(ctx)
	defer cancel()

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
// queued, over one connection. A message refused for good is marked
// failed; one refused for now (a full mailbox, greylisting) or that could
// not be drawn keeps its place for the next attempt, and the others go on.
// A failure of the relay or the connection would meet the rest of the
// batch too: the attempt stops there. Either way River retries the batch
// later and only what is still queued is sent. On the last attempt every
// message still queued gets its try and whatever is left is marked failed,
// even when the attempt ran out of time. The errors returned, which River
// keeps, name the batch and positions in it, never a message, an address
// or the relay's reply (those are on the message's row).
func (b *BatchWorker) Work(ctx context.Context, job *river.Job[SendBatchArgs]) error {
	batch := job.Args.Batch
	msgs, err := b.w.queuedInBatch(ctx, batch)
	if err != nil {
		return err
	}
	last := job.Attempt >= job.MaxAttempts
	// The marks of the messages sent commit while the next ones go out;
	// they are all in before the attempt ends, and before the last one
	// fails what is left.
	marks := &pendingMarks{w: b.w, ctx: ctx}
	again, err := b.sendAll(ctx, batch, msgs, job.Attempt, last, marks)
	merr := marks.wait()
	if merr != nil {
		// A message sent but not marked goes out again on the next
		// attempt: at least once, as when the mark was made in line.
		merr = fmt.Errorf("mail batch %s: %w", batch, merr)
		if !last {
			return merr
		}
	}
	if err != nil {
		return err
	}
	if last {
		// Those that failed on this attempt were marked failed as they
		// went; what it did not get to is marked now.
		if err := b.w.failLeftovers(ctx, batch); err != nil {
			return err
		}
		if merr != nil {
			return merr
		}
		if again > 0 {
			return fmt.Errorf("mail batch %s: %d of %d messages not sent on the last attempt", batch, again, len(msgs))
		}
		return nil
	}
	if again > 0 {
		return fmt.Errorf("mail batch %s: %d of %d messages to try again", batch, again, len(msgs))
	}
	return nil
}

// sendAll sends msgs in order over one session and returns how many are
// left for another attempt, or the error that stops this one.
func (b *BatchWorker) sendAll(ctx context.Context, batch string, msgs []Stored, attempt int, last bool, marks *pendingMarks) (again int, err error) {
	send := b.w.sender.Send
	if ss, ok := b.w.sender.(SessionSender); ok && len(msgs) > 1 {
		conn := &lazySession{open: ss.Session}
		defer conn.close()
		send = conn.send
	}
	for i, m := range msgs {
		if ctx.Err() != nil {
			again += len(msgs) - i
			break
		}
		r, err := b.w.sendStored(ctx, send, m, attempt, last, marks)
		switch {
		case err != nil:
			if !last {
				return again, fmt.Errorf("mail batch %s: message %d of %d: %w", batch, i+1, len(msgs), err)
			}
			again++
		case r.failure == nil || r.permanent:
		case !messageFailure(r.failure) && !last:
			return again, fmt.Errorf("mail batch %s: message %d of %d not sent, the relay or the connection failed (the reply is on the message)",
				batch, i+1, len(msgs))
		default:
			again++
		}
	}
	return again, nil
}

// sentMark records that the relay took a message, and when.
type sentMark struct {
	id string
	at time.Time
}

// markSent records marks: on PostgreSQL in one statement (each a round
// trip of its own in a transaction cost the mail worker two round trips
// per checkout: issue #9); on SQLite, in process, in one transaction. A
// message no longer queued (failed meanwhile) is left as it is.
func (w *Worker) markSent(ctx context.Context, marks []sentMark) error {
	const q = `UPDATE outgoing_mail SET status = 'sent', sent_at = $1, attempts = attempts + 1 WHERE id = $2 AND status = 'queued'`
	rctx, cancel := recordContext(ctx)
	defer cancel()
	var err error
	switch {
	case len(marks) == 1:
		_, err = w.db.Exec(rctx, q, marks[0].at, marks[0].id)
	case w.db.Engine == db.Postgres:
		ids, ats := make([]string, len(marks)), make([]time.Time, len(marks))
		for i, m := range marks {
			ids[i], ats[i] = m.id, m.at
		}
		_, err = w.db.Exec(rctx, `UPDATE outgoing_mail SET status = 'sent', sent_at = v.at, attempts = attempts + 1
			FROM unnest($1::text[], $2::timestamptz[]) AS v (id, at)
			WHERE outgoing_mail.id = v.id AND outgoing_mail.status = 'queued'`, ids, ats)
	default:
		err = w.db.Tx(rctx, func(tx *sql.Tx) error {
			for _, m := range marks {
				if _, err := tx.ExecContext(rctx, q, m.at, m.id); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("mark %d message(s) sent: %w", len(marks), err)
	}
	return nil
}

// pendingMarks records a batch's messages sent off the sending path: the
// next message goes out while the marks commit. One goroutine at a time
// records whatever was sent since its last commit, in one transaction, so
// that a batch takes a few commits rather than one per message (on
// PostgreSQL each is a flush of its log; on SQLite they share group commits
// anyway). The first mark of a pause is recorded at once.
type pendingMarks struct {
	w   *Worker
	ctx context.Context

	mu      sync.Mutex
	queued  []sentMark
	running bool
	err     error
	done    sync.WaitGroup
}

func (p *pendingMarks) add(m sentMark) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queued = append(p.queued, m)
	if !p.running {
		p.running = true
		p.done.Add(1)
		go p.record()
	}
}

// record commits the marks queued until none is left.
func (p *pendingMarks) record() {
	defer p.done.Done()
	for {
		p.mu.Lock()
		marks := p.queued
		p.queued = nil
		if len(marks) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		if err := p.w.markSent(p.ctx, marks); err != nil {
			p.mu.Lock()
			p.err = errors.Join(p.err, err)
			p.mu.Unlock()
		}
	}
}

// wait returns once every mark is recorded, with their failures.
func (p *pendingMarks) wait() error {
	p.done.Wait()
	return p.err
}

// recordContext is the context an outcome is recorded in: it outlives the
// job's (a message the relay accepted must be marked sent, or it goes out
// twice), and nobody waits on the record, which may wait a moment to share
// a commit (db.Unhurried).
func recordContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(db.Unhurried(context.WithoutCancel(ctx)), 30*time.Second)
}

// failLeftovers marks failed what is still queued in a batch after its last
// attempt, whatever stopped it (the attempt's time ran out, the database
// failed for one message): no attempt follows, and a message left queued
// would never be sent nor reported.
func (w *Worker) failLeftovers(ctx context.Context, batch string) error {
	rctx, cancel := recordContext(ctx)
	defer cancel()
	res, err := w.db.Exec(rctx, `UPDATE outgoing_mail SET status = 'failed',
		last_error = CASE WHEN last_error = '' THEN 'not sent: no attempt left' ELSE last_error END
		WHERE id IN (SELECT mail_id FROM outgoing_mail_queue WHERE batch = $1) AND status = 'queued'`, batch)
	if err != nil {
		return fmt.Errorf("mail batch %s: mark what is left failed: %w", batch, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		w.log.Warn("mail not sent, no attempt left", "batch", batch, "messages", n)
	}
	return nil
}

// lazySession opens the batch's session at its first message: a batch
// whose messages were all sent meanwhile connects to nothing.
type lazySession struct {
	open func(context.Context) (Session, error)
	s    Session
}

func (l *lazySession) send(ctx context.Context, m Stored) error {
	if l.s == nil {
		s, err := l.open(ctx)
		if err != nil {
			return err
		}
		l.s = s
	}
	return l.s.Send(ctx, m)
}

func (l *lazySession) close() {
	if l.s != nil {
		l.s.Close()
	}
}

// queuedInBatch reads the batch's messages still queued, oldest first,
// with their attachments: two queries for the whole batch rather than two
// per message. A message sent meanwhile by another attempt at the batch
// (only a job given up for dead and run again can overlap) is not marked
// twice: marking it sent, or failed, requires it to be still queued.
func (w *Worker) queuedInBatch(ctx context.Context, batch string) ([]Stored, error) {
	fail := func(err error) ([]Stored, error) { return nil, fmt.Errorf("mail batch %s: %w", batch, err) }
	rows, err := w.db.Read.QueryContext(ctx, `SELECT `+storedColumns+` FROM outgoing_mail_queue q
		JOIN outgoing_mail m ON m.id = q.mail_id JOIN outgoing_mail_content c ON c.content_id = m.content_id WHERE q.batch = $1 AND status = 'queued' ORDER BY q.queued_at, q.mail_id`, batch)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	var msgs []Stored
	at := map[string]int{}
	for rows.Next() {
		m, err := scanStored(rows)
		if err != nil {
			return fail(err)
		}
		at[m.ID] = len(msgs)
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	rows.Close()
	if len(msgs) == 0 {
		return nil, nil
	}
	rows, err = w.db.Read.QueryContext(ctx, `SELECT a.mail_id, a.filename, a.content_type, a.content, a.source
		FROM outgoing_mail_queue q JOIN outgoing_mail_attachments a ON a.mail_id = q.mail_id
		WHERE q.batch = $1 ORDER BY a.mail_id, a.position`, batch)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var mailID string
		var a Attachment
		if err := rows.Scan(&mailID, &a.Filename, &a.ContentType, &a.Data, &a.Source); err != nil {
			return fail(err)
		}
		if i, ok := at[mailID]; ok {
			msgs[i].Attachments = append(msgs[i].Attachments, a)
		}
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return msgs, nil
}
