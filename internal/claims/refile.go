package claims

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/policy"
)

// refileWithdrawal is an agent filing a withdrawal from a message the
// customer wrote before the line's withdrawal on record (priorID), which
// was refused: typically the customer wrote within the period by email or
// the contact form, then pressed the withdraw button once it was over. One
// withdrawal per line (claims_one_withdrawal_per_line) refused the agent's
// filing, and the customer lost the right the in-time message exercised:
// POLICY.md's filed_at is the customer's first written contact, and an
// agent's delay never costs the customer their window.
//
// The withdrawal on record is decided again with the earlier filing time
// and the message it comes from, in one transaction with what the new
// decision entails (the refund, the line settled) and the acknowledgement
// by email with the date and time now on record. It stays the line's one
// withdrawal, and its refusal refunded nothing, so nothing is paid twice;
// the refund's conditional update in orders holds that anyway. Anything
// else is ErrAlreadyWithdrawn, with nothing changed: the withdrawal on
// record was not refused (it refunded, or refunded nothing as nothing was
// left), the message is not earlier than its filing, or the earlier time
// would be refused all the same.
func (s *Service) refileWithdrawal(ctx context.Context, in FileInput, filing Claim, priorID string) (Claim, error) {
	var out Claim
	err := s.retry(ctx, func() error {
		prior, err := s.Get(ctx, priorID)
		if err != nil {
			return err
		}
		already := fmt.Errorf("%w (%s)", ErrAlreadyWithdrawn, prior.ID)
		if prior.Decision.Outcome != policy.OutcomeRefused || !filing.FiledAt.Before(prior.FiledAt) {
			return already
		}
		// Filed now as the agent filed it: from the message, at its time.
		moved := prior
		moved.FiledAt, moved.FiledBy, moved.FiledVia, moved.SourceMessageID = filing.FiledAt, filing.FiledBy, filing.FiledVia, filing.SourceMessageID
		subj, err := s.gather(ctx, moved)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		d := s.evaluate(subj, now)
		if d.Outcome == policy.OutcomeRefused {
			return already
		}
		var c Claim
		// refile records d; held, the decision of a refund the card
		// payment's dispute holds (refundHeld), as File records one:
		// the withdrawal reopened at the message's time, decided again
		// once the bank has.
		refile := func(d policy.Decision, held bool) error {
			c = moved
			return s.db.Tx(ctx, func(tx *sql.Tx) error {
				if err := holdCustomerTx(ctx, tx, c.CustomerID, toBalance(subj, d)); err != nil {
					return err
				}
				// Only a refused withdrawal's filing moves, and only earlier
				// (the claims_filing_fixed trigger holds both); the revision
				// read is the one decided again. A held decision reopens the
				// withdrawal, in this update: the only one the trigger lets
				// reopen a decided claim.
				var status, outcome any
				if held {
					status, outcome = string(statusFor(d.Outcome)), string(d.Outcome)
				}
				res, err := tx.ExecContext(ctx, `UPDATE claims SET filed_at = $2, filed_by = $3, filed_via = $4, source_message_id = $5,
					status = COALESCE($7, status), outcome = COALESCE($8, outcome) WHERE id = $1 AND revision = $6 AND outcome = 'refused' AND filed_at > $2`,
					c.ID, c.FiledAt, c.FiledBy, c.FiledVia, nullString(c.SourceMessageID), prior.Revision, status, outcome)
				if err != nil {
					return wrapDB("refile withdrawal", err)
				}
				if n, _ := res.RowsAffected(); n != 1 {
					return errStale
				}
				if err := setDecisionTx(ctx, tx, &c, d, now, "", 0, 1); err != nil {
					return err
				}
				if held {
					if err := s.scheduleRedecideTx(ctx, tx, c.ID, now.Add(heldRecheck)); err != nil {
						return err
					}
				}
				if err := takeSubjectTx(ctx, tx, c.subjectID(), subj.version, true); err != nil {
					return err
				}
				decisionID, err := insertDecisionTx(ctx, tx, c.ID, c.Revision, d, "", "", now, "")
				if err != nil {
					return err
				}
				subj.claim = c
				if err := s.carryOutTx(ctx, tx, subj, &c, d, decisionID, audit.System, time.Time{}); err != nil {
					return err
				}
				before := decisionState(prior)
				before["filed_at"], before["filed_via"], before["filed_by"] = prior.FiledAt, prior.FiledVia, prior.FiledBy
				after := decisionState(c)
				after["filed_at"], after["filed_via"], after["filed_by"] = c.FiledAt, c.FiledVia, c.FiledBy
				if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: in.Actor, SubjectType: "claim", SubjectID: c.ID, Action: "refile",
					Before: before, After: after}); err != nil {
					return err
				}
				// The acknowledgement again, with the date and time of the
				// message the withdrawal is now received at.
				if err := s.notifyTx(ctx, tx, "claim_withdrawal", subj, c); err != nil {
					return err
				}
				if in.Then != nil {
					return in.Then(ctx, tx, c)
				}
				return nil
			})
		}
		err = refile(d, false)
		if err != nil && paymentDisputed(err) {
			// The refund is held by the payment's dispute: the withdrawal
			// is refiled all the same, and its refund decided once the
			// bank has (refundHeld), as File does.
			err = refile(refundHeld(d, c.SubscriptionID != ""), true)
		}
		if errors.Is(err, ErrClaimNotOpen) {
			return errStale
		}
		out = c
		return err
	})
	if err != nil {
		return Claim{}, err
	}
	return out, nil
}
