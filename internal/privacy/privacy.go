// Package privacy answers a customer's data-protection rights: the export of
// everything the store holds about them (a versioned JSON document) and the
// erasure of their account. Erasure asks each domain package to replace the
// personal data it owns by placeholders, in one transaction, keeping what
// the law makes the seller keep (invoices with the buyer's name and billing
// address, consent records, the ledger); then it deletes their uploaded
// files and spooled mail, and, on SQLite, checkpoints the write-ahead log so
// that the old page images leave the disk. The retention job applies the
// same ideas to old activity and closed tickets.
package privacy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/blob"
	"comptoir/internal/cardpay"
	"comptoir/internal/claims"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/desk"
	"comptoir/internal/disputes"
	"comptoir/internal/idempotency"
	"comptoir/internal/invoices"
	"comptoir/internal/jobs"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/ratelimit"
	"comptoir/internal/subscriptions"
)

// Reasons an erasure is recorded with (codes, never free text: the audit
// log holds no personal data).
const (
	// ReasonCustomerRequest: the customer erased their own account.
	ReasonCustomerRequest = "customer_request"
	// ReasonOnBehalf: an admin erased it on the customer's request received
	// another way (mail, letter).
	ReasonOnBehalf = "request_on_behalf"
)

// ValidReason reports whether r is a reason an erasure may be recorded with.
func ValidReason(r string) bool { return r == ReasonCustomerRequest || r == ReasonOnBehalf }

// ErrLiveSubscriptions refuses to erase a customer whose subscriptions
// would renew: they cancel them first (at the period's end is enough).
var ErrLiveSubscriptions = errors.New("privacy: the customer has subscriptions that renew")

// ErrOpenDispute refuses to erase a customer while a dispute of one of
// their card payments is open: the evidence the store must answer it with
// (the orders' delivery, the tickets, the activity log) is theirs, and
// erasure does not reach data needed to defend a legal claim (GDPR
// art. 17(3)(e)). It can be erased once the dispute is won or lost.
var ErrOpenDispute = errors.New("privacy: a dispute of the customer's card payment is open")

// ErrOpenClaim refuses to erase a customer while one of their claims is
// still open: waiting for its processing time, a redelivery or evidence,
// left to an agent, or held by a dispute. Its decision may give money
// back to the balance, which nobody could use once the account is erased
// (and the agent deciding it needs what the customer wrote). It can be
// erased once every claim is decided.
var ErrOpenClaim = errors.New("privacy: a claim of the customer's is still open")

// ErrBalanceChanged refuses an erasure whose customer gave up another
// balance than the one their account holds as it is erased (a top-up paid
// or a refund credited since the page showed it): nothing is changed, and
// the page shows the balance again.
var ErrBalanceChanged = errors.New("privacy: the balance is not the one the customer gave up")

// ErrBadReason refuses an erasure without a known reason.
var ErrBadReason = errors.New("privacy: unknown erasure reason")

// Options configure the service.
type Options struct {
	// DataDir holds the mail spool to scrub.
	DataDir string
	// RetainActivity and RetainClosedTickets are the retention periods the
	// daily job applies; zero turns that part off.
	RetainActivity      time.Duration
	RetainClosedTickets time.Duration
	Logger              *slog.Logger
	// Settle, when set, runs before an export reads: it numbers invoices
	// issued a moment ago (internal/invoices NumberPending), so that the
	// export shows each with its number.
	Settle func(context.Context) error
	// AbandonUnpaid, when set, cancels in the erasure's transaction what
	// still waits for the customer's card payment: their orders, releasing
	// the payments and the licence keys they reserved
	// (orders.Service.AbandonUnpaidTx), and their top-ups
	// (cardpay.Service.ReleaseWaitingTx).
	AbandonUnpaid func(ctx context.Context, tx *sql.Tx, customerID string) (int, error)
}

// Service exports and erases customers' data.
type Service struct {
	db    *db.DB
	clock clock.Clock
	blobs blob.Store
	jobs  jobs.Inserter
	opts  Options
}

// New makes the service.
func New(d *db.DB, clk clock.Clock, blobs blob.Store, ins jobs.Inserter, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, clock: clk, blobs: blobs, jobs: ins, opts: opts}
}

// Erasure says what an erasure did, in counts (no personal data).
type Erasure struct {
	UserID   string `json:"user_id"`
	Reason   string `json:"reason"`
	Files    int    `json:"files"`
	Mails    int    `json:"mails"`
	Already  bool   `json:"already_erased"`
	Scrubbed bool   `json:"scrubbed"`
}

// CheckErasable says, before anything is asked of the customer, whether
// Erase would refuse them now: ErrLiveSubscriptions while a subscription
// renews, ErrOpenDispute while a dispute is open, ErrOpenClaim while a
// claim is. Erase checks again in its transaction.
func (s *Service) CheckErasable(ctx context.Context, userID string) error {
	return checkErasable(ctx, s.db.Read, userID)
}

// checkErasable refuses the erasure of a customer with a subscription that
// renews (ErrLiveSubscriptions), an open dispute (ErrOpenDispute) or an
// open claim (ErrOpenClaim). In Erase's transaction it runs once the
// account is held: a claim filed or decided meanwhile holds it first
// (claims' holdCustomerTx), and so does a dispute's webhook (cardpay's
// applyDispute), so each is seen here or comes after the erasure.
func checkErasable(ctx context.Context, q db.Querier, userID string) error {
	if n, err := subscriptions.LiveCount(ctx, q, userID); err != nil {
		return err
	} else if n > 0 {
		return ErrLiveSubscriptions
	}
	if n, err := disputes.OpenCount(ctx, q, userID); err != nil {
		return err
	} else if n > 0 {
		return ErrOpenDispute
	}
	if n, err := claims.OpenCount(ctx, q, userID); err != nil {
		return err
	} else if n > 0 {
		return ErrOpenClaim
	}
	return nil
}

// checkGivenUp refuses, with ErrBalanceChanged, to erase a customer whose
// positive balance is not forfeit, the one they confirmed giving up (zero:
// none). It runs in the erasure's transaction once the account is held:
// every credit to a balance holds the account first too (billing's
// refuseErased, the card top-up's payment, claims' holdCustomerTx), so
// none can land between this read and the commit. A debit may (a purchase
// paid from the balance): less is then given up than was confirmed, which
// the customer agreed to. A dispute's take-back of a top-up holds the
// account too: it lands before (the erasure is refused for the open
// dispute) or after the commit, never between.
func checkGivenUp(ctx context.Context, q db.Querier, userID string, forfeit money.Amount) error {
	b, err := billing.BalanceTx(ctx, q, userID, forfeit.Currency)
	if err != nil {
		return err
	}
	if b.Minor > 0 && b.Minor != forfeit.Minor {
		return ErrBalanceChanged
	}
	return nil
}

// Erase erases customer userID's personal data on behalf of by, for reason.
// The database part is one transaction; deleting the files it names follows
// the commit, and a job retries it if it fails here. Erasing an erased
// account again does nothing more (the files are scrubbed again, which is
// harmless).
func (s *Service) Erase(ctx context.Context, userID string, by audit.Actor, reason string) (Erasure, error) {
	return s.erase(ctx, userID, by, reason, nil)
}

// EraseGivingUp is Erase for a customer who confirmed giving up forfeit,
// the balance the deletion page showed them (zero: none): if their
// balance, read in the erasure's transaction, is positive and another
// amount, the erasure is refused with ErrBalanceChanged and changes
// nothing. Before, the page compared the amounts before the erasure's
// transaction, and a credit landing in between was given up unseen.
func (s *Service) EraseGivingUp(ctx context.Context, userID string, by audit.Actor, reason string, forfeit money.Amount) (Erasure, error) {
	return s.erase(ctx, userID, by, reason, &forfeit)
}

// erase is Erase, and EraseGivingUp when forfeit is set.
func (s *Service) erase(ctx context.Context, userID string, by audit.Actor, reason string, forfeit *money.Amount) (Erasure, error) {
	if !ValidReason(reason) {
		return Erasure{}, ErrBadReason
	}
	res := Erasure{UserID: userID, Reason: reason}
	var scrub ScrubArgs
	now := s.clock.Now().UTC()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		scrub = ScrubArgs{}
		u, err := account.UserTx(ctx, tx, userID)
		if err != nil {
			return err
		}
		if u.Role != account.RoleCustomer {
			return account.ErrNotCustomer
		}
		if res.Already, err = account.BeginErasureTx(ctx, tx, userID); err != nil || res.Already {
			return err
		}
		email := u.Email
		if err := checkErasable(ctx, tx, userID); err != nil {
			return err
		}
		if forfeit != nil {
			if err := checkGivenUp(ctx, tx, userID, *forfeit); err != nil {
				return err
			}
		}
		ips, err := account.SessionIPsTx(ctx, tx, userID)
		if err != nil {
			return err
		}
		if _, err := disputes.EraseCustomerActivityTx(ctx, tx, userID); err != nil {
			return err
		}
		more, err := orders.EraseCustomerTx(ctx, tx, userID)
		if err != nil {
			return err
		}
		ips = append(ips, more...)
		if more, err = subscriptions.EraseCustomerTx(ctx, tx, userID); err != nil {
			return err
		}
		ips = append(ips, more...)
		keys, err := claims.EraseCustomerTx(ctx, tx, userID)
		if err != nil {
			return err
		}
		scrub.BlobKeys = append(scrub.BlobKeys, keys...)
		// What was written from the address as a guest, or sent to it,
		// is the account's to erase only once it has shown it reads the
		// address, as for the export: anyone can sign up with someone
		// else's address, and deleting that account must not erase the
		// owner's tickets and mail. An admin erasing on a request they
		// received has checked who asked.
		guestEmail := email
		if reason != ReasonOnBehalf {
			if proven, err := account.AddressProvenTx(ctx, tx, userID); err != nil {
				return err
			} else if !proven {
				guestEmail = ""
			}
		}
		tickets, err := desk.EraseCustomerTx(ctx, tx, userID, guestEmail, now)
		if err != nil {
			return err
		}
		scrub.BlobKeys = append(scrub.BlobKeys, tickets.BlobKeys...)
		if err := invoices.EraseNoticesTx(ctx, tx, userID); err != nil {
			return err
		}
		if scrub.MailIDs, err = mail.EraseRecipientTx(ctx, tx, userID, guestEmail); err != nil {
			return err
		}
		// The tickets' mail was erased with them; most of it is the
		// customer's too, but a deadline warning to staff is not.
		scrub.MailIDs = union(scrub.MailIDs, tickets.MailIDs)
		if err := forgetMailJobsTx(ctx, tx, scrub.MailIDs); err != nil {
			return err
		}
		if s.opts.AbandonUnpaid != nil {
			if _, err := s.opts.AbandonUnpaid(ctx, tx, userID); err != nil {
				return err
			}
		}
		if err := cardpay.ForgetCustomerJobsTx(ctx, tx, userID); err != nil {
			return err
		}
		if err := cardpay.DeleteStripeCustomersTx(ctx, tx, s.jobs, userID); err != nil {
			return err
		}
		if err := idempotency.ForgetCallerTx(ctx, tx, userID); err != nil {
			return err
		}
		if _, err := account.EraseTx(ctx, tx, userID, now, ips); err != nil {
			return err
		}
		res.Files, res.Mails = len(scrub.BlobKeys), len(scrub.MailIDs)
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: by, SubjectType: "user", SubjectID: userID,
			Action: "erased", After: map[string]any{"reason": reason, "files": res.Files, "mails": res.Mails}}); err != nil {
			return err
		}
		return s.scheduleScrubTx(ctx, tx, scrub)
	})
	if err != nil {
		return Erasure{}, err
	}
	res.Scrubbed = s.scrubNow(ctx, scrub, "erasure")
	return res, nil
}

// forgetMailJobsTx deletes the send jobs of erased mail: their arguments
// name the message, and River keeps a finished job for a while.
func forgetMailJobsTx(ctx context.Context, tx *sql.Tx, mailIDs []string) error {
	for _, id := range mailIDs {
		if err := jobs.ForgetTx(ctx, tx, "mail.send", id); err != nil {
			return err
		}
	}
	return nil
}

// scheduleScrubTx queues, in the transaction that erased them, the deletion
// of the files and spooled mail scrub names: the job retries what scrubNow
// cannot do once the transaction commits.
func (s *Service) scheduleScrubTx(ctx context.Context, tx *sql.Tx, scrub ScrubArgs) error {
	if len(scrub.BlobKeys)+len(scrub.MailIDs) == 0 {
		return nil
	}
	if _, err := s.jobs.InsertTx(ctx, tx, scrub, nil); err != nil {
		return fmt.Errorf("privacy: schedule scrub: %w", err)
	}
	return nil
}

// scrubNow deletes at once what a committed erasure (or retention) named,
// so that the files are gone when the page says so, and checkpoints the
// write-ahead log so that old page images leave it. It reports false when
// the files are left to the job scheduleScrubTx queued.
func (s *Service) scrubNow(ctx context.Context, scrub ScrubArgs, after string) bool {
	done := true
	if err := s.scrub(ctx, scrub); err != nil {
		s.opts.Logger.Warn("privacy: scrub after "+after+" failed; the job will retry", "err", err)
		done = false
	}
	if err := s.db.Checkpoint(ctx); err != nil {
		s.opts.Logger.Warn("privacy: checkpoint after "+after, "err", err)
	}
	return done
}

// union is a followed by the ids of b it lacks.
func union(a, b []string) []string {
	seen := make(map[string]bool, len(a))
	for _, id := range a {
		seen[id] = true
	}
	for _, id := range b {
		if !seen[id] {
			seen[id] = true
			a = append(a, id)
		}
	}
	return a
}

// ScrubArgs is the job that deletes the files an erasure or the retention
// named: uploaded blobs and spooled mail. It holds keys and ids only.
type ScrubArgs struct {
	BlobKeys []string `json:"blob_keys,omitempty"`
	MailIDs  []string `json:"mail_ids,omitempty"`
}

// Kind names the job.
func (ScrubArgs) Kind() string { return "privacy.scrub" }

func (s *Service) scrub(ctx context.Context, a ScrubArgs) error {
	var errs []error
	for _, k := range a.BlobKeys {
		if err := s.blobs.Delete(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	if s.opts.DataDir != "" {
		errs = append(errs, mail.ScrubSpool(s.opts.DataDir, a.MailIDs))
	}
	return errors.Join(errs...)
}

type scrubWorker struct {
	river.WorkerDefaults[ScrubArgs]
	s *Service
}

func (w *scrubWorker) Work(ctx context.Context, j *river.Job[ScrubArgs]) error {
	if err := w.s.scrub(ctx, j.Args); err != nil {
		return err
	}
	return w.s.db.Checkpoint(ctx)
}

// RetentionArgs is the daily job applying the retention periods.
type RetentionArgs struct{}

// Kind names the job.
func (RetentionArgs) Kind() string { return "privacy.retention" }

// InsertOpts keep one retention run waiting or running at a time.
func (RetentionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
}

// RetentionJob runs the retention once a day (and at start, so that a store
// restarted daily still applies it).
func RetentionJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return RetentionArgs{}, nil },
		&river.PeriodicJobOpts{ID: "privacy.retention", RunOnStart: true})
}

type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	s *Service
}

func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	_, err := w.s.ApplyRetention(ctx)
	return err
}

// AddWorkers registers the package's workers.
func (s *Service) AddWorkers(workers *river.Workers) {
	river.AddWorker(workers, &scrubWorker{s: s})
	river.AddWorker(workers, &retentionWorker{s: s})
}

// Retained counts what one retention run removed.
type Retained struct {
	Sessions  int64
	Downloads int64
	// Activity is the number of sign-in and page-view lines deleted.
	Activity int64
	Tickets  int
	// RateLimits and IdempotencyKeys count the technical records deleted
	// once of no use: rate-limit windows that ended (their buckets name
	// addresses and emails) and idempotency keys past their TTL (each
	// keeps the answer it would replay).
	RateLimits      int64
	IdempotencyKeys int64
}

// ApplyRetention deletes sessions last seen and activity lines (sign-ins,
// page views) written before the activity retention,
// erases the address and browser of older downloads (the download itself is
// evidence of supply and stays), and erases the personal content of tickets
// closed for longer than their retention; it also deletes the rate-limit
// windows and idempotency keys that have served. Running it twice is
// harmless.
func (s *Service) ApplyRetention(ctx context.Context) (Retained, error) {
	now := s.clock.Now().UTC()
	var r Retained
	var scrub ScrubArgs
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, scrub = Retained{}, ScrubArgs{}
		var err error
		if s.opts.RetainActivity > 0 {
			cutoff := now.Add(-s.opts.RetainActivity)
			if r.Sessions, err = account.DeleteSessionsBeforeTx(ctx, tx, cutoff); err != nil {
				return err
			}
			if r.Downloads, err = orders.ForgetDownloadAddressesTx(ctx, tx, cutoff); err != nil {
				return err
			}
			if r.Activity, err = disputes.DeleteActivityBeforeTx(ctx, tx, cutoff); err != nil {
				return err
			}
		}
		if s.opts.RetainClosedTickets > 0 {
			var tickets desk.Erased
			if r.Tickets, tickets, err = desk.EraseClosedBeforeTx(ctx, tx, now.Add(-s.opts.RetainClosedTickets)); err != nil {
				return err
			}
			scrub.BlobKeys, scrub.MailIDs = tickets.BlobKeys, tickets.MailIDs
			if err := forgetMailJobsTx(ctx, tx, scrub.MailIDs); err != nil {
				return err
			}
		}
		if r.RateLimits, err = ratelimit.PruneTx(ctx, tx, now.Add(-ratelimit.MaxWindow)); err != nil {
			return err
		}
		if r.IdempotencyKeys, err = idempotency.PruneTx(ctx, tx, now); err != nil {
			return err
		}
		if r == (Retained{}) {
			return nil
		}
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "retention", SubjectID: "daily",
			Action: "applied", After: map[string]any{"sessions": r.Sessions, "downloads": r.Downloads, "activity": r.Activity, "tickets": r.Tickets,
				"rate_limits": r.RateLimits, "idempotency_keys": r.IdempotencyKeys}}); err != nil {
			return err
		}
		return s.scheduleScrubTx(ctx, tx, scrub)
	})
	if err != nil {
		return Retained{}, err
	}
	s.scrubNow(ctx, scrub, "retention")
	return r, nil
}
