package cardpay

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/db"
	"comptoir/internal/money"
)

// codedError is an error with a stable code that other domains can pass on
// (claims.Code reads ErrorCode) without importing this package.
type codedError struct{ msg, code string }

func (e codedError) Error() string     { return e.msg }
func (e codedError) ErrorCode() string { return e.code }

// ErrPaymentDisputed: the customer disputed the payment with their bank and
// the bank has not decided for the store; refunds are held (a refund on top
// of a chargeback would give the money back twice).
var ErrPaymentDisputed error = codedError{"cardpay: the payment is disputed; refunds are held", "payment_disputed"}

// Dispute is what a Stripe dispute event says, in our terms.
type Dispute struct {
	StripeID     string
	Event        string // "created", "updated" or "closed"
	Amount       money.Amount
	Reason       string // Stripe's reason: fraudulent, product_not_received…
	StripeStatus string // needs_response, under_review, won, lost, warning_closed…
	DueBy        time.Time
	EventAt      time.Time
	// Decided says this event is the one that closed the case: the
	// recorder's conditional update moved it from open to won or lost.
	// Of all the events of a dispute (replays, a "closed" and an
	// "updated" both saying lost, events delivered at the same time), one
	// at most carries it, so what must happen once when the bank decides
	// (the credit note of a lost dispute) keys on it.
	Decided bool
	// CaseID is the recorder's case of this dispute ("dsp_…"), where a
	// person follows it; empty without a recorder.
	CaseID string
}

// Closed reports a dispute the bank has decided (or the customer dropped).
func (d Dispute) Closed() bool {
	switch d.StripeStatus {
	case "won", "lost", "warning_closed", "prevented":
		return true
	}
	return false
}

// Lost reports that the bank took the money back for good.
func (d Dispute) Lost() bool { return d.StripeStatus == "lost" }

// DisputeRecorder keeps the dispute cases (internal/disputes). It runs in
// the webhook's transaction and answers whether the payment's refunds must
// stay held (while the case is open, and for good once it is lost) and
// whether this event is the one that closed the case (see
// Dispute.Decided), and names the case (Dispute.CaseID).
type DisputeRecorder interface {
	DisputeEventTx(ctx context.Context, tx *sql.Tx, p Payment, d Dispute) (hold, decided bool, caseID string, err error)
}

// DisputeFollower is what a Handler may also implement to follow every
// event of a dispute about one of its payments (created, updated, closed),
// with what Stripe says, in the webhook's transaction: the top-up handler
// takes a disputed top-up back from the balance while the bank holds the
// money, and gives it back if the store wins. Each event reaches it once
// (replays are dropped), but events come in any order and one may be
// missing, so it must act on the status, not on the event's name.
type DisputeFollower interface {
	PaymentDisputeEventTx(ctx context.Context, tx *sql.Tx, p Payment, d Dispute) error
}

// SetDisputeRecorder installs the recorder; the composition root calls it
// before serving (the recorder needs this service to submit evidence).
func (s *Service) SetDisputeRecorder(r DisputeRecorder) { s.disputes = r }

// applyDispute records a charge.dispute.* event: the case, the hold on
// refunds, and (on creation) the purpose's DisputeHandler.
func (s *Service) applyDispute(ctx context.Context, tx *sql.Tx, ev stripe.Event) error {
	var sd stripe.Dispute
	if err := json.Unmarshal(ev.Data.Raw, &sd); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadPayload, ev.Type, err)
	}
	if sd.PaymentIntent == nil || sd.PaymentIntent.ID == "" {
		s.log.Info("cardpay: dispute without a payment intent ignored", "event", ev.ID)
		return nil
	}
	p, found, err := s.findPayment(ctx, tx, "", "payment_intent_id", sd.PaymentIntent.ID)
	if err != nil || !found {
		return err
	}
	// The payer's account first, in the erasure's lock order (see
	// succeed): the case and what the purpose's handler does (a top-up
	// taken back from the balance) come before an erasure, which then sees
	// the case open and is refused, or after it, never inside it. Before,
	// a dispute could commit between the erasure's checks and its commit:
	// the account was erased with a dispute open, having given up a
	// balance the ledger no longer held.
	if err := holdPayerTx(ctx, tx, p.CustomerID); err != nil {
		return err
	}
	d := Dispute{StripeID: sd.ID, Reason: string(sd.Reason), StripeStatus: string(sd.Status),
		Amount: money.Amount{Minor: sd.Amount, Currency: p.Amount.Currency}, EventAt: time.Unix(ev.Created, 0).UTC()}
	switch ev.Type {
	case stripe.EventTypeChargeDisputeCreated:
		d.Event = "created"
	case stripe.EventTypeChargeDisputeClosed:
		d.Event = "closed"
	default:
		d.Event = "updated"
	}
	if sd.EvidenceDetails != nil && sd.EvidenceDetails.DueBy > 0 {
		d.DueBy = time.Unix(sd.EvidenceDetails.DueBy, 0).UTC()
	}
	if d.Amount.Minor <= 0 || d.Amount.Minor > p.Amount.Minor {
		d.Amount = p.Amount
	}
	// Without a recorder (tests of this package) every closing event
	// counts as the decision; the followers' own unique keys keep what
	// they do once.
	hold := !d.Closed() || d.Lost()
	d.Decided = d.Closed()
	if s.disputes != nil {
		if hold, d.Decided, d.CaseID, err = s.disputes.DisputeEventTx(ctx, tx, p, d); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE card_payments SET dispute_hold = $2, updated_at = $3 WHERE id = $1`,
		p.ID, hold, s.clock.Now()); err != nil {
		return fmt.Errorf("hold refunds of %s: %w", p.ID, err)
	}
	if !hold && !d.Closed() {
		// The case is decided for the store (won, inquiry closed), and
		// this event, about an earlier state, was delivered late: acting
		// on its status would take a top-up back or stop renewals again
		// after the win, for good.
		s.log.Info("cardpay: late dispute event of a case the store won ignored", "event", ev.ID, "dispute", d.StripeID, "status", d.StripeStatus)
		return nil
	}
	if p.Duplicate {
		// Never its reference's payment: the domain did not count it, so
		// it must take nothing back for it (a top-up's balance) nor stop
		// anything (renewals). The case and the hold are recorded above.
		s.log.Warn("cardpay: dispute of a duplicate payment; the domain is not told", "payment", p.ID, "dispute", d.StripeID)
		return nil
	}
	if f, ok := s.handler.(DisputeFollower); ok {
		if err := f.PaymentDisputeEventTx(ctx, tx, p, d); err != nil {
			return err
		}
	}
	if ev.Type == stripe.EventTypeChargeDisputeCreated {
		if dh, ok := s.handler.(DisputeHandler); ok {
			return dh.PaymentDisputed(ctx, tx, p)
		}
	}
	return nil
}

// SubmitDisputeEvidence sends evidence to Stripe and submits it to the bank
// (submit=true), under idempotencyKey so that a retried job sends it once.
// Call it outside any transaction. Errors that repeating cannot fix are
// reported by Permanent.
func (s *Service) SubmitDisputeEvidence(ctx context.Context, stripeDisputeID string, ev *stripe.DisputeUpdateEvidenceParams, idempotencyKey string) (status string, err error) {
	if !s.Enabled() {
		return "", ErrDisabled
	}
	params := &stripe.DisputeUpdateParams{Evidence: ev, Submit: stripe.Bool(true)}
	params.SetIdempotencyKey(idempotencyKey)
	d, err := s.stripe.V1Disputes.Update(ctx, stripeDisputeID, params)
	if err != nil {
		return "", err
	}
	return string(d.Status), nil
}

// DisputeSubmitted reports whether Stripe already holds submitted evidence
// for the dispute (evidence_details.submission_count), and the dispute's
// status: what a submission must look for before it sends its evidence
// again under a new key after a server error (RoundKey), since the request
// that failed may have submitted it (Stripe refuses a second submission).
// Call it outside any transaction.
func (s *Service) DisputeSubmitted(ctx context.Context, stripeDisputeID string) (status string, submitted bool, err error) {
	if !s.Enabled() {
		return "", false, ErrDisabled
	}
	d, err := s.stripe.V1Disputes.Retrieve(ctx, stripeDisputeID, nil)
	if err != nil {
		return "", false, err
	}
	return string(d.Status), d.EvidenceDetails != nil && d.EvidenceDetails.SubmissionCount > 0, nil
}

// UploadDisputeFile uploads a document (the evidence PDF) for a dispute's
// file fields and returns Stripe's file id; under idempotencyKey, a retry
// gets the same file back. Call it outside any transaction.
func (s *Service) UploadDisputeFile(ctx context.Context, name string, data []byte, idempotencyKey string) (string, error) {
	if !s.Enabled() {
		return "", ErrDisabled
	}
	params := &stripe.FileCreateParams{Purpose: stripe.String(string(stripe.FilePurposeDisputeEvidence)),
		Filename: stripe.String(name), FileReader: bytes.NewReader(data)}
	params.SetIdempotencyKey(idempotencyKey)
	f, err := s.stripe.V1Files.Create(ctx, params)
	if err != nil {
		return "", err
	}
	return f.ID, nil
}

// FindDisputeFile looks among the dispute evidence files created since
// since for one named name of size bytes, and returns its id: the file an
// upload answered with a server error may have made all the same (the
// answer says nothing of it, and Stripe replays it under that key). A
// name that tells one document from any other (its digest) makes the
// match sure; a file Stripe did not make, or named otherwise, is not
// found, and the document is uploaded again. It reads at most
// maxFilesLooked files. Call it outside any transaction.
func (s *Service) FindDisputeFile(ctx context.Context, name string, size int64, since time.Time) (string, bool, error) {
	if !s.Enabled() {
		return "", false, ErrDisabled
	}
	params := &stripe.FileListParams{Purpose: stripe.String(string(stripe.FilePurposeDisputeEvidence)),
		CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()}}
	params.Limit = stripe.Int64(100)
	n := 0
	for f, err := range s.stripe.V1Files.List(ctx, params) {
		if err != nil {
			return "", false, err
		}
		if f.Filename == name && f.Size == size {
			return f.ID, true, nil
		}
		if n++; n >= maxFilesLooked {
			break
		}
	}
	return "", false, nil
}

// maxFilesLooked bounds the files FindDisputeFile reads: far more
// evidence files than a store uploads in a day.
const maxFilesLooked = 1000

// ServerError reports a Stripe server error (5xx), which Stripe replays
// to every later request under the same idempotency key for a day: the
// caller's next attempt must use the key of the next round (RoundKey).
func ServerError(err error) bool { return serverError(err) }

// RoundKey is the idempotency key of a call after round server errors:
// base, then base-r1, base-r2… (see idempotencyKey).
func RoundKey(base string, round int) string { return idempotencyKey(base, round) }

// Permanent reports a Stripe error that retrying will not change.
func Permanent(err error) bool { return permanent(err) }

// Describe renders a Stripe error for an agent.
func Describe(err error) string { return describe(err) }

// DisputeHeldTx reports whether a payment of purpose for one of
// referenceIDs is disputed and not decided for the store (an open case, or
// one the store lost: dispute_hold), in q. Subscriptions asks it about the
// periods of a subscription before letting its renewals resume.
func DisputeHeldTx(ctx context.Context, q db.Querier, purpose Purpose, referenceIDs []string) (bool, error) {
	if len(referenceIDs) == 0 {
		return false, nil
	}
	args := []any{string(purpose)}
	marks := make([]string, len(referenceIDs))
	for i, ref := range referenceIDs {
		args = append(args, ref)
		marks[i] = "$" + strconv.Itoa(i+2)
	}
	var held bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM card_payments
		WHERE purpose = $1 AND reference_id IN (`+strings.Join(marks, ", ")+`) AND dispute_hold AND NOT duplicate)`, args...).Scan(&held)
	if err != nil {
		return false, fmt.Errorf("cardpay: disputes held: %w", err)
	}
	return held, nil
}
