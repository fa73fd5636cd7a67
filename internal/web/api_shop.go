package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/catalog"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/webhooksig"
)

type productJSON struct {
	ID             string       `json:"id"`
	Slug           string       `json:"slug"`
	Kind           string       `json:"kind"`
	Name           string       `json:"name"`
	Description    string       `json:"description"`
	Price          money.Amount `json:"price"`
	MinQuantity    int          `json:"min_quantity"`
	MaxQuantity    int          `json:"max_quantity"`
	ProcessingTime string       `json:"processing_time,omitempty"`
	PlanInterval   string       `json:"plan_interval,omitempty"`
	TrialDays      int          `json:"trial_days,omitempty"`
}

func toProductJSON(p catalog.Product, lang string) productJSON {
	out := productJSON{
		ID: p.ID, Slug: p.Slug, Kind: p.Kind, Name: p.Name(lang), Description: p.Description(lang), Price: p.UnitPrice,
		MinQuantity: p.MinQuantity, MaxQuantity: p.MaxQuantity, PlanInterval: p.PlanInterval, TrialDays: p.TrialDays,
	}
	if p.ProcessingTime > 0 {
		out.ProcessingTime = p.ProcessingTime.String()
	}
	return out
}

func (s *Server) apiProducts(w http.ResponseWriter, r *http.Request) {
	lang := state(r).lang
	page, next, err := s.Catalog.List(r.Context(), catalog.ListFilter{After: r.URL.Query().Get("after"), Kind: r.URL.Query().Get("kind")})
	var verr *catalog.ValidationError
	if errors.As(err, &verr) {
		writeError(w, http.StatusBadRequest, "bad_request", s.Messages.T(lang, "error.bad_request"))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	items := make([]productJSON, len(page))
	for i, p := range page {
		items[i] = toProductJSON(p, lang)
	}
	writeJSON(w, http.StatusOK, listJSON(items, next))
}

// listJSON is the API's page shape: {"items": […], "next": "…"}, next absent
// on the last page.
func listJSON[T any](items []T, next string) map[string]any {
	if items == nil {
		items = []T{}
	}
	out := map[string]any{"items": items}
	if next != "" {
		out["next"] = next
	}
	return out
}

type lineJSON struct {
	ID              string       `json:"id"`
	ProductID       string       `json:"product_id"`
	ProductRevision int          `json:"product_revision"`
	Kind            string       `json:"kind"`
	Name            string       `json:"name"`
	Quantity        int          `json:"quantity"`
	Delivered       int          `json:"delivered"`
	Amount          money.Amount `json:"amount"`
	Refunded        money.Amount `json:"refunded"`
	ProcessingUntil *time.Time   `json:"processing_until,omitempty"`
	Overdue         bool         `json:"overdue"`
	LicenceKey      string       `json:"licence_key,omitempty"`
}

type orderJSONBody struct {
	ID            string       `json:"id"`
	Status        string       `json:"status"`
	CustomerID    string       `json:"customer_id"`
	Lines         []lineJSON   `json:"lines"`
	Total         money.Amount `json:"total"`
	Paid          money.Amount `json:"paid"`
	Refunded      money.Amount `json:"refunded"`
	Payment       string       `json:"payment"`
	PolicyVersion string       `json:"policy_version"`
	Overdue       bool         `json:"overdue"`
	PlacedAt      time.Time    `json:"placed_at"`
	CheckoutURL   string       `json:"checkout_url,omitempty"`
}

func (s *Server) orderJSON(_ context.Context, o orders.Order) orderJSONBody {
	now := s.Clock.Now()
	out := orderJSONBody{
		ID: o.ID, Status: o.Status, CustomerID: o.CustomerID, Total: o.Total, Paid: o.Paid, Refunded: o.Refunded,
		Payment: o.PaymentMethod, PolicyVersion: o.PolicyVersion, Overdue: o.Overdue(now), PlacedAt: o.PlacedAt,
	}
	for _, l := range o.Lines {
		lj := lineJSON{ID: l.ID, ProductID: l.ProductID, ProductRevision: l.ProductRevision, Kind: l.Kind, Name: l.Name,
			Quantity: l.Quantity, Delivered: l.Delivered, Amount: l.Amount, Refunded: l.Refunded, Overdue: o.LineOverdue(l, now), LicenceKey: l.LicenceKey}
		if !l.ProcessingUntil.IsZero() {
			until := l.ProcessingUntil
			lj.ProcessingUntil = &until
		}
		out.Lines = append(out.Lines, lj)
	}
	return out
}

type createOrderJSON struct {
	Lines []struct {
		ProductID string `json:"product_id"`
		Quantity  int    `json:"quantity"`
	} `json:"lines"`
	Payment string `json:"payment"`
	Consent struct {
		ImmediatePerformance bool `json:"immediate_performance"`
		WithdrawalWaiver     bool `json:"withdrawal_waiver"`
	} `json:"consent"`
	AcceptPolicy string `json:"accept_policy"`
	// ProofOptOut keeps the purchase out of the store's purchase notices;
	// absent, the store's default applies.
	ProofOptOut *bool `json:"proof_opt_out"`
}

// apiCreateOrder is POST /api/v1/orders: a checkout, idempotent under the
// Idempotency-Key header.
func (s *Server) apiCreateOrder(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", s.Messages.T(st.lang, "error.too_large"))
		return
	}
	var in createOrderJSON
	if !s.decodeJSONBytes(w, r, body, &in) {
		return
	}
	place := orders.PlaceInput{
		CustomerID: st.user.ID, Buyer: st.user, Payment: in.Payment, ImmediatePerformance: in.Consent.ImmediatePerformance,
		WithdrawalWaiver: in.Consent.WithdrawalWaiver, AcceptPolicy: in.AcceptPolicy, Lang: st.lang,
		IP: clientIP(r), UserAgent: r.UserAgent(),
	}
	for _, l := range in.Lines {
		place.Lines = append(place.Lines, orders.LineInput{ProductID: l.ProductID, Quantity: l.Quantity})
	}
	res := s.idempotent(r, st.user.ID, "POST /api/v1/orders", r.Header.Get("Idempotency-Key"), body, func(after orders.AfterPlace) (orders.Order, error) {
		return s.Orders.Place(r.Context(), place, s.withProofChoice(r.Context(), in.ProofOptOut, after))
	})
	switch {
	case res.err == nil:
		status := http.StatusCreated
		if res.replay {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		out := res.body
		if res.replay || res.status == orders.StatusPendingPayment {
			// Only an order waiting for its card payment gets a Checkout
			// page; a replay's status is in its stored answer.
			out = s.withCheckoutURL(r, res.body, s.CheckoutWait)
		}
		w.Write(out)
	case errors.Is(res.err, errKeyReused):
		writeError(w, http.StatusUnprocessableEntity, "idempotency_key_reused", s.Messages.T(st.lang, "error.idempotency_key_reused"))
	case errors.Is(res.err, errDuplicateInFlight):
		writeError(w, http.StatusConflict, "request_in_progress", s.Messages.T(st.lang, "cart.in_progress"))
	case errors.Is(res.err, errBadKey):
		writeFieldErrors(w, http.StatusBadRequest, "bad_request", s.Messages.T(st.lang, "error.bad_request"), errBadKey.Fields)
	default:
		s.apiOrderError(w, r, res.err)
	}
}

// apiOrderError maps an orders error to its status and code.
func (s *Server) apiOrderError(w http.ResponseWriter, r *http.Request, err error) {
	lang := state(r).lang
	code := orders.Code(err)
	status := map[string]int{
		"not_found": http.StatusNotFound, "insufficient_balance": http.StatusPaymentRequired,
		"card_unavailable": http.StatusUnprocessableEntity,
	}[code]
	if status == 0 {
		status = http.StatusUnprocessableEntity
	}
	if code == "internal" {
		s.serverError(w, r, err)
		return
	}
	var verr *orders.ValidationError
	if errors.As(err, &verr) {
		msg, ok := s.belowCardMinimum(lang, err)
		if !ok {
			msg = s.Messages.T(lang, "order.error.invalid")
		}
		writeFieldErrors(w, status, code, msg, verr.Fields)
		return
	}
	writeError(w, status, code, s.Messages.T(lang, orderErrorKey(err)))
}

// orderErrorKey is the message key of an orders error: its code's, or a
// more precise one where one code covers several cases (a delivery on a
// line whose undelivered part was refunded is not_deliverable to the API).
func orderErrorKey(err error) string {
	if errors.Is(err, orders.ErrLineSettled) {
		return "order.error.line_settled"
	}
	return "order.error." + orders.Code(err)
}

func (s *Server) apiOrders(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	f := orders.ListFilter{After: r.URL.Query().Get("after"), Status: r.URL.Query().Get("status")}
	if !st.user.IsStaff() {
		f.CustomerID = st.user.ID
	}
	page, next, err := s.Orders.List(r.Context(), f)
	if err != nil {
		s.listFailed(w, r, err)
		return
	}
	items := make([]orderJSONBody, len(page))
	for i, o := range page {
		items[i] = s.orderJSON(r.Context(), o)
	}
	writeJSON(w, http.StatusOK, listJSON(items, next))
}

// loadOrder reads the order the route names, for its owner or for staff.
func (s *Server) loadOrder(r *http.Request) (orders.Order, error) {
	u := state(r).user
	if u.IsStaff() {
		return s.Orders.Get(r.Context(), r.PathValue("id"))
	}
	return s.Orders.GetForCustomer(r.Context(), u.ID, r.PathValue("id"))
}

func (s *Server) apiOrder(w http.ResponseWriter, r *http.Request) {
	o, err := s.loadOrder(r)
	if err != nil {
		s.apiOrderError(w, r, err)
		return
	}
	body, _ := json.Marshal(s.orderJSON(r.Context(), o))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(s.withCheckoutURL(r, body, 0))
}

type deliveryJSON struct {
	LineID    string `json:"line_id"`
	Delivered *int   `json:"delivered"`
}

// apiDelivery records delivery progress from an agent (bearer token or
// session) or from a fulfilment service whose request is signed per the
// Standard Webhooks scheme. Progress is an absolute count, so a replayed
// webhook changes nothing, and the signature's timestamp bounds replays.
func (s *Server) apiDelivery(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", s.Messages.T(st.lang, "error.too_large"))
		return
	}
	actor, source := audit.System, orders.SourceWebhook
	switch {
	case webhooksig.Signed(r.Header):
		if s.FulfilmentSecret == nil || s.FulfilmentSecret.Verify(r.Header, body, s.Clock.Now()) != nil {
			writeError(w, http.StatusBadRequest, "bad_signature", s.Messages.T(st.lang, "error.bad_signature"))
			return
		}
	case st.user == nil:
		s.apiUnauthorized(w, r)
		return
	case !st.user.IsStaff():
		s.apiNotFound(w, r)
		return
	case st.session != nil && s.apiTOTPRefused(w, r, st.user):
		// The route is open to anyone at the router (for the signed
		// webhook), so apiAuth did not ask for the second factor.
		return
	default:
		actor, source = st.user.Actor(), orders.SourceAPI
	}
	var in deliveryJSON
	if !s.decodeJSONBytes(w, r, body, &in) {
		return
	}
	// Both are required: without line_id the order "did not exist" (404).
	missing := map[string]string{}
	if in.LineID == "" {
		missing["line_id"] = "required"
	}
	if in.Delivered == nil {
		missing["delivered"] = "required"
	}
	if len(missing) > 0 {
		writeFieldErrors(w, http.StatusUnprocessableEntity, "invalid", s.Messages.T(state(r).lang, "order.error.invalid"), missing)
		return
	}
	o, err := s.Orders.RecordDelivery(r.Context(), orders.DeliveryInput{
		OrderID: r.PathValue("id"), LineID: in.LineID, Delivered: *in.Delivered, Source: source, Actor: actor,
	})
	if err != nil {
		s.apiOrderError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.orderJSON(r.Context(), o))
}

type entryJSON struct {
	ID           string       `json:"id"`
	Kind         string       `json:"kind"`
	Amount       money.Amount `json:"amount"`
	BalanceAfter money.Amount `json:"balance_after"`
	Reference    string       `json:"reference,omitempty"`
	Reason       string       `json:"reason,omitempty"`
	CreatedAt    time.Time    `json:"created_at"`
}

func (s *Server) apiBalance(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := state(r).user
	b, err := s.Ledger.Balance(ctx, u.ID, billing.BalanceCurrency)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	entries, next, err := s.Ledger.Entries(ctx, u.ID, r.URL.Query().Get("after"), 50)
	var verr *billing.ValidationError
	if errors.As(err, &verr) {
		writeError(w, http.StatusBadRequest, "bad_request", s.Messages.T(state(r).lang, "error.bad_request"))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	items := make([]entryJSON, len(entries))
	for i, e := range entries {
		items[i] = entryJSON{ID: e.ID, Kind: e.Kind, Amount: e.Amount, BalanceAfter: e.BalanceAfter, Reason: e.Reason, CreatedAt: e.CreatedAt}
		if e.ReferenceID != "" {
			items[i].Reference = e.ReferenceType + ":" + e.ReferenceID
		}
	}
	out := listJSON(items, next)
	out["balance"] = b
	writeJSON(w, http.StatusOK, out)
}

type creditJSON struct {
	CustomerID string       `json:"customer_id"`
	Amount     money.Amount `json:"amount"`
	Reason     string       `json:"reason"`
}

// apiBalanceCredit is an admin's credit (or, with a negative amount, debit)
// of a customer's balance, with the reason they give. It moves money, so
// an Idempotency-Key makes a retry answer the first credit instead of
// paying it again (API.md).
func (s *Server) apiBalanceCredit(w http.ResponseWriter, r *http.Request) {
	lang := state(r).lang
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", s.Messages.T(lang, "error.too_large"))
		return
	}
	var in creditJSON
	if !s.decodeJSONBytes(w, r, body, &in) {
		return
	}
	actor := state(r).user.Actor()
	keyed, ok := s.keyedLookup(w, r, actor.ID, body)
	if !ok {
		return
	}
	// customer_id names a customer (API.md): a staff account buys nothing
	// (permCustomer), so money put on its balance could never be spent.
	if u, err := s.Accounts.UserByID(r.Context(), in.CustomerID); errors.Is(err, account.ErrNotFound) || err == nil && u.Role != account.RoleCustomer {
		writeError(w, http.StatusNotFound, "not_found", s.Messages.T(lang, "error.not_found.body"))
		return
	} else if err != nil {
		s.serverError(w, r, err)
		return
	}
	e, err := s.Ledger.AdminAdjust(r.Context(), actor, in.CustomerID, in.Amount, in.Reason, func(ctx context.Context, tx *sql.Tx, e billing.EntryRow) error {
		return keyed.saveTx(ctx, tx, http.StatusCreated, toEntryJSON(e))
	})
	out, err := keyed.recover(r.Context(), err)
	var verr *billing.ValidationError
	switch {
	case s.writeKeyed(w, r, out, err):
		return
	case errors.As(err, &verr):
		writeFieldErrors(w, http.StatusUnprocessableEntity, "invalid", s.Messages.T(lang, "error.bad_request"), verr.Fields)
		return
	case errors.Is(err, billing.ErrInsufficientBalance):
		// The admin's debit, not a purchase: said as the page says it,
		// with the customer's balance it may not take below zero.
		balance, berr := s.Ledger.Balance(r.Context(), in.CustomerID, billing.BalanceCurrency)
		if berr != nil {
			s.serverError(w, r, berr)
			return
		}
		writeError(w, http.StatusUnprocessableEntity, "insufficient_balance",
			s.Messages.T(lang, "admin.credit.insufficient_balance", map[string]any{"Balance": money.Format(balance, lang)}))
		return
	case errors.Is(err, billing.ErrAccountErased):
		writeError(w, http.StatusConflict, "customer_erased", s.Messages.T(lang, "admin.credit.customer_erased"))
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toEntryJSON(e))
}

func toEntryJSON(e billing.EntryRow) entryJSON {
	return entryJSON{ID: e.ID, Kind: e.Kind, Amount: e.Amount, BalanceAfter: e.BalanceAfter, Reason: e.Reason, CreatedAt: e.CreatedAt}
}
