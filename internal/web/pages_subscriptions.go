package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"comptoir/internal/cardpay"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/id"
	"comptoir/internal/idempotency"
	"comptoir/internal/policy"
	"comptoir/internal/subscriptions"
)

// startSubscription subscribes the signed-in customer to a plan; by card,
// the first period is paid on Stripe's Checkout page (the card is saved for
// renewals), and the returned payment id says where to send them.
func (s *Server) startSubscription(ctx context.Context, r *http.Request, in subscriptions.StartInput,
	also func(ctx context.Context, tx *sql.Tx, sub subscriptions.Subscription, paymentID string) error) (subscriptions.Subscription, string, error) {
	var paymentID string
	sub, err := s.Subscriptions.Start(ctx, in, func(ctx context.Context, tx *sql.Tx, sub subscriptions.Subscription) error {
		paymentID = ""
		if in.Payment == subscriptions.PayCard && cardEnabled(s.Card) {
			period, open, err := s.Subscriptions.OpenPeriodTx(ctx, tx, sub.ID)
			if err != nil {
				return err
			}
			if open { // else a trial: nothing to pay now
				p, err := s.Card.StartCheckoutTx(ctx, tx, cardpay.StartInput{
					Purpose: cardpay.PurposeRenewal, ReferenceID: period.ID, CustomerID: sub.CustomerID, CustomerEmail: state(r).user.Email,
					Amount: period.Amount, Description: s.StoreName + " — " + sub.ID, SaveCard: true, Language: state(r).lang,
					SuccessURL: s.BaseURL + "/subscriptions/" + sub.ID, CancelURL: s.BaseURL + "/subscriptions/" + sub.ID,
				})
				if err != nil {
					return err
				}
				paymentID = p.ID
			}
		}
		if also != nil {
			return also(ctx, tx, sub, paymentID)
		}
		return nil
	})
	return sub, paymentID, err
}

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	st := state(r)
	f := r.PostForm
	in := subscriptions.StartInput{
		CustomerID: st.user.ID, PlanID: f.Get("plan_id"), Payment: f.Get("payment"),
		ImmediatePerformance: f.Get("immediate_performance") == "yes", WithdrawalWaiver: f.Get("withdrawal_waiver") == "yes",
		AcceptPolicy: f.Get("accept_policy"), AcceptTerms: f.Get("accept_terms"), Lang: st.lang, IP: clientIP(r), UserAgent: r.UserAgent(),
	}
	// failWith shows the plan's page again with msg at field.
	failWith := func(status int, field, msg string) {
		p, err := s.Catalog.Get(r.Context(), in.PlanID)
		if err != nil {
			s.renderError(w, r, status, "error.bad_request")
			return
		}
		v, err := s.productView(r, p)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		v.Form = f
		v.Errors = map[string]string{field: msg}
		s.render(w, r, status, "product", v)
	}
	fail := func(status int, field, key string) {
		if _, err := s.Catalog.Get(r.Context(), in.PlanID); err != nil {
			s.renderError(w, r, status, key)
			return
		}
		failWith(status, field, s.Messages.T(st.lang, key))
	}
	if in.AcceptPolicy == "" {
		fail(http.StatusUnprocessableEntity, "accept_policy", "cart.policy_required")
		return
	}
	// The form's key: subscribe sent twice (a double click, a reload of its
	// answer) starts one subscription, and the repeat answers as the first
	// did rather than "you already have this subscription".
	keyed, replay := s.formKeyed(r, st.user.ID, "page:subscribe", "subscribe_key")
	if replay != nil {
		s.subscribed(w, r, *replay)
		return
	}
	sub, paymentID, err := s.startSubscription(r.Context(), r, in, func(ctx context.Context, tx *sql.Tx, sub subscriptions.Subscription, paymentID string) error {
		return keyed.saveTx(ctx, tx, http.StatusSeeOther, subscribeKeyed{SubscriptionID: sub.ID, PaymentID: paymentID})
	})
	if out, rerr := keyed.recover(r.Context(), err); rerr == nil && out.Replay {
		s.subscribed(w, r, out)
		return
	}
	if err != nil {
		code := subscriptions.Code(err)
		if code == "internal" {
			s.serverError(w, r, err)
			return
		}
		if msg, ok := s.belowCardMinimum(st.lang, err); ok {
			failWith(http.StatusUnprocessableEntity, "subscribe", msg)
			return
		}
		field := "subscribe"
		if code == "consent_required" {
			field = "consent"
		}
		fail(http.StatusUnprocessableEntity, field, "subscription.error."+code)
		return
	}
	s.sendToSubscription(w, r, sub.ID, paymentID)
}

// subscribeKeyed is what a subscribe form's key keeps: the subscription
// started, and its first payment's id when it is paid by card.
type subscribeKeyed struct {
	SubscriptionID string `json:"subscription_id"`
	PaymentID      string `json:"payment_id,omitempty"`
}

// subscribed answers a repeat of a subscribe form as the first was.
func (s *Server) subscribed(w http.ResponseWriter, r *http.Request, out idempotency.Outcome) {
	var k subscribeKeyed
	if err := json.Unmarshal(out.Body, &k); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sendToSubscription(w, r, k.SubscriptionID, k.PaymentID)
}

// sendToSubscription ends a subscribe form: to the card payment's Checkout
// page when there is one to pay, otherwise to the subscription.
func (s *Server) sendToSubscription(w http.ResponseWriter, r *http.Request, subID, paymentID string) {
	if paymentID != "" {
		s.sendToCheckout(w, r, paymentID, "/subscriptions/"+subID)
		return
	}
	s.flash(w, "subscription.started")
	http.Redirect(w, r, "/subscriptions/"+subID, http.StatusSeeOther)
}

type subscriptionsData struct {
	Subscriptions []subscriptions.Subscription
	Names         map[string]string // plan names by subscription id
	// Retry is when the failed payment of a past-due subscription is tried
	// again, by subscription id: the list said its "next payment" was the
	// end of the last period paid, a date gone by.
	Retry map[string]time.Time
	Next  string
}

// retries is when the failed payment of each past-due subscription of
// subs is tried again, by subscription id.
func (s *Server) retries(ctx context.Context, subs []subscriptions.Subscription) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for _, sub := range subs {
		if sub.Status != subscriptions.StatusPastDue {
			continue
		}
		periods, err := s.Subscriptions.Periods(ctx, sub.ID)
		if err != nil {
			return nil, err
		}
		if p, ok := overduePeriod(sub, periods); ok && !p.NextAttemptAt.IsZero() {
			out[sub.ID] = p.NextAttemptAt
		}
	}
	return out, nil
}

// overduePeriod is the failed period of a past-due subscription, the one
// its retries charge (it starts where the last period paid ends).
func overduePeriod(sub subscriptions.Subscription, periods []subscriptions.Period) (subscriptions.Period, bool) {
	if sub.Status != subscriptions.StatusPastDue {
		return subscriptions.Period{}, false
	}
	for i := len(periods) - 1; i >= 0; i-- {
		if p := periods[i]; p.Status == subscriptions.PeriodFailed && p.Start.Equal(sub.CurrentPeriodEnd) {
			return p, true
		}
	}
	return subscriptions.Period{}, false
}

func (s *Server) mySubscriptions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	page, next, err := s.Subscriptions.List(ctx, subscriptions.ListFilter{CustomerID: state(r).user.ID, After: r.URL.Query().Get("after")})
	if err != nil {
		s.listFailed(w, r, err)
		return
	}
	retry, err := s.retries(ctx, page)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	d := subscriptionsData{Subscriptions: page, Next: next, Names: s.planNames(ctx, page, state(r).lang), Retry: retry}
	s.render(w, r, http.StatusOK, "subscriptions", s.newView(r, "subscriptions.title", d))
}

// planNames names each subscription of subs by its plan as taken (its
// product revision), in lang, by subscription id; a revision not found
// (they are never deleted) leaves the subscription unnamed.
func (s *Server) planNames(ctx context.Context, subs []subscriptions.Subscription, lang string) map[string]string {
	names := make(map[string]string, len(subs))
	for _, sub := range subs {
		if p, err := s.Catalog.Revision(ctx, sub.ProductID, sub.ProductRevision); err == nil {
			names[sub.ID] = p.Name(lang)
		}
	}
	return names
}

type subscriptionData struct {
	Sub      subscriptions.Subscription
	Plan     catalog.Product
	Periods  []subscriptions.Period
	Undoable bool
	// Keepable: the paid period is still running, so the customer may keep
	// it to its end; past due, or with its period over, the subscription
	// can only stop now (subscriptions.CancelTx), and the page offers
	// nothing else.
	Keepable bool
	// What cancelling would bring, by mode, before the customer confirms:
	// the refund policy's decision and its sentence.
	IfPeriodEnd, IfNow policy.Decision
	IfPeriodEndReason  string
	IfNowReason        string
	// Overdue is the failed period being retried while the subscription is
	// past due, OverdueReason its failure in the customer's words (as the
	// email said): the page said nothing of the failed payment, of the
	// next attempt, nor of what to do before it.
	Overdue       *subscriptions.Period
	OverdueReason string
	// CardOn: card payment is on (the balance can be topped up by card).
	CardOn bool
	// With card payment off, what the balance that pays the subscription
	// says of its next charge, while it renews: in the trial, the first
	// payment at its end, as the plan's page said before subscribing;
	// after, the next renewal, when the balance is short for it.
	planBalance
}

// InTrial reports that the next charge is the first, at the trial's end.
func (d subscriptionData) InTrial() bool { return d.Sub.Status == subscriptions.StatusTrialing }

func (s *Server) subscriptionPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sub, err := s.Subscriptions.GetForCustomer(ctx, state(r).user.ID, r.PathValue("id"))
	if errors.Is(err, subscriptions.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	plan, err := s.Catalog.Revision(ctx, sub.ProductID, sub.ProductRevision)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	periods, err := s.Subscriptions.Periods(ctx, sub.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	now := s.Clock.Now()
	d := subscriptionData{Sub: sub, Plan: plan, Periods: periods, Undoable: sub.Undoable(now),
		Keepable: (sub.Status == subscriptions.StatusActive || sub.Status == subscriptions.StatusTrialing) && sub.CurrentPeriodEnd.After(now),
		CardOn:   cardEnabled(s.Card)}
	if p, ok := overduePeriod(sub, periods); ok {
		d.Overdue, d.OverdueReason = &p, subscriptions.FailureReason(p.LastError, state(r).lang)
	}
	if sub.Renews() && sub.PaymentMethod == subscriptions.PayBalance && !cardEnabled(s.Card) {
		if d.planBalance, err = s.balanceFor(ctx, sub.CustomerID, sub.Amount); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	v := s.newView(r, "", nil)
	if sub.Status != subscriptions.StatusCanceled {
		v.Form.Set("cancel_key", id.New("cck"))
	}
	if sub.Status != subscriptions.StatusCanceled && !d.Undoable {
		st := state(r)
		for _, mode := range []policy.Cancel{policy.CancelPeriodEnd, policy.CancelNow} {
			dec, err := s.Claims.Preview(ctx, claims.FileInput{Kind: policy.SubscriptionCancel, CustomerID: st.user.ID,
				SubscriptionID: sub.ID, Choice: mode, Actor: st.user.Actor()})
			if err != nil {
				s.serverError(w, r, err)
				return
			}
			if mode == policy.CancelNow {
				d.IfNow, d.IfNowReason = dec, reason(dec, v.Lang)
			} else {
				d.IfPeriodEnd, d.IfPeriodEndReason = dec, reason(dec, v.Lang)
			}
		}
	}
	v.Data = d
	v.Title = plan.Name(v.Lang)
	s.render(w, r, http.StatusOK, "subscription", v)
}

func (s *Server) subscriptionCancel(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	st := state(r)
	refund := r.PostForm.Get("refund") == "yes"
	// The form's key: the cancellation sent twice is filed once, and the
	// repeat answers as the first did rather than "already canceled".
	claimID, err := s.keyedClaimForm(r, st.user.ID, "page:subscription-cancel", "cancel_key", func(then func(context.Context, *sql.Tx, claims.Claim) error) (claims.Claim, error) {
		return s.Claims.File(r.Context(), claims.FileInput{
			Kind: policy.SubscriptionCancel, CustomerID: st.user.ID, SubscriptionID: r.PathValue("id"),
			Choice: policy.Cancel(r.PostForm.Get("mode")), RefundRequested: &refund, Actor: st.user.Actor(), Then: then,
		})
	})
	if err != nil {
		code := claims.Code(err)
		if code == "not_found" {
			s.notFound(w, r)
			return
		}
		if claimErrorStatus(code) >= 500 {
			s.serverError(w, r, err)
			return
		}
		s.flash(w, "claim.error."+code)
		http.Redirect(w, r, "/subscriptions/"+r.PathValue("id"), http.StatusSeeOther)
		return
	}
	s.flash(w, "subscription.cancel_confirmed")
	http.Redirect(w, r, "/claims/"+claimID, http.StatusSeeOther)
}

func (s *Server) subscriptionUndo(w http.ResponseWriter, r *http.Request) {
	_, err := s.Subscriptions.Undo(r.Context(), state(r).user.ID, r.PathValue("id"))
	s.afterSubscriptionChange(w, r, err, "subscription.undone")
}

func (s *Server) afterSubscriptionChange(w http.ResponseWriter, r *http.Request, err error, flashKey string) {
	switch code := subscriptions.Code(err); {
	case err == nil:
		s.flash(w, flashKey)
	case code == "not_found":
		s.notFound(w, r)
		return
	case code == "internal":
		s.serverError(w, r, err)
		return
	default:
		s.flash(w, "subscription.error."+code)
	}
	http.Redirect(w, r, "/subscriptions/"+r.PathValue("id"), http.StatusSeeOther)
}

// --- API ---

type subscriptionJSON struct {
	ID                 string     `json:"id"`
	PlanID             string     `json:"plan_id"`
	Status             string     `json:"status"`
	Payment            string     `json:"payment"`
	Amount             any        `json:"amount"`
	Interval           string     `json:"interval"`
	PolicyVersion      string     `json:"policy_version"`
	CurrentPeriodStart time.Time  `json:"current_period_start"`
	CurrentPeriodEnd   time.Time  `json:"current_period_end"`
	TrialEnd           *time.Time `json:"trial_end,omitempty"`
	CancelAtPeriodEnd  bool       `json:"cancel_at_period_end"`
	EndsAt             *time.Time `json:"ends_at,omitempty"`
	CheckoutURL        string     `json:"checkout_url,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toSubscriptionJSON(sub subscriptions.Subscription) subscriptionJSON {
	return subscriptionJSON{
		ID: sub.ID, PlanID: sub.ProductID, Status: sub.Status, Payment: sub.PaymentMethod, Amount: sub.Amount, Interval: sub.Interval,
		PolicyVersion: sub.PolicyVersion, CurrentPeriodStart: sub.CurrentPeriodStart, CurrentPeriodEnd: sub.CurrentPeriodEnd,
		TrialEnd: optTime(sub.TrialEnd), CancelAtPeriodEnd: sub.CancelAtPeriodEnd, EndsAt: optTime(sub.EndsAt()),
	}
}

type startSubscriptionJSON struct {
	PlanID  string `json:"plan_id"`
	Payment string `json:"payment"`
	// Consent is absent from API.md's documented body: a start without it
	// is one the boxes were not put to (subscriptions.StartInput.NotAsked).
	Consent *struct {
		ImmediatePerformance bool `json:"immediate_performance"`
		WithdrawalWaiver     bool `json:"withdrawal_waiver"`
	} `json:"consent"`
	AcceptPolicy string `json:"accept_policy"`
}

// apiStartSubscription is POST /api/v1/subscriptions, idempotent under the
// Idempotency-Key header like order creation: the answer is stored in the
// subscription's own transaction and returned again to a retry.
func (s *Server) apiStartSubscription(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", s.Messages.T(st.lang, "error.too_large"))
		return
	}
	var in startSubscriptionJSON
	if !s.decodeJSONBytes(w, r, body, &in) {
		return
	}
	ctx := r.Context()
	keyed := keyedRequest{store: s.Idempotency, key: r.Header.Get("Idempotency-Key"), api: true,
		scope: idempotency.Scope(st.user.ID, "POST /api/v1/subscriptions"),
		hash:  idempotency.RequestHash(r.Method, "POST /api/v1/subscriptions", body)}
	writeReplay := func(out idempotency.Outcome) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(out.Status)
		w.Write(append(out.Body, '\n')) // as writeJSON ends the first answer
	}
	keyError := func(err error) bool {
		var verr *idempotency.ValidationError
		switch {
		case errors.Is(err, idempotency.ErrKeyReused):
			writeError(w, http.StatusUnprocessableEntity, "idempotency_key_reused", s.Messages.T(st.lang, "error.idempotency_key_reused"))
		case errors.Is(err, idempotency.ErrInProgress):
			writeError(w, http.StatusConflict, "request_in_progress", s.Messages.T(st.lang, "cart.in_progress"))
		case errors.As(err, &verr):
			writeError(w, http.StatusBadRequest, "bad_request", s.Messages.T(st.lang, "error.bad_request"))
		default:
			return false
		}
		return true
	}
	if keyed.key != "" {
		out, err := keyed.lookup(ctx)
		switch {
		case keyError(err):
			return
		case err != nil:
			s.serverError(w, r, err)
			return
		case out.Replay:
			writeReplay(out)
			return
		}
		s.keyLooked(r, keyed)
	}
	start := subscriptions.StartInput{
		CustomerID: st.user.ID, PlanID: in.PlanID, Payment: in.Payment, NotAsked: in.Consent == nil,
		AcceptPolicy: in.AcceptPolicy, Lang: st.lang, IP: clientIP(r), UserAgent: r.UserAgent(),
	}
	if in.Consent != nil {
		start.ImmediatePerformance, start.WithdrawalWaiver = in.Consent.ImmediatePerformance, in.Consent.WithdrawalWaiver
	}
	sub, paymentID, err := s.startSubscription(ctx, r, start, func(ctx context.Context, tx *sql.Tx, sub subscriptions.Subscription, _ string) error {
		return keyed.saveTx(ctx, tx, http.StatusCreated, toSubscriptionJSON(sub))
	})
	// A repeat, or a request that failed beside its key's first use (on
	// the subscription that one started: already subscribed), answers as
	// after it.
	first, err := keyed.recover(ctx, err)
	switch {
	case err == nil && first.Replay:
		writeReplay(first)
		return
	case err != nil && keyError(err):
		return
	case err != nil:
		s.apiSubscriptionError(w, r, err)
		return
	}
	out := toSubscriptionJSON(sub)
	if paymentID != "" {
		out.CheckoutURL, _ = s.Card.WaitCheckoutURL(ctx, paymentID, s.CheckoutWait)
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) apiSubscriptionError(w http.ResponseWriter, r *http.Request, err error) {
	code := subscriptions.Code(err)
	status := map[string]int{"not_found": http.StatusNotFound, "insufficient_balance": http.StatusPaymentRequired,
		"already_subscribed": http.StatusConflict}[code]
	if status == 0 {
		status = http.StatusUnprocessableEntity
	}
	if code == "internal" {
		s.serverError(w, r, err)
		return
	}
	lang := state(r).lang
	var verr *subscriptions.ValidationError
	if errors.As(err, &verr) {
		msg, ok := s.belowCardMinimum(lang, err)
		if !ok {
			msg = s.Messages.T(lang, "subscription.error."+code)
		}
		writeFieldErrors(w, status, code, msg, verr.Fields)
		return
	}
	writeError(w, status, code, s.Messages.T(lang, "subscription.error."+code))
}

func (s *Server) apiSubscriptions(w http.ResponseWriter, r *http.Request) {
	page, next, err := s.Subscriptions.List(r.Context(), subscriptions.ListFilter{CustomerID: state(r).user.ID, After: r.URL.Query().Get("after")})
	if err != nil {
		s.listFailed(w, r, err)
		return
	}
	items := make([]subscriptionJSON, len(page))
	for i, sub := range page {
		items[i] = toSubscriptionJSON(sub)
	}
	writeJSON(w, http.StatusOK, listJSON(items, next))
}

func (s *Server) apiSubscription(w http.ResponseWriter, r *http.Request) {
	sub, err := s.Subscriptions.GetForCustomer(r.Context(), state(r).user.ID, r.PathValue("id"))
	if err != nil {
		s.apiSubscriptionError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toSubscriptionJSON(sub))
}

type cancelJSON struct {
	Mode   string `json:"mode"`
	Refund *bool  `json:"refund"`
}

// apiCancelSubscription stops future billing at once, ends the service as
// chosen, and gives the last payment back when the refund policy says so:
// it files a subscription_cancel claim, decided exactly as policy eval
// would, and answers what happened and why.
//
// It may give money back, so it honours Idempotency-Key: the answer is
// built and stored in the cancellation's transaction, and a retry gets it
// instead of a second claim.
func (s *Server) apiCancelSubscription(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var in cancelJSON
	if !s.decodeJSONBytes(w, r, body, &in) {
		return
	}
	keyed, ok := s.keyedLookup(w, r, st.user.ID, body)
	if !ok {
		return
	}
	var answer map[string]any
	_, err := s.Claims.File(r.Context(), claims.FileInput{
		Kind: policy.SubscriptionCancel, CustomerID: st.user.ID, SubscriptionID: r.PathValue("id"),
		Choice: policy.Cancel(in.Mode), RefundRequested: in.Refund, Actor: st.user.Actor(),
		Then: func(ctx context.Context, tx *sql.Tx, c claims.Claim) error {
			sub, err := s.Subscriptions.GetTx(ctx, tx, c.SubscriptionID)
			if err != nil {
				return err
			}
			answer = map[string]any{
				"subscription": toSubscriptionJSON(sub), "claim_id": c.ID, "decision": c.Decision,
				"cancel": c.Decision.Cancel, "effective_at": sub.EndsAt(),
			}
			return keyed.saveTx(ctx, tx, http.StatusOK, answer)
		},
	})
	out, err := keyed.recover(r.Context(), err)
	if s.writeKeyed(w, r, out, err) {
		return
	}
	if err != nil {
		s.apiCancelError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

// cancelFields names the cancellation claim's fields as this route's body
// does (API.md: mode, refund): a wrong mode was reported as "choice".
var cancelFields = map[string]string{"choice": "mode", "refund_requested": "refund"}

// apiCancelError is apiClaimError in the words of the cancel route: its
// fields as the body names them, invalid details and a subscription that is
// not the caller's (or does not exist) as a subscription's, not a claim's.
func (s *Server) apiCancelError(w http.ResponseWriter, r *http.Request, err error) {
	var verr *claims.ValidationError
	switch {
	case claims.Code(err) == "not_found":
		writeError(w, http.StatusNotFound, "not_found", s.Messages.T(state(r).lang, "subscription.error.not_found"))
		return
	case errors.As(err, &verr):
		fields := make(map[string]string, len(verr.Fields))
		for f, problem := range verr.Fields {
			if named, ok := cancelFields[f]; ok {
				f = named
			}
			fields[f] = problem
		}
		code := claims.Code(err)
		writeFieldErrors(w, claimErrorStatus(code), code, s.Messages.T(state(r).lang, "subscription.error.invalid"), fields)
		return
	}
	s.apiClaimError(w, r, err)
}
