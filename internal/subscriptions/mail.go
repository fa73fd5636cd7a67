package subscriptions

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/db"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/policy"
)

// Mail kinds, one template each in internal/mail/templates/{en,fr}.
const (
	MailStarted         = "subscription_started"
	MailRenewed         = "subscription_renewed"
	MailPaymentFailed   = "subscription_payment_failed"
	MailCanceledUnpaid  = "subscription_canceled_unpaid"
	MailCancelConfirmed = "subscription_cancel_confirmed"
	MailCancelUndone    = "subscription_cancel_undone"
	MailEnded           = "subscription_ended"
)

// mailData fills every subscription template; each uses what it needs.
// Dates are already written out in the reader's language.
type mailData struct {
	Name, StoreName string
	// Trader is the withdrawal form's addressee: the seller's name,
	// address and email.
	Trader         string
	SubscriptionID string
	Link           string // the subscription's page, where it is canceled online
	Plan           string
	Amount         string // one period's price
	Interval       string // "month", "mois"… (as in "per month", "par mois")
	Every          string // "every month", "chaque mois", "chaque année"…
	PaidWith       string // PayBalance or PayCard
	Trial          bool
	TrialEnd       string
	PeriodStart    string
	PeriodEnd      string
	NextCharge     string // when the next renewal is charged
	NextAttempt    string // when a failed payment is tried again
	AttemptsLeft   int
	Effective      string // when a cancellation takes effect
	Now            bool   // canceled at once (else at the period end)
	Reason         string // why a payment failed, in words
	// AuthLink is the page where the customer pays a failed card renewal
	// on Stripe's Checkout page, with the card of their choice (kept for
	// the next renewals): the only way to give a new card when theirs was
	// declined, or a first one after a trial. Empty for the balance.
	AuthLink string
	// Authenticate: the bank wants the customer to confirm the payment
	// (3-D Secure) rather than the card being declined.
	Authenticate bool
	// The consent record and policy, repeated on the durable medium.
	ConsentShown    bool
	NotAsked        bool // a consumer's start without the boxes (StartInput.NotAsked)
	Ticked          bool // both boxes; each on its own:
	ImmediateTicked bool
	WaiverTicked    bool
	Immediate       string
	Waiver          string
	PolicyVersion   string
	PolicyNumber    string // the version's number, as pages name it (policy.VersionNumber)
	PolicyLink      string
	// Claim is the subscription_cancel claim a cancellation carried out:
	// its confirmation says what the claim decided (CancelInput.Claim).
	Claim *claims.ClaimMail
}

// party is who and what a notice is about, read before the transaction that
// sends it (nothing in it changes within).
type party struct {
	user account.User
	plan catalog.Product
}

// partyOf reads the customer and plan of sub through q: the caller's
// transaction when it holds one, else the pool.
func partyOf(ctx context.Context, q db.Querier, sub Subscription) (party, error) {
	u, err := account.UserTx(ctx, q, sub.CustomerID)
	if err != nil {
		return party{}, fmt.Errorf("subscriptions: customer: %w", err)
	}
	p, err := catalog.RevisionTx(ctx, q, sub.ProductID, sub.ProductRevision)
	if err != nil {
		return party{}, fmt.Errorf("subscriptions: plan: %w", err)
	}
	return party{user: u, plan: p}, nil
}

// lang is the language a notice goes out in: the customer's saved choice
// (emails go out in the recipient's language), else the subscription's.
func (p party) lang(sub Subscription) string {
	if p.user.Language == "fr" || p.user.Language == "en" {
		return p.user.Language
	}
	return sub.Lang
}

// data is the part of mailData every notice shares.
func (s *Service) data(sub Subscription, p party, lang string) mailData {
	return mailData{
		Name: p.user.Name, StoreName: s.opts.StoreName, Trader: s.opts.Trader.Addressee(s.opts.StoreName), SubscriptionID: sub.ID,
		Link: s.opts.BaseURL + "/subscriptions/" + sub.ID,
		Plan: p.plan.Name(lang), Amount: money.Format(sub.Amount, lang), Interval: intervalWord(sub.Interval, lang),
		Every:    everyWord(sub.Interval, lang),
		PaidWith: sub.PaymentMethod, PolicyVersion: sub.PolicyVersion, PolicyNumber: policy.VersionNumber(sub.PolicyVersion),
		PolicyLink: s.opts.BaseURL + "/policy?version=" + url.QueryEscape(sub.PolicyVersion) + "&lang=" + lang,
	}
}

func (s *Service) send(ctx context.Context, tx *sql.Tx, kind, lang string, p party, d mailData) error {
	return s.sendReplyTo(ctx, tx, kind, lang, p, d, "")
}

// sendReplyTo is send with a Reply-To address (empty: none).
func (s *Service) sendReplyTo(ctx context.Context, tx *sql.Tx, kind, lang string, p party, d mailData, replyTo string) error {
	subject, text, err := mail.Render(lang, kind, d)
	if err != nil {
		return err
	}
	_, err = s.mailer.EnqueueTx(ctx, tx, mail.Message{
		Kind: kind, To: p.user.Email, ToName: p.user.Name, Lang: lang, Subject: subject, Text: text, UserID: p.user.ID, ReplyTo: replyTo,
	})
	return err
}

// formatDate writes a moment for a reader of lang, to the minute, in the
// store's time zone and naming it, so that a date that decides money (a
// cancellation's effect, a retry) is never ambiguous.
func (s *Service) formatDate(t time.Time, lang string) string { return s.opts.Zone.LongTime(t, lang) }

func intervalWord(interval, lang string) string {
	words := map[string][2]string{IntervalWeek: {"week", "semaine"}, IntervalMonth: {"month", "mois"}, IntervalYear: {"year", "an"}}
	w := words[interval]
	if lang == "fr" {
		return w[1]
	}
	return w[0]
}

// everyWord says how often a plan renews; French needs its own words
// ("chaque année", not "chaque an").
func everyWord(interval, lang string) string {
	words := map[string][2]string{IntervalWeek: {"every week", "chaque semaine"}, IntervalMonth: {"every month", "chaque mois"}, IntervalYear: {"every year", "chaque année"}}
	w := words[interval]
	if lang == "fr" {
		return w[1]
	}
	return w[0]
}

// FailureReason words a failed payment's cause (a period's LastError) for
// the customer, in the payment-failed email and on the subscription's page.
func FailureReason(code, lang string) string {
	fr := lang == "fr"
	switch code {
	case "insufficient_balance":
		if fr {
			return "votre solde ne suffisait pas"
		}
		return "your balance was too low"
	case codeAuthentication:
		if fr {
			return "votre banque demande que vous confirmiez vous-même ce paiement"
		}
		return "your bank asks you to confirm this payment yourself"
	case codeNoCard:
		if fr {
			return "aucune carte n’est enregistrée pour cet abonnement"
		}
		return "no card is saved for this subscription"
	case "card_unavailable":
		if fr {
			return "le paiement par carte n’est pas disponible"
		}
		return "card payment is not available"
	}
	if fr {
		return "votre carte a été refusée"
	}
	return "your card was declined"
}
