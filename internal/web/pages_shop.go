package web

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/billing"
	"comptoir/internal/cardpay"
	"comptoir/internal/catalog"
	"comptoir/internal/id"
	"comptoir/internal/locale"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/subscriptions"
)

const cartCookie = "comptoir_cart"

// maxCartLines bounds what the cart cookie holds.
const maxCartLines = 20

// cartLine is one line of the visitor's cart. The cart lives in a cookie
// holding only product ids and quantities: prices, names and availability
// are read again from the catalog every time, so a tampered cookie can at
// worst ask for something that checkout refuses.
type cartLine struct {
	ProductID string
	Quantity  int
}

func readCart(r *http.Request) []cartLine {
	c, err := r.Cookie(cartCookie)
	if err != nil {
		return nil
	}
	var out []cartLine
	for _, part := range strings.Split(c.Value, ".") {
		pid, qty, ok := strings.Cut(part, "~")
		n, err := strconv.Atoi(qty)
		if !ok || err != nil || n <= 0 || !id.Valid("prd", pid) || len(out) == maxCartLines {
			continue
		}
		out = append(out, cartLine{pid, n})
	}
	return out
}

func (s *Server) writeCart(w http.ResponseWriter, lines []cartLine) {
	if len(lines) == 0 {
		s.clearCookie(w, cartCookie)
		return
	}
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = l.ProductID + "~" + strconv.Itoa(l.Quantity)
	}
	s.setCookie(w, cartCookie, strings.Join(parts, "."), 30*24*3600)
}

type shopData struct {
	Products []catalog.Product
}

func (s *Server) shop(w http.ResponseWriter, r *http.Request) {
	page, _, err := s.Catalog.List(r.Context(), catalog.ListFilter{Limit: catalog.MaxListLimit})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "shop", s.newView(r, "shop.title", shopData{Products: page}))
}

type productData struct {
	Product catalog.Product
	// Facts is the product's block of the page (name, price,
	// description, facts), from productFacts.
	Facts                 template.HTML
	Service, Subscription bool
	// For plans: the subscription form.
	Consent       subscriptions.ConsentText
	ConsentNeeded bool
	PolicyVersion string
	// TermsVersion is the terms of sale version in force, which the
	// subscribe form sends back ("" when none is published).
	TermsVersion string
	CardEnabled  bool
	// FirstCharge is when the signed-in customer would first pay, at the
	// end of the free trial (Trial) or at once.
	FirstCharge time.Time
	Trial       bool
	// Live is the signed-in customer's subscription to this plan still
	// running (not canceled), "" when none: the page links to it instead
	// of offering a form that could only be refused (one live
	// subscription per plan and customer).
	Live string
	// With card payment off, what the plan page says of the balance, which
	// pays every period, against the first charge. Due now (no trial), a
	// short balance replaces the Subscribe button, which could only be
	// refused, with what is missing and how to get credit; due at the
	// trial's end, the page says the balance must cover it then.
	planBalance
}

// planBalance is what a page says of the balance that pays a plan when
// card payment is off (the plan's page before subscribing, the
// subscription's own page after): Balance is the customer's, Short what
// it lacks for the next charge (zero when it covers it). BalancePays is
// false when the balance is not what pays (card payment on).
type planBalance struct {
	BalancePays bool
	Balance     money.Amount
	Short       money.Amount
	// Retries and RetryDays are what a renewal does when the balance
	// falls short (subscriptions.RetrySchedule): tried again up to
	// Retries times within RetryDays days, then the subscription ends.
	Retries, RetryDays int
}

// ShortNow reports that the first charge is due now and the balance does
// not cover it: the plan page offers no Subscribe button.
func (d productData) ShortNow() bool { return d.BalancePays && !d.Trial && d.Short.IsPositive() }

// productView is the product page, with the subscription form for plans.
func (s *Server) productView(r *http.Request, p catalog.Product) (*view, error) {
	v := s.newView(r, "", nil)
	v.Title = p.Name(v.Lang)
	d := productData{Product: p, Service: p.Kind == catalog.KindService, Subscription: p.Kind == catalog.KindSubscription}
	var err error
	if d.Facts, err = s.productFacts(v, p); err != nil {
		return nil, err
	}
	if r.Method == http.MethodPost {
		// A refused "add to cart" or "subscribe": the language switcher
		// comes back to the product's page, not to the form's action.
		v.Path = "/shop/" + url.PathEscape(p.Slug)
	}
	v.Form.Set("quantity", strconv.Itoa(p.MinQuantity))
	if p.Kind == catalog.KindSubscription {
		inForce, err := s.Orders.PolicyVersion(r.Context())
		if err != nil {
			return nil, err
		}
		d.PolicyVersion, d.CardEnabled = inForce, cardEnabled(s.Card)
		if d.TermsVersion, err = s.Subscriptions.TermsVersion(r.Context()); err != nil {
			return nil, err
		}
		d.Consent = subscriptions.ConsentWording(v.Lang)
		v.Form.Set("subscribe_key", id.New("sbk"))
		if u := state(r).user; u != nil {
			d.ConsentNeeded = subscriptions.ConsentRequired(*u)
			if u.Role == account.RoleCustomer {
				live, ok, err := s.Subscriptions.Live(r.Context(), u.ID, p.ID)
				if err != nil {
					return nil, err
				}
				if ok {
					d.Live = live.ID
				}
				if d.FirstCharge, d.Trial, err = s.Subscriptions.FirstCharge(r.Context(), u.ID, p); err != nil {
					return nil, err
				}
				if !d.CardEnabled {
					if d.planBalance, err = s.balanceFor(r.Context(), u.ID, p.UnitPrice); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	v.Data = d
	return v, nil
}

// balanceFor reads what the balance of customerID says of a charge of
// amount, the plan's price (planBalance), for when card payment is off.
func (s *Server) balanceFor(ctx context.Context, customerID string, amount money.Amount) (planBalance, error) {
	b, err := s.Ledger.Balance(ctx, customerID, amount.Currency)
	if err != nil {
		return planBalance{}, err
	}
	d := planBalance{BalancePays: true, Balance: b}
	if b.Minor < amount.Minor {
		if d.Short, err = amount.Sub(b); err != nil {
			return planBalance{}, err
		}
	}
	d.Retries = len(subscriptions.RetrySchedule)
	d.RetryDays = int(subscriptions.RetrySchedule[d.Retries-1] / (24 * time.Hour))
	return d, nil
}

// productFacts renders the product's block of its page (product.html's
// product_facts) in v's language, or gives it as rendered before. What the
// block says comes from the product's revision, which is never changed
// (an edit makes a new one), and from the language: it was most of the
// page's template work, the same for every visit. maxProductFacts bound
// what is kept; past it, all is forgotten and rendered again.
func (s *Server) productFacts(v *view, p catalog.Product) (template.HTML, error) {
	k := factsKey{p.ID, p.Revision, v.Lang}
	if f, ok := s.facts.Load(k); ok {
		return f.(template.HTML), nil
	}
	t, ok := s.pages.get("product", v.Lang)
	if !ok {
		return "", errors.New("no page template product")
	}
	var buf bytes.Buffer
	fv := *v
	fv.Data = productData{Product: p}
	if err := t.ExecuteTemplate(&buf, "product_facts", &fv); err != nil {
		return "", err
	}
	f := template.HTML(buf.String())
	if s.factsCount.Add(1) > maxProductFacts {
		s.facts.Clear()
		s.factsCount.Store(1)
	}
	s.facts.Store(k, f)
	return f, nil
}

// factsKey is a product's revision in a language.
type factsKey struct {
	id       string
	revision int
	lang     string
}

const maxProductFacts = 2048

func (s *Server) product(w http.ResponseWriter, r *http.Request) {
	p, err := s.Catalog.GetBySlug(r.Context(), r.PathValue("slug"))
	if errors.Is(err, catalog.ErrNotFound) || (err == nil && p.Archived) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v, err := s.productView(r, p)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "product", v)
}

// cartAdd puts a product in the cart (or changes its quantity).
func (s *Server) cartAdd(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	p, err := s.Catalog.Get(r.Context(), r.PostForm.Get("product_id"))
	if errors.Is(err, catalog.ErrNotFound) || (err == nil && !p.Cartable()) {
		s.renderError(w, r, http.StatusNotFound, "shop.unavailable")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	qty, ok := cartQuantity(p, r.PostForm.Get("quantity"))
	if !ok {
		v, err := s.productView(r, p)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		v.Form = r.PostForm
		v.Errors = map[string]string{"quantity": s.Messages.T(v.Lang, "shop.quantity_range", map[string]any{"Min": formatInt(p.MinQuantity, v.Lang), "Max": formatInt(p.MaxQuantity, v.Lang)})}
		s.render(w, r, http.StatusUnprocessableEntity, "product", v)
		return
	}
	lines := readCart(r)
	replaced := false
	for i := range lines {
		if lines[i].ProductID == p.ID {
			lines[i].Quantity, replaced = qty, true
		}
	}
	if !replaced && len(lines) >= maxCartLines {
		// Lines no longer for sale (the cart page does not show them)
		// make room first.
		if lines, err = s.forSale(r, lines); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	if !replaced && len(lines) >= maxCartLines {
		// The product was left out and the cart shown as if it had been
		// added: the buyer paid for the cart without it, unwarned.
		v, err := s.productView(r, p)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		v.Form = r.PostForm
		v.Errors = map[string]string{"cart": s.Messages.T(v.Lang, "shop.cart_full", map[string]any{"Max": maxCartLines})}
		s.render(w, r, http.StatusConflict, "product", v)
		return
	}
	if !replaced {
		lines = append(lines, cartLine{p.ID, qty})
	}
	s.writeCart(w, lines)
	http.Redirect(w, r, "/cart", http.StatusSeeOther)
}

// cartQuantity reads a quantity typed for p and reports whether p may be
// bought in it (catalog.Product.AllowsQuantity). Adding to the cart and
// changing a line's quantity both go by it.
func cartQuantity(p catalog.Product, typed string) (int, bool) {
	qty, err := strconv.Atoi(strings.TrimSpace(typed))
	return qty, err == nil && p.AllowsQuantity(qty)
}

// cartSetQuantity changes the quantity of a cart line (the cart page's
// "Update"), by the rules of adding: the product still for sale, a
// quantity within its bounds. 0 removes the line, as "Remove" does. A
// refusal shows the cart again, unchanged, with the reason beside the
// line's box in the visitor's language. Before it, a buyer who wanted
// another quantity removed the line and added it again from its page.
func (s *Server) cartSetQuantity(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	pid, typed := r.PostForm.Get("product_id"), r.PostForm.Get("quantity")
	lines := readCart(r)
	i := slices.IndexFunc(lines, func(l cartLine) bool { return l.ProductID == pid })
	refuse := func(status int, field, msg string) {
		v, err := s.cartView(r)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		s.keepShownCart(w, v)
		v.Form = r.PostForm
		v.Errors = map[string]string{field: msg}
		s.render(w, r, status, "cart", v)
	}
	lang := state(r).lang
	if n, err := strconv.Atoi(strings.TrimSpace(typed)); err == nil && n == 0 {
		if i >= 0 {
			s.writeCart(w, slices.Delete(lines, i, i+1))
		}
		http.Redirect(w, r, "/cart", http.StatusSeeOther)
		return
	}
	if i < 0 {
		// Removed meanwhile (in another tab, or paid for): changing its
		// quantity must not put it back unseen.
		refuse(http.StatusConflict, "form", s.Messages.T(lang, "cart.line_gone"))
		return
	}
	p, err := s.Catalog.Get(r.Context(), pid)
	if errors.Is(err, catalog.ErrNotFound) || (err == nil && !p.Cartable()) {
		// The cart shown without it (keepShownCart), and why.
		refuse(http.StatusConflict, "form", s.Messages.T(lang, "shop.unavailable"))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	qty, ok := cartQuantity(p, typed)
	if !ok {
		refuse(http.StatusUnprocessableEntity, "quantity-"+p.ID, s.Messages.T(lang, "cart.quantity_range",
			map[string]any{"Min": formatInt(p.MinQuantity, lang), "Max": formatInt(p.MaxQuantity, lang)}))
		return
	}
	lines[i].Quantity = qty
	s.writeCart(w, lines)
	http.Redirect(w, r, "/cart", http.StatusSeeOther)
}

// forSale keeps the cart lines whose product is still for sale.
func (s *Server) forSale(r *http.Request, lines []cartLine) ([]cartLine, error) {
	var out []cartLine
	for _, l := range lines {
		p, err := s.Catalog.Get(r.Context(), l.ProductID)
		if errors.Is(err, catalog.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if p.Cartable() {
			out = append(out, l)
		}
	}
	return out, nil
}

func (s *Server) cartRemove(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	var kept []cartLine
	for _, l := range readCart(r) {
		if l.ProductID != r.PostForm.Get("product_id") {
			kept = append(kept, l)
		}
	}
	s.writeCart(w, kept)
	http.Redirect(w, r, "/cart", http.StatusSeeOther)
}

type cartItem struct {
	Product  catalog.Product
	Quantity int
	Amount   money.Amount
}

type cartData struct {
	Items           []cartItem
	Total           money.Amount
	Consent         orders.ConsentText
	ConsentRequired bool
	PolicyVersion   string
	Balance         money.Amount
	CheckoutKey     string
	CardEnabled     bool
	Proof           proofAsk

	// Short is what the balance lacks to pay the cart, zero when it
	// covers it. Card payment off, the page says so, and how to get
	// credit, in place of a Pay button that could only be refused; on, the
	// balance choice says so and is closed, the card chosen (BalanceShort).
	Short money.Amount

	// CardMinimum is the smallest card payment in the cart's currency
	// (cardpay.MinimumCharge): a total below it cannot be paid by card
	// (CardTooSmall).
	CardMinimum money.Amount
	// TopUp is the top-up the page offers when nothing can pay the cart
	// (NoWayToPay): what the balance lacks, raised to the smallest top-up
	// and the smallest card payment. Zero when the balance cannot be
	// topped up in the cart's currency (the page then says to write to
	// us). TopUpValue is it as the amount field shows it.
	TopUp      money.Amount
	TopUpValue string

	// TermsVersion is the terms of sale version in force, which the form
	// sends back so that a change while the buyer read is caught.
	TermsVersion string

	// dropped: the cart cookie holds lines the page does not show (a
	// product archived or withdrawn since it was added); keepShownCart
	// writes the cart as shown.
	dropped bool
}

// ShortNoCard is whether the balance cannot pay the cart and nothing else
// can (card payment off): no Pay button, a note on how to get credit.
func (d cartData) ShortNoCard() bool { return !d.CardEnabled && d.Short.IsPositive() }

// BalanceShort is whether the balance cannot pay the cart while card
// payment is on: the balance choice says by how much and is closed, the
// card chosen (unless the card cannot pay it either: NoWayToPay).
func (d cartData) BalanceShort() bool { return d.CardEnabled && d.Short.IsPositive() }

// CardTooSmall is whether card payment is on but the cart comes to less
// than the smallest card payment: the card choice says so and is closed.
// It is cardpay.CheckMinimum's rule, the one the order's card payment is
// refused by (CardMinimum only words it).
func (d cartData) CardTooSmall() bool {
	return d.CardEnabled && d.Total.Currency != "" && cardpay.CheckMinimum(d.Total) != nil
}

// NoWayToPay is whether neither the balance (short) nor the card (the
// total is below its minimum) can pay the cart: the page says so and
// offers a card top-up of at least the card minimum that covers what the
// balance lacks (TopUp), in place of a Pay button that could only be
// refused. Before, the card was chosen, refused on submit with "pay it
// from your balance instead", and the balance could not.
func (d cartData) NoWayToPay() bool { return d.CardTooSmall() && d.Short.IsPositive() }

// amountFieldValue is a as an amount field shows it in lang, for
// money.Parse to read back: "1,00" in French, "1.00" in English.
func amountFieldValue(a money.Amount, lang string) string {
	s := money.FormatPlain(a)
	if lang == locale.FR {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// keepShownCart makes the cart cookie hold what the page shows: a line
// left in it for a product no longer for sale was invisible, could not be
// removed, and made every checkout fail with "no longer for sale".
func (s *Server) keepShownCart(w http.ResponseWriter, v *view) {
	d, ok := v.Data.(*cartData)
	if !ok || !d.dropped {
		return
	}
	lines := make([]cartLine, len(d.Items))
	for i, it := range d.Items {
		lines[i] = cartLine{it.Product.ID, it.Quantity}
	}
	s.writeCart(w, lines)
}

// cartView reads the cart against the catalog, dropping what is no longer
// for sale.
func (s *Server) cartView(r *http.Request) (*view, error) {
	v := s.newView(r, "cart.title", nil)
	inForce, err := s.Orders.PolicyVersion(r.Context())
	if err != nil {
		return nil, err
	}
	d := &cartData{PolicyVersion: inForce, CheckoutKey: id.New("chk"), CardEnabled: cardEnabled(s.Card)}
	if d.TermsVersion, err = s.Orders.TermsVersion(r.Context()); err != nil {
		return nil, err
	}
	var kinds []string
	for _, l := range readCart(r) {
		p, err := s.Catalog.Get(r.Context(), l.ProductID)
		if errors.Is(err, catalog.ErrNotFound) {
			d.dropped = true
			continue
		}
		if err != nil {
			return nil, err
		}
		if !p.Cartable() {
			d.dropped = true
			continue
		}
		amount, err := p.UnitPrice.Mul(int64(l.Quantity))
		if err != nil {
			d.dropped = true
			continue
		}
		if d.Total.Currency == "" {
			d.Total = money.Zero(amount.Currency)
		}
		if total, err := d.Total.Add(amount); err == nil {
			d.Total = total
		}
		d.Items = append(d.Items, cartItem{Product: p, Quantity: l.Quantity, Amount: amount})
		kinds = append(kinds, p.Kind)
	}
	d.Consent = orders.ConsentWording(kinds, v.Lang)
	d.Proof = s.proofAsk(r)
	if u := state(r).user; u != nil {
		d.ConsentRequired = orders.ConsentRequired(*u, kinds)
		if err := s.quoteCart(r, *u, d); err != nil {
			return nil, err
		}
		if d.Total.Currency != "" {
			b, err := s.Ledger.Balance(r.Context(), u.ID, d.Total.Currency)
			if err != nil {
				return nil, err
			}
			d.Balance = b
			if b.Currency == d.Total.Currency && b.Minor < d.Total.Minor {
				if d.Short, err = d.Total.Sub(b); err != nil {
					return nil, err
				}
			}
			d.CardMinimum = cardpay.MinimumCharge(d.Total.Currency)
			if d.NoWayToPay() {
				d.TopUp = billing.TopUpCovering(d.Short)
				d.TopUpValue = amountFieldValue(d.TopUp, v.Lang)
			}
		}
	}
	v.Data = d
	return v, nil
}

// quoteCart puts in the cart what its lines cost the buyer, as the
// checkout will charge them (VAT added when catalog prices exclude it).
func (s *Server) quoteCart(r *http.Request, buyer account.User, d *cartData) error {
	amounts := make([]money.Amount, len(d.Items))
	for i, it := range d.Items {
		amounts[i] = it.Amount
	}
	quoted, err := s.Orders.Quote(r.Context(), buyer, amounts)
	if err != nil {
		return err
	}
	// Totalled as cartView does: a line in another currency than the
	// first is left out of the total (the checkout refuses such a cart).
	d.Total = money.Zero(d.Total.Currency)
	for i, a := range quoted {
		d.Items[i].Amount = a
		if total, err := d.Total.Add(a); err == nil {
			d.Total = total
		}
	}
	return nil
}

func (s *Server) cart(w http.ResponseWriter, r *http.Request) {
	v, err := s.cartView(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.keepShownCart(w, v)
	if r.URL.Query().Get("topup") == "1" {
		// Back from a card top-up the page offered (NoWayToPay).
		v.Flash = s.Messages.T(v.Lang, "cart.topup_thanks")
	}
	s.render(w, r, http.StatusOK, "cart", v)
}

// checkout places the order. The form carries a key made when the cart was
// shown, used as an idempotency key: a double click or a resubmitted form
// finds the first order instead of paying twice.
func (s *Server) checkout(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	st := state(r)
	f := r.PostForm
	in := orders.PlaceInput{
		CustomerID: st.user.ID, Buyer: st.user, Payment: f.Get("payment"),
		ImmediatePerformance: f.Get("immediate_performance") == "yes", WithdrawalWaiver: f.Get("withdrawal_waiver") == "yes",
		AcceptPolicy: f.Get("accept_policy"), AcceptTerms: f.Get("accept_terms"), Lang: st.lang, IP: clientIP(r), UserAgent: r.UserAgent(),
	}
	for _, l := range readCart(r) {
		in.Lines = append(in.Lines, orders.LineInput{ProductID: l.ProductID, Quantity: l.Quantity})
	}
	if shown, err := strconv.ParseInt(f.Get("shown_total"), 10, 64); err == nil && f.Get("shown_currency") != "" {
		in.ExpectTotal = money.Amount{Minor: shown, Currency: f.Get("shown_currency")}
	}
	changed := false      // the cart is not the one the boxes were ticked for
	var belowMinimum bool // the card was refused for the total's smallness
	fail := func(status int, errs map[string]string) {
		v, err := s.cartView(r)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		s.keepShownCart(w, v)
		if d, ok := v.Data.(*cartData); ok && status == http.StatusUnprocessableEntity && !changed {
			formProblems(s.Messages, st.lang, f, d, errs)
		}
		if d, ok := v.Data.(*cartData); ok && belowMinimum && d.NoWayToPay() {
			// "Pay it from your balance instead" cannot be done: the
			// balance is short too. The page offers a top-up.
			errs["form"] = s.Messages.T(st.lang, "card.below_minimum_short", map[string]any{
				"Amount": money.Format(d.Total, st.lang), "Min": money.Format(d.CardMinimum, st.lang), "Short": money.Format(d.Short, st.lang)})
		}
		v.Form = f
		v.Errors = errs
		s.render(w, r, status, "cart", v)
	}
	// cartChanged refuses a checkout whose cart is no longer the one the
	// buyer ticked the boxes for: their wording may differ now (a service,
	// digital content), so they are shown unticked, to be ticked again.
	// Any other refusal keeps what the buyer ticked: a missing policy box
	// left the two consent boxes to be ticked all over again.
	cartChanged := func(status int, errs map[string]string) {
		changed = true
		f = cloneValues(f)
		f.Del("immediate_performance")
		f.Del("withdrawal_waiver")
		fail(status, errs)
	}
	if in.AcceptPolicy == "" {
		fail(http.StatusUnprocessableEntity, map[string]string{"accept_policy": s.Messages.T(st.lang, "cart.policy_required")})
		return
	}
	res := s.idempotent(r, st.user.ID, "page:checkout", f.Get("checkout_key"), []byte(f.Encode()), func(after orders.AfterPlace) (orders.Order, error) {
		return s.Orders.Place(r.Context(), in, s.withProofChoice(r.Context(), pageProofChoice(f), after))
	})
	switch {
	case res.err == nil:
		s.writeCart(w, nil)
		if in.Payment == orders.PayCard {
			http.Redirect(w, r, "/orders/"+res.orderID+"/pay", http.StatusSeeOther)
			return
		}
		s.flash(w, "order.placed")
		http.Redirect(w, r, "/orders/"+res.orderID, http.StatusSeeOther)
	case errors.Is(res.err, errDuplicateInFlight):
		fail(http.StatusConflict, map[string]string{"form": s.Messages.T(st.lang, "cart.in_progress")})
	case errors.Is(res.err, errKeyReused):
		// The form's key placed an order already, and the form comes back
		// changed (from a page the browser kept): said, with the page and
		// a new key, rather than a server error.
		fail(http.StatusConflict, map[string]string{"form": s.Messages.T(st.lang, "cart.already_placed")})
	default:
		code := orders.Code(res.err)
		if code == "internal" {
			s.serverError(w, r, res.err)
			return
		}
		if msg, ok := s.belowCardMinimum(st.lang, res.err); ok {
			belowMinimum = true
			fail(http.StatusUnprocessableEntity, map[string]string{"form": msg})
			return
		}
		field := "form"
		switch code {
		case "consent_required":
			field = "consent"
		case "policy_not_accepted", "terms_not_accepted":
			field = "accept_policy"
		case "insufficient_balance":
			// Beside the payment choice, where the page offers the
			// card instead, or a top-up (cart.html).
			field = "payment"
		}
		errs := map[string]string{field: s.Messages.T(st.lang, "order.error."+code)}
		switch code {
		case "cart_changed", "product_unavailable", "out_of_stock":
			cartChanged(http.StatusUnprocessableEntity, errs)
		default:
			fail(http.StatusUnprocessableEntity, errs)
		}
	}
}

// formProblems adds to errs what else the cart as shown tells is wrong
// with the form (a box left unticked, a balance below the total), so a
// refused checkout says it all at once: the order service stops at the
// first problem, and a buyer who missed the policy box, the consent boxes
// and a balance too low met them one submit after another.
func formProblems(m *locale.Catalog, lang string, f url.Values, d *cartData, errs map[string]string) {
	add := func(field, msg string) {
		if errs[field] == "" {
			errs[field] = m.T(lang, msg)
		}
	}
	if f.Get("accept_policy") == "" {
		add("accept_policy", "cart.policy_required")
	}
	if d.ConsentRequired && (f.Get("immediate_performance") != "yes" || f.Get("withdrawal_waiver") != "yes") {
		add("consent", "order.error.consent_required")
	}
	if f.Get("payment") != orders.PayCard && d.Balance.Currency == d.Total.Currency && d.Balance.Minor < d.Total.Minor {
		add("payment", "order.error.insufficient_balance")
	}
}

// cloneValues copies form values, so that a page may show them changed
// without changing the request's.
func cloneValues(f url.Values) url.Values {
	out := make(url.Values, len(f))
	for k, vs := range f {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
