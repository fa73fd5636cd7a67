package desk

import (
	"context"
	"time"

	"github.com/riverqueue/river"
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
