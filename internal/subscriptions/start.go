package subscriptions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/cardpay"
	"comptoir/internal/catalog"
	"comptoir/internal/db"
	"comptoir/internal/id"
)

// StartInput is a customer subscribing to a plan.
type StartInput struct {
	CustomerID string
	PlanID     string // a product of kind subscription
	Payment    string // PayBalance or PayCard
	// The two consent boxes (see ConsentWording), required for EU
	// consumers: the service starts at once, even during a trial.
	ImmediatePerformance bool
	WithdrawalWaiver     bool
	// NotAsked: the boxes were not put to the customer (the API's
	// documented body has none). A consumer's subscription then starts
	// without their express request for immediate performance, which the
	// law allows at the store's risk: withdrawing within 14 days, they owe
	// nothing and the payment comes back in full (the policy's
	// subscription_cancel.statutory_no_request), and the confirmation says
	// so.
	NotAsked bool
	// AcceptPolicy is the refund policy version shown to the customer; when
	// set it must be the one in force (a page left open across a policy
	// change must not bind the customer to a text they did not see).
	AcceptPolicy string
	// AcceptTerms is the terms of sale version the customer was shown; when
	// set it must be the one in force (ErrTermsNotAccepted). Empty: the
	// API, whose customers read the terms on the store's pages.
	AcceptTerms string
	// Lang is the language the customer reads the store in; IP and
	// UserAgent go into the consent record.
	Lang      string
	IP        string
	UserAgent string
}

// AfterStart runs inside Start's transaction once the subscription is
// written, for work that must commit with it: an idempotent API response,
// or, for a card subscription without a trial, the Checkout payment of the
// first period (its reference is the period OpenPeriodTx returns).
type AfterStart func(ctx context.Context, tx *sql.Tx, sub Subscription) error

// errStop ends a transaction function with nothing to commit; the caller
// turns it into a no-op.
var errStop = errors.New("subscriptions: nothing to do")

// Start subscribes a customer to a plan, all in one transaction:
//
//   - with a trial (the plan has one and this customer never had this plan
//     before), the subscription is trialing and the first period starts at
//     the end of the trial; nothing is charged now;
//   - without, paying from the balance charges the first period now
//     (ErrInsufficientBalance changes nothing); paying by card leaves the
//     first period pending and the subscription incomplete until the
//     Checkout payment that after starts succeeds (PeriodPaidTx).
//
// The customer is emailed "subscription_started" once the subscription
// runs (at once, or when the first card payment arrives).
func (s *Service) Start(ctx context.Context, in StartInput, after AfterStart) (Subscription, error) {
	if err := validateStart(in); err != nil {
		return Subscription{}, err
	}
	if in.Payment == PayCard && s.card == nil {
		return Subscription{}, ErrCardUnavailable
	}
	inForce, err := s.PolicyVersion(ctx)
	if err != nil {
		return Subscription{}, err
	}
	if in.AcceptPolicy != "" && in.AcceptPolicy != inForce {
		return Subscription{}, ErrPolicyNotAccepted
	}
	terms, err := s.TermsVersion(ctx)
	if err != nil {
		return Subscription{}, fmt.Errorf("subscriptions: terms in force: %w", err)
	}
	if in.AcceptTerms != "" && in.AcceptTerms != terms {
		return Subscription{}, ErrTermsNotAccepted
	}
	user, err := s.customers.UserByID(ctx, in.CustomerID)
	if errors.Is(err, account.ErrNotFound) {
		return Subscription{}, &ValidationError{Fields: map[string]string{"customer_id": "unknown"}}
	}
	if err != nil {
		return Subscription{}, fmt.Errorf("subscriptions: customer: %w", err)
	}
	plan, err := s.catalog.Get(ctx, in.PlanID)
	if errors.Is(err, catalog.ErrNotFound) {
		return Subscription{}, ErrProductUnavailable
	}
	if err != nil {
		return Subscription{}, err
	}
	if plan.Archived || plan.Kind != catalog.KindSubscription || !validInterval(plan.PlanInterval) || !plan.UnitPrice.IsPositive() {
		return Subscription{}, ErrProductUnavailable
	}
	if in.Payment == PayCard {
		// Every period would be a card payment Stripe refuses: say so now,
		// with nothing written. The balance pays any amount.
		if err := cardpay.CheckMinimum(plan.UnitPrice); err != nil {
			return Subscription{}, fmt.Errorf("%w: %w", &ValidationError{Fields: map[string]string{"payment": CodeBelowCardMinimum}}, err)
		}
	}
	// A start the boxes were not put to records them as not required of it.
	required := ConsentRequired(user) && !in.NotAsked
	if in.NotAsked {
		in.ImmediatePerformance, in.WithdrawalWaiver = false, false
	} else if required && (!in.ImmediatePerformance || !in.WithdrawalWaiver) {
		return Subscription{}, ErrConsentRequired
	}
	lang := in.Lang
	if lang != "fr" && lang != "en" {
		lang = user.Language
	}
	if lang != "fr" {
		lang = "en"
	}
	wording := ConsentWording(lang)
	p := party{user: user, plan: plan}
	now := s.clock.Now()

	var out Subscription
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		// A free trial is for newcomers: someone who had this plan before
		// (and canceled) pays from the first day.
		var before int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM subscriptions WHERE customer_id = $1 AND product_id = $2`,
			user.ID, plan.ID).Scan(&before); err != nil {
			return wrapDB("earlier subscriptions", err)
		}
		sub := Subscription{
			ID: id.New("sub"), CustomerID: user.ID, ProductID: plan.ID, ProductRevision: plan.Revision,
			Interval: plan.PlanInterval, PaymentMethod: in.Payment, Amount: plan.UnitPrice,
			PolicyVersion: inForce, Lang: lang, CurrentPeriodStart: now, CreatedAt: now, UpdatedAt: now,
			Consent: Consent{
				Required: required, ImmediatePerformance: in.ImmediatePerformance, WithdrawalWaiver: in.WithdrawalWaiver,
				WordingVersion: ConsentWordingVersion, Lang: lang, ImmediateText: wording.Immediate, WaiverText: wording.Waiver,
				At: now, IP: clip(in.IP, 64), UserAgent: clip(in.UserAgent, 512), TermsVersion: terms,
			},
		}
		trial := plan.TrialDays > 0 && before == 0
		switch {
		case trial:
			sub.Status = StatusTrialing
			sub.TrialEnd = TrialEnd(now, plan.TrialDays, s.opts.Zone.Location())
			sub.CurrentPeriodEnd = sub.TrialEnd
			// Paid periods start at the end of the trial, so that is the
			// day of the month they keep: the store's local day, the one
			// NextPeriodEnd counts in.
			sub.AnchorDay = s.opts.Zone.In(sub.TrialEnd).Day()
		case in.Payment == PayCard:
			sub.Status = StatusIncomplete
		default:
			sub.Status = StatusActive
		}
		if !trial {
			sub.AnchorDay = s.opts.Zone.In(now).Day()
			sub.CurrentPeriodEnd = NextPeriodEnd(now, sub.Interval, sub.AnchorDay, s.opts.Zone.Location())
		}
		if err := insertSubscription(ctx, tx, sub); err != nil {
			return err
		}
		if !trial {
			period := Period{
				ID: id.New("spd"), SubscriptionID: sub.ID, Start: sub.CurrentPeriodStart, End: sub.CurrentPeriodEnd,
				Amount: sub.Amount, PaymentMethod: sub.PaymentMethod, PolicyVersion: sub.PolicyVersion,
				Status: PeriodPending, Attempts: 1, CreatedAt: now,
			}
			if sub.PaymentMethod == PayBalance {
				entry, err := s.ledger.DebitTx(ctx, tx, billing.Entry{
					CustomerID: sub.CustomerID, Amount: sub.Amount, Kind: billing.KindPurchase,
					ReferenceType: "subscription_period", ReferenceID: period.ID,
					Actor: audit.Actor{ID: sub.CustomerID, Role: account.RoleCustomer},
				})
				if errors.Is(err, billing.ErrInsufficientBalance) {
					return ErrInsufficientBalance
				}
				if err != nil {
					return err
				}
				period.Status, period.PaidAt, period.PaymentReference = PeriodPaid, now, entry.ID
			}
			if _, err := insertPeriod(ctx, tx, period); err != nil {
				return err
			}
			if period.Status == PeriodPaid {
				if err := s.invoicePeriod(ctx, tx, sub, period, p); err != nil {
					return err
				}
			}
		}
		if err := audit.Record(ctx, tx, audit.Entry{
			At: now, Actor: audit.Actor{ID: sub.CustomerID, Role: account.RoleCustomer}, SubjectType: "subscription", SubjectID: sub.ID,
			Action: "subscription.start", After: map[string]any{
				"status": sub.Status, "product_id": sub.ProductID, "product_revision": sub.ProductRevision, "amount": sub.Amount,
				"interval": sub.Interval, "payment": sub.PaymentMethod, "policy_version": sub.PolicyVersion, "terms_version": sub.Consent.TermsVersion,
				"trial_end": nullTime(sub.TrialEnd), "current_period_end": sub.CurrentPeriodEnd,
			},
		}); err != nil {
			return err
		}
		if sub.Status != StatusIncomplete {
			if err := s.sendStarted(ctx, tx, sub, p); err != nil {
				return err
			}
		}
		if after != nil {
			if err := after(ctx, tx, sub); err != nil {
				return err
			}
		}
		out = sub
		return nil
	})
	if err != nil {
		return Subscription{}, err
	}
	return out, nil
}

func validateStart(in StartInput) error {
	fields := map[string]string{}
	if in.CustomerID == "" {
		fields["customer_id"] = "required"
	}
	if in.PlanID == "" {
		fields["plan_id"] = "required"
	}
	if in.Payment != PayBalance && in.Payment != PayCard {
		fields["payment"] = "invalid"
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
}

func insertSubscription(ctx context.Context, tx *sql.Tx, sub Subscription) error {
	c := sub.Consent
	_, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (id, customer_id, product_id, product_revision, plan_interval, status,
		payment_method, currency, amount, policy_version, lang, anchor_day, current_period_start, current_period_end, trial_end,
		cancel_at_period_end, consent_required, immediate_performance, withdrawal_waiver, consent_wording_version, consent_lang,
		consent_immediate_text, consent_waiver_text, consent_at, consent_ip, consent_user_agent, created_at, updated_at, terms_version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, FALSE, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $26, $27)`,
		sub.ID, sub.CustomerID, sub.ProductID, sub.ProductRevision, sub.Interval, sub.Status, sub.PaymentMethod,
		sub.Amount.Currency, sub.Amount.Minor, sub.PolicyVersion, sub.Lang, sub.AnchorDay, sub.CurrentPeriodStart,
		sub.CurrentPeriodEnd, nullTime(sub.TrialEnd), c.Required, c.ImmediatePerformance, c.WithdrawalWaiver,
		c.WordingVersion, c.Lang, c.ImmediateText, c.WaiverText, c.At, c.IP, c.UserAgent, sub.CreatedAt, nullString(c.TermsVersion))
	if db.IsUniqueViolation(err) {
		return ErrAlreadySubscribed
	}
	return wrapDB("insert subscription", err)
}

// insertPeriod writes a period unless one already exists for that
// subscription and start, and reports whether it did. The unique key, not a
// read beforehand, decides: two renewals racing both try, one inserts.
func insertPeriod(ctx context.Context, tx *sql.Tx, p Period) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO subscription_periods (id, subscription_id, period_start, period_end, currency, amount,
		payment_method, policy_version, status, attempts, paid_at, payment_reference, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
		ON CONFLICT (subscription_id, period_start) DO NOTHING`,
		p.ID, p.SubscriptionID, p.Start, p.End, p.Amount.Currency, p.Amount.Minor, p.PaymentMethod, p.PolicyVersion,
		p.Status, p.Attempts, nullTime(p.PaidAt), p.PaymentReference, p.CreatedAt)
	if err != nil {
		return false, wrapDB("insert period", err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrapDB("insert period", err)
}

// sendStarted confirms the contract on a durable medium: the plan, price
// and renewal terms, the consent given, the refund policy version and the
// page where the customer can cancel online at any time.
func (s *Service) sendStarted(ctx context.Context, tx *sql.Tx, sub Subscription, p party) error {
	// The language the customer subscribed in: the consent text is in it.
	lang := sub.Lang
	d := s.data(sub, p, lang)
	d.Trial = sub.Status == StatusTrialing
	d.TrialEnd = s.formatDate(sub.TrialEnd, lang)
	d.PeriodStart, d.PeriodEnd = s.formatDate(sub.CurrentPeriodStart, lang), s.formatDate(sub.CurrentPeriodEnd, lang)
	d.NextCharge = s.formatDate(sub.CurrentPeriodEnd, lang)
	c := sub.Consent
	// The law asks this customer for the boxes, yet this start did not
	// require them: they were not put to the customer (NotAsked).
	d.NotAsked = ConsentRequired(p.user) && !c.Required
	d.ConsentShown = !d.NotAsked && (c.Required || c.ImmediatePerformance || c.WithdrawalWaiver)
	d.Ticked = c.ImmediatePerformance && c.WithdrawalWaiver
	d.ImmediateTicked, d.WaiverTicked = c.ImmediatePerformance, c.WithdrawalWaiver
	d.Immediate, d.Waiver = c.ImmediateText, c.WaiverText
	return s.send(ctx, tx, MailStarted, lang, p, d)
}

// nullString stores "" as NULL: a consent record without terms version.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// FirstCharge is when customerID would first pay for plan if they
// subscribed now: at the end of its free trial, which a customer has once
// per plan (as Start decides), or at once. The subscribe form says so
// before the customer commits.
func (s *Service) FirstCharge(ctx context.Context, customerID string, plan catalog.Product) (at time.Time, trial bool, err error) {
	now := s.clock.Now()
	if plan.TrialDays <= 0 {
		return now, false, nil
	}
	var before int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM subscriptions WHERE customer_id = $1 AND product_id = $2`,
		customerID, plan.ID).Scan(&before); err != nil {
		return time.Time{}, false, wrapDB("earlier subscriptions", err)
	}
	if before > 0 {
		return now, false, nil
	}
	return TrialEnd(now, plan.TrialDays, s.opts.Zone.Location()), true, nil
}
