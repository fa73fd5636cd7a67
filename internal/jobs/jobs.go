// Package jobs runs comptoir's background work with River, on SQLite and
// PostgreSQL alike. Work that must happen later or elsewhere (emails, Stripe
// calls, renewals, SLA warnings) is a job inserted in the same transaction as
// the change that caused it, so it exists exactly when the change does.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"comptoir/internal/db"
)

// Client is River's client over database/sql transactions.
type Client = river.Client[*sql.Tx]

// Inserter is what a domain service needs to schedule work: insert a job in
// the caller's transaction.
type Inserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// driver picks River's driver for the engine. On SQLite River uses the single
// write connection, as River's SQLite driver recommends and as every writer
// must anyway.
func driver(d *db.DB) riverdriver.Driver[*sql.Tx] {
	if d.Engine == db.SQLite {
		return riversqlite.New(d.Write)
	}
	return riverdatabasesql.New(d.Write)
}

// Migrate applies River's own migrations, waiting for locks as
// db.MigrateOptions' defaults say.
func Migrate(ctx context.Context, d *db.DB) error {
	return MigrateWith(ctx, d, db.MigrateOptions{})
}

// MigrateWith applies River's own migrations. River's Migrate waits for
// the locks its ALTERs need as long as it takes, and one waiting for
// river_job behind a session holding it (a transaction left open, a long
// report) queued every query of the job queue behind it. On PostgreSQL
// each of River's migrations now runs as each of comptoir's does
// (db.MigrateStep): in its own transaction, its lock waits bounded by o,
// retried, then ErrMigrationLocked with nothing of it applied.
func MigrateWith(ctx context.Context, d *db.DB, o db.MigrateOptions) error {
	m, err := rivermigrate.New(driver(d), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if d.Engine != db.Postgres {
		// SQLite has no lock queue: a writer waits on the busy timeout.
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("river migrations: %w", err)
		}
		return nil
	}
	var pending []rivermigrate.Migration
	err = d.MigrateStep(ctx, o, "river_versions", func(ctx context.Context, tx *sql.Tx) error {
		existing, err := m.ExistingVersionsTx(ctx, tx)
		if err != nil {
			return err
		}
		applied := make(map[int]bool, len(existing))
		for _, v := range existing {
			applied[v.Version] = true
		}
		for _, v := range m.AllVersions() {
			if !applied[v.Version] {
				pending = append(pending, v)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	for _, v := range pending {
		name := fmt.Sprintf("river_%03d_%s", v.Version, strings.ReplaceAll(v.Name, " ", "_"))
		err := d.MigrateStep(ctx, o, name, func(ctx context.Context, tx *sql.Tx) error {
			// One migration a transaction, as River's Migrate does (some
			// need the one before committed); up to v, which does nothing
			// when another node applied it meanwhile. MigrateTx is
			// deprecated for running them all in one transaction.
			//lint:ignore SA1019 one migration a transaction, see above
			_, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: v.Version})
			return err
		})
		if err != nil {
			return fmt.Errorf("river migrations: %w", err)
		}
	}
	return nil
}

// Config is what the application decides about its workers.
type Config struct {
	Workers      *river.Workers
	PeriodicJobs []*river.PeriodicJob
	Logger       *slog.Logger
	// RescueStuckJobsAfter is how long a running job may go without finishing
	// before another node takes it over (after a crash). Tests set it short.
	RescueStuckJobsAfter time.Duration
	// FetchPollInterval bounds how soon a newly inserted job is picked up.
	FetchPollInterval time.Duration
	// RetryBackoffCap, when set, bounds River's growing delay between a
	// job's attempts (tests that kill the process again and again, where
	// each kill costs running jobs an attempt, set it short).
	RetryBackoffCap time.Duration
}

// cappedRetry is River's default retry schedule, never later than max.
type cappedRetry struct {
	max time.Duration
	river.DefaultClientRetryPolicy
}

func (p *cappedRetry) NextRetry(job *rivertype.JobRow) time.Time {
	next := p.DefaultClientRetryPolicy.NextRetry(job)
	if limit := time.Now().Add(p.max); next.After(limit) {
		return limit
	}
	return next
}

// defaultRescueAfter is how long a job may run before another node takes
// it over, unless Config says otherwise.
const defaultRescueAfter = 10 * time.Minute

// New makes a River client. A client with no workers can only insert (used by
// command-line tools).
func New(d *db.DB, cfg Config) (*Client, error) {
	rc := &river.Config{
		Logger:               cfg.Logger,
		Workers:              cfg.Workers,
		PeriodicJobs:         cfg.PeriodicJobs,
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
		FetchPollInterval:    cfg.FetchPollInterval,
		MaxAttempts:          25,
		JobTimeout:           2 * time.Minute,
	}
	if cfg.RetryBackoffCap > 0 {
		rc.RetryPolicy = &cappedRetry{max: cfg.RetryBackoffCap}
	}
	if rc.Logger == nil {
		rc.Logger = slog.New(slog.DiscardHandler)
	}
	if rc.RescueStuckJobsAfter == 0 {
		// River's default is an hour. No job of ours runs for more than its
		// timeout (two minutes), and a job left running by a node that died
		// holds up to a batch of emails: take it over sooner.
		rc.RescueStuckJobsAfter = defaultRescueAfter
	}
	// River wants a job's timeout no longer than the rescue delay: a job
	// still running after it is taken for one whose node died.
	if rc.RescueStuckJobsAfter > 0 && rc.RescueStuckJobsAfter < rc.JobTimeout {
		rc.JobTimeout = rc.RescueStuckJobsAfter
	}
	if rc.FetchPollInterval == 0 {
		rc.FetchPollInterval = 500 * time.Millisecond
	}
	// River refuses a poll interval below its fetch cooldown (100 ms by
	// default); tests that poll faster lower the cooldown with it.
	if rc.FetchPollInterval < 100*time.Millisecond {
		rc.FetchCooldown = rc.FetchPollInterval
	}
	if cfg.Workers != nil {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 8}}
	}
	return river.NewClient(driver(d), rc)
}

// hardStopBound is how long Stop waits, after its context ended, for the
// jobs it cancelled to record their attempt.
const hardStopBound = 5 * time.Second

// Stop stops c, letting running jobs finish until ctx ends. Those still
// running then are cancelled, and River hands them back to the queue, to
// run at the next start or on another node: left as they were, a process
// that exits marks nothing, and their rows stayed "running" until another
// node's rescue took them over (ten minutes), emails and payments held
// with them. It returns nil once every job is stopped, forced or not.
func Stop(ctx context.Context, c *Client, log *slog.Logger) error {
	err := c.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	if log != nil {
		log.Warn("jobs still running at the end of the shutdown delay: cancelling them, they will be retried")
	}
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), hardStopBound)
	defer cancel()
	if herr := c.StopAndCancel(hard); herr != nil {
		return fmt.Errorf("jobs: stop: %w", errors.Join(err, herr))
	}
	return nil
}

// ForgetTx deletes the jobs of kind whose arguments name value (an id), in
// any state but running: their attempt errors may quote what the job worked
// on (a refused recipient's address), and an erasure must not leave that
// behind. The match is on the id's text (SQLite stores arguments as binary
// JSON, without quotes), so value must be an id no other id contains. It is
// matched literally: ids hold underscores, which LIKE reads as "any
// character", and forgetting usr_ab must not delete usrXab's jobs. A running
// job finishes and is swept by River's own cleaner.
func ForgetTx(ctx context.Context, tx *sql.Tx, kind, value string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM river_job WHERE kind = $1 AND state <> 'running'
		AND CAST(args AS TEXT) LIKE $2 ESCAPE $3`, kind, "%"+db.EscapeLike(value)+"%", db.LikeEscape); err != nil {
		return fmt.Errorf("jobs: forget: %w", err)
	}
	return nil
}

// StillToRun returns the values of the argument key of the jobs of kind
// that will still run (waiting, scheduled, retrying or running), for
// finding work whose job is gone: cancelled by hand, or given up by River.
func StillToRun(ctx context.Context, d *db.DB, kind, key string) (map[string]bool, error) {
	arg := `json_extract(args, '$.' || $2)` // SQLite keeps the arguments as binary JSON
	if d.Engine == db.Postgres {
		arg = `args->>CAST($2 AS TEXT)`
	}
	values, err := db.Strings(ctx, d.Read, `SELECT DISTINCT `+arg+` FROM river_job WHERE kind = $1
		AND state IN ('available', 'pending', 'retryable', 'running', 'scheduled') AND `+arg+` IS NOT NULL`, kind, key)
	if err != nil {
		return nil, fmt.Errorf("jobs: still to run: %w", err)
	}
	out := make(map[string]bool, len(values))
	for _, v := range values {
		out[v] = true
	}
	return out, nil
}
