package web

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"comptoir/internal/account"
	"comptoir/internal/billing"
	"comptoir/internal/cardpay"
	"comptoir/internal/claims"
	"comptoir/internal/disputes"
	"comptoir/internal/id"
	"comptoir/internal/invoices"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

type ordersData struct {
	Orders []orders.Order
	Next   string
	Status string
	// Customers name each order's customer, by customer id (console).
	Customers map[string]string
}

func (s *Server) myOrders(w http.ResponseWriter, r *http.Request) {
	page, next, err := s.Orders.List(r.Context(), orders.ListFilter{CustomerID: state(r).user.ID, After: r.URL.Query().Get("after")})
	if err != nil {
		s.listFailed(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "orders", s.newView(r, "orders.title", ordersData{Orders: page, Next: next}))
}

type orderData struct {
	Order   orders.Order
	Consent orders.Consent
	Events  []orders.DeliveryEvent
	Console bool // shown to an agent, with the delivery form
	// For the customer: the claims they can file, and whether the
	// withdrawal button shows (14 days, paid orders).
	ClaimKinds     []policy.Kind
	WithdrawalOpen bool
	// WithdrawalEnded: within the withdrawal period, but the right has
	// ended for every line with its supply (claims.WithdrawalEnded); the
	// page says so rather than offer it.
	WithdrawalEnded bool
	// Withdrawn: within the withdrawal period, but the customer has
	// withdrawn from every line already (the latest such claim); the page
	// says when it was received and links it rather than offer the
	// button again, which led only to a refusal.
	Withdrawn *claims.Claim
	// OpenClaim: a claim the customer sent is refused because one of its
	// kind is open on that line already; this is that one, which the
	// refusal links so that they can add to it.
	OpenClaim string
	Claims    []claims.Claim
	// Invoices are the order's invoice and credit notes.
	Invoices []invoices.Invoice
	// InvoiceLinks: the viewer may open the documents (their owner, or
	// an admin). An agent sees them listed, with their tax evidence, but
	// GET /invoices/{id} is not theirs (API.md: owner; admin sees all).
	InvoiceLinks bool
	// Disputes are the card disputes of the order (staff only).
	Disputes []disputes.Case
	// PayLink: the order waits for its card payment and its buyer is
	// looking; Stripe's "back" link and the payment page's "Go back" lead
	// here, so this is where they pay. PayConfirming: they have just come
	// back from paying (Stripe's success URL) and the payment's report has
	// not arrived yet.
	PayLink       bool
	PayConfirming bool
	// Context is the order's customer (console): who they are, their
	// other orders, subscriptions, balance and claims.
	Context *customerContext
}

// withdrawalEndedForAll reports whether the right of withdrawal has ended
// for every line of o: the order page offered "You have 14 days after your
// order to withdraw" on a licence key the customer had waived the right to
// and received, and the button led to a refusal.
func withdrawalEndedForAll(o orders.Order, c orders.Consent) bool {
	for _, l := range o.Lines {
		if !claims.WithdrawalEnded(l, c) {
			return false
		}
	}
	return len(o.Lines) > 0
}

// withdrawalsByLine returns, for each line of an order, the latest
// withdrawal claim filed on it, from cls (the order's claims, newest first).
func withdrawalsByLine(cls []claims.Claim) map[string]claims.Claim {
	by := map[string]claims.Claim{}
	for _, c := range cls {
		if c.Kind != policy.Withdrawal {
			continue
		}
		if prev, ok := by[c.LineID]; !ok || c.FiledAt.After(prev.FiledAt) {
			by[c.LineID] = c
		}
	}
	return by
}

// withdrawnFromAll reports whether every line of o has a withdrawal claim
// among cls, and gives the latest.
func withdrawnFromAll(o orders.Order, cls []claims.Claim) (claims.Claim, bool) {
	by := withdrawalsByLine(cls)
	var latest claims.Claim
	for _, l := range o.Lines {
		c, ok := by[l.ID]
		if !ok {
			return claims.Claim{}, false
		}
		if c.FiledAt.After(latest.FiledAt) {
			latest = c
		}
	}
	return latest, len(o.Lines) > 0
}

// orderView loads an order for its owner, or for staff when console is set.
// Anyone else gets ErrNotFound: an order id reveals nothing.
func (s *Server) orderView(r *http.Request, console bool) (*view, error) {
	ctx := r.Context()
	var o orders.Order
	var err error
	if console {
		o, err = s.Orders.Get(ctx, r.PathValue("id"))
	} else {
		o, err = s.Orders.GetForCustomer(ctx, state(r).user.ID, r.PathValue("id"))
	}
	if err != nil {
		return nil, err
	}
	c, err := s.Orders.ConsentOf(ctx, o.ID)
	if err != nil && !errors.Is(err, orders.ErrNotFound) {
		return nil, err
	}
	events, err := s.Orders.DeliveryEvents(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	d := orderData{Order: o, Consent: c, Events: events, Console: console,
		InvoiceLinks: !console || state(r).user.Role == account.RoleAdmin}
	if !console && o.Status == orders.StatusPendingPayment && cardEnabled(s.Card) {
		d.PayConfirming = r.URL.Query().Get("paid") == "1"
		d.PayLink = !d.PayConfirming
	}
	if o.Status != orders.StatusPendingPayment && o.Status != orders.StatusCanceled {
		d.ClaimKinds = claimKindsFromOrder
		d.WithdrawalOpen = !console && s.withdrawalOpen(state(r).user, o)
		if d.WithdrawalOpen && withdrawalEndedForAll(o, c) {
			d.WithdrawalOpen, d.WithdrawalEnded = false, true
		}
	}
	if d.Claims, _, err = s.Claims.List(ctx, claims.ListFilter{OrderID: o.ID}); err != nil {
		return nil, err
	}
	if d.WithdrawalOpen {
		if w, ok := withdrawnFromAll(o, d.Claims); ok {
			d.WithdrawalOpen, d.Withdrawn = false, &w
		}
	}
	if s.Invoices != nil {
		if d.Invoices, err = s.Invoices.ForOrder(ctx, o.ID); err != nil {
			return nil, err
		}
	}
	if console && s.Disputes != nil {
		if d.Disputes, err = s.Disputes.ForReference(ctx, o.ID); err != nil {
			return nil, err
		}
	}
	if console {
		// Whose order it is, beside it, as on a ticket or claim page: the
		// console's order page named no customer at all.
		d.Context = &customerContext{}
		u, err := s.Accounts.UserByID(ctx, o.CustomerID)
		if err != nil && !errors.Is(err, account.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			if d.Context, err = s.accountContext(ctx, d.Context, u, state(r).lang); err != nil {
				return nil, err
			}
		}
	}
	v := s.newView(r, "", d)
	v.Title = s.Messages.T(v.Lang, "order.title", map[string]any{"ID": o.ID})
	if d.ClaimKinds != nil && !console {
		v.Form.Set("claim_key", id.New("clk"))
	}
	return v, nil
}

func (s *Server) showOrder(w http.ResponseWriter, r *http.Request, page string, console bool) {
	v, err := s.orderView(r, console)
	if errors.Is(err, orders.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !console {
		if st := state(r); st.user != nil && st.user.Role == account.RoleCustomer {
			s.recordActivity(r, st.user.ID, disputes.ActivityOrderView, r.PathValue("id"))
		}
	}
	s.render(w, r, http.StatusOK, page, v)
}

func (s *Server) orderPage(w http.ResponseWriter, r *http.Request) { s.showOrder(w, r, "order", false) }
func (s *Server) receipt(w http.ResponseWriter, r *http.Request)   { s.showOrder(w, r, "receipt", false) }
func (s *Server) consoleOrder(w http.ResponseWriter, r *http.Request) {
	s.showOrder(w, r, "order", true)
}

func (s *Server) consoleOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, next, err := s.Orders.List(r.Context(), orders.ListFilter{Status: q.Get("status"), After: q.Get("after")})
	if err != nil {
		s.listFailed(w, r, err)
		return
	}
	// Whose order each is: the list named no one.
	customers := map[string]string{}
	for _, o := range page {
		if _, seen := customers[o.CustomerID]; seen {
			continue
		}
		u, err := s.Accounts.UserByID(r.Context(), o.CustomerID)
		if err != nil && !errors.Is(err, account.ErrNotFound) {
			s.serverError(w, r, err)
			return
		}
		customers[o.CustomerID] = u.Email
		if u.Name != "" {
			customers[o.CustomerID] = u.Name + " <" + u.Email + ">"
		}
	}
	s.render(w, r, http.StatusOK, "console_orders", s.newView(r, "console.orders.title", ordersData{Orders: page, Next: next, Status: q.Get("status"), Customers: customers}))
}

// consoleDelivery records delivery progress typed by an agent.
func (s *Server) consoleDelivery(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	st := state(r)
	n, err := strconv.Atoi(r.PostForm.Get("delivered"))
	if err != nil {
		n = -1
	}
	_, err = s.Orders.RecordDelivery(r.Context(), orders.DeliveryInput{
		OrderID: r.PathValue("id"), LineID: r.PostForm.Get("line_id"), Delivered: n,
		Source: orders.SourceAgent, Actor: st.user.Actor(),
	})
	if errors.Is(err, orders.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil && orders.Code(err) == "internal" {
		s.serverError(w, r, err)
		return
	}
	if err != nil {
		v, verr := s.orderView(r, true)
		if verr != nil {
			s.serverError(w, r, verr)
			return
		}
		// The reason beside the line's form, with what the agent typed:
		// above the page, it named no line of an order of several, and
		// the number was lost.
		field := "delivery"
		if _, ok := v.Data.(orderData).Order.Line(r.PostForm.Get("line_id")); ok {
			field = "delivered"
			v.Form.Set("line_id", r.PostForm.Get("line_id"))
			v.Form.Set("delivered", r.PostForm.Get("delivered"))
		}
		v.Errors = map[string]string{field: s.Messages.T(v.Lang, orderErrorKey(err))}
		s.render(w, r, http.StatusUnprocessableEntity, "order", v)
		return
	}
	s.flash(w, "order.delivery_saved")
	http.Redirect(w, r, "/console/orders/"+r.PathValue("id"), http.StatusSeeOther)
}

type balanceData struct {
	Balance     money.Amount
	Entries     []billing.EntryRow
	Next        string
	CardEnabled bool
	// Pending are the customer's card top-ups not yet confirmed (paid
	// before Stripe's webhook came, or not paid yet): shown with their
	// amounts, where before the balance was silent until the webhook.
	Pending []cardpay.Payment
}

// balancePendingShown is how many pending top-ups the balance page lists.
const balancePendingShown = 10

func (s *Server) balanceView(r *http.Request) (*view, error) {
	ctx := r.Context()
	u := state(r).user
	b, err := s.Ledger.Balance(ctx, u.ID, billing.BalanceCurrency)
	if err != nil {
		return nil, err
	}
	entries, next, err := s.Ledger.Entries(ctx, u.ID, r.URL.Query().Get("after"), 50)
	if err != nil {
		return nil, err
	}
	d := balanceData{Balance: b, Entries: entries, Next: next, CardEnabled: cardEnabled(s.Card)}
	if s.Card != nil {
		if d.Pending, err = s.Card.Waiting(ctx, u.ID, cardpay.PurposeTopUp, balancePendingShown); err != nil {
			return nil, err
		}
	}
	return s.newView(r, "balance.title", d), nil
}

func (s *Server) balancePage(w http.ResponseWriter, r *http.Request) {
	v, err := s.balanceView(r)
	var verr *billing.ValidationError
	if errors.As(err, &verr) {
		s.renderError(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if r.URL.Query().Get("topup") == "1" {
		v.Flash = s.Messages.T(v.Lang, "balance.topup_thanks")
	}
	s.render(w, r, http.StatusOK, "balance", v)
}

// fileExtensions are the extensions a downloaded file is given from its
// content, for the types whose content names them without doubt (a zip
// may be an EPUB or a DOCX, a text a CSV: those keep the bare name).
var fileExtensions = map[string]string{
	"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
	"image/webp": ".webp", "audio/mpeg": ".mp3", "video/mp4": ".mp4",
}

// downloadName is the name a line's file is saved under: the product's
// slug, which has no extension, plus the one its content calls for. A
// guide saved as "guide" opened with nothing on the customer's computer.
func downloadName(slug, ctype string) string {
	return slug + fileExtensions[ctype]
}

// download serves the file of a paid line to its owner while the link is
// valid, and records the download.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	key, name, err := s.Orders.Download(r.Context(), st.user.ID, r.PathValue("id"), r.PathValue("line"), clientIP(r), r.UserAgent())
	switch {
	case errors.Is(err, orders.ErrNotFound):
		s.notFound(w, r)
		return
	case errors.Is(err, orders.ErrDownloadExpired):
		s.renderError(w, r, http.StatusGone, "order.error.download_expired")
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	rc, err := s.Blobs.Get(r.Context(), key)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	defer rc.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(rc, head)
	ctype := http.DetectContentType(head[:n])
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+downloadName(name, ctype)+`"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(head[:n])
	io.Copy(w, rc)
}
