package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/alerts"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/cardpay"
	"comptoir/internal/catalog"
	"comptoir/internal/db"
	"comptoir/internal/id"
	"comptoir/internal/money"
)

// maxLines bounds a cart: enough for any real purchase, small enough that
// one checkout cannot hold the write lock for long.
const maxLines = 20

// PlaceInput is a checkout.
type PlaceInput struct {
	CustomerID string
	// Buyer, when set, is the customer as the request already read them
	// (the signed-in user), so that Place does not read them again. It
	// must be CustomerID's.
	Buyer   *account.User
	Lines   []LineInput
	Payment string // PayBalance or PayCard
	// ImmediatePerformance and WithdrawalWaiver are the two boxes.
	ImmediatePerformance bool
	WithdrawalWaiver     bool
	// AcceptPolicy is the refund policy version the buyer accepted; it must
	// be the one in force.
	AcceptPolicy string
	// AcceptTerms is the terms of sale version the buyer was shown; when
	// set it must be the one in force. Empty: the version in force (the
	// API, whose buyers read the terms through the store's pages).
	AcceptTerms string
	// ExpectTotal, when set, is the total the buyer was shown (the cart
	// page's "Pay …" button, as Quote gives it): a checkout whose lines now
	// cost another amount (a price changed meanwhile, the cart changed in
	// another tab) is refused with ErrCartChanged rather than charged.
	ExpectTotal money.Amount
	// Lang is the language the buyer reads the store in; IP and UserAgent
	// go into the consent record.
	Lang      string
	IP        string
	UserAgent string
}

// LineInput is one product and quantity in a cart.
type LineInput struct {
	ProductID string
	Quantity  int
}

// AfterPlace runs inside the checkout's transaction once the order is
// written, for work that must commit with it (an idempotent API response).
// On PostgreSQL the order's rows are appended (db.Append); its ctx is
// db.FlushingReads', so a query it makes in tx sends them first and reads
// them as on SQLite. A statement run with ExecContext that changes them
// calls db.FlushAppends first.
type AfterPlace func(ctx context.Context, tx *sql.Tx, o Order) error

// Place checks out a cart: it validates the lines against the catalog,
// requires the consent boxes where the law does, records what the buyer
// agreed to, takes payment from the balance and delivers digital products at
// once — all in one transaction, so a failure at any step (too little
// balance, a licence key pool just emptied) leaves nothing behind.
func (s *Service) Place(ctx context.Context, in PlaceInput, after AfterPlace) (Order, error) {
	if err := validatePlace(in); err != nil {
		return Order{}, err
	}
	if in.Payment == PayCard && !s.CardEnabled() {
		return Order{}, ErrCardUnavailable
	}
	inForce, err := s.PolicyVersion(ctx)
	if err != nil {
		return Order{}, fmt.Errorf("orders: policy in force: %w", err)
	}
	if in.AcceptPolicy != "" && in.AcceptPolicy != inForce {
		return Order{}, ErrPolicyNotAccepted
	}
	terms, err := s.TermsVersion(ctx)
	if err != nil {
		return Order{}, fmt.Errorf("orders: terms in force: %w", err)
	}
	if in.AcceptTerms != "" && in.AcceptTerms != terms {
		return Order{}, ErrTermsNotAccepted
	}
	buyer, err := s.buyer(ctx, in)
	if err != nil {
		return Order{}, fmt.Errorf("orders: buyer: %w", err)
	}
	lang := in.Lang
	if lang != "fr" && lang != "en" {
		lang = buyer.Language
	}
	now := s.clock.Now()
	o := Order{
		ID: id.New("ord"), CustomerID: buyer.ID, Status: StatusPaid, PaymentMethod: in.Payment,
		PolicyVersion: inForce, Lang: lang, PlacedAt: now, PaidAt: now,
	}
	byCard := in.Payment == PayCard
	if byCard {
		// Nothing is paid until Stripe says so (PaymentSucceeded).
		o.Status, o.PaidAt = StatusPendingPayment, time.Time{}
	}
	products := make([]catalog.Product, len(in.Lines))
	var kinds []string
	for i, li := range in.Lines {
		p, line, err := s.lineFor(ctx, li.ProductID, li.Quantity, i+1, lang, fmt.Sprintf("lines[%d].quantity", i))
		if err != nil {
			return Order{}, err
		}
		if o.Total.Currency == "" {
			o.Total = money.Zero(line.Amount.Currency)
		}
		if o.Total, err = o.Total.Add(line.Amount); err != nil {
			return Order{}, &ValidationError{Fields: map[string]string{"lines": "mixed_currencies"}}
		}
		if p.Kind == catalog.KindService {
			line.ProcessingUntil = now.Add(p.ProcessingTime)
		}
		products[i] = p
		o.Lines = append(o.Lines, line)
		kinds = append(kinds, p.Kind)
	}
	if err := s.addVAT(ctx, buyer, &o); err != nil {
		return Order{}, err
	}
	if in.ExpectTotal != (money.Amount{}) && in.ExpectTotal != o.Total {
		return Order{}, ErrCartChanged
	}
	if byCard {
		// Stripe refuses a charge this small: say so now, with nothing
		// written, rather than after its call failed. The balance pays
		// any amount.
		if err := cardpay.CheckMinimum(o.Total); err != nil {
			return Order{}, fmt.Errorf("%w: %w", &ValidationError{Fields: map[string]string{"payment": CodeBelowCardMinimum}}, err)
		}
	}
	required := ConsentRequired(buyer, kinds)
	if required && (!in.ImmediatePerformance || !in.WithdrawalWaiver) {
		return Order{}, ErrConsentRequired
	}
	o.Paid, o.Refunded = o.Total, money.Zero(o.Total.Currency)
	if byCard {
		o.Paid = money.Zero(o.Total.Currency)
	} else {
		// Written once, with the status the checkout ends in, rather than
		// inserted as paid and updated after delivery.
		o.Status = paidStatus(o.Lines)
	}
	wording := ConsentWording(kinds, lang)
	consent := Consent{
		Required: required, ImmediatePerformance: in.ImmediatePerformance, WithdrawalWaiver: in.WithdrawalWaiver,
		WordingVersion: ConsentWordingVersion, Lang: lang, ImmediateText: wording.Immediate, WaiverText: wording.Waiver,
		PolicyVersion: o.PolicyVersion, TermsVersion: terms, At: now, IP: clip(in.IP, 64), UserAgent: clip(in.UserAgent, 512),
	}
	// Paid from the balance, the order's confirmation is drawn now, outside
	// the transaction, under the id its invoice will be issued with.
	var invoiceID string
	var early *earlyConfirmation
	if !byCard {
		if s.opts.Invoices != nil {
			invoiceID = id.New("inv")
		}
		early = s.prepareConfirmation(buyer, o, consent, invoiceID)
	}

	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var paidAt any
		if !byCard {
			paidAt = now
		} else if err := s.reserveKeysTx(ctx, tx, o.Lines, products); err != nil {
			return err
		}
		// The order, its lines and its consent are appended: on
		// PostgreSQL they go in one pipeline, with the commit or before
		// the first statement that needs them (db.FlushAppends), rather
		// than a round trip each.
		if err := s.insertPlaced(ctx, tx, o, consent, now, paidAt); err != nil {
			return err
		}
		if byCard {
			// The payment refers to the order.
			if err := db.FlushAppends(ctx, tx); err != nil {
				return err
			}
			p, err := s.opts.Card.StartCheckoutTx(ctx, tx, cardpay.StartInput{
				Purpose: cardpay.PurposeOrder, ReferenceID: o.ID, CustomerID: o.CustomerID, CustomerEmail: buyer.Email,
				Amount: o.Total, Description: s.opts.StoreName + " — " + o.ID, Language: lang,
				SuccessURL: s.opts.BaseURL + "/orders/" + o.ID + "?paid=1", CancelURL: s.opts.BaseURL + "/orders/" + o.ID,
			})
			if err != nil {
				return err
			}
			o.PaymentID = p.ID
			if err := audit.Record(ctx, tx, audit.Entry{
				At: now, Actor: audit.Actor{ID: o.CustomerID, Role: account.RoleCustomer}, SubjectType: "order", SubjectID: o.ID,
				Action: "place", After: placedStateOf(o),
			}); err != nil {
				return err
			}
			if after != nil {
				return after(db.FlushingReads(ctx), tx, o)
			}
			return nil
		}
		order := lineOrder(products)
		for k := range o.Lines {
			i := k
			if order != nil {
				i = order[k]
			}
			if err := s.deliverAtOnce(ctx, tx, o.ID, &o.Lines[i], products[i], now); err != nil {
				return err
			}
		}
		// On PostgreSQL the debit goes in the pipeline too: a balance
		// too short fails it there, and the transaction with it; on
		// SQLite it is refused here. Either way the error is mapped
		// below, once the transaction has rolled back.
		if err := s.ledger.AppendDebitTx(ctx, tx, billing.Entry{
			CustomerID: o.CustomerID, Amount: o.Total, Kind: "purchase", ReferenceType: "order", ReferenceID: o.ID,
			Actor: audit.Actor{ID: o.CustomerID, Role: account.RoleCustomer},
		}); err != nil {
			return err
		}
		if st := statusFor(o.Lines); st != o.Status {
			return fmt.Errorf("orders: checkout delivered to status %s, written as %s", st, o.Status)
		}
		if err := audit.Record(ctx, tx, audit.Entry{
			At: now, Actor: audit.Actor{ID: o.CustomerID, Role: account.RoleCustomer}, SubjectType: "order", SubjectID: o.ID,
			Action: "place", After: placedStateOf(o),
		}); err != nil {
			return err
		}
		if after != nil {
			if err := after(db.FlushingReads(ctx), tx, o); err != nil {
				return err
			}
		}
		// The invoice is written pending; it is numbered once this
		// transaction commits (internal/invoices NumberPending), so no
		// payment waits on another's number.
		inv, err := s.issueInvoice(ctx, tx, buyer, o, "", true, invoiceID)
		if err != nil {
			return err
		}
		_, err = s.sendConfirmation(ctx, tx, buyer, o, consent, inv, early, true)
		return err
	})
	if errors.Is(err, billing.ErrInsufficientBalance) {
		// From the debit, or from the pipeline it went in: nothing was
		// written.
		return Order{}, ErrInsufficientBalance
	}
	if err != nil {
		return Order{}, err
	}
	return o, nil
}

// placedState is what the audit log says of a checkout. A struct rather
// than a map, which json.Marshal walks by reflection and sorts on every
// checkout; its fields are in the order of their names, as the map's keys
// were written, so the log's rows are the same.
type placedState struct {
	Lines         int          `json:"lines"`
	Payment       string       `json:"payment"`
	PolicyVersion string       `json:"policy_version"`
	Status        string       `json:"status"`
	Total         money.Amount `json:"total"`
}

func placedStateOf(o Order) placedState {
	return placedState{Lines: len(o.Lines), Payment: o.PaymentMethod, PolicyVersion: o.PolicyVersion, Status: o.Status, Total: o.Total}
}

// buyer is the customer placing the order: the one the request already
// read when it is theirs, else read now.
func (s *Service) buyer(ctx context.Context, in PlaceInput) (account.User, error) {
	if in.Buyer != nil && in.Buyer.ID == in.CustomerID {
		return *in.Buyer, nil
	}
	return s.customers.UserByID(ctx, in.CustomerID)
}

// paidStatus is the status of an order paid at checkout once
// deliverAtOnce has run: digital lines delivered in full, services waiting
// for their first delivery.
func paidStatus(lines []Line) string {
	after := make([]Line, len(lines))
	copy(after, lines)
	for i := range after {
		if after[i].Kind == catalog.KindDigital {
			after[i].Delivered = after[i].Quantity
		}
	}
	return statusFor(after)
}

// insertPlaced writes a new order, its lines and its consent, appended
// (db.Append): a statement that changes them must come after
// db.FlushAppends. On PostgreSQL they are one statement (placeStatement),
// which the server plans and runs once rather than once a row; the consent
// (read back only in later transactions: the card payment's, the order
// page) is part of it.
func (s *Service) insertPlaced(ctx context.Context, tx *sql.Tx, o Order, consent Consent, now time.Time, paidAt any) error {
	if s.db.Engine == db.Postgres {
		args := make([]any, 0, placeFixedArgs+placeLineArgs*len(o.Lines))
		args = append(args, o.ID, o.CustomerID, o.Status, o.Total.Currency, o.Total.Minor, o.Paid.Minor, o.PaymentMethod, o.PolicyVersion, o.Lang, now, paidAt,
			consent.Required, consent.ImmediatePerformance, consent.WithdrawalWaiver, consent.WordingVersion, consent.Lang,
			consent.ImmediateText, consent.WaiverText, consent.PolicyVersion, consent.At, consent.IP, consent.UserAgent, nullString(consent.TermsVersion))
		for _, l := range o.Lines {
			args = append(args, l.ID, l.Position, l.ProductID, l.ProductRevision, l.Kind, l.Name, l.UnitPrice.Minor, l.Quantity, l.Amount.Minor, processingUntil(l))
		}
		return db.AppendWrapped(ctx, tx, wrapInsertOrder, placeStatement(len(o.Lines)), args...)
	}
	if err := db.AppendWrapped(ctx, tx, wrapInsertOrder, `INSERT INTO orders (id, customer_id, status, currency, total, paid, refunded, payment_method, policy_version, lang, placed_at, paid_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11, $10)`,
		o.ID, o.CustomerID, o.Status, o.Total.Currency, o.Total.Minor, o.Paid.Minor, o.PaymentMethod, o.PolicyVersion, o.Lang, now, paidAt); err != nil {
		return err
	}
	for i := range o.Lines {
		if err := insertLine(ctx, tx, o.ID, o.Lines[i]); err != nil {
			return err
		}
	}
	return db.AppendWrapped(ctx, tx, wrapInsertConsent, `INSERT INTO order_consents (order_id, required, immediate_performance, withdrawal_waiver, wording_version, lang, immediate_text, waiver_text, policy_version, at, ip, user_agent, terms_version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		o.ID, consent.Required, consent.ImmediatePerformance, consent.WithdrawalWaiver, consent.WordingVersion, consent.Lang,
		consent.ImmediateText, consent.WaiverText, consent.PolicyVersion, consent.At, consent.IP, consent.UserAgent, nullString(consent.TermsVersion))
}

// placeStatement's arguments: the order's and the consent's, then each
// line's.
const (
	placeFixedArgs = 23
	placeLineArgs  = 10
)

// placeStatements[n-1] is placeStatement(n), made once.
var placeStatements = func() (q [maxLines]string) {
	for n := range q {
		var b strings.Builder
		b.WriteString(`WITH placed AS (INSERT INTO orders (id, customer_id, status, currency, total, paid, refunded, payment_method, policy_version, lang, placed_at, paid_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11, $10)),
	consented AS (INSERT INTO order_consents (order_id, required, immediate_performance, withdrawal_waiver, wording_version, lang, immediate_text, waiver_text, policy_version, at, ip, user_agent, terms_version)
		VALUES ($1, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23))
INSERT INTO order_lines (id, order_id, position, product_id, product_revision, kind, name, unit_price, quantity, delivered, amount, refunded, processing_until) VALUES `)
		for i := range n + 1 {
			if i > 0 {
				b.WriteString(", ")
			}
			a := placeFixedArgs + placeLineArgs*i
			fmt.Fprintf(&b, "($%d, $1, $%d, $%d, $%d, $%d, $%d, $%d, $%d, 0, $%d, 0, $%d)", a+1, a+2, a+3, a+4, a+5, a+6, a+7, a+8, a+9, a+10)
		}
		q[n] = b.String()
	}
	return q
}()

// placeStatement is the one statement that writes, on PostgreSQL, an order
// with n lines (1 to maxLines), its lines and its consent. The foreign
// keys from the lines and the consent to the order are checked at its
// end, once the order is there.
func placeStatement(n int) string { return placeStatements[n-1] }

// processingUntil is a line's processing_until: NULL but for services.
func processingUntil(l Line) any {
	if l.ProcessingUntil.IsZero() {
		return nil
	}
	return l.ProcessingUntil
}

// insertLine writes one line of a new order, appended (db.Append): a
// statement that changes it must come after db.FlushAppends.
func insertLine(ctx context.Context, tx *sql.Tx, orderID string, l Line) error {
	return db.AppendWrapped(ctx, tx, wrapInsertLine, `INSERT INTO order_lines (id, order_id, position, product_id, product_revision, kind, name, unit_price, quantity, delivered, amount, refunded, processing_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, 0, $11)`,
		l.ID, orderID, l.Position, l.ProductID, l.ProductRevision, l.Kind, l.Name, l.UnitPrice.Minor, l.Quantity, l.Amount.Minor, processingUntil(l))
}

// wrapper is wrapDB for op, for db.AppendWrapped.
func wrapper(op string) func(error) error {
	return func(err error) error { return wrapDB(op, err) }
}

// The checkout's wrappers, made once rather than a closure each per
// checkout on the single writer.
var (
	wrapInsertOrder   = wrapper("insert order")
	wrapInsertConsent = wrapper("insert consent")
	wrapInsertLine    = wrapper("insert line")
)

// deliverAtOnce delivers a digital line as soon as it is paid: a licence
// key taken from the pool in the same transaction, or the file made
// available (delivered in full). Services are delivered over time.
func (s *Service) deliverAtOnce(ctx context.Context, tx *sql.Tx, orderID string, l *Line, p catalog.Product, now time.Time) error {
	if p.Kind != catalog.KindDigital {
		return nil
	}
	// The line changed below may still wait in the transaction's appended
	// rows (Place appends its order and lines).
	if err := db.FlushAppends(ctx, tx); err != nil {
		return err
	}
	if p.DigitalDelivery == catalog.DeliveryLicenceKey {
		key, fromPool, err := s.catalog.AssignLicenceKeyTx(ctx, tx, p.ID, l.ID)
		if errors.Is(err, catalog.ErrOutOfStock) {
			return ErrOutOfStock
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET licence_key = $1 WHERE id = $2`, key, l.ID); err != nil {
			return wrapDB("store licence key", err)
		}
		l.LicenceKey = key
		// A key reserved at a card checkout had already left the pool:
		// whether that emptied it was told then.
		if fromPool {
			if err := s.alertIfPoolEmptyTx(ctx, tx, p); err != nil {
				return err
			}
		}
	}
	if p.DigitalDelivery == catalog.DeliveryFile {
		l.DownloadUntil = now.Add(p.DownloadTTL)
		if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET download_until = $1 WHERE id = $2`, l.DownloadUntil, l.ID); err != nil {
			return wrapDB("download link", err)
		}
	}
	return deliverTx(ctx, tx, orderID, l, l.Quantity, SourceSystem, "", now)
}

// alertIfPoolEmptyTx tells the admins when a checkout just took (sold or
// reserved) the last free key of p: the product cannot be sold until an
// admin adds keys, so they hear of it with this sale.
func (s *Service) alertIfPoolEmptyTx(ctx context.Context, tx *sql.Tx, p catalog.Product) error {
	if s.opts.Alerts == nil {
		return nil
	}
	left, err := s.catalog.AvailableKeysTx(ctx, tx, p.ID)
	if err != nil {
		return wrapDB("keys left", err)
	}
	if left > 0 {
		return nil
	}
	return s.opts.Alerts.NotifyTx(ctx, tx, account.RoleAdmin, "licence_pool_empty", alerts.Data{
		SubjectIn: func(w alerts.Words) string { return p.Name(w.Lang) }, Link: "/admin/products/" + p.ID,
	})
}

// reserveKeysTx reserves, in a card checkout's transaction, the licence key
// each licence-key line will get once paid (digital products are sold one
// unit per line: one key per line). A pool without a free key refuses the
// checkout with ErrOutOfStock, by card as from the balance; a reserved key
// is sold to no one else, so the payment's success always finds it
// (CardHandler.PaymentSucceeded), and the order's end unpaid releases it
// (CardHandler.PaymentFailed).
func (s *Service) reserveKeysTx(ctx context.Context, tx *sql.Tx, lines []Line, products []catalog.Product) error {
	order := lineOrder(products)
	for k := range products {
		i := k
		if order != nil {
			i = order[k]
		}
		p := products[i]
		if !isLicence(p) {
			continue
		}
		err := s.catalog.ReserveLicenceKeyTx(ctx, tx, p.ID, lines[i].ID)
		if errors.Is(err, catalog.ErrOutOfStock) {
			return ErrOutOfStock
		}
		if err != nil {
			return err
		}
		if err := s.alertIfPoolEmptyTx(ctx, tx, p); err != nil {
			return err
		}
	}
	return nil
}

func isLicence(p catalog.Product) bool {
	return p.Kind == catalog.KindDigital && p.DigitalDelivery == catalog.DeliveryLicenceKey
}

// lineOrder is the order in which a checkout takes its lines' licence keys
// (sold from the balance, reserved by card): the cart's, unless two or more
// lines are of licence-key products, which then come first, by product id.
// On PostgreSQL two checkouts of the same two products in opposite orders
// would otherwise each hold a key the other waits for: a deadlock, one of
// them failing. nil means the cart's order, so the usual checkout makes no
// slice.
func lineOrder(products []catalog.Product) []int {
	n := 0
	for _, p := range products {
		if isLicence(p) {
			n++
		}
	}
	if n < 2 {
		return nil
	}
	order := make([]int, 0, len(products))
	for i, p := range products {
		if isLicence(p) {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(products[a].ID, products[b].ID) })
	for i, p := range products {
		if !isLicence(p) {
			order = append(order, i)
		}
	}
	return order
}

func validatePlace(in PlaceInput) error {
	fields := map[string]string{}
	switch {
	case len(in.Lines) == 0:
		fields["lines"] = "required"
	case len(in.Lines) > maxLines:
		fields["lines"] = "too_many"
	}
	seen := map[string]bool{}
	for i, l := range in.Lines {
		if l.ProductID == "" {
			fields[fmt.Sprintf("lines[%d].product_id", i)] = "required"
		}
		if l.Quantity <= 0 {
			fields[fmt.Sprintf("lines[%d].quantity", i)] = "out_of_range"
		}
		if seen[l.ProductID] {
			fields[fmt.Sprintf("lines[%d].product_id", i)] = "duplicate"
		}
		seen[l.ProductID] = true
	}
	if in.Payment != PayBalance && in.Payment != PayCard {
		fields["payment"] = "invalid"
	}
	if in.CustomerID == "" {
		fields["customer_id"] = "required"
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// nullString stores "" as NULL: a consent record without terms version.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// lineFor prices quantity of a product for sale as an order line at
// position, named in lang, for a checkout and a switch alike:
// ErrProductUnavailable for a product missing or not for sale, a
// ValidationError on field for a quantity the product does not allow or
// too large to price.
func (s *Service) lineFor(ctx context.Context, productID string, quantity, position int, lang, field string) (catalog.Product, Line, error) {
	p, err := s.catalog.Get(ctx, productID)
	if errors.Is(err, catalog.ErrNotFound) {
		return catalog.Product{}, Line{}, ErrProductUnavailable
	}
	if err != nil {
		return catalog.Product{}, Line{}, err
	}
	if !p.Cartable() {
		return catalog.Product{}, Line{}, ErrProductUnavailable
	}
	if !p.AllowsQuantity(quantity) {
		return catalog.Product{}, Line{}, &ValidationError{Fields: map[string]string{field: "out_of_range"}}
	}
	amount, err := p.UnitPrice.Mul(int64(quantity))
	if err != nil {
		return catalog.Product{}, Line{}, &ValidationError{Fields: map[string]string{field: "too_large"}}
	}
	return p, Line{
		ID: id.New("oln"), Position: position, ProductID: p.ID, ProductRevision: p.Revision, Kind: p.Kind,
		Name: p.Name(lang), UnitPrice: p.UnitPrice, Quantity: quantity, Amount: amount, Refunded: money.Zero(amount.Currency),
	}, nil
}
