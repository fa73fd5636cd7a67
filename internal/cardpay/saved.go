package cardpay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/id"
	"comptoir/internal/money"
)

// SavedCard is a card Stripe keeps for a customer, as a Checkout payment
// with SaveCard left it.
type SavedCard struct {
	StripeCustomerID string
	PaymentMethodID  string
}

// SavedCardOf returns the card of the customer's latest paid payment that
// saved one, or ErrNoSavedCard. Latest by creation, not by last change: a
// refund or a dispute of an older payment changes that payment, and must
// not send renewals back to the older card.
func (s *Service) SavedCardOf(ctx context.Context, q db.Querier, customerID string) (SavedCard, error) {
	var c SavedCard
	err := q.QueryRowContext(ctx, `SELECT stripe_customer_id, payment_method_id FROM card_payments
		WHERE customer_id = $1 AND status = 'succeeded' AND stripe_customer_id <> '' AND payment_method_id <> ''
		ORDER BY created_at DESC, id DESC LIMIT 1`, customerID).Scan(&c.StripeCustomerID, &c.PaymentMethodID)
	if errors.Is(err, sql.ErrNoRows) {
		return SavedCard{}, fmt.Errorf("%w for customer %s", ErrNoSavedCard, customerID)
	}
	return c, err
}

// ChargeInput describes an off-session charge of a saved card.
type ChargeInput struct {
	Purpose     Purpose // usually PurposeRenewal
	ReferenceID string
	CustomerID  string
	Amount      money.Amount
	Description string
	// Card to charge; empty means the customer's latest saved card
	// (SavedCardOf).
	Card SavedCard
}

// ChargeSavedCardTx records an off-session charge of a saved card and
// schedules it, in tx. The outcome reaches the Handler: PaymentSucceeded,
// or PaymentFailed with the payment failed (declined) or requires_action
// (the bank wants the customer to authenticate: Payment.NeedsAuthentication).
// Calling it again for a reference still being charged returns that
// payment; ErrAlreadyPaid when the reference is paid.
func (s *Service) ChargeSavedCardTx(ctx context.Context, tx *sql.Tx, in ChargeInput) (Payment, error) {
	if !s.Enabled() {
		return Payment{}, ErrDisabled
	}
	if !in.Purpose.valid() {
		return Payment{}, fmt.Errorf("%w: purpose %q", ErrInvalid, in.Purpose)
	}
	if err := checkRef("ReferenceID", in.ReferenceID); err != nil {
		return Payment{}, err
	}
	if err := checkRef("CustomerID", in.CustomerID); err != nil {
		return Payment{}, err
	}
	if err := checkAmountIn(in.Amount); err != nil {
		return Payment{}, err
	}
	if err := CheckMinimum(in.Amount); err != nil {
		return Payment{}, err
	}
	desc := strings.TrimSpace(in.Description)
	if desc == "" || utf8.RuneCountInString(desc) > 250 || !utf8.ValidString(desc) {
		return Payment{}, fmt.Errorf("%w: Description must have 1 to 250 characters", ErrInvalid)
	}
	card := in.Card
	if card == (SavedCard{}) {
		var err error
		if card, err = s.SavedCardOf(ctx, tx, in.CustomerID); err != nil {
			return Payment{}, err
		}
	}
	if card.StripeCustomerID == "" || card.PaymentMethodID == "" {
		return Payment{}, fmt.Errorf("%w: Card needs both the Stripe customer and the payment method", ErrInvalid)
	}
	now := s.clock.Now()
	paymentID := id.New("pay")
	res, err := tx.ExecContext(ctx, `INSERT INTO card_payments (id, purpose, reference_id, customer_id, amount, currency, status,
		stripe_customer_id, payment_method_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
		ON CONFLICT DO NOTHING`,
		paymentID, string(in.Purpose), in.ReferenceID, in.CustomerID, in.Amount.Minor, in.Amount.Currency,
		string(StatusCreating), card.StripeCustomerID, card.PaymentMethodID, now)
	if err != nil {
		return Payment{}, fmt.Errorf("store payment: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Payment{}, err
	} else if n == 0 {
		return s.existing(ctx, tx, in.Purpose, in.ReferenceID, in.CustomerID, in.Amount, true)
	}
	p, err := getPayment(ctx, tx, paymentID)
	if err != nil {
		return Payment{}, err
	}
	if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "card_payment",
		SubjectID: p.ID, Action: "payment.created", After: auditState(p)}); err != nil {
		return Payment{}, err
	}
	if _, err := s.ins.InsertTx(ctx, tx, ChargeSavedCardArgs{PaymentID: p.ID, Description: desc}, nil); err != nil {
		return Payment{}, fmt.Errorf("schedule charge: %w", err)
	}
	return p, nil
}

// ChargeSavedCardArgs is the job that charges a saved card off-session.
type ChargeSavedCardArgs struct {
	PaymentID   string `json:"payment_id"`
	Description string `json:"description"`
}

// Kind names the job for River; renaming it would orphan queued jobs.
func (ChargeSavedCardArgs) Kind() string { return "cardpay.charge_saved_card" }

// InsertOpts limits retries to the life of an idempotency key.
func (ChargeSavedCardArgs) InsertOpts() river.InsertOpts { return stripeJobOpts() }

type chargeWorker struct {
	river.WorkerDefaults[ChargeSavedCardArgs]
	s *Service
}

// Work confirms a PaymentIntent off-session with the saved card, outside any
// transaction, under the key "renewal-<payment id>": a retry after a crash
// gets the first PaymentIntent back and never charges twice. A retry so
// late that Stripe may have forgotten the key, or one after a server error
// (which sends a new key, idempotencyKey), first looks for the intent among
// the customer's.
func (w *chargeWorker) Work(ctx context.Context, job *river.Job[ChargeSavedCardArgs]) error {
	s := w.s
	p, err := s.jobPayment(ctx, job.Args.PaymentID)
	if err != nil {
		return err
	}
	if p.Status != StatusCreating || p.PaymentIntentID != "" {
		// Charged by an earlier attempt (a "processing" intent waits for
		// its webhook), or settled meanwhile.
		return nil
	}
	params := &stripe.PaymentIntentCreateParams{
		Amount:             stripe.Int64(p.Amount.Minor),
		Currency:           stripe.String(strings.ToLower(p.Amount.Currency)),
		Customer:           stripe.String(p.StripeCustomerID),
		PaymentMethod:      stripe.String(p.PaymentMethodID),
		PaymentMethodTypes: []*string{stripe.String("card")},
		Description:        stripe.String(job.Args.Description),
		// The customer is not there: Stripe must not wait for them, and
		// says so with an authentication_required error when the bank asks
		// for 3-D Secure.
		OffSession: stripe.Bool(true),
		Confirm:    stripe.Bool(true),
		Metadata:   map[string]string{"payment_id": p.ID, "purpose": string(p.Purpose), "reference_id": p.ReferenceID},
	}
	params.SetIdempotencyKey(idempotencyKey("renewal-"+p.ID, p.keyRound))
	var pi *stripe.PaymentIntent
	var callErr error
	if p.keyRound > 0 || s.keyMayBeGone(job.JobRow) {
		pi, callErr = s.earlierIntent(ctx, p, job.CreatedAt)
	}
	if pi == nil && callErr == nil {
		pi, callErr = s.stripe.V1PaymentIntents.Create(ctx, params)
	}

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if callErr == nil {
		return s.db.Tx(rctx, func(tx *sql.Tx) error { return s.applyIntent(rctx, tx, p, pi) })
	}

	var se *stripe.Error
	if errors.As(callErr, &se) && se.Type == stripe.ErrorTypeCard {
		// A decline is an outcome, not a failure of the job: record it and
		// stop.
		d := details{}
		if se.PaymentIntent != nil {
			d.PaymentIntentID = se.PaymentIntent.ID
		}
		to := StatusFailed
		if needsAuthentication(se) {
			to = StatusRequiresAction
		}
		s.log.Info("cardpay: saved card not charged", "payment", p.ID, "status", to, "error", describe(callErr))
		return s.db.Tx(rctx, func(tx *sql.Tx) error {
			_, err := s.fail(rctx, tx, p.ID, to, describe(callErr), d, StatusCreating)
			return err
		})
	}

	return s.failedCall(rctx, p.ID, job.Attempt, job.MaxAttempts, callErr, "charge saved card")
}

// earlierIntent finds the PaymentIntent that an earlier attempt created for
// payment p, by the payment_id all of ours carry in their metadata, among
// the Stripe customer's intents created since the job (less an hour, for
// the two clocks); nil when there is none.
func (s *Service) earlierIntent(ctx context.Context, p Payment, since time.Time) (*stripe.PaymentIntent, error) {
	params := &stripe.PaymentIntentListParams{
		Customer:     stripe.String(p.StripeCustomerID),
		CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Add(-time.Hour).Unix()},
	}
	return findOurs(s.stripe.V1PaymentIntents.List(ctx, params),
		func(pi *stripe.PaymentIntent) bool { return pi.Metadata["payment_id"] == p.ID })
}

// intentDetails gathers what a PaymentIntent says about the card.
func intentDetails(pi *stripe.PaymentIntent) details {
	d := details{PaymentIntentID: pi.ID}
	if pi.Customer != nil {
		d.StripeCustomerID = pi.Customer.ID
	}
	if pi.PaymentMethod != nil {
		d.PaymentMethodID = pi.PaymentMethod.ID
		if pi.PaymentMethod.Card != nil {
			d.CardCountry = pi.PaymentMethod.Card.Country
		}
	}
	if c := pi.LatestCharge; c != nil && c.PaymentMethodDetails != nil && c.PaymentMethodDetails.Card != nil && d.CardCountry == "" {
		d.CardCountry = c.PaymentMethodDetails.Card.Country
	}
	return d
}

// applyIntent records what a PaymentIntent of an off-session charge says,
// from the job's answer or from a payment_intent.* webhook.
func (s *Service) applyIntent(ctx context.Context, tx *sql.Tx, p Payment, pi *stripe.PaymentIntent) error {
	if err := checkAmount(p, pi.Amount, string(pi.Currency)); err != nil {
		s.log.Error("cardpay: payment intent amount mismatch; ignored", "payment", p.ID, "error", err)
		return nil
	}
	d := intentDetails(pi)
	var err error
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		_, err = s.succeed(ctx, tx, p.ID, d)
	case stripe.PaymentIntentStatusRequiresAction:
		_, err = s.fail(ctx, tx, p.ID, StatusRequiresAction, "the bank asks the customer to authenticate", d, StatusCreating)
	case stripe.PaymentIntentStatusProcessing:
		// Settles later; payment_intent.succeeded or payment_failed will
		// tell.
		err = s.fillDetails(ctx, tx, p.ID, details{PaymentIntentID: pi.ID})
	default: // requires_payment_method (declined), canceled, …
		msg := "payment intent " + string(pi.Status)
		to := StatusFailed
		if pi.LastPaymentError != nil {
			msg = describe(pi.LastPaymentError)
			if needsAuthentication(pi.LastPaymentError) {
				to = StatusRequiresAction
			}
		}
		if to == StatusRequiresAction {
			_, err = s.fail(ctx, tx, p.ID, to, msg, details{PaymentIntentID: pi.ID}, StatusCreating)
		} else {
			_, err = s.fail(ctx, tx, p.ID, to, msg, details{PaymentIntentID: pi.ID}, StatusCreating, StatusRequiresAction)
		}
	}
	return err
}

// FetchDetailsArgs is the job that asks Stripe for the card behind a paid
// Checkout payment: the checkout.session.completed event names the
// PaymentIntent but not its payment method (needed for renewals) or the
// card's country.
type FetchDetailsArgs struct {
	PaymentID string `json:"payment_id"`
}

// Kind names the job for River; renaming it would orphan queued jobs.
func (FetchDetailsArgs) Kind() string { return "cardpay.fetch_details" }

// InsertOpts: a read, safe to repeat, but no use repeating for weeks.
func (FetchDetailsArgs) InsertOpts() river.InsertOpts { return stripeJobOpts() }

type fetchWorker struct {
	river.WorkerDefaults[FetchDetailsArgs]
	s *Service
}

// Work reads the PaymentIntent with its payment method and latest charge
// expanded, outside any transaction, and fills what the row lacks.
func (w *fetchWorker) Work(ctx context.Context, job *river.Job[FetchDetailsArgs]) error {
	s := w.s
	p, err := s.jobPayment(ctx, job.Args.PaymentID)
	if err != nil {
		return err
	}
	if p.PaymentIntentID == "" {
		return river.JobCancel(fmt.Errorf("payment %s has no payment intent", p.ID))
	}
	if p.PaymentMethodID != "" && p.CardCountry != "" {
		return nil
	}
	params := &stripe.PaymentIntentRetrieveParams{}
	params.AddExpand("payment_method")
	params.AddExpand("latest_charge")
	pi, err := s.stripe.V1PaymentIntents.Retrieve(ctx, p.PaymentIntentID, params)
	if err != nil {
		if permanent(err) {
			s.log.Warn("cardpay: card details unavailable", "payment", p.ID, "error", describe(err))
			return river.JobCancel(err)
		}
		return fmt.Errorf("fetch card of %s: %w", p.ID, err)
	}
	d := intentDetails(pi)
	d.PaymentIntentID = "" // known; never replaced
	return s.db.Tx(ctx, func(tx *sql.Tx) error { return s.fillDetails(ctx, tx, p.ID, d) })
}
