package cardpay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
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

// StartInput describes a payment on Stripe's hosted Checkout page.
type StartInput struct {
	Purpose     Purpose
	ReferenceID string
	CustomerID  string
	// CustomerEmail pre-fills the Checkout page (and is where Stripe sends
	// its receipt). Optional.
	CustomerEmail string
	Amount        money.Amount
	// Description is the line the customer reads on the Checkout page and
	// on the bank statement's detail ("Order ord_… — 3 items").
	Description string
	// SuccessURL and CancelURL are where Stripe sends the customer back.
	// "{CHECKOUT_SESSION_ID}" in them is replaced by Stripe.
	SuccessURL string
	CancelURL  string
	// SaveCard keeps the card for off-session charges (subscription
	// renewals): Stripe asks the customer's consent on the page.
	SaveCard bool
	// Language of the Checkout page: "fr" or "en"; anything else lets
	// Stripe pick from the browser.
	Language string
}

func (in StartInput) validate() error {
	if !in.Purpose.valid() {
		return fmt.Errorf("%w: purpose %q", ErrInvalid, in.Purpose)
	}
	if err := checkRef("ReferenceID", in.ReferenceID); err != nil {
		return err
	}
	if err := checkRef("CustomerID", in.CustomerID); err != nil {
		return err
	}
	if err := checkAmountIn(in.Amount); err != nil {
		return err
	}
	if err := CheckMinimum(in.Amount); err != nil {
		return err
	}
	if d := strings.TrimSpace(in.Description); d == "" || utf8.RuneCountInString(d) > 250 || !utf8.ValidString(d) {
		return fmt.Errorf("%w: Description must have 1 to 250 characters", ErrInvalid)
	}
	if in.CustomerEmail != "" {
		a, err := netmail.ParseAddress(in.CustomerEmail)
		if err != nil || a.Address != in.CustomerEmail {
			return fmt.Errorf("%w: CustomerEmail %q is not a bare email address", ErrInvalid, in.CustomerEmail)
		}
	}
	for _, f := range []struct{ name, v string }{{"SuccessURL", in.SuccessURL}, {"CancelURL", in.CancelURL}} {
		u, err := url.Parse(f.v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%w: %s %q is not an absolute http(s) URL", ErrInvalid, f.name, f.v)
		}
	}
	return nil
}

func checkRef(field, v string) error {
	if v == "" || len(v) > 255 || strings.TrimSpace(v) != v {
		return fmt.Errorf("%w: %s must be 1 to 255 characters without surrounding spaces", ErrInvalid, field)
	}
	return nil
}

func checkAmountIn(a money.Amount) error {
	if err := money.CheckCurrency(a.Currency); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if a.Minor <= 0 || a.Minor > maxAmount {
		return fmt.Errorf("%w: amount %v must be positive and at most %d minor units", ErrInvalid, a, int64(maxAmount))
	}
	return nil
}

// maxAmount is the database's upper bound on a payment (see 0006_cardpay).
const maxAmount = 1_000_000_000_000_000

// StartCheckoutTx records a card payment for a reference and schedules the
// creation of its Checkout page, in tx: if the caller's change rolls back,
// nothing was asked of Stripe. Use WaitCheckoutURL after commit to redirect
// the customer.
//
// Starting again for a reference whose payment is still waiting for the
// customer, with the same customer and amount, returns that payment (a
// second click on "pay" reaches the same page). ErrAlreadyPaid (with the
// paid payment) or ErrPaymentInProgress otherwise. A failed or canceled
// attempt does not stand in the way of a new one.
func (s *Service) StartCheckoutTx(ctx context.Context, tx *sql.Tx, in StartInput) (Payment, error) {
	if !s.Enabled() {
		return Payment{}, ErrDisabled
	}
	if err := in.validate(); err != nil {
		return Payment{}, err
	}
	now := s.clock.Now()
	paymentID := id.New("pay")
	res, err := tx.ExecContext(ctx, `INSERT INTO card_payments (id, purpose, reference_id, customer_id, amount, currency, status,
		created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
		ON CONFLICT DO NOTHING`,
		paymentID, string(in.Purpose), in.ReferenceID, in.CustomerID, in.Amount.Minor, in.Amount.Currency,
		string(StatusCreating), now)
	if err != nil {
		return Payment{}, fmt.Errorf("store payment: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Payment{}, err
	} else if n == 0 {
		// The partial unique index refused it: a live payment holds the
		// reference.
		return s.existing(ctx, tx, in.Purpose, in.ReferenceID, in.CustomerID, in.Amount, false)
	}
	p, err := getPayment(ctx, tx, paymentID)
	if err != nil {
		return Payment{}, err
	}
	if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "card_payment",
		SubjectID: p.ID, Action: "payment.created", After: auditState(p)}); err != nil {
		return Payment{}, err
	}
	args := CreateCheckoutArgs{
		PaymentID: p.ID, Description: strings.TrimSpace(in.Description), CustomerEmail: in.CustomerEmail,
		SuccessURL: in.SuccessURL, CancelURL: in.CancelURL, SaveCard: in.SaveCard, Locale: stripeLocale(in.Language),
	}
	if _, err := s.ins.InsertTx(ctx, tx, args, nil); err != nil {
		return Payment{}, fmt.Errorf("schedule checkout: %w", err)
	}
	return p, nil
}

// existing returns the live payment of a reference, as StartCheckoutTx and
// ChargeSavedCardTx answer when the reference is taken.
func (s *Service) existing(ctx context.Context, q db.Querier, purpose Purpose, ref, customerID string, amount money.Amount, savedCard bool) (Payment, error) {
	p, err := scanPayment(q.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM card_payments
		WHERE purpose = $1 AND reference_id = $2 AND status IN `+inList(live...)+` AND NOT duplicate`, string(purpose), ref))
	if errors.Is(err, sql.ErrNoRows) {
		// Taken a moment ago and released since? Only a concurrent change
		// of the same reference can do that; let the caller retry.
		return Payment{}, fmt.Errorf("%w: %s %s changed concurrently, try again", ErrPaymentInProgress, purpose, ref)
	}
	if err != nil {
		return Payment{}, err
	}
	switch {
	case p.Status == StatusSucceeded:
		return p, fmt.Errorf("%w: %s %s by %s", ErrAlreadyPaid, purpose, ref, p.ID)
	case (p.Status == StatusCreating || p.Status == StatusAwaitingCustomer) && p.CustomerID == customerID &&
		p.Amount == amount && isSavedCardCharge(p) == savedCard:
		return p, nil
	}
	return p, fmt.Errorf("%w: %s %s has %s (%s)", ErrPaymentInProgress, purpose, ref, p.ID, p.Status)
}

// isSavedCardCharge tells an off-session charge (its card chosen when it was
// created) from a Checkout payment (its card known once paid).
func isSavedCardCharge(p Payment) bool {
	return p.CheckoutSessionID == "" && p.PaymentMethodID != "" && p.Status != StatusSucceeded
}

func stripeLocale(lang string) string {
	switch lang {
	case "fr", "en":
		return lang
	}
	return "auto"
}

// CreateCheckoutArgs is the job that creates the Checkout page of a payment.
// Everything Stripe is sent is fixed when the job is inserted (here or on
// the row), so every attempt sends the same request under the same
// idempotency key; Stripe refuses a key reused with other parameters.
type CreateCheckoutArgs struct {
	PaymentID     string `json:"payment_id"`
	Description   string `json:"description"`
	CustomerEmail string `json:"customer_email,omitempty"`
	SuccessURL    string `json:"success_url"`
	CancelURL     string `json:"cancel_url"`
	SaveCard      bool   `json:"save_card,omitempty"`
	Locale        string `json:"locale,omitempty"`
}

// Kind names the job for River; renaming it would orphan queued jobs.
func (CreateCheckoutArgs) Kind() string { return "cardpay.create_checkout" }

// InsertOpts limits retries, see stripeJobOpts.
func (CreateCheckoutArgs) InsertOpts() river.InsertOpts { return stripeJobOpts() }

// stripeJobOpts is the retry budget of every job that calls Stripe. Stripe
// keeps an idempotency key for 24 hours; River's backoff (n⁴ seconds after
// the n-th error, ±10 %) spreads 12 attempts over at most about 12 hours,
// so a retry normally meets the first answer instead of acting a second
// time. A store that was down for long resumes later: the jobs that move
// money then look before they act (keyMayBeGone).
func stripeJobOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 12} }

// jobPayment reads, from the read pool, the payment a Stripe job is about.
// Stripe not configured is an error the job retries on: an operator may
// configure it. A payment that does not exist cancels the job: no retry
// will bring it back.
func (s *Service) jobPayment(ctx context.Context, paymentID string) (Payment, error) {
	if !s.Enabled() {
		return Payment{}, ErrDisabled
	}
	p, err := getPayment(ctx, s.db.Read, paymentID)
	if errors.Is(err, ErrNotFound) {
		return Payment{}, river.JobCancel(err)
	}
	return p, err
}

type checkoutWorker struct {
	river.WorkerDefaults[CreateCheckoutArgs]
	s *Service
}

// Work creates the Checkout Session of a payment still "creating". Its only
// database work is a read before and one short transaction after; the call
// to Stripe happens outside any transaction.
func (w *checkoutWorker) Work(ctx context.Context, job *river.Job[CreateCheckoutArgs]) error {
	s := w.s
	a := job.Args
	p, err := s.jobPayment(ctx, a.PaymentID)
	if err != nil {
		return err
	}
	if p.Status != StatusCreating {
		return nil // done by an earlier attempt, or settled meanwhile
	}

	metadata := map[string]string{"payment_id": p.ID, "purpose": string(p.Purpose), "reference_id": p.ReferenceID}
	params := &stripe.CheckoutSessionCreateParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		ClientReferenceID: stripe.String(p.ID),
		SuccessURL:        stripe.String(a.SuccessURL),
		CancelURL:         stripe.String(a.CancelURL),
		Locale:            stripe.String(a.Locale),
		// Cards only (wallets such as Apple Pay are cards): every payment
		// then settles at once, never days later like a bank debit.
		PaymentMethodTypes: []*string{stripe.String("card")},
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
				Currency:    stripe.String(strings.ToLower(p.Amount.Currency)),
				UnitAmount:  stripe.Int64(p.Amount.Minor),
				ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String(a.Description)},
			},
		}},
		Metadata: metadata,
		// The same metadata on the PaymentIntent lets its events find the
		// payment too.
		PaymentIntentData: &stripe.CheckoutSessionCreatePaymentIntentDataParams{Metadata: metadata},
	}
	if a.CustomerEmail != "" {
		params.CustomerEmail = stripe.String(a.CustomerEmail)
	}
	if a.SaveCard {
		params.PaymentIntentData.SetupFutureUsage = stripe.String(string(stripe.PaymentIntentSetupFutureUsageOffSession))
		// A saved card belongs to a Stripe customer. A new one each time,
		// rather than reusing the last: a Stripe customer id from another
		// account or mode (test keys before live ones) would make every
		// later checkout fail; the renewal charges the pair (customer,
		// card) recorded on the payment that saved it.
		params.CustomerCreation = stripe.String(string(stripe.CheckoutSessionCustomerCreationAlways))
		metadata["save_card"] = "true"
	}
	params.SetIdempotencyKey(idempotencyKey("checkout-"+p.ID, p.keyRound))
	sess, callErr := s.stripe.V1CheckoutSessions.Create(ctx, params)

	// Record the outcome even if the job's context ended meanwhile: a page
	// Stripe created must reach the customer.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if callErr == nil {
		if sess.ID == "" || sess.URL == "" {
			return fmt.Errorf("checkout session for %s came back without id or url", p.ID)
		}
		d := details{CheckoutSessionID: sess.ID}
		if sess.PaymentIntent != nil {
			d.PaymentIntentID = sess.PaymentIntent.ID
		}
		if sess.Customer != nil {
			d.StripeCustomerID = sess.Customer.ID
		}
		return s.db.Tx(rctx, func(tx *sql.Tx) error {
			if err := s.fillDetails(rctx, tx, p.ID, d); err != nil {
				return err
			}
			if _, err := tx.ExecContext(rctx, `UPDATE card_payments SET checkout_url = $2 WHERE id = $1 AND checkout_url = ''`,
				p.ID, sess.URL); err != nil {
				return err
			}
			ok, err := s.transition(rctx, tx, p.ID, StatusAwaitingCustomer, "", StatusCreating)
			if err != nil {
				return err
			}
			if !ok {
				// Released while Stripe made the page (ReleaseTx): close
				// the page, which nobody was shown, at Stripe too.
				now, err := getPayment(rctx, tx, p.ID)
				if err != nil || now.Status != StatusCanceled {
					return err
				}
				_, err = s.ins.InsertTx(rctx, tx, CancelPaymentArgs{PaymentID: p.ID}, nil)
				return err
			}
			_, err = s.afterTransition(rctx, tx, p, "payment.awaiting_customer")
			return err
		})
	}

	return s.failedCall(rctx, p.ID, job.Attempt, job.MaxAttempts, callErr, "create checkout")
}

// waitInterval is how often WaitCheckoutURL looks: short, since a customer
// is waiting for the redirect, and a primary-key read is cheap.
const waitInterval = 50 * time.Millisecond

// WaitCheckoutURL waits up to timeout for the Checkout page of a payment and
// returns its URL, so that a handler can redirect the customer as soon as
// the job has created it. ErrCheckoutFailed when Stripe refused (the
// payment's LastError says why), ErrCheckoutPending when the time ran out
// (the job may still succeed: show a page that refreshes).
func (s *Service) WaitCheckoutURL(ctx context.Context, paymentID string, timeout time.Duration) (string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(waitInterval)
	defer tick.Stop()
	for {
		p, err := getPayment(ctx, s.db.Read, paymentID)
		if err != nil {
			return "", err
		}
		switch {
		case p.CheckoutURL != "" && p.Status == StatusAwaitingCustomer:
			return p.CheckoutURL, nil
		case p.Status == StatusSucceeded:
			return "", fmt.Errorf("%w: %s", ErrAlreadyPaid, p.ID)
		case p.Status != StatusCreating:
			return "", fmt.Errorf("%w: payment %s is %s: %s", ErrCheckoutFailed, p.ID, p.Status, p.LastError)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-deadline.C:
			if p.LastError != "" {
				return "", fmt.Errorf("%w (%w): payment %s: %s", ErrCheckoutRetrying, ErrCheckoutPending, p.ID, p.LastError)
			}
			return "", fmt.Errorf("%w: payment %s after %v", ErrCheckoutPending, p.ID, timeout)
		case <-tick.C:
		}
	}
}

// failedCall records a Stripe call that failed while the payment was still
// being created: the last attempt, or a refusal Stripe would repeat, fails
// the payment; an earlier attempt keeps the error for agents and returns it
// so that River retries: under the same idempotency key, so nothing is
// doubled, unless Stripe answered with a server error (idempotencyKey).
func (s *Service) failedCall(ctx context.Context, paymentID string, attempt, maxAttempts int, callErr error, what string) error {
	perm := permanent(callErr)
	final := perm || attempt >= maxAttempts
	msg := describe(callErr)
	s.log.Warn("cardpay: "+what+" failed", "payment", paymentID, "attempt", attempt,
		"max_attempts", maxAttempts, "final", final, "error", msg)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if final {
			_, err := s.fail(ctx, tx, paymentID, StatusFailed, msg, details{}, StatusCreating)
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE card_payments SET last_error = $2, updated_at = $3, key_round = key_round + $4
			WHERE id = $1 AND status = 'creating'`,
			paymentID, msg, s.clock.Now(), roundStep(callErr))
		return err
	})
	if err != nil {
		callErr = errors.Join(callErr, fmt.Errorf("record failure: %w", err))
	}
	if perm {
		return river.JobCancel(callErr)
	}
	return fmt.Errorf("%s for %s: %w", what, paymentID, callErr)
}
