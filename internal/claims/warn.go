package claims

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/mail"
)

// DefaultWarnBefore is how long before a claim's promised answer time the
// staff is warned, when Options.WarnBefore is zero: the tickets' default
// (desk.DefaultWarnBefore, --sla-warn-before), since both count the same
// promise.
const DefaultWarnBefore = 6 * time.Hour

// maxWarningsPerScan bounds one scan; the next scan takes the rest.
const maxWarningsPerScan = 200

// warningKind is the staff's email about a claim due soon.
const warningKind = "claim_answer_warning"

// warningData fills the claim_answer_warning template. It names the claim,
// not the customer: the email stays in the outbox, and the agent reads who
// it is in the console behind Link.
type warningData struct {
	Name      string // the staff member warned
	StoreName string
	ClaimID   string
	Kind      string // the kind, worded
	About     string // "order ord_…" or "subscription sub_…"
	PromiseAt string
	Link      string // the claim in the console
}

// warnDueQuery finds the claims to warn about (see WarnDeadlines): their
// clock runs, the promise is within the window and not yet past, and no
// warning was sent for this promise. It reads claims_answer_breach_scan.
const warnDueQuery = `SELECT id FROM claims c
	WHERE answer_promise_at IS NOT NULL AND answered_at IS NULL AND answer_breached = FALSE
	AND answer_promise_at > $1 AND answer_promise_at <= $2
	AND NOT EXISTS (SELECT 1 FROM claim_answer_warnings w WHERE w.claim_id = c.id AND w.deadline_at = c.answer_promise_at)
	ORDER BY answer_promise_at, id LIMIT $3`

// recordWarningQuery records the warning of one claim, provided it is still
// due (the claim may have been answered since it was read): the row is
// taken from the claim as it is now, and the primary key (claim, deadline)
// refuses a second one, so whoever inserts it is the one who sends it.
// $4 is now again, as sent_at: PostgreSQL types a parameter once, and a
// select list does not say it is a timestamp.
const recordWarningQuery = `INSERT INTO claim_answer_warnings (claim_id, deadline_at, sent_at, recipients)
	SELECT id, answer_promise_at, $4, 0 FROM claims
	WHERE id = $1 AND answer_promise_at IS NOT NULL AND answered_at IS NULL AND answer_breached = FALSE
	AND answer_promise_at > $2 AND answer_promise_at <= $3
	ON CONFLICT (claim_id, deadline_at) DO NOTHING`

// errNoWarning rolls back a warning that another scan sent first or that
// is no longer due.
var errNoWarning = errors.New("claims: no warning due")

// WarnDeadlines emails the staff (every agent, every admin when the store
// has no agent: claims are not assigned) about every claim whose promised
// answer time falls within WarnBefore of now and is not yet past. Each
// claim is warned once per deadline, however many scans run, even at once:
// the warning's row (claim, deadline) is unique and the mail is queued in
// the transaction that inserts it. It returns how many claims were warned.
func (s *Service) WarnDeadlines(ctx context.Context, now time.Time) (int, error) {
	now = now.UTC()
	ids, err := db.Strings(ctx, s.db.Read, warnDueQuery, now, now.Add(s.opts.WarnBefore), maxWarningsPerScan)
	if err != nil {
		return 0, wrapDB("find deadlines", err)
	}
	n := 0
	for _, id := range ids {
		warned, err := s.warnClaim(ctx, id, now)
		if err != nil {
			return n, err
		}
		if warned {
			n++
		}
	}
	return n, nil
}

func (s *Service) warnClaim(ctx context.Context, claimID string, now time.Time) (bool, error) {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, recordWarningQuery, claimID, now, now.Add(s.opts.WarnBefore), now)
		if err != nil {
			return wrapDB("record warning", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return wrapDB("record warning", err)
			}
			return errNoWarning
		}
		c, err := scanClaim(tx.QueryRowContext(ctx, `SELECT `+claimColumns+` FROM claims WHERE id = $1`, claimID))
		if err != nil {
			return wrapDB("read claim", err)
		}
		staff, err := account.OnDutyStaffTx(ctx, tx)
		if err != nil {
			return wrapDB("read staff", err)
		}
		for _, u := range staff {
			lang := u.Language // fr or en: the account keeps no other
			d := warningData{Name: u.Name, StoreName: s.opts.StoreName, ClaimID: c.ID, Kind: s.kindWord(c.Kind, lang),
				About: claimAbout(c, lang), PromiseAt: s.opts.Zone.LongTime(c.AnswerPromiseAt, lang),
				Link: s.opts.BaseURL + "/console/claims/" + c.ID}
			subject, text, err := mail.Render(lang, warningKind, d)
			if err != nil {
				return err
			}
			// The outbox fixes the Message-ID when it queues the mail, so a
			// retried send carries the same one.
			if _, err := s.mailer.EnqueueTx(ctx, tx, mail.Message{Kind: warningKind, To: u.Email, ToName: u.Name,
				Lang: lang, Subject: subject, Text: text, UserID: u.ID}); err != nil && !errors.Is(err, mail.ErrInvalid) {
				return wrapDB("queue warning", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE claim_answer_warnings SET recipients = $1
			WHERE claim_id = $2 AND deadline_at = (SELECT answer_promise_at FROM claims WHERE id = $2)`, len(staff), c.ID); err != nil {
			return wrapDB("record warning", err)
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "claim", SubjectID: c.ID,
			Action: "claim.answer_warning", After: map[string]any{"promise_at": c.AnswerPromiseAt, "recipients": len(staff)}})
	})
	if errors.Is(err, errNoWarning) {
		return false, nil
	}
	return err == nil, err
}

// claimAbout says what a claim is about, without naming the customer.
func claimAbout(c Claim, lang string) string {
	switch {
	case c.SubscriptionID != "" && lang == "fr":
		return "l’abonnement " + c.SubscriptionID
	case c.SubscriptionID != "":
		return "subscription " + c.SubscriptionID
	case lang == "fr":
		return "la commande " + c.OrderID
	default:
		return "order " + c.OrderID
	}
}
