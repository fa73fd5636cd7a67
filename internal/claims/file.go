package claims

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/id"
	"comptoir/internal/locale"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

// Input bounds: far above any real claim, low enough that one request
// cannot fill a table.
const (
	maxMessage   = 20_000 // bytes
	maxSourceRef = 200
)

// FileInput is a claim being filed, by its customer or by an agent from a
// message the customer wrote.
type FileInput struct {
	Kind       policy.Kind
	CustomerID string
	// OrderID and LineID name the order line (LineID may be left out when
	// the order has one line); SubscriptionID the subscription of a
	// subscription_cancel claim.
	OrderID        string
	LineID         string
	SubscriptionID string
	Message        string
	// Lang is the language Message is written in ("fr", "en"), or "" when
	// it is not known; the pages mark the message with it.
	Lang string
	// Choice is how a subscription should end (period_end or now); required
	// for subscription_cancel, refused for the other kinds.
	Choice policy.Cancel
	// RefundRequested is nil when not given, which means true (API.md).
	RefundRequested *bool
	// FiledAt is, for an agent, when the customer first wrote about the
	// matter (the message's time; default now). A customer's claim is filed
	// now, whatever FiledAt says.
	FiledAt time.Time
	// SourceMessageID is the message an agent files the claim from.
	SourceMessageID string
	// Actor is who files: the customer themself, or an agent or admin.
	Actor audit.Actor
	// Then, when set, runs last in the filing's transaction with the
	// claim as decided: the API stores its Idempotency-Key answer there,
	// so that a retried filing is answered, never filed (and refunded)
	// again. Its error rolls the filing back.
	Then func(ctx context.Context, tx *sql.Tx, c Claim) error
}

// File records a claim and decides it under the policy version the
// customer accepted, in one transaction with everything the decision
// entails: a refund (line refunded, money back where it came from), the job
// that decides again when the processing time has passed, a redelivery, a
// subscription's cancellation; the email that tells the customer the
// decision in their language; the audit lines.
//
// A second open claim of the same kind on the same line is
// ErrDuplicateOpenClaim; a second withdrawal from a line, whatever the
// first was decided, is ErrAlreadyWithdrawn (one withdrawal per line, held
// by the database too), but for an agent's from a message earlier than a
// refused one, which decides that one again (refileWithdrawal); a claim on an order that is not the customer's is
// ErrNotFound. A non_delivery or withdrawal claim on a line that already got
// money back from a claim of that kind, and a non_delivery claim on a line a
// withdrawal got money back for, is ErrAlreadyDecided: the policy's formula
// would otherwise pay the undelivered share a second time. (A withdrawal
// after a non_delivery refund is decided: the engine counts that refund
// against the undelivered part, and the consumer's right must be
// acknowledged.) A refund that the card payment's open dispute holds does
// not refuse the filing: the claim is recorded and waits for the bank
// (RuleRefundHeld, fileHeld).
func (s *Service) File(ctx context.Context, in FileInput) (Claim, error) {
	c, err := s.prepareFiling(ctx, in)
	if err != nil {
		return Claim{}, err
	}
	if c.Kind == policy.Withdrawal && c.FiledVia == ViaAgent {
		// An agent's withdrawal from an earlier message than the one on
		// record, which was refused: that one is decided again
		// (refileWithdrawal).
		prior, err := s.priorWithdrawal(ctx, c)
		if err != nil {
			return Claim{}, err
		}
		if prior != "" {
			return s.refileWithdrawal(ctx, in, c, prior)
		}
	}
	var out Claim
	err = s.retry(ctx, func() error {
		subj, err := s.gather(ctx, c)
		if err != nil {
			return err
		}
		if s.afterGather != nil {
			s.afterGather()
		}
		if c.Kind == policy.Withdrawal {
			if err := s.checkNoPriorWithdrawal(ctx, c); err != nil {
				return err
			}
		}
		if c.Kind == policy.NonDelivery || c.Kind == policy.Withdrawal {
			if err := s.checkNoPriorRefund(ctx, c); err != nil {
				return err
			}
		}
		now := s.clock.Now()
		d := s.evaluate(subj, now)
		cl := subj.claim
		cl.ID = id.New("clm")
		subj.claim = cl
		// A redelivery is followed at once by the decision that waits for
		// it (see followRedelivery): the claim is written with that one.
		next, d2, follows := s.followRedelivery(subj, d, now)
		final, n := d, int64(1)
		if follows {
			final, n = d2, 2
		}
		cl.Status = statusFor(final.Outcome)
		cl.Decision, cl.DecidedAt, cl.DecidedBy = final, now, ""
		cl.Revision, cl.CreatedAt, cl.UpdatedAt = n, now, now
		subj.claim = cl
		notified := subj
		err = s.db.Tx(ctx, func(tx *sql.Tx) error {
			// First, as an erasure takes the account first: a claim filed
			// during an erasure is either seen by it or finds the
			// account erased and is refused (holdFilerTx).
			if err := holdFilerTx(ctx, tx, cl.CustomerID); err != nil {
				return err
			}
			if err := insertClaimTx(ctx, tx, &cl); err != nil {
				return err
			}
			// Left to an agent: the answer is due counting from the
			// customer's first written contact.
			if waitsForAgent(final.Outcome) {
				if err := s.startClockTx(ctx, tx, &cl, cl.FiledAt, now); err != nil {
					return err
				}
			}
			if err := takeSubjectTx(ctx, tx, cl.subjectID(), subj.version, true); err != nil {
				return err
			}
			decisionID, err := insertDecisionTx(ctx, tx, cl.ID, 1, d, "", "", now, "")
			if err != nil {
				return err
			}
			if err := s.carryOutTx(ctx, tx, subj, &cl, d, decisionID, audit.System, time.Time{}); err != nil {
				return err
			}
			if follows {
				next.claim = cl
				if decisionID, err = insertDecisionTx(ctx, tx, cl.ID, 2, d2, "", "", now, ""); err != nil {
					return err
				}
				if err := s.carryOutTx(ctx, tx, next, &cl, d2, decisionID, audit.System, time.Time{}); err != nil {
					return err
				}
				notified = next
			}
			if err := audit.Record(ctx, tx, audit.Entry{
				At: now, Actor: in.Actor, SubjectType: "claim", SubjectID: cl.ID, Action: "file",
				After: claimState(cl),
			}); err != nil {
				return err
			}
			template := "claim_filed"
			if cl.Kind == policy.Withdrawal {
				// The acknowledgement of receipt on a durable medium that
				// art. 11a of Directive 2011/83/EU asks for, sent at once.
				template = "claim_withdrawal"
			}
			if err := s.notifyTx(ctx, tx, template, notified, cl); err != nil {
				return err
			}
			if in.Then != nil {
				return in.Then(ctx, tx, cl)
			}
			return nil
		})
		if err != nil && paymentDisputed(err) {
			// The refund is held by the payment's dispute: the claim is
			// recorded all the same (a subscription ends as decided), and
			// its refund decided once the bank has (refundHeld).
			out, err = s.fileHeld(ctx, in, subj, cl, d, now)
			return err
		}
		out = cl
		return err
	})
	if errors.Is(err, ErrDuplicateOpenClaim) && c.Kind == policy.Withdrawal {
		// The unique index refused the claim: a withdrawal filed at the
		// same time got in first (claims_one_withdrawal_per_line), or an
		// open withdrawal claim is on the line. The winner has committed
		// by now (the index made us wait for it): say which.
		if werr := s.checkNoPriorWithdrawal(ctx, c); werr != nil {
			err = werr
		}
	}
	if err != nil {
		return Claim{}, err
	}
	return out, nil
}

// Withdraw is the withdrawal button: a withdrawal claim filed by the
// customer now, acknowledged at once by email with the date and time it was
// received (Directive 2011/83/EU art. 11a).
func (s *Service) Withdraw(ctx context.Context, customerID, orderID, lineID string) (Claim, error) {
	return s.File(ctx, FileInput{
		Kind: policy.Withdrawal, CustomerID: customerID, OrderID: orderID, LineID: lineID,
		Actor: audit.Actor{ID: customerID, Role: account.RoleCustomer},
	})
}

// prepareFiling validates a filing and resolves it into the claim to
// decide: who filed and when, the order line, the policy version.
func (s *Service) prepareFiling(ctx context.Context, in FileInput) (Claim, error) {
	now := s.clock.Now()
	fields := map[string]string{}
	c := Claim{
		Kind: in.Kind, CustomerID: in.CustomerID, OrderID: in.OrderID, LineID: in.LineID, SubscriptionID: in.SubscriptionID,
		Message: in.Message, Lang: knownLang(in.Lang), Choice: in.Choice, RefundRequested: in.RefundRequested == nil || *in.RefundRequested,
		FiledBy: in.Actor.ID,
	}
	known := false
	for _, k := range policy.Kinds {
		known = known || k == in.Kind
	}
	if !known {
		fields["kind"] = "invalid"
	}
	switch in.Actor.Role {
	case account.RoleCustomer:
		// A customer files for themself, now; anything else would let a
		// customer move their own window.
		if in.Actor.ID == "" || in.Actor.ID != in.CustomerID {
			return Claim{}, ErrNotFound
		}
		if in.SourceMessageID != "" {
			fields["source_message_id"] = "agents_only"
		}
		c.FiledVia, c.FiledAt = ViaCustomer, now
	case account.RoleAgent, account.RoleAdmin:
		if in.Actor.ID == "" {
			return Claim{}, ErrForbidden
		}
		c.FiledVia, c.FiledAt, c.SourceMessageID = ViaAgent, now, in.SourceMessageID
		if !in.FiledAt.IsZero() {
			c.FiledAt = normalize(in.FiledAt)
		}
		if c.FiledAt.After(now) {
			fields["filed_at"] = "in_future"
		}
	default:
		return Claim{}, ErrForbidden
	}
	// An agent names the claim's subject (API.md's body has no customer):
	// its owner is the customer, found below. A customer_id the agent
	// gives must be that owner's.
	staffNamesNoCustomer := in.CustomerID == "" && in.Actor.Role != account.RoleCustomer
	if len(in.Message) > maxMessage {
		fields["message"] = "too_long"
	} else if !db.ValidText(in.Message) {
		// PostgreSQL refuses NUL in text: a field error, not a 500.
		fields["message"] = "invalid"
	}
	if len(in.SourceMessageID) > maxSourceRef {
		fields["source_message_id"] = "too_long"
	} else if !db.ValidText(in.SourceMessageID) {
		fields["source_message_id"] = "invalid"
	}
	if in.Kind == policy.SubscriptionCancel {
		switch {
		case in.SubscriptionID == "":
			fields["subscription_id"] = "required"
		case in.OrderID != "" || in.LineID != "":
			fields["order_id"] = "not_applicable"
		}
		if in.Choice != policy.CancelPeriodEnd && in.Choice != policy.CancelNow {
			fields["choice"] = "invalid"
			if in.Choice == "" {
				fields["choice"] = "required"
			}
		}
	} else {
		switch {
		case in.OrderID == "":
			fields["order_id"] = "required"
		case in.SubscriptionID != "":
			fields["subscription_id"] = "not_applicable"
		}
		if in.Choice != "" {
			fields["choice"] = "not_applicable"
		}
	}
	if len(fields) > 0 {
		return Claim{}, &ValidationError{Fields: fields}
	}
	// An id holding NUL or invalid UTF-8 names nothing: PostgreSQL cannot
	// even compare it (a server error there, while SQLite answered "not
	// found"), so it is not found before it reaches SQL, as such a path is.
	for _, ref := range []string{in.CustomerID, in.OrderID, in.LineID, in.SubscriptionID} {
		if !db.ValidText(ref) {
			return Claim{}, ErrNotFound
		}
	}

	if in.Kind == policy.SubscriptionCancel {
		if s.subs == nil {
			return Claim{}, ErrSubscriptionsUnavailable
		}
		if staffNamesNoCustomer {
			sub, err := s.subs.ClaimSubject(ctx, in.SubscriptionID)
			if err != nil {
				return Claim{}, err
			}
			c.CustomerID = sub.CustomerID
		}
		return c, nil
	}
	o, err := s.orders.Get(ctx, in.OrderID)
	if err == nil && staffNamesNoCustomer {
		c.CustomerID = o.CustomerID
	}
	if errors.Is(err, orders.ErrNotFound) || err == nil && o.CustomerID != c.CustomerID {
		return Claim{}, ErrNotFound
	}
	if err != nil {
		return Claim{}, err
	}
	if c.LineID == "" {
		if len(o.Lines) != 1 {
			return Claim{}, invalid("line_id", "required")
		}
		c.LineID = o.Lines[0].ID
	} else if _, ok := o.Line(c.LineID); !ok {
		return Claim{}, ErrNotFound
	}
	if o.PaidAt.IsZero() {
		return Claim{}, ErrOrderNotPaid
	}
	if c.FiledAt.Before(o.PlacedAt) {
		return Claim{}, invalid("filed_at", "before_order")
	}
	c.PolicyVersion = o.PolicyVersion
	return c, nil
}

// priorWithdrawalQuery finds the withdrawal claim of an order line, through
// claims_by_order as priorRefundQuery does. A line filed more than once
// before one withdrawal per line was the rule has several: the first.
const priorWithdrawalQuery = `SELECT MIN(id) FROM claims WHERE order_id = $1 AND kind = 'withdrawal' AND order_line_id = $2`

// checkNoPriorWithdrawal refuses a withdrawal from a line that already has
// one (ErrAlreadyWithdrawn), before anything is decided: the first one's
// decision, a refusal or a refund of nothing included, is the withdrawal's
// answer. The unique index claims_one_withdrawal_per_line holds the rule
// when two are filed at once.
func (s *Service) checkNoPriorWithdrawal(ctx context.Context, c Claim) error {
	prior, err := s.priorWithdrawal(ctx, c)
	if err != nil {
		return err
	}
	if prior != "" {
		return fmt.Errorf("%w (%s)", ErrAlreadyWithdrawn, prior)
	}
	return nil
}

// priorWithdrawal is the withdrawal claim of c's line, or "" when it has
// none.
func (s *Service) priorWithdrawal(ctx context.Context, c Claim) (string, error) {
	var prior sql.NullString
	if err := s.db.Read.QueryRowContext(ctx, priorWithdrawalQuery, c.OrderID, c.LineID).Scan(&prior); err != nil {
		return "", wrapDB("prior withdrawal", err)
	}
	return prior.String, nil
}

// priorRefundQuery finds the first claim of a kind on an order line that
// got money back. It names the line's order so that the claims are found
// through claims_by_order: with the line alone, MIN(id) led SQLite to walk
// every claim ever filed in id order, and each filing cost more than the
// last.
const priorRefundQuery = `SELECT MIN(c.id) FROM claims c JOIN claim_refunds r ON r.claim_id = c.id
	WHERE c.order_id = $1 AND c.kind IN ($2, $4) AND c.order_line_id = $3 AND r.status <> 'failed'`

// checkNoPriorRefund refuses a kind whose automatic refund a line already
// had (see File). It runs after gather read the subject's version, so a
// refund committed since then moves the version and the filing is retried.
//
// A non_delivery claim also looks for a withdrawal's refund: the withdrawal
// refunded the undelivered part (or everything), and non_delivery's formula,
// a share of what is left, would pay part of it again.
func (s *Service) checkNoPriorRefund(ctx context.Context, c Claim) error {
	also := c.Kind
	if c.Kind == policy.NonDelivery {
		also = policy.Withdrawal
	}
	var prior sql.NullString
	err := s.db.Read.QueryRowContext(ctx, priorRefundQuery, c.OrderID, string(c.Kind), c.LineID, string(also)).Scan(&prior)
	if err != nil {
		return wrapDB("prior refunds", err)
	}
	if prior.Valid {
		return fmt.Errorf("%w (%s)", ErrAlreadyDecided, prior.String)
	}
	return nil
}

// openOutcomes are the outcomes that leave a claim open.
func statusFor(o policy.Outcome) string {
	switch o {
	case policy.OutcomeReview, policy.OutcomeAwaitingEvidence, policy.OutcomeWaitingDelivery, policy.OutcomeSolution:
		return StatusOpen
	}
	return StatusDecided
}

func insertClaimTx(ctx context.Context, tx *sql.Tx, c *Claim) error {
	amount, currency := refundColumns(c.Decision.Refund)
	var choice any
	if c.Choice != "" {
		choice = string(c.Choice)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO claims (id, kind, customer_id, order_id, order_line_id, subscription_id, status, filed_at,
		filed_by, filed_via, source_message_id, message, choice, refund_requested, policy_version, outcome, rule, statutory,
		refund_amount, refund_currency, cancel, reason_en, reason_fr, decided_at, decided_by, revision, created_at, updated_at, lang)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, NULL, $26, $25, $25, $27)`,
		c.ID, string(c.Kind), c.CustomerID, nullString(c.OrderID), nullString(c.LineID), nullString(c.SubscriptionID), c.Status, c.FiledAt,
		c.FiledBy, c.FiledVia, nullString(c.SourceMessageID), c.Message, choice, c.RefundRequested, c.PolicyVersion,
		string(c.Decision.Outcome), c.Decision.Rule, c.Decision.Statutory, amount, currency, string(c.Decision.Cancel),
		c.Decision.Reason.EN, c.Decision.Reason.FR, c.DecidedAt, c.CreatedAt, c.Revision, c.Lang)
	if db.IsUniqueViolation(err) {
		// The unique keys a new claim can hit are the one open claim per
		// kind per line (or subscription) and the one withdrawal per line,
		// which File tells apart once the claim that got in has committed.
		return ErrDuplicateOpenClaim
	}
	return wrapDB("insert claim", err)
}

func insertDecisionTx(ctx context.Context, tx *sql.Tx, claimID string, seq int64, d policy.Decision, code, note string, at time.Time, by string) (string, error) {
	decisionID := id.New("cld")
	amount, currency := refundColumns(d.Refund)
	_, err := tx.ExecContext(ctx, `INSERT INTO claim_decisions (id, claim_id, seq, outcome, rule, statutory, refund_amount, refund_currency,
		cancel, reason_en, reason_fr, reason_code, note, policy_version, decided_at, decided_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		decisionID, claimID, seq, string(d.Outcome), d.Rule, d.Statutory, amount, currency, string(d.Cancel),
		d.Reason.EN, d.Reason.FR, nullString(code), note, d.PolicyVersion, at, nullString(by))
	return decisionID, wrapDB("insert decision", err)
}

// setDecisionTx makes d the claim's current decision and bumps its
// revision by n, the number of decisions recorded with it (2 when d
// follows a redelivery decided in the same step, else 1), so that the new
// revision is d's seq. With expect > 0 it
// applies only to an open claim still at revision expect (an automatic
// re-decision taken on what it read): errStale otherwise, or
// ErrClaimNotOpen when the claim was decided meanwhile. A decision that
// leaves the claim open applies only to an open claim: a decided one is
// never reopened (the claims_filing_fixed trigger), and an agent's that
// would (a redelivery waiting for the line) is ErrNotReopened.
func setDecisionTx(ctx context.Context, tx *sql.Tx, c *Claim, d policy.Decision, at time.Time, by string, expect, n int64) error {
	amount, currency := refundColumns(d.Refund)
	query := `UPDATE claims SET status = $2, outcome = $3, rule = $4, statutory = $5, refund_amount = $6, refund_currency = $7,
		cancel = $8, reason_en = $9, reason_fr = $10, decided_at = $11, decided_by = $12, revision = revision + $13, updated_at = $11
		WHERE id = $1`
	args := []any{c.ID, statusFor(d.Outcome), string(d.Outcome), d.Rule, d.Statutory, amount, currency, string(d.Cancel),
		d.Reason.EN, d.Reason.FR, at, nullString(by), n}
	switch {
	case expect > 0:
		query += ` AND revision = $14 AND status = 'open'`
		args = append(args, expect)
	case statusFor(d.Outcome) == StatusOpen:
		query += ` AND status = 'open'`
	}
	var rev int64
	err := tx.QueryRowContext(ctx, query+` RETURNING revision`, args...).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		err := claimMoved(ctx, tx, c.ID)
		if expect == 0 && errors.Is(err, ErrClaimNotOpen) {
			return ErrNotReopened
		}
		return err
	}
	if err != nil {
		return wrapDB("set decision", err)
	}
	c.Status, c.Decision, c.DecidedAt, c.DecidedBy, c.Revision, c.UpdatedAt = statusFor(d.Outcome), d, at, by, rev, at
	return nil
}

// touchClaimTx bumps an open claim's revision (evidence added) if it is
// still at revision expect.
func touchClaimTx(ctx context.Context, tx *sql.Tx, c *Claim, at time.Time, expect int64) error {
	var rev int64
	err := tx.QueryRowContext(ctx, `UPDATE claims SET revision = revision + 1, updated_at = $2
		WHERE id = $1 AND revision = $3 AND status = 'open' RETURNING revision`, c.ID, at, expect).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return claimMoved(ctx, tx, c.ID)
	}
	if err != nil {
		return wrapDB("touch claim", err)
	}
	c.Revision, c.UpdatedAt = rev, at
	return nil
}

// claimMoved explains why a conditional update of a claim matched nothing.
func claimMoved(ctx context.Context, tx *sql.Tx, claimID string) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM claims WHERE id = $1`, claimID).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return wrapDB("claim", err)
	case status != StatusOpen:
		return ErrClaimNotOpen
	}
	return errStale
}

// errStale: what a decision was computed on changed before it could
// commit; retry recomputes it.
var errStale = errors.New("claims: the claim or its subject changed meanwhile")

// maxAttempts bounds retries of a decision whose facts keep changing.
const maxAttempts = 8

// retry runs fn until it does not fail with errStale (ErrBusy after
// maxAttempts).
func (s *Service) retry(ctx context.Context, fn func() error) error {
	for range maxAttempts {
		err := fn()
		if !errors.Is(err, errStale) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return ErrBusy
}

// takeSubjectTx bumps the version of a claim subject (order line or
// subscription) in tx, which also holds its row lock until commit. Strict:
// only if the version is still expect, the one the facts were read at
// (errStale otherwise) — an automatic decision must not commit on facts a
// concurrent claims transaction changed. Not strict (an agent's explicit
// amount): bump whatever the version.
func takeSubjectTx(ctx context.Context, tx *sql.Tx, subjectID string, expect int64, strict bool) error {
	var res sql.Result
	var err error
	switch {
	case !strict:
		_, err = tx.ExecContext(ctx, `INSERT INTO claim_subjects (subject_id, version) VALUES ($1, 1)
			ON CONFLICT (subject_id) DO UPDATE SET version = claim_subjects.version + 1`, subjectID)
		return wrapDB("subject", err)
	case expect == 0:
		res, err = tx.ExecContext(ctx, `INSERT INTO claim_subjects (subject_id, version) VALUES ($1, 1)
			ON CONFLICT (subject_id) DO NOTHING`, subjectID)
	default:
		res, err = tx.ExecContext(ctx, `UPDATE claim_subjects SET version = version + 1 WHERE subject_id = $1 AND version = $2`,
			subjectID, expect)
	}
	if err != nil {
		return wrapDB("subject", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrapDB("subject", err)
	} else if n != 1 {
		return errStale
	}
	return nil
}

// claimState is a claim as the audit log records it: ids and the
// decision, never the customer's words.
func claimState(c Claim) map[string]any {
	m := map[string]any{
		"kind": c.Kind, "status": c.Status, "outcome": c.Decision.Outcome, "rule": c.Decision.Rule,
		"statutory": c.Decision.Statutory, "policy_version": c.PolicyVersion, "filed_at": c.FiledAt, "filed_via": c.FiledVia,
	}
	if c.OrderID != "" {
		m["order_id"], m["line_id"] = c.OrderID, c.LineID
	}
	if c.SubscriptionID != "" {
		m["subscription_id"] = c.SubscriptionID
	}
	if c.Decision.Refund != nil {
		m["refund"] = *c.Decision.Refund
	}
	if c.Decision.Cancel != policy.CancelNone {
		m["cancel"] = c.Decision.Cancel
	}
	return m
}

// Preview is the decision a claim would get if filed now, without filing
// it: what a page shows before the customer confirms (a subscription
// cancellation says whether money goes back).
func (s *Service) Preview(ctx context.Context, in FileInput) (policy.Decision, error) {
	c, err := s.prepareFiling(ctx, in)
	if err != nil {
		return policy.Decision{}, err
	}
	subj, err := s.gather(ctx, c)
	if err != nil {
		return policy.Decision{}, err
	}
	return s.evaluate(subj, s.clock.Now()), nil
}

// knownLang is lang when it is a language of the store, else "" (unknown).
func knownLang(lang string) string {
	if locale.Known(lang) {
		return lang
	}
	return ""
}
