package desk

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"comptoir/internal/inbound"
)

// BreachScanArgs is the periodic job that marks tickets whose promised
// answer time has passed and warns the staff about those due soon.
type BreachScanArgs struct{}

// Kind names the job.
func (BreachScanArgs) Kind() string { return "desk.breach_scan" }

// BreachScanJob runs the scan every minute; River's periodic jobs run on
// the leader node only, so several nodes do not scan at once (and the scan
// is idempotent anyway).
func BreachScanJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
		func() (river.JobArgs, *river.InsertOpts) { return BreachScanArgs{}, nil },
		&river.PeriodicJobOpts{ID: "desk.breach_scan", RunOnStart: true})
}

type breachScanWorker struct {
	river.WorkerDefaults[BreachScanArgs]
	s *Service
}

func (w *breachScanWorker) Work(ctx context.Context, _ *river.Job[BreachScanArgs]) error {
	now := w.s.clock.Now()
	if _, err := w.s.MarkBreaches(ctx, now); err != nil {
		return err
	}
	_, err := w.s.WarnDeadlines(ctx, now)
	return err
}

// AddWorkers registers the desk's workers.
func (s *Service) AddWorkers(workers *river.Workers) {
	river.AddWorker(workers, &breachScanWorker{s: s})
}

// IMAPPollArgs is the periodic job that fetches new mail from the support
// mailbox (--imap-url).
type IMAPPollArgs struct{}

// Kind names the job.
func (IMAPPollArgs) Kind() string { return "desk.imap_poll" }

// InsertOpts make the poll unique while one is waiting or running, so that
// with several nodes (or a leader change mid-poll) only one polls at a
// time, and give it one attempt: a failed poll (server down) is discarded
// with its error and the next periodic poll starts afresh, instead of
// retries with a growing backoff holding the unique slot.
func (IMAPPollArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

// MailPoller fetches new mail and hands it to the intake (inbound.Poller).
type MailPoller interface {
	Poll(ctx context.Context) (inbound.PollResult, error)
}

// IMAPPollJob polls every interval (River runs periodic jobs on the leader
// node only).
func IMAPPollJob(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return IMAPPollArgs{}, nil },
		&river.PeriodicJobOpts{ID: "desk.imap_poll", RunOnStart: true})
}

type imapPollWorker struct {
	river.WorkerDefaults[IMAPPollArgs]
	p MailPoller
}

// Timeout leaves a batch of large messages time to download (River's
// default is 2 minutes).
func (w *imapPollWorker) Timeout(*river.Job[IMAPPollArgs]) time.Duration { return 10 * time.Minute }

func (w *imapPollWorker) Work(ctx context.Context, _ *river.Job[IMAPPollArgs]) error {
	_, err := w.p.Poll(ctx)
	return err
}

// AddIMAPWorker registers the worker of IMAPPollArgs.
func AddIMAPWorker(workers *river.Workers, p MailPoller) {
	river.AddWorker(workers, &imapPollWorker{p: p})
}
