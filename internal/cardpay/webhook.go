package cardpay

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"comptoir/internal/clientaddr"
	"comptoir/internal/db"
	"comptoir/internal/id"
)

// MaxWebhookBody is the most HandleWebhook's HTTP handler reads. Stripe's
// events are a few kilobytes; the limit keeps a stranger from making us
// buffer and hash a large body before the signature check refuses it.
const MaxWebhookBody = 1 << 20

// HandleWebhook verifies and applies one Stripe event. A bad signature is
// ErrBadSignature and changes nothing. The event id is recorded in
// stripe_events in the transaction that applies it, so a redelivery (Stripe
// retries until it gets a 2xx) finds it and is a no-op returning nil; an
// error rolls everything back, the event included, and Stripe's retry
// applies it then. Event types we do not act on are recorded and ignored.
func (s *Service) HandleWebhook(ctx context.Context, payload []byte, sigHeader string) error {
	if !s.Enabled() {
		return ErrDisabled
	}
	// Default tolerance (five minutes): a captured event cannot be replayed
	// later, and the SDK checks that the payload's API version is the one
	// it decodes.
	ev, err := webhook.ConstructEventWithOptions(payload, sigHeader, s.cfg.WebhookSecret, webhook.ConstructEventOptions{})
	if err != nil {
		for _, sigErr := range []error{webhook.ErrNotSigned, webhook.ErrInvalidHeader, webhook.ErrNoValidSignature, webhook.ErrTooOld} {
			if errors.Is(err, sigErr) {
				return fmt.Errorf("%w: %v", ErrBadSignature, err)
			}
		}
		return fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	if ev.ID == "" || ev.Type == "" || ev.Data == nil {
		return fmt.Errorf("%w: event without id, type or data", ErrBadPayload)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO stripe_events (id, type, received_at) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO NOTHING`, ev.ID, string(ev.Type), s.clock.Now())
		if err != nil {
			return fmt.Errorf("record event %s: %w", ev.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			s.log.Debug("cardpay: webhook replay ignored", "event", ev.ID, "type", ev.Type)
			return nil
		}
		return s.apply(ctx, tx, ev)
	})
}

func (s *Service) apply(ctx context.Context, tx *sql.Tx, ev stripe.Event) error {
	switch ev.Type {
	case stripe.EventTypeCheckoutSessionCompleted, stripe.EventTypeCheckoutSessionAsyncPaymentSucceeded,
		stripe.EventTypeCheckoutSessionExpired, stripe.EventTypeCheckoutSessionAsyncPaymentFailed:
		var cs stripe.CheckoutSession
		if err := json.Unmarshal(ev.Data.Raw, &cs); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadPayload, ev.Type, err)
		}
		return s.applySession(ctx, tx, ev, &cs)

	case stripe.EventTypePaymentIntentSucceeded, stripe.EventTypePaymentIntentPaymentFailed,
		stripe.EventTypePaymentIntentRequiresAction, stripe.EventTypePaymentIntentCanceled:
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(ev.Data.Raw, &pi); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadPayload, ev.Type, err)
		}
		p, found, err := s.findPayment(ctx, tx, pi.Metadata["payment_id"], "payment_intent_id", pi.ID)
		if err != nil || !found {
			return err
		}
		if !isSavedCardCharge(p) && pi.Status != stripe.PaymentIntentStatusSucceeded {
			// A declined card on the Checkout page is not the end of that
			// payment: the customer can try another card there. The
			// session's own events settle it.
			return nil
		}
		return s.applyIntent(ctx, tx, p, &pi)

	case stripe.EventTypeRefundCreated, stripe.EventTypeRefundUpdated, stripe.EventTypeRefundFailed,
		stripe.EventTypeChargeRefundUpdated:
		var sr stripe.Refund
		if err := json.Unmarshal(ev.Data.Raw, &sr); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadPayload, ev.Type, err)
		}
		return s.applyRefundEvent(ctx, tx, &sr)

	case stripe.EventTypeChargeDisputeCreated, stripe.EventTypeChargeDisputeUpdated, stripe.EventTypeChargeDisputeClosed:
		// Money is not moved here (Stripe takes it and gives it back);
		// the case is recorded, refunds are held, and the domain that sold
		// something hears of it.
		return s.applyDispute(ctx, tx, ev)

	case stripe.EventTypeChargeRefunded:
		// Since API version 2022-11-15 a charge no longer lists its refunds
		// unless expanded, so this usually carries none and the refund.*
		// events do the work; when it does list them, they are applied.
		var ch stripe.Charge
		if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadPayload, ev.Type, err)
		}
		if ch.Refunds != nil {
			for _, sr := range ch.Refunds.Data {
				if err := s.applyRefundEvent(ctx, tx, sr); err != nil {
					return err
				}
			}
		}
		return nil
	}
	s.log.Debug("cardpay: webhook event ignored", "event", ev.ID, "type", ev.Type)
	return nil
}

func (s *Service) applySession(ctx context.Context, tx *sql.Tx, ev stripe.Event, cs *stripe.CheckoutSession) error {
	p, found, err := s.findPayment(ctx, tx, cs.Metadata["payment_id"], "checkout_session_id", cs.ID)
	if err != nil || !found {
		return err
	}
	if p.CheckoutSessionID != "" && p.CheckoutSessionID != cs.ID {
		s.log.Error("cardpay: event names another checkout session than the payment's; ignored",
			"event", ev.ID, "payment", p.ID, "session", cs.ID, "payment_session", p.CheckoutSessionID)
		return nil
	}
	d := details{CheckoutSessionID: cs.ID}
	if cs.Customer != nil {
		d.StripeCustomerID = cs.Customer.ID
	}
	if cs.PaymentIntent != nil {
		// Events carry the PaymentIntent as an id; if a payload has it
		// expanded, its card comes with it.
		d2 := intentDetails(cs.PaymentIntent)
		d.PaymentIntentID, d.PaymentMethodID, d.CardCountry = d2.PaymentIntentID, d2.PaymentMethodID, d2.CardCountry
		if d.StripeCustomerID == "" {
			d.StripeCustomerID = d2.StripeCustomerID
		}
	}

	switch ev.Type {
	case stripe.EventTypeCheckoutSessionExpired:
		_, err = s.fail(ctx, tx, p.ID, StatusCanceled, "checkout page expired", d, StatusCreating, StatusAwaitingCustomer)
		return err
	case stripe.EventTypeCheckoutSessionAsyncPaymentFailed:
		_, err = s.fail(ctx, tx, p.ID, StatusFailed, "payment failed after checkout", d, StatusCreating, StatusAwaitingCustomer)
		return err
	}

	if err := checkAmount(p, cs.AmountTotal, string(cs.Currency)); err != nil {
		s.log.Error("cardpay: checkout amount mismatch; payment not settled", "event", ev.ID, "error", err)
		return nil
	}
	if ev.Type == stripe.EventTypeCheckoutSessionCompleted && cs.PaymentStatus == stripe.CheckoutSessionPaymentStatusUnpaid {
		// Completed but paid later (a delayed method): wait for
		// async_payment_succeeded or _failed.
		return s.fillDetails(ctx, tx, p.ID, d)
	}
	if _, err := s.succeed(ctx, tx, p.ID, d); err != nil {
		return err
	}
	after, err := getPayment(ctx, tx, p.ID)
	if err != nil {
		return err
	}
	if after.Status == StatusSucceeded && after.PaymentIntentID != "" && (after.PaymentMethodID == "" || after.CardCountry == "") {
		// The card (for renewals) and its country are not in the event:
		// ask Stripe, from a job, outside this transaction.
		if _, err := s.ins.InsertTx(ctx, tx, FetchDetailsArgs{PaymentID: p.ID}, nil); err != nil {
			return fmt.Errorf("schedule card details of %s: %w", p.ID, err)
		}
	}
	return nil
}

// findPayment finds the payment an event is about: by the payment_id we put
// in the metadata, else by the Stripe id stored on the row. Events about
// objects comptoir did not create (a payment taken in the dashboard) find
// nothing and are ignored.
func (s *Service) findPayment(ctx context.Context, q db.Querier, metaID, column, value string) (Payment, bool, error) {
	if id.Valid("pay", metaID) {
		p, err := getPayment(ctx, q, metaID)
		if err == nil {
			return p, true, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return Payment{}, false, err
		}
	}
	p, found, err := paymentBy(ctx, q, column, value)
	if err == nil && !found {
		s.log.Info("cardpay: event about an unknown payment ignored", column, value)
	}
	return p, found, err
}

func (s *Service) applyRefundEvent(ctx context.Context, tx *sql.Tx, sr *stripe.Refund) error {
	var r Refund
	var err error
	if metaID := sr.Metadata["refund_id"]; id.Valid("rfd", metaID) {
		r, err = getRefund(ctx, tx, metaID)
	} else {
		r, err = refundByStripeID(ctx, tx, sr.ID)
	}
	if errors.Is(err, ErrNotFound) {
		s.log.Info("cardpay: event about an unknown refund ignored", "stripe_refund", sr.ID)
		return nil
	}
	if err != nil {
		return err
	}
	return s.applyRefund(ctx, tx, r.ID, sr)
}

func refundByStripeID(ctx context.Context, q db.Querier, stripeRefundID string) (Refund, error) {
	if stripeRefundID == "" {
		return Refund{}, ErrNotFound
	}
	r, err := scanRefund(q.QueryRowContext(ctx, `SELECT `+refundColumns+`
		FROM card_refunds r JOIN card_payments p ON p.id = r.payment_id WHERE r.stripe_refund_id = $1`, stripeRefundID))
	if errors.Is(err, sql.ErrNoRows) {
		return Refund{}, ErrNotFound
	}
	return r, err
}

// WebhookHandler serves Stripe's webhook (the web layer mounts it at POST
// /api/v1/webhooks/stripe): 200 once the event is applied or known, 400 for
// a bad signature or payload (Stripe shows it on the dashboard), 413 for a
// body over MaxWebhookBody, 500 when applying failed (Stripe retries).
func (s *Service) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "webhook body over 1 MiB")
				return
			}
			writeError(w, http.StatusBadRequest, "bad_request", "could not read the body")
			return
		}
		err = s.HandleWebhook(r.Context(), body, r.Header.Get("Stripe-Signature"))
		switch {
		case err == nil:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"received":true}`)
		case errors.Is(err, ErrBadSignature):
			s.log.Warn("cardpay: webhook refused", "error", err, "remote", clientaddr.Of(r))
			writeError(w, http.StatusBadRequest, "bad_signature", "invalid Stripe-Signature")
		case errors.Is(err, ErrBadPayload):
			s.log.Error("cardpay: webhook unreadable", "error", err)
			writeError(w, http.StatusBadRequest, "bad_payload", "unreadable event")
		case errors.Is(err, ErrDisabled):
			writeError(w, http.StatusNotFound, "not_found", "card payments are not configured")
		default:
			s.log.Error("cardpay: webhook not applied; Stripe will retry", "error", err)
			writeError(w, http.StatusInternalServerError, "internal", "event not applied, retry later")
		}
	})
}

// writeError answers in the API's error shape; the message never carries
// the cause, which goes to the log.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
