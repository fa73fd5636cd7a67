package claims

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/desk/sla"
	"comptoir/internal/policy"
)

// AnswerClock gives the answer deadlines of a claim that started waiting
// for an agent at start: the time aimed for and the time promised
// (POLICY.md "Customer service promise"). The composition root builds it
// from the desk's SLA calculator and the store's calendar, so claims and
// tickets count the same hours.
type AnswerClock func(start time.Time) (target, promise time.Time)

// Wall-clock defaults, when no AnswerClock is given.
const (
	DefaultAnswerTarget  = 24 * time.Hour
	DefaultAnswerPromise = 48 * time.Hour
)

// WallClock is the answer clock of a store without a business calendar.
func WallClock(start time.Time) (time.Time, time.Time) {
	return start.Add(DefaultAnswerTarget), start.Add(DefaultAnswerPromise)
}

// SLAClock is the answer clock of a store's SLA policy: a claim waiting
// for an agent is due as a ticket whose customer wrote at that moment, in
// wall-clock or business hours as the policy's calendar says (the desk's
// calculator, sla.Deadlines, so claims and tickets count alike).
func SLAClock(p sla.Policy) AnswerClock {
	return func(start time.Time) (time.Time, time.Time) {
		st := sla.Deadlines(p, []sla.Event{{At: start, Kind: sla.CustomerMessage}}, start)
		return st.TargetAt, st.PromiseAt
	}
}

// waitsForAgent reports whether an outcome leaves the claim to an agent.
func waitsForAgent(o policy.Outcome) bool {
	return o == policy.OutcomeReview || o == policy.OutcomeSolution
}

// Waiting reports whether the claim's answer clock runs: it waits for an
// agent and none has answered yet.
func (c Claim) Waiting() bool { return !c.AnswerPromiseAt.IsZero() && c.AnsweredAt.IsZero() }

// Late reports whether the claim's promised answer time passed before now
// with no answer, or an answer came after it.
func (c Claim) Late(now time.Time) bool {
	return c.AnswerBreached || (c.Waiting() && c.AnswerPromiseAt.Before(now))
}

// startClockTx starts the answer clock of a claim that now waits for an
// agent, from start, unless it already ran (a claim is answered once: the
// first human answer is what the promise is about).
func (s *Service) startClockTx(ctx context.Context, tx *sql.Tx, c *Claim, start, now time.Time) error {
	target, promise := s.opts.AnswerClock(start)
	if target.IsZero() || target.After(promise) {
		target = promise
	}
	res, err := tx.ExecContext(ctx, `UPDATE claims SET answer_target_at = $2, answer_promise_at = $3
		WHERE id = $1 AND answer_promise_at IS NULL`, c.ID, target.UTC(), promise.UTC())
	if err != nil {
		return wrapDB("start answer clock", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		c.AnswerTargetAt, c.AnswerPromiseAt = target.UTC(), promise.UTC()
	}
	// A claim an agent filed from an old message may be late already.
	return s.markLateTx(ctx, tx, c, now)
}

// stopClockTx stops a running answer clock at now (the claim was
// answered), first counting the breach if the promise passed unflagged.
func (s *Service) stopClockTx(ctx context.Context, tx *sql.Tx, c *Claim, now time.Time) error {
	if err := s.markLateTx(ctx, tx, c, now); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE claims SET answered_at = $2
		WHERE id = $1 AND answer_promise_at IS NOT NULL AND answered_at IS NULL`, c.ID, now.UTC())
	if err != nil {
		return wrapDB("stop answer clock", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		c.AnsweredAt = now.UTC()
	}
	return nil
}

// markLateTx flags the claim late if its promise passed before now with no
// answer. The update is conditional, so the flag (and its audit entry) is
// set once, whoever gets there first: the scan or a late decision.
func (s *Service) markLateTx(ctx context.Context, tx *sql.Tx, c *Claim, now time.Time) error {
	var id string
	err := tx.QueryRowContext(ctx, `UPDATE claims SET answer_breached = TRUE
		WHERE id = $1 AND answer_promise_at IS NOT NULL AND answered_at IS NULL AND answer_breached = FALSE
		AND answer_promise_at < $2 RETURNING id`, c.ID, now.UTC()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return wrapDB("mark late", err)
	}
	c.AnswerBreached = true
	return auditBreachTx(ctx, tx, id, now)
}

// updateClockTx moves the answer clock with a claim's new decision: an
// outcome for an agent starts it (evidence arrived), anything else (an
// agent's decision above all) stops it.
func (s *Service) updateClockTx(ctx context.Context, tx *sql.Tx, c *Claim, byAgent bool, now time.Time) error {
	// A claim held by a dispute waits for the bank, not for an agent
	// (refundHeld).
	if !byAgent && waitsForAgent(c.Decision.Outcome) && c.Decision.Rule != RuleRefundHeld {
		return s.startClockTx(ctx, tx, c, now, now)
	}
	return s.stopClockTx(ctx, tx, c, now)
}

// auditBreachTx records that a claim missed its promised answer time.
func auditBreachTx(ctx context.Context, tx *sql.Tx, claimID string, now time.Time) error {
	return audit.Record(ctx, tx, audit.Entry{At: now.UTC(), Actor: audit.System, SubjectType: "claim", SubjectID: claimID,
		Action: "claim.breached", After: map[string]any{"breached": true}})
}

// markBreachesQuery reads the claims_answer_breach_scan partial index: only
// claims whose clock runs and that are not flagged yet.
const markBreachesQuery = `UPDATE claims SET answer_breached = TRUE
	WHERE answer_promise_at IS NOT NULL AND answered_at IS NULL AND answer_breached = FALSE
	AND answer_promise_at < $1 RETURNING id`

// MarkBreaches flags the claims whose promised answer time passed before
// now unanswered, audits each, and returns how many it newly flagged.
// Running it again changes nothing.
func (s *Service) MarkBreaches(ctx context.Context, now time.Time) (int, error) {
	var ids []string
	err := s.db.Tx(ctx, func(tx *sql.Tx) (err error) {
		if ids, err = db.Strings(ctx, tx, markBreachesQuery, now.UTC()); err != nil {
			return wrapDB("mark breaches", err)
		}
		for _, id := range ids {
			if err := auditBreachTx(ctx, tx, id, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(ids), nil
}

// CountBreaches returns how many open claims are past their promised
// answer time with no answer.
func (s *Service) CountBreaches(ctx context.Context) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM claims
		WHERE answer_breached = TRUE AND answered_at IS NULL AND status = 'open'`).Scan(&n)
	return n, wrapDB("count breaches", err)
}

// Backlog is how many claims are open (what the console's claim list
// shows first) and how many of them are past their promised answer.
func (s *Service) Backlog(ctx context.Context) (open, late int, err error) {
	err = s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN answer_breached = TRUE AND answered_at IS NULL THEN 1 ELSE 0 END), 0)
		FROM claims WHERE status = 'open'`).Scan(&open, &late)
	return open, late, wrapDB("count open claims", err)
}

// BreachScanArgs is the periodic job that flags the claims whose promised
// answer time passed and warns the staff about those due soon.
type BreachScanArgs struct{}

// Kind names the job.
func (BreachScanArgs) Kind() string { return "claims.breach_scan" }

// BreachScanJob runs the scan every minute; River runs periodic jobs on the
// leader node only (and the scan is idempotent anyway).
func BreachScanJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
		func() (river.JobArgs, *river.InsertOpts) { return BreachScanArgs{}, nil },
		&river.PeriodicJobOpts{ID: "claims.breach_scan", RunOnStart: true})
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
