package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"

	"comptoir/internal/cardpay"
	"comptoir/internal/catalog"
	"comptoir/internal/subscriptions"
)

type authenticateData struct {
	Sub    subscriptions.Subscription
	Plan   catalog.Product
	Period subscriptions.Period
}

// authenticationPeriod finds the renewal the signed-in customer may pay on
// Stripe's Checkout page (the link of the payment-failed email when the
// bank asks for their authentication). Another customer's subscription, or
// one with nothing left to pay, is a 404.
func (s *Server) authenticationPeriod(w http.ResponseWriter, r *http.Request) (authenticateData, bool) {
	sub, period, err := s.Subscriptions.AuthenticationPeriod(r.Context(), state(r).user.ID, r.PathValue("id"))
	if errors.Is(err, subscriptions.ErrNotFound) || (err == nil && !cardEnabled(s.Card)) {
		s.notFound(w, r)
		return authenticateData{}, false
	}
	if err != nil {
		s.serverError(w, r, err)
		return authenticateData{}, false
	}
	plan, err := s.Catalog.Revision(r.Context(), sub.ProductID, sub.ProductRevision)
	if err != nil {
		s.serverError(w, r, err)
		return authenticateData{}, false
	}
	return authenticateData{Sub: sub, Plan: plan, Period: period}, true
}

// subscriptionAuthenticatePage shows what is to be paid and a button: the
// email's link only reads (mail scanners follow links), the POST pays.
func (s *Server) subscriptionAuthenticatePage(w http.ResponseWriter, r *http.Request) {
	d, ok := s.authenticationPeriod(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "authenticate", s.newView(r, "authenticate.title", d))
}

// subscriptionAuthenticate sends the customer to a Checkout page for
// exactly the period's amount. The held off-session charge is released in
// the same transaction, and a second press reaches the same page
// (cardpay.StartAuthenticationTx).
func (s *Server) subscriptionAuthenticate(w http.ResponseWriter, r *http.Request) {
	d, ok := s.authenticationPeriod(w, r)
	if !ok {
		return
	}
	st := state(r)
	back := "/subscriptions/" + d.Sub.ID
	var p cardpay.Payment
	err := s.Subscriptions.PayPeriodOnSession(r.Context(), st.user.ID, d.Sub.ID,
		func(ctx context.Context, tx *sql.Tx, sub subscriptions.Subscription, period subscriptions.Period) error {
			var err error
			p, err = s.Card.StartAuthenticationTx(ctx, tx, cardpay.StartInput{
				Purpose: cardpay.PurposeRenewal, ReferenceID: period.ID, CustomerID: sub.CustomerID, CustomerEmail: st.user.Email,
				Amount: period.Amount, Description: s.StoreName + " — " + sub.ID, SaveCard: true, Language: st.lang,
				SuccessURL: s.BaseURL + back, CancelURL: s.BaseURL + back,
			})
			return err
		})
	switch {
	case errors.Is(err, subscriptions.ErrNotFound):
		s.notFound(w, r)
		return
	case errors.Is(err, cardpay.ErrAlreadyPaid):
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	case errors.Is(err, cardpay.ErrPaymentInProgress):
		// An off-session attempt is being made right now: its outcome
		// comes in a moment.
		s.render(w, r, http.StatusConflict, "pay", s.newView(r, "pay.title", payData{Back: back}))
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	// Through a step of ours that can be reloaded while the job makes the
	// Checkout page (this POST cannot).
	http.Redirect(w, r, "/subscriptions/"+d.Sub.ID+"/authenticate/checkout?payment="+url.QueryEscape(p.ID), http.StatusSeeOther)
}

// subscriptionAuthenticateCheckout sends the customer on to the Checkout
// page of their authentication payment, once the job has made it.
func (s *Server) subscriptionAuthenticateCheckout(w http.ResponseWriter, r *http.Request) {
	d, ok := s.authenticationPeriod(w, r)
	if !ok {
		return
	}
	p, err := s.Card.Get(r.Context(), r.URL.Query().Get("payment"))
	if errors.Is(err, cardpay.ErrNotFound) || (err == nil && (p.Purpose != cardpay.PurposeRenewal || p.ReferenceID != d.Period.ID)) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	back := "/subscriptions/" + d.Sub.ID + "/authenticate"
	u, err := s.Card.WaitCheckoutURL(r.Context(), p.ID, s.CheckoutWait)
	switch {
	case err == nil:
		// The CSP's form-action allows the Checkout origin, so this
		// redirect ending the form's navigation is followed.
		http.Redirect(w, r, u, http.StatusSeeOther)
	case errors.Is(err, cardpay.ErrCheckoutRetrying):
		// Stripe unreachable: say so, as sendToCheckout does, rather
		// than a page that reloads for as long as the job retries.
		s.render(w, r, http.StatusServiceUnavailable, "pay", s.newView(r, "pay.title", payData{Unreachable: true, Back: back}))
	case errors.Is(err, cardpay.ErrCheckoutPending):
		s.render(w, r, http.StatusAccepted, "pay", s.newView(r, "pay.title", payData{Waiting: true}))
	case errors.Is(err, cardpay.ErrAlreadyPaid):
		http.Redirect(w, r, "/subscriptions/"+d.Sub.ID, http.StatusSeeOther)
	case errors.Is(err, cardpay.ErrCheckoutFailed):
		s.render(w, r, http.StatusBadGateway, "pay", s.newView(r, "pay.title", payData{Back: back}))
	default:
		s.serverError(w, r, err)
	}
}
