package desk

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/db"
)

// A customer may ask for no more satisfaction surveys: from the one-click
// link of a survey mail (guests too), or from their account page, which
// can ask for them again. What is kept is the address's hash
// (survey_opt_outs), and the survey of a ticket closed for it is not sent.

// surveyAddressHash is how survey_opt_outs keeps an address: the SHA-256
// of its normalized form, enough to recognise it, not to read it back.
func surveyAddressHash(email string) string {
	sum := sha256.Sum256([]byte(account.EmailKey(email)))
	return hex.EncodeToString(sum[:])
}

// surveysStoppedTx reports whether email asked for no more surveys.
func surveysStoppedTx(ctx context.Context, q db.Querier, email string) (bool, error) {
	var stopped bool
	if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM survey_opt_outs WHERE address_hash = $1)`,
		surveyAddressHash(email)).Scan(&stopped); err != nil {
		return false, wrapDB("read survey opt-out", err)
	}
	return stopped, nil
}

// surveyByToken is the ticket and recipient of the survey whose link holds
// token; ErrNotFound for a link that names none.
func surveyByToken(ctx context.Context, q db.Querier, token string) (ticketID, email string, err error) {
	if token == "" || len(token) > 64 {
		return "", "", ErrNotFound
	}
	err = q.QueryRowContext(ctx, `SELECT s.ticket_id, t.customer_email FROM ticket_surveys s JOIN tickets t ON t.id = s.ticket_id
		WHERE s.token_hash = $1`, hashToken(token)).Scan(&ticketID, &email)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrNotFound
	}
	if err != nil {
		return "", "", wrapDB("read survey", err)
	}
	return ticketID, email, nil
}

// SurveysStoppedByLink reports whether the recipient of the survey whose
// link holds token asked for no more surveys; ErrNotFound for an unknown
// link. The stop link's page asks it before offering the button.
func (s *Service) SurveysStoppedByLink(ctx context.Context, token string) (bool, error) {
	_, email, err := surveyByToken(ctx, s.db.Read, token)
	if err != nil {
		return false, err
	}
	return surveysStoppedTx(ctx, s.db.Read, email)
}

// StopSurveysByLink records that the recipient of the survey whose link
// holds token wants no more surveys (the mail's one-click link, RFC 8058's
// POST included): whoever holds the link received the mail. Asking twice
// changes nothing. ErrNotFound for an unknown link.
func (s *Service) StopSurveysByLink(ctx context.Context, token string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		ticketID, email, err := surveyByToken(ctx, tx, token)
		if err != nil {
			return err
		}
		stopped, err := s.stopSurveysTx(ctx, tx, email)
		if err != nil || !stopped {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{At: s.clock.Now(), Actor: audit.Actor{Role: "customer"}, SubjectType: "ticket",
			SubjectID: ticketID, Action: "ticket.surveys_stopped"})
	})
}

// stopSurveysTx adds email to the opt-outs; false when it was there.
func (s *Service) stopSurveysTx(ctx context.Context, tx *sql.Tx, email string) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO survey_opt_outs (address_hash, created_at) VALUES ($1, $2)
		ON CONFLICT (address_hash) DO NOTHING`, surveyAddressHash(email), s.clock.Now())
	if err != nil {
		return false, wrapDB("stop surveys", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrapDB("stop surveys", err)
	}
	return n == 1, nil
}

// WantsSurveys reports whether u is sent a survey when one of their
// tickets is closed (the account page's setting).
func (s *Service) WantsSurveys(ctx context.Context, u account.User) (bool, error) {
	stopped, err := surveysStoppedTx(ctx, s.db.Read, u.Email)
	return !stopped, err
}

// SetWantsSurveys is the account page's setting: u asks for no more
// surveys, or for them again. Setting what is already set changes
// nothing.
func (s *Service) SetWantsSurveys(ctx context.Context, u account.User, want bool) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var changed bool
		if want {
			res, err := tx.ExecContext(ctx, `DELETE FROM survey_opt_outs WHERE address_hash = $1`, surveyAddressHash(u.Email))
			if err != nil {
				return wrapDB("ask for surveys", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return wrapDB("ask for surveys", err)
			}
			changed = n == 1
		} else {
			var err error
			if changed, err = s.stopSurveysTx(ctx, tx, u.Email); err != nil {
				return err
			}
		}
		if !changed {
			return nil
		}
		return audit.Record(ctx, tx, audit.Entry{At: s.clock.Now(), Actor: u.Actor(), SubjectType: "user", SubjectID: u.ID,
			Action: "user.surveys", Before: map[string]any{"surveys": !want}, After: map[string]any{"surveys": want}})
	})
}
