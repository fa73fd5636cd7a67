// Package disputes keeps the store's card disputes (chargebacks): one case
// per Stripe dispute, opened and closed by Stripe's webhook, the evidence
// pack the store answers with, and its submission to Stripe.
//
// Goods sold here are intangible and cannot be taken back, so a dispute is
// won or lost on the record alone: what the customer was shown and accepted,
// what was delivered and when, what was said. The pack (evidence.go) reads
// those records as they stand; the agent adds a statement and submits it
// (a job calls Stripe, outside any transaction, under an idempotency key),
// or downloads it as a PDF and a ZIP for the bank or the dashboard.
//
// While a case is open its payment's refunds are held (cardpay refuses them
// with ErrPaymentDisputed): a refund on top of a chargeback would pay the
// customer twice. A lost case keeps the hold for good, since the bank has
// already given the money back; a won case releases it. The event that
// closes a case as lost is told apart (cardpay.Dispute.Decided) so that the
// payment's domain documents the reversal once: a credit note for the
// disputed amount (orders.Chargeback, the subscription period's and the
// top-up's credit notes).
package disputes

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/alerts"
	"comptoir/internal/audit"
	"comptoir/internal/cardpay"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/id"
	"comptoir/internal/jobs"
	"comptoir/internal/money"
)

// Errors of the package; test with errors.Is.
var (
	ErrNotFound = errors.New("disputes: not found")
	// ErrClosed: the bank has decided; nothing more can be submitted.
	ErrClosed = errors.New("disputes: the dispute is closed")
	// ErrAlreadySubmitted: evidence was submitted (or is being); Stripe
	// accepts one submission.
	ErrAlreadySubmitted = errors.New("disputes: evidence already submitted")
	// ErrStatementTooLong: the statement is over MaxStatement characters.
	ErrStatementTooLong = errors.New("disputes: statement too long")
)

// MaxStatement bounds the agent's statement, in characters; Stripe allows
// 150,000 for all evidence fields together.
const MaxStatement = 20_000

// Case statuses.
const (
	StatusOpen = "open"
	StatusWon  = "won"
	StatusLost = "lost"
)

// Submission states.
const (
	SubmitNone      = "none"
	SubmitQueued    = "queued"
	SubmitSubmitted = "submitted"
	SubmitFailed    = "failed"
)

// Case is a row of disputes.
type Case struct {
	ID              string // "dsp_…"
	StripeDisputeID string
	PaymentID       string
	Purpose         string // cardpay.Purpose: order, topup, renewal
	ReferenceID     string // the order id for an order
	CustomerID      string
	Amount          money.Amount
	Reason          string
	StripeStatus    string
	Status          string
	DueBy           time.Time // zero when Stripe gave none
	Statement       string
	Submission      string
	SubmittedAt     time.Time
	SubmittedBy     string
	SubmitError     string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	ClosedAt        time.Time
	// keyRound counts the server errors Stripe answered the queued
	// submission with; its idempotency keys carry it (cardpay.RoundKey).
	keyRound int
	// fileID is the Stripe file the queued submission uploaded its PDF
	// to, fileSHA256 that PDF's digest (hex); both empty before.
	fileID, fileSHA256 string
}

// Open reports a case the bank has not decided yet.
func (c Case) Open() bool { return c.Status == StatusOpen }

// OrderID is the disputed order, or "" when the payment was for something
// else (a top-up, a renewal).
func (c Case) OrderID() string {
	if c.Purpose == string(cardpay.PurposeOrder) {
		return c.ReferenceID
	}
	return ""
}

// Stripe is what the service needs of cardpay to submit evidence.
type Stripe interface {
	SubmitDisputeEvidence(ctx context.Context, stripeDisputeID string, ev *stripe.DisputeUpdateEvidenceParams, idempotencyKey string) (string, error)
	UploadDisputeFile(ctx context.Context, name string, data []byte, idempotencyKey string) (string, error)
	FindDisputeFile(ctx context.Context, name string, size int64, since time.Time) (string, bool, error)
	DisputeSubmitted(ctx context.Context, stripeDisputeID string) (status string, submitted bool, err error)
}

// Alerter tells staff.
type Alerter interface {
	NotifyTx(ctx context.Context, tx *sql.Tx, role, kind string, d alerts.Data) error
}

// Service is the dispute use cases.
type Service struct {
	db     *db.DB
	clock  clock.Clock
	ins    jobs.Inserter
	stripe Stripe
	alerts Alerter
	log    *slog.Logger
}

// New returns the service. alerts may be nil (no staff alerts).
func New(d *db.DB, c clock.Clock, ins jobs.Inserter, st Stripe, al Alerter, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, clock: c, ins: ins, stripe: st, alerts: al, log: logger}
}

const caseColumns = `id, stripe_dispute_id, payment_id, purpose, reference_id, customer_id, amount, currency, reason,
	stripe_status, status, due_by, statement, submission, submitted_at, COALESCE(submitted_by, ''), submit_error,
	created_at, updated_at, closed_at, key_round, evidence_file_id, evidence_file_sha256`

func scanCase(row interface{ Scan(...any) error }) (Case, error) {
	var c Case
	var due, submitted, closed sql.NullTime
	err := row.Scan(&c.ID, &c.StripeDisputeID, &c.PaymentID, &c.Purpose, &c.ReferenceID, &c.CustomerID, &c.Amount.Minor,
		&c.Amount.Currency, &c.Reason, &c.StripeStatus, &c.Status, &due, &c.Statement, &c.Submission, &submitted,
		&c.SubmittedBy, &c.SubmitError, &c.CreatedAt, &c.UpdatedAt, &closed, &c.keyRound, &c.fileID, &c.fileSHA256)
	c.DueBy, c.SubmittedAt, c.ClosedAt = due.Time, submitted.Time, closed.Time
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

func getCase(ctx context.Context, q db.Querier, where string, arg any) (Case, error) {
	c, err := scanCase(q.QueryRowContext(ctx, `SELECT `+caseColumns+` FROM disputes WHERE `+where+` = $1`, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return Case{}, fmt.Errorf("%w: %v", ErrNotFound, arg)
	}
	return c, err
}

// Get returns a case by id.
func (s *Service) Get(ctx context.Context, caseID string) (Case, error) {
	return getCase(ctx, s.db.Read, "id", caseID)
}

// ForReference lists the cases of an order (or top-up, renewal), newest
// first.
func (s *Service) ForReference(ctx context.Context, referenceID string) ([]Case, error) {
	return s.list(ctx, `WHERE reference_id = $1`, referenceID)
}

// Backlog is how many cases are open, and how many of them still wait
// for the store's evidence, for the console's home.
func (s *Service) Backlog(ctx context.Context) (open, unanswered int, err error) {
	err = s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN submitted_at IS NULL THEN 1 ELSE 0 END), 0)
		FROM disputes WHERE status = 'open'`).Scan(&open, &unanswered)
	if err != nil {
		return 0, 0, fmt.Errorf("disputes: count open cases: %w", err)
	}
	return open, unanswered, nil
}

// List returns the cases, open ones first (soonest due first), then the
// closed ones, newest first; at most limit.
func (s *Service) List(ctx context.Context, limit int) ([]Case, error) {
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	return s.list(ctx, fmt.Sprintf(`ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END,
		CASE WHEN due_by IS NULL THEN 1 ELSE 0 END, due_by, created_at DESC LIMIT %d`, limit))
}

func (s *Service) list(ctx context.Context, tail string, args ...any) ([]Case, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+caseColumns+` FROM disputes `+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DisputeEventTx implements cardpay.DisputeRecorder: it opens the case on
// the first event about a dispute (whatever its type: Stripe does not
// promise order), keeps Stripe's status and deadline, and closes it as won
// or lost. A closed case never reopens, so a late "updated" changes
// nothing. It answers whether the payment's refunds stay held, and
// whether this event closed the case: the close is an update conditional on
// the case being open, so of two closing events (a replay under another
// event id, a "closed" and an "updated", both at once on PostgreSQL) one
// closes it and the other finds it closed and changes nothing. caseID is
// the case's id, for the followers' links.
func (s *Service) DisputeEventTx(ctx context.Context, tx *sql.Tx, p cardpay.Payment, d cardpay.Dispute) (hold, decided bool, caseID string, err error) {
	now := s.clock.Now()
	var due any
	if !d.DueBy.IsZero() {
		due = d.DueBy
	}
	newID := id.New("dsp")
	res, err := tx.ExecContext(ctx, `INSERT INTO disputes (id, stripe_dispute_id, payment_id, purpose, reference_id, customer_id,
		amount, currency, reason, stripe_status, status, due_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12, $12)
		ON CONFLICT (stripe_dispute_id) DO NOTHING`,
		newID, d.StripeID, p.ID, string(p.Purpose), p.ReferenceID, p.CustomerID, d.Amount.Minor, d.Amount.Currency,
		d.Reason, d.StripeStatus, due, now)
	if err != nil {
		return false, false, "", fmt.Errorf("disputes: open %s: %w", d.StripeID, err)
	}
	opened, err := res.RowsAffected()
	if err != nil {
		return false, false, "", err
	}
	c, err := getCase(ctx, tx, "stripe_dispute_id", d.StripeID)
	if err != nil {
		return false, false, "", err
	}
	if opened == 1 {
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "dispute", SubjectID: c.ID,
			Action: "dispute.opened", After: caseState(c)}); err != nil {
			return false, false, "", err
		}
		if err := s.alert(ctx, tx, "dispute_opened", c); err != nil {
			return false, false, "", err
		}
	}
	if !c.Open() {
		return c.Status == StatusLost, false, c.ID, nil
	}
	status := StatusOpen
	if d.Closed() {
		status = StatusWon
		if d.Lost() {
			status = StatusLost
		}
	}
	var closedAt any
	if status != StatusOpen {
		closedAt = now
	}
	res, err = tx.ExecContext(ctx, `UPDATE disputes SET stripe_status = $2, reason = $3, due_by = COALESCE($4, due_by),
		status = $5, closed_at = $6, updated_at = $7 WHERE id = $1 AND status = 'open'`,
		c.ID, d.StripeStatus, d.Reason, due, status, closedAt, now)
	if err != nil {
		return false, false, "", fmt.Errorf("disputes: update %s: %w", c.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, false, "", err
	} else if n != 1 {
		// Closed by an event that committed since the case was read.
		c, err := getCase(ctx, tx, "id", c.ID)
		if err != nil {
			return false, false, "", err
		}
		return c.Status != StatusWon, false, c.ID, nil
	}
	if status == StatusOpen {
		return true, false, c.ID, nil
	}
	before := caseState(c)
	c.Status, c.StripeStatus, c.ClosedAt = status, d.StripeStatus, now
	if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "dispute", SubjectID: c.ID,
		Action: "dispute." + status, Before: before, After: caseState(c)}); err != nil {
		return false, false, "", err
	}
	if c.OrderID() != "" {
		// The order's own history says what the bank decided: a lost
		// dispute is money the bank took back from the store.
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "order", SubjectID: c.OrderID(),
			Action: "order.dispute_" + status, After: map[string]any{"dispute_id": c.ID, "amount": c.Amount}}); err != nil {
			return false, false, "", err
		}
	}
	if err := s.alert(ctx, tx, "dispute_closed", c); err != nil {
		return false, false, "", err
	}
	return status == StatusLost, true, c.ID, nil
}

func caseState(c Case) map[string]any {
	return map[string]any{"status": c.Status, "stripe_status": c.StripeStatus, "payment_id": c.PaymentID,
		"reference_id": c.ReferenceID, "amount": c.Amount, "reason": c.Reason, "submission": c.Submission}
}

func (s *Service) alert(ctx context.Context, tx *sql.Tx, kind string, c Case) error {
	if s.alerts == nil {
		return nil
	}
	about, err := alertAbout(ctx, tx, c)
	if err != nil {
		return err
	}
	return s.alerts.NotifyTx(ctx, tx, account.RoleAgent, kind, alerts.Data{SubjectIn: about, Link: "/console/disputes/" + c.ID,
		DetailIn: func(w alerts.Words) string { return alertDetail(kind, c, w) }})
}

// alertAbout writes what a case's alert is about, as an agent recognises
// it: the order and its customer, or what the payment paid for (a renewal,
// a top-up: their references mean nothing to a person), its amount and
// its customer.
func alertAbout(ctx context.Context, tx *sql.Tx, c Case) (func(alerts.Words) string, error) {
	customer, err := alerts.CustomerTx(ctx, tx, c.CustomerID)
	if err != nil {
		return nil, err
	}
	return func(w alerts.Words) string {
		if c.OrderID() != "" {
			return w.Order(c.OrderID(), customer)
		}
		return w.Payment(c.Purpose, money.Format(c.Amount, w.Lang), customer)
	}, nil
}

// alertDetail is what an agent reads of a case in an alert, in their
// language: the amount, the bank's reason and the evidence deadline in the
// store's zone, or how the bank decided, worded as the console words them.
func alertDetail(kind string, c Case, w alerts.Words) string {
	amount := money.Format(c.Amount, w.Lang)
	if kind == "dispute_closed" {
		return w.Messages.TPairs(w.Lang, "dispute.alert_closed", "Status", strings.ToLower(w.Word("dispute.status.", c.Status)), "Amount", amount)
	}
	reason := w.Word("dispute.reason.", c.Reason)
	if c.DueBy.IsZero() {
		return w.Messages.TPairs(w.Lang, "dispute.alert_opened_undated", "Amount", amount, "Reason", reason)
	}
	return w.Messages.TPairs(w.Lang, "dispute.alert_opened", "Amount", amount, "Reason", reason, "DueBy", w.Zone.LongTime(c.DueBy, w.Lang))
}

// SaveStatement keeps the agent's statement (sent as the evidence's
// uncategorized_text) while the case is open and not yet submitted.
func (s *Service) SaveStatement(ctx context.Context, caseID, statement string, actor audit.Actor) (Case, error) {
	statement, err := cleanStatement(statement)
	if err != nil {
		return Case{}, err
	}
	var out Case
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		c, err := s.editable(ctx, tx, caseID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if err := updateEditable(ctx, tx, c.ID, `statement = $2, updated_at = $3`, statement, now); err != nil {
			return err
		}
		c.Statement, c.UpdatedAt = statement, now
		out = c
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "dispute", SubjectID: c.ID, Action: "dispute.statement"})
	})
	return out, err
}

// cleanStatement is a statement as kept: trimmed, with Unix line ends,
// valid UTF-8 and at most MaxStatement characters.
func cleanStatement(statement string) (string, error) {
	statement = strings.TrimSpace(strings.ReplaceAll(statement, "\r\n", "\n"))
	if !utf8.ValidString(statement) || utf8.RuneCountInString(statement) > MaxStatement {
		return "", ErrStatementTooLong
	}
	return statement, nil
}

// updateEditable sets the columns of set ($2… are args) on a case that can
// still take evidence, checked again in the update itself: a submission
// committed since the case was read (another agent, on PostgreSQL) keeps
// the statement it sent, and the caller gets ErrAlreadySubmitted.
func updateEditable(ctx context.Context, tx *sql.Tx, caseID, set string, args ...any) error {
	res, err := tx.ExecContext(ctx, `UPDATE disputes SET `+set+`
		WHERE id = $1 AND status = 'open' AND submission IN ('none', 'failed')`, append([]any{caseID}, args...)...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrAlreadySubmitted
	}
	return nil
}

// editable reads a case that can still take evidence.
func (s *Service) editable(ctx context.Context, tx *sql.Tx, caseID string) (Case, error) {
	c, err := getCase(ctx, tx, "id", caseID)
	if err != nil {
		return Case{}, err
	}
	if !c.Open() {
		return Case{}, ErrClosed
	}
	if c.Submission == SubmitQueued || c.Submission == SubmitSubmitted {
		return Case{}, ErrAlreadySubmitted
	}
	return c, nil
}

// Submit saves the statement and queues the job that sends the evidence
// pack to Stripe and submits it to the bank. The pack is assembled by the
// job, from the records as they stand when it runs.
func (s *Service) Submit(ctx context.Context, caseID, statement string, actor audit.Actor) (Case, error) {
	statement, err := cleanStatement(statement)
	if err != nil {
		return Case{}, err
	}
	var out Case
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		c, err := s.editable(ctx, tx, caseID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if err := updateEditable(ctx, tx, c.ID, `statement = $2, submission = 'queued', submitted_by = $3, submit_error = '', key_round = 0,
			evidence_file_id = '', evidence_file_sha256 = '', updated_at = $4`,
			statement, actor.ID, now); err != nil {
			return err
		}
		c.Statement, c.Submission, c.SubmittedBy, c.SubmitError, c.UpdatedAt = statement, SubmitQueued, actor.ID, "", now
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "dispute", SubjectID: c.ID,
			Action: "dispute.submit_requested", After: caseState(c)}); err != nil {
			return err
		}
		// One key per submission: a failed one can be sent again once the
		// agent has fixed what Stripe refused (Stripe answers a reused key
		// with its first answer). Not from the clock: two submissions may
		// share a moment.
		attempt := c.ID + "-" + id.New("sub")
		if _, err := s.ins.InsertTx(ctx, tx, SubmitArgs{DisputeID: c.ID, Attempt: attempt, AssembledAt: now}, nil); err != nil {
			return fmt.Errorf("disputes: schedule submission: %w", err)
		}
		out = c
		return nil
	})
	return out, err
}

// SubmitArgs is the job that sends a case's evidence to Stripe.
type SubmitArgs struct {
	DisputeID string `json:"dispute_id"`
	// Attempt names this submission; the idempotency key is built from it,
	// so the job's retries send the evidence once.
	Attempt string `json:"attempt"`
	// AssembledAt is the moment the pack of this submission says it was
	// made (and its PDF's date): the same at every retry, so that a retry
	// sends Stripe the same file under the same key, which Stripe refuses
	// with other content. Zero in jobs queued before it existed: now.
	AssembledAt time.Time `json:"assembled_at,omitzero"`
}

// Kind names the job for River; renaming it would orphan queued jobs.
func (SubmitArgs) Kind() string { return "disputes.submit" }

// InsertOpts bounds retries within the life of Stripe's idempotency keys
// (24 hours).
func (SubmitArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 12} }

// AddWorkers registers the submission job.
func (s *Service) AddWorkers(w *river.Workers) { river.AddWorker(w, &submitWorker{s: s}) }

type submitWorker struct {
	river.WorkerDefaults[SubmitArgs]
	s *Service
}

// Work assembles the pack from a read, calls Stripe outside any
// transaction, then records the outcome in one short transaction.
func (w *submitWorker) Work(ctx context.Context, job *river.Job[SubmitArgs]) error {
	s := w.s
	c, err := s.Get(ctx, job.Args.DisputeID)
	if errors.Is(err, ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if c.Submission != SubmitQueued {
		return nil // done, or given up
	}
	pack, err := s.Pack(ctx, c.ID)
	if err != nil {
		return err
	}
	if !job.Args.AssembledAt.IsZero() {
		pack.AssembledAt = job.Args.AssembledAt
	}
	ev := pack.StripeEvidence()
	// The whole pack as a PDF goes in service_documentation, a file
	// field: the reviewer gets the records laid out, not only the text
	// fields.
	doc, err := pack.PDF()
	if err != nil {
		return err
	}
	// The keys of this submission, in the round its server errors have
	// reached: Stripe replays a 5xx to every request under the key that
	// met it, so a retry under the same key could only fail again until
	// the job gave up. A round after the first looks first whether the
	// request that failed submitted the evidence after all: Stripe takes
	// one submission, and refuses a second.
	var status string
	var callErr error
	submitted := false
	if c.keyRound > 0 {
		status, submitted, callErr = s.stripe.DisputeSubmitted(ctx, c.StripeDisputeID)
	}
	if callErr == nil && !submitted {
		var fileID string
		fileID, callErr = s.evidenceFile(ctx, c, doc, job.Args.Attempt)
		if callErr == nil {
			ev.ServiceDocumentation = stripe.String(fileID)
			status, callErr = s.stripe.SubmitDisputeEvidence(ctx, c.StripeDisputeID, ev,
				cardpay.RoundKey("dispute-evidence-"+job.Args.Attempt, c.keyRound))
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if callErr != nil && !cardpay.Permanent(callErr) && job.Attempt < job.MaxAttempts {
		if cardpay.ServerError(callErr) {
			// The next attempt sends new keys (see above).
			if err := s.db.Tx(rctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(rctx, `UPDATE disputes SET key_round = key_round + 1, updated_at = $2
					WHERE id = $1 AND submission = 'queued'`, c.ID, s.clock.Now())
				return err
			}); err != nil {
				return errors.Join(callErr, fmt.Errorf("disputes: next key round of %s: %w", c.ID, err))
			}
		}
		return callErr // River retries
	}
	return s.db.Tx(rctx, func(tx *sql.Tx) error {
		now := s.clock.Now()
		after := c
		var q string
		var args []any
		if callErr != nil {
			after.Submission, after.SubmitError = SubmitFailed, cardpay.Describe(callErr)
			q, args = `UPDATE disputes SET submission = 'failed', submit_error = $2, updated_at = $3 WHERE id = $1 AND submission = 'queued'`,
				[]any{c.ID, after.SubmitError, now}
		} else {
			after.Submission, after.SubmittedAt, after.StripeStatus = SubmitSubmitted, now, status
			q, args = `UPDATE disputes SET submission = 'submitted', submitted_at = $2, stripe_status = CASE WHEN status = 'open' THEN $3 ELSE stripe_status END,
				updated_at = $2 WHERE id = $1 AND submission = 'queued'`, []any{c.ID, now, status}
		}
		res, err := tx.ExecContext(rctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		if err := audit.Record(rctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "dispute", SubjectID: c.ID,
			Action: "dispute." + after.Submission, Before: caseState(c), After: caseState(after)}); err != nil {
			return err
		}
		if callErr != nil {
			s.log.Error("disputes: Stripe refused the evidence", "dispute", c.ID, "error", callErr)
			if s.alerts != nil {
				about, err := alertAbout(rctx, tx, c)
				if err != nil {
					return err
				}
				return s.alerts.NotifyTx(rctx, tx, account.RoleAgent, "dispute_submit_failed", alerts.Data{
					SubjectIn: about, Detail: after.SubmitError, Link: "/console/disputes/" + c.ID})
			}
		}
		return nil
	})
}

// evidenceFile is the Stripe file holding doc, the submission's PDF: the
// one an earlier attempt uploaded when doc is the PDF it uploaded, else
// one uploaded now under the round's key, and recorded on the case at
// once. A server error on the evidence itself moves the keys to the next
// round (see Work); uploading the same PDF again under its new key made a
// second file and left the first at Stripe, unused. A PDF that differs
// (the records it shows changed meanwhile) is uploaded: the evidence must
// carry the pack as it is sent.
//
// A server error on the upload itself says nothing of whether Stripe made
// the file, and the next round's key would make another: a round after
// the first looks for it first, by its name, which carries the case and
// the PDF's SHA-256 (evidenceFileName), and its size. Found, it is the
// very PDF, and is sent; not found (Stripe made none, or the list does not
// show it yet), the PDF is uploaded.
func (s *Service) evidenceFile(ctx context.Context, c Case, doc []byte, attempt string) (string, error) {
	sum := sha256.Sum256(doc)
	digest := hex.EncodeToString(sum[:])
	if c.fileID != "" && c.fileSHA256 == digest {
		return c.fileID, nil
	}
	name := evidenceFileName(c.ID, digest)
	if c.keyRound > 0 {
		fileID, found, err := s.stripe.FindDisputeFile(ctx, name, int64(len(doc)), s.clock.Now().Add(-fileLookBack))
		if err != nil {
			return "", err
		}
		if found {
			if err := s.recordFile(ctx, c, fileID, digest); err != nil {
				return "", err
			}
			return fileID, nil
		}
	}
	fileID, err := s.stripe.UploadDisputeFile(ctx, name, doc, cardpay.RoundKey("dispute-file-"+attempt, c.keyRound))
	if err != nil {
		return "", err
	}
	// Not recorded, the file is still found again under its key until
	// the round changes: the error goes to River, which retries.
	if err := s.recordFile(ctx, c, fileID, digest); err != nil {
		return "", err
	}
	return fileID, nil
}

// evidenceFileName is the name the evidence PDF of case caseID, of SHA-256
// digest (hex), is uploaded under: no other PDF has it.
func evidenceFileName(caseID, digest string) string {
	return "evidence-" + caseID + "-" + digest + ".pdf"
}

// fileLookBack is how far back the files an earlier round may have made
// are looked for: longer than a submission's retries last (its keys live
// a day), with room for the clocks of the store and Stripe to differ.
const fileLookBack = 25 * time.Hour

// recordFile records on the case the Stripe file of its PDF of digest,
// while the submission is queued.
func (s *Service) recordFile(ctx context.Context, c Case, fileID, digest string) error {
	if err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE disputes SET evidence_file_id = $2, evidence_file_sha256 = $3, updated_at = $4
			WHERE id = $1 AND submission = 'queued'`, c.ID, fileID, digest, s.clock.Now())
		return err
	}); err != nil {
		return fmt.Errorf("disputes: record the evidence file of %s: %w", c.ID, err)
	}
	return nil
}

// Activity kinds of the customer activity log (downloads have their own
// table, download_events).
const (
	ActivitySignIn    = "sign_in"
	ActivityOrderView = "order_view"
)

// ActivityCoalesce is how long a line of the activity log stands for the
// same action repeated by the same customer from the same address and
// browser: a reload of the order page within it writes nothing. The
// evidence is that the customer used the order, and when first; a line
// per reload adds nothing to it but a write on every GET.
const ActivityCoalesce = 10 * time.Minute

// activitySeen finds the customer's line of the same kind, subject,
// address and browser since $2 (at less ActivityCoalesce): $1 customer,
// $2 since, $3 kind, $4 subject, $5 address, $6 browser. The lookup is
// served by customer_activity_by_customer (customer_id, at): the
// customer's lines of the last minutes, of which coalescing keeps few.
const activitySeen = `SELECT 1 FROM customer_activity
	WHERE customer_id = $1 AND at > $2 AND kind = $3 AND subject_id = $4 AND ip = $5 AND user_agent = $6`

// recordActivityQuery inserts the line ($7 its id, $8 its time) unless
// activitySeen finds one, in one statement rather than a read then a
// write: on SQLite, whose writes are serialised, no other request can come
// between the check and the insert. (On PostgreSQL two reloads in the very
// same instant may each see no line and both write one: a duplicate line,
// as before coalescing, which a lock on every page view is not worth.)
const recordActivityQuery = `INSERT INTO customer_activity (id, customer_id, kind, subject_id, at, ip, user_agent)
	SELECT $7, $1, $3, $4, $8, $5, $6 WHERE NOT EXISTS (` + activitySeen + `)`

// RecordActivity appends one line to the customer activity log: what the
// customer did, when, from which address and browser. It is evidence in a
// dispute that the buyer used what they say they never got. The same
// action from the same address and browser within ActivityCoalesce of a
// line already written is not written again.
func (s *Service) RecordActivity(ctx context.Context, customerID, kind, subjectID, ip, userAgent string) error {
	if len(userAgent) > 500 {
		userAgent = strings.ToValidUTF8(userAgent[:500], "")
	}
	at := s.clock.Now()
	since := at.Add(-ActivityCoalesce)
	// A reload finds its line on a read connection and writes nothing: on
	// SQLite the single writer is not even asked.
	seenArgs := []any{customerID, since, kind, subjectID, ip, userAgent}
	var seen int
	err := s.db.Read.QueryRowContext(ctx, activitySeen+` LIMIT 1`, seenArgs...).Scan(&seen)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("disputes: activity: %w", err)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, recordActivityQuery, append(seenArgs, id.New("act"), at)...)
		return err
	})
}

// OpenCount counts a customer's disputes still open (not yet won or lost).
func OpenCount(ctx context.Context, q db.Querier, customerID string) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM disputes WHERE customer_id = $1 AND status = $2`,
		customerID, StatusOpen).Scan(&n); err != nil {
		return 0, fmt.Errorf("disputes: count open: %w", err)
	}
	return n, nil
}

// EraseCustomerActivityTx deletes a customer's activity log when their
// account is erased: its lines identify the person by address and browser,
// and nothing the law makes a seller keep depends on them.
func EraseCustomerActivityTx(ctx context.Context, tx *sql.Tx, customerID string) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM customer_activity WHERE customer_id = $1`, customerID)
	if err != nil {
		return 0, fmt.Errorf("disputes: erase activity: %w", err)
	}
	return res.RowsAffected()
}

// DeleteActivityBeforeTx deletes the activity lines older than cutoff (the
// store's retention of activity logs).
func DeleteActivityBeforeTx(ctx context.Context, tx *sql.Tx, cutoff time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM customer_activity WHERE at < $1`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("disputes: activity retention: %w", err)
	}
	return res.RowsAffected()
}
