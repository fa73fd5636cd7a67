package proof

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/db"
)

// withdrawnCondition is true for an order whose buyer withdrew, on their
// account page, the consent they had given for it at checkout (a choice
// recorded at or before the withdrawal). Part of liveCondition, so the
// notices already in the feed, and in its cache, go at once.
const withdrawnCondition = `EXISTS (SELECT 1 FROM proof_consent_withdrawals cw
		JOIN proof_choices wc ON wc.order_id = o.id
		WHERE cw.customer_id = o.customer_id AND wc.at <= cw.at)`

// Consent is where a customer stands with the purchase notices, for their
// account page.
type Consent struct {
	// Given counts the orders for which they agreed, at checkout, to appear
	// in the notices.
	Given int
	// Withdrawn is when they withdrew that consent on their account page;
	// zero when they have not (or gave it again since).
	Withdrawn time.Time
}

// IsWithdrawn reports whether the consent is withdrawn now.
func (c Consent) IsWithdrawn() bool { return !c.Withdrawn.IsZero() }

// ConsentOf tells what customerID agreed to and whether they withdrew it.
func (s *Service) ConsentOf(ctx context.Context, customerID string) (Consent, error) {
	var c Consent
	if err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM proof_choices c JOIN orders o ON o.id = c.order_id
		WHERE o.customer_id = $1 AND c.opt_out = $2`, customerID, false).Scan(&c.Given); err != nil {
		return Consent{}, fmt.Errorf("proof: consent: %w", err)
	}
	at, err := withdrawnAt(ctx, s.db.Read, customerID)
	if err != nil {
		return Consent{}, err
	}
	c.Withdrawn = at
	return c, nil
}

func withdrawnAt(ctx context.Context, q db.Querier, customerID string) (time.Time, error) {
	var at time.Time
	err := q.QueryRowContext(ctx, `SELECT at FROM proof_consent_withdrawals WHERE customer_id = $1`, customerID).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("proof: consent withdrawal: %w", err)
	}
	return at.UTC(), nil
}

// WithdrawConsent withdraws the consent the customer gave at checkout to
// appear in the notices: every notice of theirs leaves the feed at once.
// Withdrawing again changes nothing (the first moment stands). Audited
// like the account's other changes.
func (s *Service) WithdrawConsent(ctx context.Context, actor audit.Actor, customerID string) error {
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO proof_consent_withdrawals (customer_id, at) VALUES ($1, $2)
			ON CONFLICT (customer_id) DO NOTHING`, customerID, now)
		if err != nil {
			return fmt.Errorf("proof: withdraw consent: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "user", SubjectID: customerID,
			Action: "proof_consent_withdraw"})
	})
}

// GiveConsentAgain undoes the withdrawal: the orders for which the
// customer agreed at checkout may appear again (those they opted out of
// never do). Nothing happens when the consent was not withdrawn.
func (s *Service) GiveConsentAgain(ctx context.Context, actor audit.Actor, customerID string) error {
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM proof_consent_withdrawals WHERE customer_id = $1`, customerID)
		if err != nil {
			return fmt.Errorf("proof: give consent again: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "user", SubjectID: customerID,
			Action: "proof_consent_give"})
	})
}

// Withdrawn reports whether customerID has withdrawn their consent: the
// checkout box then starts ticked ("do not show my purchase").
func (s *Service) Withdrawn(ctx context.Context, customerID string) (bool, error) {
	at, err := withdrawnAt(ctx, s.db.Read, customerID)
	return !at.IsZero(), err
}
