package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/jobs"
	"comptoir/internal/testwait"
)

type stuckArgs struct{}

func (stuckArgs) Kind() string { return "test.stuck" }

// stuckWorker runs until its context ends (a call to a server that does
// not answer).
type stuckWorker struct {
	river.WorkerDefaults[stuckArgs]
	started chan struct{}
}

func (w *stuckWorker) Work(ctx context.Context, _ *river.Job[stuckArgs]) error {
	close(w.started)
	<-ctx.Done()
	return ctx.Err()
}

// A job still running when the shutdown delay ends is cancelled and handed
// back to the queue (River makes it available again), instead of being
// left "running" until another node's rescue; Stop returns within its
// bound.
func TestStopCancelsJobsStillRunning(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	workers := river.NewWorkers()
	w := &stuckWorker{started: make(chan struct{})}
	river.AddWorker(workers, w)
	c, err := jobs.New(d, jobs.Config{Workers: workers, FetchPollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := c.Insert(ctx, stuckArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.started:
	case <-time.After(testwait.Default):
		t.Fatal("the job never started")
	}
	stopCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := jobs.Stop(stopCtx, c, nil); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Stop took %v", took)
	}
	errorCount := `json_array_length(COALESCE(errors, '[]'))` // SQLite keeps them as JSON
	if d.Engine == db.Postgres {
		errorCount = `COALESCE(array_length(errors, 1), 0)`
	}
	var state string
	var errs int
	if err := d.Read.QueryRowContext(ctx, `SELECT state, `+errorCount+` FROM river_job WHERE id = $1`, res.Job.ID).Scan(&state, &errs); err != nil {
		t.Fatal(err)
	}
	if state != "retryable" && state != "available" {
		t.Fatalf("job %s with %d errors after the stop, want it to run again (available or retryable)", state, errs)
	}
}
