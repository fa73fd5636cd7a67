package web

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"comptoir/internal/billing"
	"comptoir/internal/cardpay"
	"comptoir/internal/id"
	"comptoir/internal/money"
	"comptoir/internal/orders"
)

// checkoutWait is how long a request waits for Stripe's Checkout page to be
// created (by a job) before showing a page that keeps waiting on its own,
// unless Deps.CheckoutWait says otherwise.
const checkoutWait = 5 * time.Second

type payData struct {
	Waiting bool
	// Unreachable: the card service did not answer; the payment is kept
	// and retried, nothing was charged.
	Unreachable bool
	Back        string
}

// sendToCheckout redirects the customer to the Checkout page of a payment,
// waiting briefly for it to exist; meanwhile they see a page that reloads
// itself (no script needed), and a failure says so with a way back.
func (s *Server) sendToCheckout(w http.ResponseWriter, r *http.Request, paymentID, back string) {
	u, err := s.Card.WaitCheckoutURL(r.Context(), paymentID, s.CheckoutWait)
	switch {
	case err == nil:
		http.Redirect(w, r, u, http.StatusSeeOther)
	case errors.Is(err, cardpay.ErrCheckoutRetrying):
		// Stripe unreachable: say so rather than a page that reloads for
		// as long as the job retries.
		s.render(w, r, http.StatusServiceUnavailable, "pay", s.newView(r, "pay.title", payData{Unreachable: true, Back: back}))
	case errors.Is(err, cardpay.ErrCheckoutPending):
		s.render(w, r, http.StatusAccepted, "pay", s.newView(r, "pay.title", payData{Waiting: true}))
	case errors.Is(err, cardpay.ErrCheckoutFailed):
		s.render(w, r, http.StatusBadGateway, "pay", s.newView(r, "pay.title", payData{Back: back}))
	default:
		s.serverError(w, r, err)
	}
}

// orderPay sends the owner of an unpaid card order to its Checkout page.
func (s *Server) orderPay(w http.ResponseWriter, r *http.Request) {
	o, err := s.Orders.GetForCustomer(r.Context(), state(r).user.ID, r.PathValue("id"))
	if errors.Is(err, orders.ErrNotFound) || (err == nil && s.Card == nil) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if o.Status != orders.StatusPendingPayment {
		http.Redirect(w, r, "/orders/"+o.ID, http.StatusSeeOther)
		return
	}
	p, ok, err := s.Card.Pending(r.Context(), cardpay.PurposeOrder, o.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !ok {
		s.render(w, r, http.StatusBadGateway, "pay", s.newView(r, "pay.title", payData{Back: "/cart"}))
		return
	}
	s.sendToCheckout(w, r, p.ID, "/orders/"+o.ID)
}

// topUp adds funds to the balance by card.
func (s *Server) topUp(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	st := state(r)
	if s.Card == nil || !s.Card.Enabled() {
		s.notFound(w, r)
		return
	}
	// From the cart's offer (a cart nothing could pay, cart.html), the
	// customer comes back to the cart, paid or not; from the balance page,
	// to it.
	back, page, field := "/balance", "balance", "amount"
	if r.PostForm.Get("back") == "cart" {
		back, page, field = "/cart", "cart", "topup"
	}
	amount, err := money.Parse(r.PostForm.Get("amount"), billing.BalanceCurrency)
	var p cardpay.Payment
	if err == nil {
		p, err = s.Ledger.StartTopUp(r.Context(), s.Card, billing.TopUpInput{
			CustomerID: st.user.ID, CustomerEmail: st.user.Email, Amount: amount, Reference: id.New("top"),
			SuccessURL: s.BaseURL + back + "?topup=1", CancelURL: s.BaseURL + back, Language: st.lang,
		})
	}
	var verr *billing.ValidationError
	if err != nil && (errors.As(err, &verr) || errors.Is(err, money.ErrSyntax) || errors.Is(err, money.ErrEmpty) || errors.Is(err, money.ErrTooManyDecimals)) {
		var v *view
		var berr error
		if page == "cart" {
			if v, berr = s.cartView(r); berr == nil {
				s.keepShownCart(w, v)
			}
		} else {
			v, berr = s.balanceView(r)
		}
		if berr != nil {
			s.serverError(w, r, berr)
			return
		}
		v.Form = r.PostForm
		v.Errors = map[string]string{field: s.Messages.T(st.lang, "balance.topup_invalid", map[string]any{
			"Min": money.Format(money.Amount{Minor: billing.MinTopUp, Currency: billing.BalanceCurrency}, st.lang),
			"Max": money.Format(money.Amount{Minor: billing.MaxTopUp, Currency: billing.BalanceCurrency}, st.lang)})}
		s.render(w, r, http.StatusUnprocessableEntity, page, v)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sendToCheckout(w, r, p.ID, back)
}

func cardEnabled(c *cardpay.Service) bool { return c != nil && c.Enabled() }

// withCheckoutURL adds the Checkout page address to an order answer when
// the order waits for a card payment, waiting briefly for the page to exist.
func (s *Server) withCheckoutURL(r *http.Request, body []byte, wait time.Duration) []byte {
	// Nearly every answer is an order already paid: its status says so,
	// without the whole answer decoded into a map (111 allocations for a
	// one-line order, 8 this way). The map, below, is only for the order
	// that waits.
	var probe struct {
		Status string `json:"status"`
	}
	if s.Card == nil || json.Unmarshal(body, &probe) != nil || probe.Status != orders.StatusPendingPayment {
		return body
	}
	var o map[string]any
	if json.Unmarshal(body, &o) != nil || o["status"] != orders.StatusPendingPayment {
		return body
	}
	id, _ := o["id"].(string)
	p, ok, err := s.Card.Pending(r.Context(), cardpay.PurposeOrder, id)
	if err != nil || !ok {
		return body
	}
	u := p.CheckoutURL
	if u == "" && wait > 0 {
		u, _ = s.Card.WaitCheckoutURL(r.Context(), p.ID, wait)
	}
	if u == "" {
		return body
	}
	o["checkout_url"] = u
	out, err := json.Marshal(o)
	if err != nil {
		return body
	}
	return out
}

type topUpJSON struct {
	Amount money.Amount `json:"amount"`
}

// apiTopUp is POST /api/v1/balance/topups: add funds by card. Like every
// keyed route it stores its answer under the Idempotency-Key, in the
// top-up's transaction, and a repeat gets that answer back marked
// Idempotent-Replayed (even once the payment is paid). The key also names
// the top-up, so a retry after the stored answer expired finds the same
// live payment instead of opening another.
func (s *Server) apiTopUp(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	if !cardEnabled(s.Card) {
		writeError(w, http.StatusUnprocessableEntity, "card_unavailable", s.Messages.T(st.lang, "order.error.card_unavailable"))
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var in topUpJSON
	if !s.decodeJSONBytes(w, r, body, &in) {
		return
	}
	keyed := s.keyedRequest(r, st.user.ID, body)
	keyed.onReplay = func(body []byte) []byte { return s.withTopUpCheckoutURL(r, body) }
	if !s.lookupKeyed(w, r, keyed) {
		return
	}
	ref := id.New("top")
	if keyed.key != "" {
		sum := sha256.Sum256([]byte(st.user.ID + "\x00" + keyed.key))
		ref = "top_" + hex.EncodeToString(sum[:16])
	}
	p, err := s.Ledger.StartTopUp(r.Context(), s.Card, billing.TopUpInput{
		CustomerID: st.user.ID, CustomerEmail: st.user.Email, Amount: in.Amount, Reference: ref,
		SuccessURL: s.BaseURL + "/balance?topup=1", CancelURL: s.BaseURL + "/balance", Language: st.lang,
		After: func(ctx context.Context, tx *sql.Tx, p cardpay.Payment) error {
			return keyed.saveTx(ctx, tx, http.StatusCreated, topUpAnswer(p))
		},
	})
	out, err := keyed.recover(r.Context(), err)
	var verr *billing.ValidationError
	switch {
	case s.writeKeyed(w, r, out, err):
		return
	case errors.As(err, &verr):
		writeFieldErrors(w, http.StatusUnprocessableEntity, "invalid", s.Messages.T(st.lang, "error.bad_request"), verr.Fields)
		return
	case errors.Is(err, cardpay.ErrPaymentInProgress), errors.Is(err, cardpay.ErrAlreadyPaid):
		writeError(w, http.StatusUnprocessableEntity, "idempotency_key_reused", s.Messages.T(st.lang, "error.idempotency_key_reused"))
		return
	case errors.Is(err, cardpay.ErrInvalid):
		writeError(w, http.StatusUnprocessableEntity, "invalid", s.Messages.T(st.lang, "error.bad_request"))
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	answer := topUpAnswer(p)
	if u, err := s.Card.WaitCheckoutURL(r.Context(), p.ID, s.CheckoutWait); err == nil {
		answer["checkout_url"] = u
	}
	writeJSON(w, http.StatusCreated, answer)
}

// topUpAnswer is a top-up as the API shows it and stores it under its
// key, before its Checkout page exists.
func topUpAnswer(p cardpay.Payment) map[string]any {
	return map[string]any{"id": p.ID, "amount": p.Amount, "status": p.Status}
}

// withTopUpCheckoutURL adds to a replayed top-up answer the address of its
// Checkout page, which the stored answer was written before, while the
// payment still waits for the customer (as the first answer had it).
func (s *Server) withTopUpCheckoutURL(r *http.Request, body []byte) []byte {
	var answer map[string]any
	if json.Unmarshal(body, &answer) != nil {
		return body
	}
	id, _ := answer["id"].(string)
	u, err := s.Card.WaitCheckoutURL(r.Context(), id, s.CheckoutWait)
	if err != nil {
		return body
	}
	answer["checkout_url"] = u
	out, err := json.Marshal(answer)
	if err != nil {
		return body
	}
	return out
}
