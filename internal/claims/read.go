package claims

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"comptoir/internal/blob"
	"comptoir/internal/catalog"
	"comptoir/internal/db"
	"comptoir/internal/id"
	"comptoir/internal/money"
	"comptoir/internal/policy"
)

const claimColumns = `id, kind, customer_id, order_id, order_line_id, subscription_id, status, filed_at, filed_by, filed_via,
	source_message_id, message, choice, refund_requested, policy_version, outcome, rule, statutory, refund_amount, refund_currency,
	cancel, reason_en, reason_fr, decided_at, decided_by, revision, created_at, updated_at,
	answer_target_at, answer_promise_at, answered_at, answer_breached, lang`

func scanClaim(row interface{ Scan(...any) error }) (Claim, error) {
	var c Claim
	var orderID, lineID, subID, source, choice, decidedBy, refundCurrency sql.NullString
	var refundAmount sql.NullInt64
	var kind, outcome, cancel string
	var target, promise, answered sql.NullTime
	if err := row.Scan(&c.ID, &kind, &c.CustomerID, &orderID, &lineID, &subID, &c.Status, &c.FiledAt, &c.FiledBy, &c.FiledVia,
		&source, &c.Message, &choice, &c.RefundRequested, &c.PolicyVersion, &outcome, &c.Decision.Rule, &c.Decision.Statutory,
		&refundAmount, &refundCurrency, &cancel, &c.Decision.Reason.EN, &c.Decision.Reason.FR, &c.DecidedAt, &decidedBy,
		&c.Revision, &c.CreatedAt, &c.UpdatedAt, &target, &promise, &answered, &c.AnswerBreached, &c.Lang); err != nil {
		return Claim{}, err
	}
	c.Kind = policy.Kind(kind)
	c.OrderID, c.LineID, c.SubscriptionID = orderID.String, lineID.String, subID.String
	c.SourceMessageID, c.Choice, c.DecidedBy = source.String, policy.Cancel(choice.String), decidedBy.String
	c.Decision.Outcome, c.Decision.Cancel, c.Decision.PolicyVersion = policy.Outcome(outcome), policy.Cancel(cancel), c.PolicyVersion
	c.Decision.Refund = amountOf(refundAmount, refundCurrency)
	c.FiledAt, c.DecidedAt, c.CreatedAt, c.UpdatedAt = c.FiledAt.UTC(), c.DecidedAt.UTC(), c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	for _, t := range []struct {
		v   sql.NullTime
		dst *time.Time
	}{{target, &c.AnswerTargetAt}, {promise, &c.AnswerPromiseAt}, {answered, &c.AnsweredAt}} {
		if t.v.Valid {
			*t.dst = t.v.Time.UTC()
		}
	}
	return c, nil
}

func amountOf(minor sql.NullInt64, currency sql.NullString) *money.Amount {
	if !minor.Valid {
		return nil
	}
	return &money.Amount{Minor: minor.Int64, Currency: currency.String}
}

// refundColumns splits an optional amount into its two nullable columns.
func refundColumns(a *money.Amount) (any, any) {
	if a == nil {
		return nil, nil
	}
	return a.Minor, a.Currency
}

func getClaim(ctx context.Context, q db.Querier, claimID string) (Claim, error) {
	if !db.ValidText(claimID) {
		return Claim{}, ErrNotFound // PostgreSQL cannot compare it: nothing has that id
	}
	c, err := scanClaim(q.QueryRowContext(ctx, `SELECT `+claimColumns+` FROM claims WHERE id = $1`, claimID))
	if errors.Is(err, sql.ErrNoRows) {
		return Claim{}, ErrNotFound
	}
	return c, wrapDB("get claim", err)
}

// Get returns a claim with its current decision.
func (s *Service) Get(ctx context.Context, claimID string) (Claim, error) {
	return getClaim(ctx, s.db.Read, claimID)
}

// GetForCustomer returns the claim only when it is customerID's: for anyone
// else it does not exist (ErrNotFound), which reveals nothing.
func (s *Service) GetForCustomer(ctx context.Context, customerID, claimID string) (Claim, error) {
	c, err := s.Get(ctx, claimID)
	if err != nil {
		return Claim{}, err
	}
	if c.CustomerID != customerID {
		return Claim{}, ErrNotFound
	}
	return c, nil
}

// ListFilter selects claims for a page. Empty fields match everything.
type ListFilter struct {
	CustomerID string // only this customer's claims (customers); empty for agents
	OrderID    string
	Status     string // StatusOpen or StatusDecided
	Kind       policy.Kind
	After      string // cursor: the last id of the previous page
	Limit      int    // default 20, at most 100
	// ByPromise (the console) lists the claims whose answer clock runs
	// first, nearest promise first, then the others newest first; After
	// is then a position this list gave (PromiseCursor), not an id.
	ByPromise bool
}

// waitingCond is Claim.Waiting in SQL: the claim's answer clock runs.
const waitingCond = `(answer_promise_at IS NOT NULL AND answered_at IS NULL)`

// PromiseCursor is the position of c in the console's list (ByPromise):
// its id, and its promise while its clock runs. The next page goes on from
// that position whatever happened to c meanwhile: counted by offset, as it
// was, every claim decided on a page pushed one claim still waiting past
// the start of the next, out of the agent's sight.
func PromiseCursor(c Claim) string {
	var promise time.Time
	if c.Waiting() {
		promise = c.AnswerPromiseAt
	}
	return id.Cursor(c.ID, promise)
}

// parsePromiseCursor reads PromiseCursor: the id, and the promise (zero
// for a claim whose clock does not run).
func parsePromiseCursor(cur string) (string, time.Time, bool) {
	return id.ParseCursor("clm", cur)
}

// List returns a page of claims, newest first, and the cursor of the next
// page ("" on the last).
func (s *Service) List(ctx context.Context, f ListFilter) ([]Claim, string, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = 20
	case limit > 100:
		limit = 100
	}
	query := `SELECT ` + claimColumns + ` FROM claims WHERE 1 = 1`
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		query += " AND " + cond + " $" + strconv.Itoa(len(args))
	}
	if f.CustomerID != "" {
		add("customer_id =", f.CustomerID)
	}
	if f.OrderID != "" {
		add("order_id =", f.OrderID)
	}
	switch f.Status {
	case "":
	case StatusOpen, StatusDecided:
		add("status =", f.Status)
	default:
		// A status no claim can have ("opened", "closed") is refused, as a
		// cursor this list never gave is, rather than answered with an
		// empty list that reads as "no claims".
		return nil, "", &ValidationError{Fields: map[string]string{"status": "invalid"}}
	}
	if f.Kind != "" {
		add("kind =", string(f.Kind))
	}
	if f.After != "" && !f.ByPromise {
		// A cursor is an id this list gave; anything else is refused
		// rather than read as "nothing after it".
		if !id.Valid("clm", f.After) {
			return nil, "", &ValidationError{Fields: map[string]string{"after": "invalid"}}
		}
		add("id <", f.After)
	}
	if f.After != "" && f.ByPromise {
		claimID, promise, ok := parsePromiseCursor(f.After)
		if !ok {
			return nil, "", &ValidationError{Fields: map[string]string{"after": "invalid"}}
		}
		args = append(args, claimID)
		idArg := "$" + strconv.Itoa(len(args))
		if promise.IsZero() {
			// Among the claims whose clock does not run, newest first.
			query += " AND NOT " + waitingCond + " AND id < " + idArg
		} else {
			args = append(args, promise)
			p := "$" + strconv.Itoa(len(args))
			query += " AND (NOT " + waitingCond + " OR answer_promise_at > " + p +
				" OR (answer_promise_at = " + p + " AND id < " + idArg + "))"
		}
	}
	args = append(args, limit+1)
	if f.ByPromise {
		// Within the claims whose clock runs, answered_at is NULL: the
		// second key is their promise; elsewhere it is NULL for all.
		query += ` ORDER BY CASE WHEN ` + waitingCond + ` THEN 0 ELSE 1 END,
			CASE WHEN answered_at IS NULL THEN answer_promise_at END, id DESC LIMIT $` + strconv.Itoa(len(args))
	} else {
		query += " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	}
	rows, err := s.db.Read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", wrapDB("list", err)
	}
	defer rows.Close()
	var page []Claim
	for rows.Next() {
		c, err := scanClaim(rows)
		if err != nil {
			return nil, "", wrapDB("list", err)
		}
		page = append(page, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrapDB("list", err)
	}
	next := ""
	if len(page) > limit {
		page = page[:limit]
		next = page[limit-1].ID
		if f.ByPromise {
			next = PromiseCursor(page[limit-1])
		}
	}
	return page, next, nil
}

// Subjects names what each claim of cs is about, by claim id: its order
// line's product as bought, or its subscription's plan (the revision
// subscribed to) in lang. A subject no longer found is left unnamed. It is
// one statement for a whole page of claims: the pages read each claim's
// order, or its subscription then its plan, one at a time.
func (s *Service) Subjects(ctx context.Context, cs []Claim, lang string) (map[string]string, error) {
	names := make(map[string]string, len(cs))
	if len(cs) == 0 {
		return names, nil
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	marks, args := db.InList(ids)
	rows, err := s.db.Read.QueryContext(ctx, `SELECT c.id, l.name, r.name_fr, r.name_en
		FROM claims c
		LEFT JOIN order_lines l ON c.order_id IS NOT NULL AND l.id = c.order_line_id AND l.order_id = c.order_id
		LEFT JOIN subscriptions sub ON c.order_id IS NULL AND sub.id = c.subscription_id
		LEFT JOIN product_revisions r ON r.product_id = sub.product_id AND r.revision = sub.product_revision
		WHERE c.id IN (`+marks+`)`, args...)
	if err != nil {
		return nil, wrapDB("subjects", err)
	}
	defer rows.Close()
	for rows.Next() {
		var claimID string
		var line, planFR, planEN sql.NullString
		if err := rows.Scan(&claimID, &line, &planFR, &planEN); err != nil {
			return nil, wrapDB("subjects", err)
		}
		switch {
		case line.Valid:
			names[claimID] = line.String
		case planFR.Valid:
			names[claimID] = catalog.Product{NameFR: planFR.String, NameEN: planEN.String}.Name(lang)
		}
	}
	return names, wrapDB("subjects", rows.Err())
}

// Decisions returns the claim's decisions, oldest first: the automatic
// ones and the agents', each with the reason the customer read.
func (s *Service) Decisions(ctx context.Context, claimID string) ([]Decision, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+decisionColumns+`
		FROM claim_decisions d WHERE d.claim_id = $1 ORDER BY d.seq`, claimID)
	if err != nil {
		return nil, wrapDB("decisions", err)
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, wrapDB("decisions", err)
		}
		out = append(out, d)
	}
	return out, wrapDB("decisions", rows.Err())
}

// decisionColumns is what scanDecision reads, from claim_decisions d.
const decisionColumns = `d.id, d.claim_id, d.seq, d.outcome, d.rule, d.statutory, d.refund_amount, d.refund_currency, d.cancel,
	d.reason_en, d.reason_fr, d.reason_code, d.note, d.policy_version, d.decided_at, d.decided_by`

func scanDecision(row interface{ Scan(...any) error }, extra ...any) (Decision, error) {
	var d Decision
	var outcome, cancel string
	var amount sql.NullInt64
	var currency, code, by sql.NullString
	if err := row.Scan(append([]any{&d.ID, &d.ClaimID, &d.Seq, &outcome, &d.Decision.Rule, &d.Decision.Statutory, &amount, &currency, &cancel,
		&d.Decision.Reason.EN, &d.Decision.Reason.FR, &code, &d.Note, &d.Decision.PolicyVersion, &d.DecidedAt, &by}, extra...)...); err != nil {
		return Decision{}, err
	}
	d.Decision.Outcome, d.Decision.Cancel = policy.Outcome(outcome), policy.Cancel(cancel)
	d.Decision.Refund = amountOf(amount, currency)
	d.ReasonCode, d.DecidedBy, d.DecidedAt = code.String, by.String, d.DecidedAt.UTC()
	return d, nil
}

// OrderDecision is a decision on one of an order's claims, with the kind
// of that claim.
type OrderDecision struct {
	ClaimKind string
	Decision
}

// OrderDecisionsTx returns the decisions on all the claims about an order,
// oldest first (a claim's own in their sequence), in the caller's
// transaction: the dispute evidence reads them in one snapshot with the
// order.
func OrderDecisionsTx(ctx context.Context, q db.Querier, orderID string) ([]OrderDecision, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+decisionColumns+`, c.kind
		FROM claim_decisions d JOIN claims c ON c.id = d.claim_id WHERE c.order_id = $1 ORDER BY d.decided_at, d.seq`, orderID)
	if err != nil {
		return nil, wrapDB("order decisions", err)
	}
	defer rows.Close()
	var out []OrderDecision
	for rows.Next() {
		var od OrderDecision
		od.Decision, err = scanDecision(rows, &od.ClaimKind)
		if err != nil {
			return nil, wrapDB("order decisions", err)
		}
		out = append(out, od)
	}
	return out, wrapDB("order decisions", rows.Err())
}

const evidenceColumns = `id, claim_id, kind, text, blob_key, file_name, content_type, size, sha256, added_at, added_by, lang`

func scanEvidence(row interface{ Scan(...any) error }, more ...any) (Evidence, error) {
	var e Evidence
	var text, key, name, ctype sql.NullString
	if err := row.Scan(append([]any{&e.ID, &e.ClaimID, &e.Kind, &text, &key, &name, &ctype, &e.Size, &e.SHA256, &e.AddedAt, &e.AddedBy, &e.Lang}, more...)...); err != nil {
		return Evidence{}, err
	}
	e.Text, e.blobKey, e.FileName, e.ContentType = text.String, key.String, name.String, ctype.String
	e.AddedAt = e.AddedAt.UTC()
	return e, nil
}

func evidenceOf(ctx context.Context, q db.Querier, claimID string) ([]Evidence, error) {
	// Whether the customer was erased is read with the evidence, in one
	// statement: the page words the placeholders an erasure left.
	rows, err := q.QueryContext(ctx, `SELECT `+evidenceColumns+`,
		(SELECT COUNT(*) FROM claims c JOIN users u ON u.id = c.customer_id WHERE c.id = claim_evidence.claim_id AND u.erased_at IS NOT NULL)
		FROM claim_evidence WHERE claim_id = $1 ORDER BY position`, claimID)
	if err != nil {
		return nil, wrapDB("evidence", err)
	}
	defer rows.Close()
	var out []Evidence
	for rows.Next() {
		var erased int
		e, err := scanEvidence(rows, &erased)
		if err != nil {
			return nil, wrapDB("evidence", err)
		}
		e.Erased = erased > 0
		out = append(out, e)
	}
	return out, wrapDB("evidence", rows.Err())
}

// Evidence lists what was sent for a claim, oldest first.
func (s *Service) Evidence(ctx context.Context, claimID string) ([]Evidence, error) {
	return evidenceOf(ctx, s.db.Read, claimID)
}

// OpenEvidence opens one piece of a claim's evidence: the file from the blob
// store, or the text. The caller closes the reader, and checks first that
// the reader may see the claim (GetForCustomer for a customer). Serve a
// file with its ContentType, "X-Content-Type-Options: nosniff" and as an
// attachment: the type was detected from the content and is on an
// allow-list, and nosniff keeps a browser from guessing another one.
func (s *Service) OpenEvidence(ctx context.Context, claimID, evidenceID string) (io.ReadCloser, Evidence, error) {
	e, err := scanEvidence(s.db.Read.QueryRowContext(ctx, `SELECT `+evidenceColumns+` FROM claim_evidence WHERE id = $1 AND claim_id = $2`,
		evidenceID, claimID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Evidence{}, ErrNotFound
	}
	if err != nil {
		return nil, Evidence{}, wrapDB("open evidence", err)
	}
	if e.Kind == "text" {
		e.ContentType = "text/plain; charset=utf-8"
		return io.NopCloser(strings.NewReader(e.Text)), e, nil
	}
	rc, err := s.blobs.Get(ctx, e.blobKey)
	if errors.Is(err, blob.ErrNotFound) {
		// The customer was erased: the row stays as a record that a file
		// was given, the file itself is gone.
		return nil, Evidence{}, ErrNotFound
	}
	if err != nil {
		return nil, Evidence{}, wrapDB("open evidence", err)
	}
	return rc, e, nil
}

// Refunds lists the money that went back because of a claim.
func (s *Service) Refunds(ctx context.Context, claimID string) ([]Refund, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id, claim_id, decision_id, order_id, order_line_id, subscription_id, amount, currency,
		destination, status, card_refund_id, ledger_entry_id, customer_accepted_credit_at, created_at, updated_at
		FROM claim_refunds WHERE claim_id = $1 ORDER BY created_at, id`, claimID)
	if err != nil {
		return nil, wrapDB("refunds", err)
	}
	defer rows.Close()
	var out []Refund
	for rows.Next() {
		var r Refund
		var orderID, lineID, subID, card, entry sql.NullString
		var accepted sql.NullTime
		var amount int64
		var currency string
		if err := rows.Scan(&r.ID, &r.ClaimID, &r.DecisionID, &orderID, &lineID, &subID, &amount, &currency, &r.Destination, &r.Status,
			&card, &entry, &accepted, &r.CreatedAt, &r.UpdatedAt); err != nil {
			return nil, wrapDB("refunds", err)
		}
		r.OrderID, r.LineID, r.SubscriptionID, r.CardRefundID, r.LedgerEntryID = orderID.String, lineID.String, subID.String, card.String, entry.String
		r.Amount = money.Amount{Minor: amount, Currency: currency}
		if accepted.Valid {
			r.CustomerAcceptedCreditAt = accepted.Time.UTC()
		}
		r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
		out = append(out, r)
	}
	return out, wrapDB("refunds", rows.Err())
}

// normalize gives an outside time the shape the clock and the database use
// (UTC, whole microseconds), so that a time written and read back is equal
// to the one a decision was taken on.
func normalize(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// OrderEvidenceFile is a file a customer gave as evidence for a claim about
// an order, for the dispute pack: what it is, and the blob to read it from.
type OrderEvidenceFile struct {
	Evidence
	BlobKey string
	// Erased: the customer's data were erased; the blob is gone (or going)
	// and must not be read.
	Erased bool
}

// OrderEvidenceFilesTx lists the evidence files of every claim about
// orderID, in the order they were given, in the caller's transaction.
func OrderEvidenceFilesTx(ctx context.Context, q db.Querier, orderID string) ([]OrderEvidenceFile, error) {
	rows, err := q.QueryContext(ctx, `SELECT e.id, e.claim_id, e.kind, e.text, e.blob_key, e.file_name, e.content_type, e.size,
		e.sha256, e.added_at, e.added_by, e.lang
		FROM claim_evidence e JOIN claims c ON c.id = e.claim_id
		WHERE c.order_id = $1 AND e.kind = 'file' ORDER BY e.added_at, c.id, e.position`, orderID)
	if err != nil {
		return nil, wrapDB("order evidence files", err)
	}
	defer rows.Close()
	var out []OrderEvidenceFile
	for rows.Next() {
		e, err := scanEvidence(rows)
		if err != nil {
			return nil, wrapDB("order evidence files", err)
		}
		out = append(out, OrderEvidenceFile{Evidence: e, BlobKey: e.blobKey, Erased: e.FileName == ErasedFileName})
	}
	return out, wrapDB("order evidence files", rows.Err())
}
