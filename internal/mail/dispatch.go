package mail

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"comptoir/internal/db"
	"comptoir/internal/id"
	"comptoir/internal/jobs"
)

// dispatchBatch is how many messages one dispatching transaction takes;
// dispatchChunk how many one sending job sends (a batch). Jobs are inserted
// by one River statement per pass, and River's cost (the job's row, its
// fetch and its completion) is paid once per batch rather than once per
// message. A batch is small enough for a slow relay to get through it well
// within the job's timeout (an attempt cut short is retried, and what it
// sent stays sent), and batches run in parallel.
const (
	dispatchBatch = 500
	dispatchChunk = 25
)

// dispatchGather is how long the dispatcher lets messages gather after a
// pass that dispatched some, before it runs the next. Each pass makes a
// batch of whatever was queued since the last: under a steady stream of
// checkouts, passes run back to back made batches of 5 to 8 messages, and
// each batch costs the same whatever it holds (the dispatching
// transaction, its River job inserted, fetched and completed, its two
// reads, a connection to the relay, the commits of its marks): about as
// much CPU as sending its messages (issue #9). A tenth of a second
// gathers 20 at 200 checkouts a second; a message queued after a quiet
// moment is dispatched at once, one in a stream waits at most this long.
const dispatchGather = 100 * time.Millisecond

// DefaultSweep is how often Dispatch looks for messages nobody woke it for:
// those queued by a process that stopped before dispatching them, or by a
// command that runs no dispatcher.
const DefaultSweep = 5 * time.Second

// Wake tells the dispatcher that messages are waiting. EnqueueTx calls it
// when the transaction that queued them commits; calling it more often
// costs one indexed query that finds nothing.
func (o *Outbox) Wake() { o.wake.Wake() }

// Dispatch gives queued messages their sending jobs until ctx ends: at
// once when woken (Wake), and every sweep otherwise, but no sooner than
// dispatchGather after a pass that dispatched messages. Each pass takes
// messages in the order they were queued, puts them in batches of
// dispatchChunk, marks them dispatched and inserts one job per batch, in
// one transaction, so a message gets its job once: two dispatchers (two
// nodes) take different messages, and a crash before the commit leaves them
// for the next pass. A database error is logged and the messages wait for
// the next pass.
//
// Every orphanCheck it also gives their messages back to the dispatcher
// when a batch's job is gone (RequeueOrphans).
func (o *Outbox) Dispatch(ctx context.Context, sweep time.Duration, log *slog.Logger) {
	if sweep <= 0 {
		sweep = DefaultSweep
	}
	var checked time.Time
	// Nobody waits on the dispatcher's transactions (db.Unhurried).
	o.wake.Loop(db.Unhurried(ctx), sweep, log, "mail dispatch", func(ctx context.Context) error {
		if time.Since(checked) >= orphanCheck {
			checked = time.Now()
			if n, err := o.RequeueOrphans(ctx); err != nil {
				return err
			} else if n > 0 && log != nil {
				log.Warn("mail batches without a job: their messages are dispatched again", "messages", n)
			}
		}
		n, err := o.DispatchPending(ctx)
		if n > 0 {
			// Wakes meanwhile are kept (one pending covers any number):
			// the next pass runs at the end of the pause.
			o.gather(ctx)
		}
		return err
	})
}

// orphanCheck is how often Dispatch looks for batches whose job is gone,
// and orphanAge how old their messages must be: a batch's job is inserted
// in the transaction that makes the batch, so a younger one cannot lack it.
const (
	orphanCheck = 10 * time.Minute
	orphanAge   = 10 * time.Minute
)

// RequeueOrphans gives back to the dispatcher the messages still queued in
// a batch that has no job left to run them: one cancelled by hand, or given
// up by River after a crash during its last attempt. Left alone they would
// stay queued for ever, neither sent nor reported. It returns how many
// messages it gave back.
func (o *Outbox) RequeueOrphans(ctx context.Context) (int64, error) {
	// Batches only lose their job, never gain one back: one found without
	// a job to run it stays so while its messages are given back.
	old, err := db.Strings(ctx, o.db.Read, `SELECT DISTINCT batch FROM outgoing_mail_queue
		WHERE batch IS NOT NULL AND queued_at < $1`, o.clock.Now().Add(-orphanAge))
	if err != nil || len(old) == 0 {
		return 0, wrapOrphans(err)
	}
	live, err := jobs.StillToRun(ctx, o.db, SendBatchArgs{}.Kind(), "batch")
	if err != nil {
		return 0, wrapOrphans(err)
	}
	var n int64
	for _, batch := range old {
		if live[batch] {
			continue
		}
		res, err := o.db.Exec(ctx, `UPDATE outgoing_mail_queue SET batch = NULL WHERE batch = $1`, batch)
		if err != nil {
			return n, wrapOrphans(err)
		}
		c, _ := res.RowsAffected()
		n += c
	}
	if n > 0 {
		o.Wake()
	}
	return n, nil
}

func wrapOrphans(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("mail: batches without a job: %w", err)
}

// DispatchPending inserts the jobs of every message queued and not yet
// dispatched, and reports how many it dispatched.
func (o *Outbox) DispatchPending(ctx context.Context) (int, error) {
	return jobs.Drain(ctx, dispatchBatch, o.dispatchOnce)
}

func (o *Outbox) dispatchOnce(ctx context.Context) (int, error) {
	// PostgreSQL: rows another dispatcher has taken are skipped, not waited
	// for. SQLite has one writer, so the select and update cannot interleave.
	lock := ""
	if o.db.Engine == db.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	query := `UPDATE outgoing_mail_queue SET batch = $2 WHERE mail_id IN (
		SELECT mail_id FROM outgoing_mail_queue WHERE batch IS NULL ORDER BY queued_at, mail_id LIMIT $1` + lock + `)
		AND batch IS NULL`
	n := 0
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		n = 0
		var params []river.InsertManyParams
		for n < dispatchBatch {
			batch := id.New("mlb")
			res, err := tx.ExecContext(ctx, query, dispatchChunk, batch)
			if err != nil {
				return err
			}
			c, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if c > 0 {
				params = append(params, river.InsertManyParams{Args: SendBatchArgs{Batch: batch}})
				n += int(c)
			}
			if c < dispatchChunk {
				break
			}
		}
		if len(params) == 0 {
			return nil
		}
		if _, err := o.jobs.InsertManyFastTx(ctx, tx, params); err != nil {
			return fmt.Errorf("insert sending jobs: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("dispatch mail: %w", err)
	}
	return n, nil
}
