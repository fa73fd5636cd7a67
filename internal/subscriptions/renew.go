package subscriptions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"comptoir/internal/account"
	"comptoir/internal/alerts"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/cardpay"
	"comptoir/internal/id"
	"comptoir/internal/money"
)

// scanBatch bounds the rows one scan query reads; a scan pages through all
// that is due.
const scanBatch = 200

// RenewArgs is the job that charges one period of one subscription. Its
// arguments name the period, so River's unique option collapses two
// insertions for the same period into one job; the period's unique key in
// the database is what guarantees one charge if two jobs run anyway.
type RenewArgs struct {
	SubscriptionID string    `json:"subscription_id"`
	PeriodStart    time.Time `json:"period_start"`
}

// Kind names the job for River; renaming it would orphan queued jobs.
func (RenewArgs) Kind() string { return "subscriptions.renew" }

// InsertOpts makes the job unique per subscription and period.
func (RenewArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// RetryArgs is the job that tries a failed period again. Attempt is the
// number of attempts made when it failed, so each retry is its own unique
// job and a repeated one finds the period already moved on.
type RetryArgs struct {
	PeriodID string `json:"period_id"`
	Attempt  int    `json:"attempt"`
}

// Kind names the job for River.
func (RetryArgs) Kind() string { return "subscriptions.retry" }

// InsertOpts makes the job unique per period and attempt.
func (RetryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// RenewDueArgs is the periodic scan (RenewDue then RetryDue).
type RenewDueArgs struct{}

// Kind names the job for River.
func (RenewDueArgs) Kind() string { return "subscriptions.renew_due" }

// InsertOpts keeps one scan per minute across all nodes, and gives up
// quickly on failure: the next minute scans again anyway.
func (RenewDueArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
}

// RenewDueJob is the periodic job that scans for due renewals and retries
// every minute (its worker comes with AddWorkers). River's leader inserts
// periodic jobs, and the job is unique per minute, so several nodes still
// scan once. It needs no Service, so it can go into the River client's
// configuration before the services exist.
func RenewDueJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
		func() (river.JobArgs, *river.InsertOpts) { return RenewDueArgs{}, nil },
		&river.PeriodicJobOpts{ID: "subscriptions.renew_due", RunOnStart: true})
}

// AddWorkers registers the renewal, retry and scan workers.
func (s *Service) AddWorkers(w *river.Workers) {
	river.AddWorker(w, &renewWorker{s: s})
	river.AddWorker(w, &retryWorker{s: s})
	river.AddWorker(w, &renewDueWorker{s: s})
}

type renewWorker struct {
	river.WorkerDefaults[RenewArgs]
	s *Service
}

func (w *renewWorker) Work(ctx context.Context, job *river.Job[RenewArgs]) error {
	err := w.s.Renew(ctx, job.Args.SubscriptionID, job.Args.PeriodStart)
	var early *notDueError
	if errors.As(err, &early) {
		// This node's clock is behind the one that found the period due:
		// come back when it is due here too, rather than finish the job
		// and let its uniqueness hold the period back.
		return river.JobSnooze(early.wait)
	}
	return err
}

type retryWorker struct {
	river.WorkerDefaults[RetryArgs]
	s *Service
}

func (w *retryWorker) Work(ctx context.Context, job *river.Job[RetryArgs]) error {
	err := w.s.Retry(ctx, job.Args.PeriodID, job.Args.Attempt)
	var early *notDueError
	if errors.As(err, &early) {
		return river.JobSnooze(early.wait)
	}
	return err
}

type renewDueWorker struct {
	river.WorkerDefaults[RenewDueArgs]
	s *Service
}

func (w *renewDueWorker) Work(ctx context.Context, job *river.Job[RenewDueArgs]) error {
	now := w.s.clock.Now()
	if _, err := w.s.RenewDue(ctx, now); err != nil {
		return err
	}
	_, err := w.s.RetryDue(ctx, now)
	return err
}

type notDueError struct{ wait time.Duration }

func (e *notDueError) Error() string {
	return fmt.Sprintf("subscriptions: not due for another %s", e.wait)
}

// RenewDue schedules what is due at now and reports how many subscriptions
// it acted on:
//
//   - an active or trialing subscription whose period has ended gets one
//     renewal job for the period that begins then (inserting it twice, from
//     two scans or two nodes, still makes one job);
//   - one whose cancellation was scheduled for the end of that period is
//     canceled instead, and the customer told ("subscription_ended").
//
// The scan reads the subscriptions_due partial index by due time; a
// subscription whose period is already being charged (a card charge
// awaiting its outcome) is skipped by the period's unique key.
func (s *Service) RenewDue(ctx context.Context, now time.Time) (int, error) {
	if s.opts.Jobs == nil {
		return 0, errors.New("subscriptions: RenewDue needs Options.Jobs")
	}
	n := 0
	var afterEnd time.Time
	afterID := ""
	for {
		type due struct {
			id     string
			end    time.Time
			cancel bool
		}
		rows, err := s.db.Read.QueryContext(ctx, renewDueQuery, now, afterEnd, afterID, scanBatch)
		if err != nil {
			return n, wrapDB("renewals due", err)
		}
		var batch []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.end, &d.cancel); err != nil {
				rows.Close()
				return n, wrapDB("renewals due", err)
			}
			d.end = d.end.UTC()
			batch = append(batch, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, wrapDB("renewals due", err)
		}
		var renew []RenewArgs
		for _, d := range batch {
			if !d.cancel {
				renew = append(renew, RenewArgs{SubscriptionID: d.id, PeriodStart: d.end})
				continue
			}
			ended, err := s.endScheduled(ctx, d.id, now)
			if err != nil {
				return n, err
			}
			if ended {
				n++
			}
		}
		if len(renew) > 0 {
			scheduled := 0
			err := s.db.Tx(ctx, func(tx *sql.Tx) error {
				scheduled = 0 // a rerun (see db.Tx) counts afresh
				for _, args := range renew {
					res, err := s.opts.Jobs.InsertTx(ctx, tx, args, nil)
					if err != nil {
						return fmt.Errorf("subscriptions: schedule renewal: %w", err)
					}
					if !res.UniqueSkippedAsDuplicate {
						scheduled++
					}
				}
				return nil
			})
			if err != nil {
				return n, err
			}
			n += scheduled
		}
		if len(batch) < scanBatch {
			return n, nil
		}
		last := batch[len(batch)-1]
		afterEnd, afterID = last.end, last.id
	}
}

// renewDueQuery repeats the partial index's condition word for word
// (status IN ('active', 'trialing')) so that SQLite, which matches partial
// indexes by the terms of the query, uses it. Pages go by (due time, id);
// the redundant ">= $2" gives the index scan its lower bound, which the OR
// alone would not.
const renewDueQuery = `SELECT id, current_period_end, cancel_at_period_end FROM subscriptions
	WHERE status IN ('active', 'trialing') AND current_period_end <= $1
		AND current_period_end >= $2 AND (current_period_end > $2 OR (current_period_end = $2 AND id > $3))
		AND NOT EXISTS (SELECT 1 FROM subscription_periods p
			WHERE p.subscription_id = subscriptions.id AND p.period_start = subscriptions.current_period_end)
	ORDER BY current_period_end, id
	LIMIT $4`

// retryDueQuery reads the subscription_periods_retry_due partial index.
const retryDueQuery = `SELECT id, attempts, next_attempt_at FROM subscription_periods
	WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $1
		AND next_attempt_at >= $2 AND (next_attempt_at > $2 OR (next_attempt_at = $2 AND id > $3))
	ORDER BY next_attempt_at, id
	LIMIT $4`

// RetryDue schedules a retry job for each failed period whose next attempt
// is due at now, and reports how many it scheduled.
func (s *Service) RetryDue(ctx context.Context, now time.Time) (int, error) {
	if s.opts.Jobs == nil {
		return 0, errors.New("subscriptions: RetryDue needs Options.Jobs")
	}
	n := 0
	var afterAt time.Time
	afterID := ""
	for {
		rows, err := s.db.Read.QueryContext(ctx, retryDueQuery, now, afterAt, afterID, scanBatch)
		if err != nil {
			return n, wrapDB("retries due", err)
		}
		var batch []RetryArgs
		for rows.Next() {
			var a RetryArgs
			if err := rows.Scan(&a.PeriodID, &a.Attempt, &afterAt); err != nil {
				rows.Close()
				return n, wrapDB("retries due", err)
			}
			afterAt, afterID = afterAt.UTC(), a.PeriodID
			batch = append(batch, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, wrapDB("retries due", err)
		}
		if len(batch) > 0 {
			scheduled := 0
			err := s.db.Tx(ctx, func(tx *sql.Tx) error {
				scheduled = 0 // a rerun (see db.Tx) counts afresh
				for _, args := range batch {
					res, err := s.opts.Jobs.InsertTx(ctx, tx, args, nil)
					if err != nil {
						return fmt.Errorf("subscriptions: schedule retry: %w", err)
					}
					if !res.UniqueSkippedAsDuplicate {
						scheduled++
					}
				}
				return nil
			})
			if err != nil {
				return n, err
			}
			n += scheduled
		}
		if len(batch) < scanBatch {
			return n, nil
		}
	}
}

// endScheduled ends a subscription whose cancellation was scheduled for the
// end of its period, once that is past. The update is conditional, so an
// undo that won the race (before the date) keeps it running.
func (s *Service) endScheduled(ctx context.Context, subID string, now time.Time) (bool, error) {
	sub, err := s.Get(ctx, subID)
	if err != nil {
		return false, err
	}
	p, err := partyOf(ctx, s.db.Read, sub)
	if err != nil {
		return false, err
	}
	before := sub.Status
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE subscriptions SET status = 'canceled', canceled_at = $2, ended_at = current_period_end, updated_at = $2
			WHERE id = $1 AND status IN ('active', 'trialing') AND cancel_at_period_end AND current_period_end <= $2`, subID, now)
		if err != nil {
			return wrapDB("end subscription", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errStop
		}
		if sub, err = getSubscription(ctx, tx, subID); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{
			At: now, Actor: audit.System, SubjectType: "subscription", SubjectID: subID, Action: "subscription.ended",
			Before: map[string]any{"status": before, "cancel_at_period_end": true},
			After:  map[string]any{"status": StatusCanceled, "ended_at": sub.EndedAt},
		}); err != nil {
			return err
		}
		lang := p.lang(sub)
		d := s.data(sub, p, lang)
		d.Effective = s.formatDate(sub.EndedAt, lang)
		return s.send(ctx, tx, MailEnded, lang, p, d)
	})
	if errors.Is(err, errStop) {
		return false, nil
	}
	return err == nil, err
}

// Renew charges the period of subID that begins at periodStart: what the
// renewal job runs. Calling it again, or from several jobs or nodes at
// once, charges the period once: the first call inserts the period's row
// and charges in the same transaction; the others find the subscription
// moved on, or the row there, and return nil.
func (s *Service) Renew(ctx context.Context, subID string, periodStart time.Time) error {
	now := s.clock.Now()
	periodStart = periodStart.UTC()
	if now.Before(periodStart) {
		return &notDueError{wait: periodStart.Sub(now)}
	}
	sub, err := s.Get(ctx, subID)
	if err != nil {
		return err
	}
	if !sub.Renews() || !sub.CurrentPeriodEnd.Equal(periodStart) {
		return nil // renewed already, canceled, or failed and being retried
	}
	p, err := partyOf(ctx, s.db.Read, sub)
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Claim the subscription row before anything else. On PostgreSQL
		// the update waits for a concurrent renewal or cancellation and
		// then re-checks the condition on the row they committed, so a
		// cancellation that commits first always stops this charge. SQLite
		// has one writer, which gives the same order.
		res, err := tx.ExecContext(ctx, `UPDATE subscriptions SET updated_at = $3
			WHERE id = $1 AND current_period_end = $2 AND status IN ('active', 'trialing') AND NOT cancel_at_period_end`,
			subID, periodStart, now)
		if err != nil {
			return wrapDB("claim renewal", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errStop
		}
		if sub, err = getSubscription(ctx, tx, subID); err != nil {
			return err
		}
		period := Period{
			ID: id.New("spd"), SubscriptionID: sub.ID, Start: periodStart,
			End:    NextPeriodEnd(periodStart, sub.Interval, sub.AnchorDay, s.opts.Zone.Location()),
			Amount: sub.Amount, PaymentMethod: sub.PaymentMethod, PolicyVersion: sub.PolicyVersion,
			Status: PeriodPending, Attempts: 1, CreatedAt: now,
		}
		inserted, err := insertPeriod(ctx, tx, period)
		if err != nil {
			return err
		}
		if !inserted {
			return errStop // a card charge for this period is under way
		}
		return s.charge(ctx, tx, sub, period, p, now)
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// Retry tries a failed period again: what the retry job runs. attempt is
// the number of attempts made when it failed; a retry that is not (or no
// longer) that one does nothing.
func (s *Service) Retry(ctx context.Context, periodID string, attempt int) error {
	now := s.clock.Now()
	period, err := getPeriod(ctx, s.db.Read, periodID)
	if err != nil {
		return err
	}
	if period.Status != PeriodFailed || period.Attempts != attempt || period.NextAttemptAt.IsZero() {
		return nil
	}
	if now.Before(period.NextAttemptAt) {
		return &notDueError{wait: period.NextAttemptAt.Sub(now)}
	}
	sub, err := s.Get(ctx, period.SubscriptionID)
	if err != nil {
		return err
	}
	if sub.Status != StatusPastDue {
		return nil
	}
	p, err := partyOf(ctx, s.db.Read, sub)
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Subscription row first, as every path that changes both does,
		// so that two of them never wait on each other in opposite order.
		res, err := tx.ExecContext(ctx, `UPDATE subscriptions SET updated_at = $2 WHERE id = $1 AND status = 'past_due'`, sub.ID, now)
		if err != nil {
			return wrapDB("claim retry", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errStop
		}
		res, err = tx.ExecContext(ctx, `UPDATE subscription_periods SET status = 'pending', attempts = attempts + 1, next_attempt_at = NULL, updated_at = $3
			WHERE id = $1 AND status = 'failed' AND attempts = $2 AND next_attempt_at IS NOT NULL AND next_attempt_at <= $3`,
			periodID, attempt, now)
		if err != nil {
			return wrapDB("claim retry", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errStop
		}
		if sub, err = getSubscription(ctx, tx, sub.ID); err != nil {
			return err
		}
		if period, err = getPeriod(ctx, tx, periodID); err != nil {
			return err
		}
		return s.charge(ctx, tx, sub, period, p, now)
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// charge takes payment for a pending period in tx: from the balance at
// once, or by starting a card charge whose outcome arrives later.
func (s *Service) charge(ctx context.Context, tx *sql.Tx, sub Subscription, period Period, p party, now time.Time) error {
	if sub.PaymentMethod == PayBalance {
		entry, err := s.ledger.DebitTx(ctx, tx, billing.Entry{
			CustomerID: sub.CustomerID, Amount: period.Amount, Kind: billing.KindPurchase,
			ReferenceType: "subscription_period", ReferenceID: period.ID, Actor: audit.System,
		})
		if errors.Is(err, billing.ErrInsufficientBalance) {
			return s.failed(ctx, tx, sub, period, p, "insufficient_balance", "", now)
		}
		if err != nil {
			return err
		}
		return s.paid(ctx, tx, sub, period, p, entry.ID, now)
	}
	if s.card == nil {
		return s.failed(ctx, tx, sub, period, p, "card_unavailable", "", now)
	}
	payID, err := s.card.ChargeSavedCardTx(ctx, tx, CardCharge{
		PeriodID: period.ID, CustomerID: sub.CustomerID, Amount: period.Amount,
		Description: clip(fmt.Sprintf("%s (%s)", p.plan.Name(sub.Lang), sub.ID), 250),
	})
	if errors.Is(err, ErrNoCard) {
		return s.failed(ctx, tx, sub, period, p, codeNoCard, err.Error(), now)
	}
	if errors.Is(err, ErrCardDeclined) {
		return s.failed(ctx, tx, sub, period, p, "card_declined", err.Error(), now)
	}
	if errors.Is(err, ErrAuthenticationPending) {
		return s.failed(ctx, tx, sub, period, p, codeAuthentication, err.Error(), now)
	}
	if err != nil {
		return fmt.Errorf("subscriptions: charge card: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE subscription_periods SET payment_reference = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'`,
		period.ID, payID, now); err != nil {
		return wrapDB("record card charge", err)
	}
	return audit.Record(ctx, tx, audit.Entry{
		At: now, Actor: audit.System, SubjectType: "subscription", SubjectID: sub.ID, Action: "subscription.charge_requested",
		After: map[string]any{"period_id": period.ID, "period_start": period.Start, "amount": period.Amount, "payment_id": payID, "attempt": period.Attempts},
	})
}

// PeriodPaidTx records that a pending period was paid by card (reference:
// the card payment), in the transaction that records the payment: the
// composition root calls it from cardpay's PaymentSucceeded for purpose
// "renewal" (ReferenceID is the period id). A period no longer pending is
// left alone, so a repeated outcome changes nothing.
//
// A payment that arrives after the subscription was canceled (the charge
// was already under way) is recorded, not lost; the subscription stays
// canceled and a card payment is refunded in full at once
// (refundPaidAfterEndTx).
//
// A failed period is paid too: the customer paid on the Checkout page that
// the authentication link opened (AuthenticationPeriod) while the retries
// went on, or the bank let a held charge through after all. The period's
// unique payment (cardpay's one live payment per reference) is what makes
// this happen once.
func (s *Service) PeriodPaidTx(ctx context.Context, tx *sql.Tx, periodID, paymentReference string) error {
	return s.settleTx(ctx, tx, periodID, []string{PeriodPending, PeriodFailed}, func(sub Subscription, period Period, p party, now time.Time) error {
		return s.paid(ctx, tx, sub, period, p, paymentReference, now)
	})
}

// PeriodPaymentFailedTx records that the card charge of a pending period
// failed (declined, never completed, or waiting for the customer to
// authenticate), with reason for the record: a renewal goes past_due and
// is retried on schedule; a first payment that fails ends the incomplete
// subscription. A period no longer pending is left alone.
func (s *Service) PeriodPaymentFailedTx(ctx context.Context, tx *sql.Tx, periodID, reason string) error {
	return s.settleTx(ctx, tx, periodID, []string{PeriodPending}, func(sub Subscription, period Period, p party, now time.Time) error {
		return s.failed(ctx, tx, sub, period, p, "card_declined", reason, now)
	})
}

// PeriodAuthenticationRequiredTx records that the off-session charge of a
// pending period needs the customer to authenticate (3-D Secure): a failed
// attempt like a decline, retried on schedule, but the customer's email
// carries the link (AuthenticationPeriod) where they pay the period on
// Stripe's Checkout page.
func (s *Service) PeriodAuthenticationRequiredTx(ctx context.Context, tx *sql.Tx, periodID, reason string) error {
	return s.settleTx(ctx, tx, periodID, []string{PeriodPending}, func(sub Subscription, period Period, p party, now time.Time) error {
		return s.failed(ctx, tx, sub, period, p, codeAuthentication, reason, now)
	})
}

// codeAuthentication is the failure code of an attempt that waits for the
// customer's authentication.
const codeAuthentication = "authentication_required"

// codeNoCard is the failure code of an attempt without a saved card (a
// card subscription whose trial ends: no card was asked for at the start).
const codeNoCard = "no_saved_card"

func (s *Service) settleTx(ctx context.Context, tx *sql.Tx, periodID string, accept []string, apply func(Subscription, Period, party, time.Time) error) error {
	now := s.clock.Now()
	period, err := getPeriod(ctx, tx, periodID)
	if err != nil {
		return err
	}
	// Lock the subscription row before the period (see Retry).
	if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET updated_at = $2 WHERE id = $1`, period.SubscriptionID, now); err != nil {
		return wrapDB("settle period", err)
	}
	if period, err = getPeriod(ctx, tx, periodID); err != nil {
		return err
	}
	if !slices.Contains(accept, period.Status) {
		return nil
	}
	sub, err := getSubscription(ctx, tx, period.SubscriptionID)
	if err != nil {
		return err
	}
	p, err := partyOf(ctx, tx, sub)
	if err != nil {
		return err
	}
	return apply(sub, period, p, now)
}

// paid settles a pending period and moves the subscription forward: the
// first payment activates an incomplete subscription, a renewal makes the
// period current and the subscription active.
func (s *Service) paid(ctx context.Context, tx *sql.Tx, sub Subscription, period Period, p party, ref string, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE subscription_periods SET status = 'paid', paid_at = $2, payment_reference = $3, next_attempt_at = NULL, last_error = '', updated_at = $2
		WHERE id = $1 AND status IN ('pending', 'failed')`, period.ID, now, ref)
	if err != nil {
		return wrapDB("mark paid", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil
	}
	if err := s.invoicePeriod(ctx, tx, sub, period, p); err != nil {
		return err
	}
	before := map[string]any{"status": sub.Status, "current_period_end": sub.CurrentPeriodEnd}
	action, kind := "", ""
	switch {
	case sub.Status == StatusIncomplete && period.Start.Equal(sub.CurrentPeriodStart):
		res, err = tx.ExecContext(ctx, `UPDATE subscriptions SET status = 'active', updated_at = $2 WHERE id = $1 AND status = 'incomplete'`, sub.ID, now)
		action, kind = "subscription.activate", MailStarted
	case sub.Status != StatusCanceled && sub.Status != StatusIncomplete && period.Start.Equal(sub.CurrentPeriodEnd):
		res, err = tx.ExecContext(ctx, `UPDATE subscriptions SET status = 'active', current_period_start = $2, current_period_end = $3, updated_at = $4
			WHERE id = $1 AND current_period_end = $2 AND status IN ('active', 'trialing', 'past_due')`, sub.ID, period.Start, period.End, now)
		action, kind = "subscription.renew", MailRenewed
	default:
		if err := audit.Record(ctx, tx, audit.Entry{
			At: now, Actor: audit.System, SubjectType: "subscription", SubjectID: sub.ID, Action: "subscription.paid_after_end",
			Before: before, After: map[string]any{"period_id": period.ID, "amount": period.Amount, "payment_reference": ref},
		}); err != nil {
			return err
		}
		if sub.Status == StatusCanceled {
			return s.refundPaidAfterEndTx(ctx, tx, sub, period, ref)
		}
		return nil
	}
	if err != nil {
		return wrapDB("advance subscription", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("subscriptions: %s changed while recording a payment; try again", sub.ID)
	}
	if sub, err = getSubscription(ctx, tx, sub.ID); err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{
		At: now, Actor: audit.System, SubjectType: "subscription", SubjectID: sub.ID, Action: action, Before: before,
		After: map[string]any{"status": sub.Status, "period_id": period.ID, "period_start": period.Start, "current_period_end": sub.CurrentPeriodEnd,
			"amount": period.Amount, "payment_reference": ref, "attempt": period.Attempts, "policy_version": period.PolicyVersion},
	}); err != nil {
		return err
	}
	if kind == MailStarted {
		return s.sendStarted(ctx, tx, sub, p)
	}
	lang := p.lang(sub)
	d := s.data(sub, p, lang)
	d.PeriodStart, d.PeriodEnd = s.formatDate(period.Start, lang), s.formatDate(period.End, lang)
	if sub.Renews() {
		d.NextCharge = s.formatDate(sub.CurrentPeriodEnd, lang)
	}
	return s.send(ctx, tx, MailRenewed, lang, p, d)
}

// refundPaidAfterEndTx gives back in full, in tx, a card payment recorded
// after its subscription ended: a charge already being made when the
// customer canceled (or when it was canceled for non-payment), which could
// not be stopped. Its period never runs, and the customer was told that no
// further payment would be taken (POLICY.md subscription_cancel: "no
// renewal is charged after the request"); nobody else would give it back,
// since a canceled subscription offers no cancellation to claim with. The
// period is marked refunded as a claim's refund marks it; its credit note
// comes when the processor confirms (CardHandler.RefundSettled), and a
// refund that fails makes it paid again, as for a claim. A payment that
// cannot be refunded now (disputed) stays paid, for a person to follow.
func (s *Service) refundPaidAfterEndTx(ctx context.Context, tx *sql.Tx, sub Subscription, period Period, ref string) error {
	r, ok := s.card.(CardRefunder)
	if !ok || period.PaymentMethod != PayCard {
		return nil
	}
	refundID, err := r.RefundPeriodTx(ctx, tx, ref, period.Amount, "subscription "+sub.ID+" ended before this payment")
	if errors.Is(err, ErrRefundRefused) {
		s.opts.Logger.Warn("subscriptions: a payment made after the end cannot be refunded now; needs review",
			"subscription", sub.ID, "period", period.ID, "payment", ref, "error", err)
		link := ""
		if errors.Is(err, cardpay.ErrPaymentDisputed) {
			var lerr error
			if link, lerr = disputeLinkTx(ctx, tx, period.ID, ref); lerr != nil {
				return lerr
			}
		}
		return s.alertPaidAfterEndTx(ctx, tx, sub.ID, paidAfterEndDetail(period.Amount, ref, period.ID, sub.CustomerID, "", err.Error(), money.Amount{}), link)
	} else if err != nil {
		return err
	}
	// The period names its refund: CardHandler.RefundSettled tells it from
	// a claim's by that (a claim's failure is the claim's to report).
	if _, err := tx.ExecContext(ctx, `UPDATE subscription_periods SET after_end_refund_id = $2 WHERE id = $1`, period.ID, refundID); err != nil {
		return wrapDB("record the refund of a payment made after the end", err)
	}
	return s.MarkRefundedTx(ctx, tx, period.ID, audit.System)
}

// alertPaidAfterEndTx tells the agents, in tx, that a payment made after
// subscription subID ended was not given back: nobody else would (a
// canceled subscription offers no cancellation to claim with).
func (s *Service) alertPaidAfterEndTx(ctx context.Context, tx *sql.Tx, subID string, detail func(alerts.Words) string, link string) error {
	if s.opts.Alerts == nil {
		return nil
	}
	sub, err := getSubscription(ctx, tx, subID)
	if err != nil {
		return err
	}
	about, err := s.alertAboutTx(ctx, tx, sub)
	if err != nil {
		return err
	}
	return s.opts.Alerts.NotifyTx(ctx, tx, account.RoleAgent, "subscription_refund_failed", alerts.Data{
		SubjectIn: about, DetailIn: detail, Link: link,
	})
}

// alertAboutTx writes what an alert about sub is about, as staff recognise
// it: the plan, named in each one's language, and the customer.
func (s *Service) alertAboutTx(ctx context.Context, tx *sql.Tx, sub Subscription) (func(alerts.Words) string, error) {
	p, err := partyOf(ctx, tx, sub)
	if err != nil {
		return nil, err
	}
	customer := p.user.Name
	if strings.TrimSpace(customer) == "" {
		customer = p.user.Email
	}
	return func(w alerts.Words) string {
		return w.Say("alert.about.subscription", "Plan", p.plan.Name(w.Lang), "Customer", customer)
	}, nil
}

// paidAfterEndDetail writes, for each agent in their language, the payment
// made after the end that was not given back: its amount, period and
// customer, and the card refund that failed (refundID) or why none could
// be made; chargedBack is what a lost dispute returned of it already.
func paidAfterEndDetail(amount money.Amount, paymentID, periodID, customerID, refundID, why string, chargedBack money.Amount) func(alerts.Words) string {
	return func(w alerts.Words) string {
		back := ""
		if chargedBack.Minor > 0 {
			back = money.Format(chargedBack, w.Lang)
		}
		return w.Say("alert.renewal_not_refunded", "Amount", money.Format(amount, w.Lang), "Payment", paymentID, "Period", periodID,
			"Customer", customerID, "Refund", refundID, "Error", why, "ChargedBack", back)
	}
}

// retryAt is when the failed attempt on period (its Attempts-th) is tried
// again: on RetrySchedule from the period's first attempt, but no later
// than retryMargin before the period's end (see RetrySchedule). A period
// whose first attempt came so late (the renewals stopped for days) that the
// margin is already past at now keeps the schedule: retrying at once would
// only repeat this attempt.
func retryAt(period Period, now time.Time) time.Time {
	next := period.CreatedAt.Add(RetrySchedule[period.Attempts-1])
	if latest := period.End.Add(-retryMargin); next.After(latest) && latest.After(now) {
		return latest
	}
	return next
}

// failed records a failed attempt on a pending period. While retries are
// left (RetrySchedule, counted from the period's first attempt, inside the
// period: retryAt) the subscription is past_due and the customer is told
// when the next attempt is; after the last one it is canceled for
// non-payment.
func (s *Service) failed(ctx context.Context, tx *sql.Tx, sub Subscription, period Period, p party, code, detail string, now time.Time) error {
	retry := period.Attempts <= len(RetrySchedule) && !sub.CancelAtPeriodEnd &&
		sub.Status != StatusIncomplete && sub.Status != StatusCanceled
	var next time.Time
	if retry {
		next = retryAt(period, now)
	}
	lastError := code
	if detail != "" {
		lastError = clip(code+": "+detail, 500)
	}
	res, err := tx.ExecContext(ctx, `UPDATE subscription_periods SET status = 'failed', next_attempt_at = $2, last_error = $3, updated_at = $4
		WHERE id = $1 AND status = 'pending'`, period.ID, nullTime(next), lastError, now)
	if err != nil {
		return wrapDB("mark failed", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil
	}
	before := map[string]any{"status": sub.Status}
	after := map[string]any{"period_id": period.ID, "period_start": period.Start, "amount": period.Amount, "attempt": period.Attempts, "error": code}
	lang := p.lang(sub)
	d := s.data(sub, p, lang)
	d.Reason = FailureReason(code, lang)
	var action, kind string
	switch {
	case sub.Status == StatusCanceled:
		// A charge under way when the customer canceled: nothing more.
		action = "subscription.payment_failed"
	case sub.Status == StatusIncomplete:
		// The first payment never came: the subscription never started,
		// so it ends without a notice of non-payment.
		_, err = tx.ExecContext(ctx, `UPDATE subscriptions SET status = 'canceled', canceled_at = $2, ended_at = $2, updated_at = $2
			WHERE id = $1 AND status = 'incomplete'`, sub.ID, now)
		action = "subscription.abandoned"
	case sub.CancelAtPeriodEnd:
		// Canceled for the end of the period while its renewal was being
		// charged: it ends as the customer asked, no retry.
		_, err = tx.ExecContext(ctx, `UPDATE subscriptions SET status = 'canceled', canceled_at = $2, ended_at = current_period_end, updated_at = $2
			WHERE id = $1 AND status <> 'canceled'`, sub.ID, now)
		action, kind = "subscription.ended", MailEnded
		d.Effective = s.formatDate(sub.CurrentPeriodEnd, lang)
	case retry:
		_, err = tx.ExecContext(ctx, `UPDATE subscriptions SET status = 'past_due', updated_at = $2
			WHERE id = $1 AND status IN ('active', 'trialing', 'past_due')`, sub.ID, now)
		action, kind = "subscription.payment_failed", MailPaymentFailed
		after["next_attempt_at"] = next
		if sub.PaymentMethod == PayCard && (code == codeAuthentication || code == "card_declined" || code == codeNoCard) {
			// Retrying the same card is all the schedule does: the
			// customer whose card was declined (expired, blocked) or who
			// never gave one (a trial) must be able to pay with another.
			d.AuthLink, d.Authenticate = s.authLink(sub.ID), code == codeAuthentication
		}
		d.NextAttempt = s.formatDate(next, lang)
		d.AttemptsLeft = len(RetrySchedule) - period.Attempts + 1
		d.PeriodStart, d.PeriodEnd = s.formatDate(period.Start, lang), s.formatDate(period.End, lang)
	default:
		_, err = tx.ExecContext(ctx, `UPDATE subscriptions SET status = 'canceled', canceled_at = $2, ended_at = $2, updated_at = $2
			WHERE id = $1 AND status IN ('active', 'trialing', 'past_due')`, sub.ID, now)
		action, kind = "subscription.canceled_unpaid", MailCanceledUnpaid
		d.Effective = s.formatDate(now, lang)
		if err == nil {
			// The authentication link of the emails sent so far must no
			// longer charge: release what waits for the customer.
			if r, ok := s.card.(CardReleaser); ok {
				_, err = r.ReleasePeriodTx(ctx, tx, period.ID)
			}
		}
	}
	if err != nil {
		return wrapDB("record failed payment", err)
	}
	if sub, err = getSubscription(ctx, tx, sub.ID); err != nil {
		return err
	}
	after["status"] = sub.Status
	if err := audit.Record(ctx, tx, audit.Entry{
		At: now, Actor: audit.System, SubjectType: "subscription", SubjectID: sub.ID, Action: action, Before: before, After: after,
	}); err != nil {
		return err
	}
	if kind == "" {
		return nil
	}
	return s.send(ctx, tx, kind, lang, p, d)
}
