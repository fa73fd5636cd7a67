package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/catalog"
	"comptoir/internal/db"
	"comptoir/internal/id"
	"comptoir/internal/money"
)

// SwitchInput is the product a customer's order line is exchanged for (an
// agent's solution to a "dissatisfied" claim, POLICY.md): a new order of
// Quantity units of ProductID for CustomerID, placed by Actor and paid from
// the customer's balance, where the claim puts the original line's value.
type SwitchInput struct {
	CustomerID string
	ProductID  string
	Quantity   int
	Actor      audit.Actor
}

// Switch is a new order prepared by PrepareSwitch, placed by PlaceSwitchTx.
type Switch struct {
	Order   Order
	buyer   account.User
	product catalog.Product
	consent Consent
}

// PrepareSwitch checks the product and quantity (ErrProductUnavailable,
// a ValidationError on quantity) and prices the new order as a checkout
// would (VAT included), in the customer's language, without writing
// anything.
func (s *Service) PrepareSwitch(ctx context.Context, in SwitchInput) (Switch, error) {
	if in.Quantity < 1 {
		return Switch{}, &ValidationError{Fields: map[string]string{"quantity": "out_of_range"}}
	}
	buyer, err := s.customers.UserByID(ctx, in.CustomerID)
	if err != nil {
		return Switch{}, fmt.Errorf("orders: buyer: %w", err)
	}
	inForce, err := s.PolicyVersion(ctx)
	if err != nil {
		return Switch{}, fmt.Errorf("orders: policy in force: %w", err)
	}
	terms, err := s.TermsVersion(ctx)
	if err != nil {
		return Switch{}, fmt.Errorf("orders: terms in force: %w", err)
	}
	lang := buyer.Language
	if lang != "fr" {
		lang = "en"
	}
	p, line, err := s.lineFor(ctx, in.ProductID, in.Quantity, 1, lang, "quantity")
	if err != nil {
		return Switch{}, err
	}
	now := s.clock.Now()
	o := Order{
		ID: id.New("ord"), CustomerID: buyer.ID, Status: StatusPaid, PaymentMethod: PayBalance,
		PolicyVersion: inForce, Lang: lang, PlacedAt: now, PaidAt: now, Total: line.Amount, Lines: []Line{line},
	}
	if err := s.addVAT(ctx, buyer, &o); err != nil {
		return Switch{}, err
	}
	o.Paid, o.Refunded = o.Total, money.Zero(o.Total.Currency)
	kinds := []string{p.Kind}
	wording := ConsentWording(kinds, lang)
	// No checkout asked for the boxes (the exchange was agreed with an
	// agent), and the customer ticked nothing: the record says neither
	// was asked nor given, and the new order keeps the full right of
	// withdrawal that a missing request for immediate performance gives
	// (POLICY.md, "The law comes first": everything paid back).
	consent := Consent{
		WordingVersion: ConsentWordingVersion, Lang: lang,
		ImmediateText: wording.Immediate, WaiverText: wording.Waiver, PolicyVersion: inForce, TermsVersion: terms, At: now,
		UserAgent: "agent " + in.Actor.ID,
	}
	return Switch{Order: o, buyer: buyer, product: p, consent: consent}, nil
}

// PlaceSwitchTx places sw, in the caller's transaction (the claim's
// decision, which puts the original line's value in the balance first):
// the order, its line and consent, its payment from the balance
// (ErrInsufficientBalance when the balance cannot pay the difference),
// a digital line delivered at once, its invoice and its confirmation. The
// order is placed as of now, its processing time counted from now.
func (s *Service) PlaceSwitchTx(ctx context.Context, tx *sql.Tx, sw *Switch, actor audit.Actor) (Order, error) {
	now := s.clock.Now()
	o := sw.Order
	o.PlacedAt, o.PaidAt, sw.consent.At = now, now, now
	if o.Lines[0].Kind == catalog.KindService {
		o.Lines[0].ProcessingUntil = now.Add(sw.product.ProcessingTime)
	}
	o.Status = paidStatus(o.Lines)
	if err := s.insertPlaced(ctx, tx, o, sw.consent, now, now); err != nil {
		return Order{}, err
	}
	if err := db.FlushAppends(ctx, tx); err != nil {
		return Order{}, err
	}
	if err := s.deliverAtOnce(ctx, tx, o.ID, &o.Lines[0], sw.product, now); err != nil {
		return Order{}, err
	}
	if _, err := s.ledger.DebitTx(ctx, tx, billing.Entry{
		CustomerID: o.CustomerID, Amount: o.Total, Kind: "purchase", ReferenceType: "order", ReferenceID: o.ID, Actor: actor,
	}); err != nil {
		if errors.Is(err, billing.ErrInsufficientBalance) {
			return Order{}, ErrInsufficientBalance
		}
		return Order{}, err
	}
	if err := audit.Record(ctx, tx, audit.Entry{
		At: now, Actor: actor, SubjectType: "order", SubjectID: o.ID, Action: "place_switch", After: placedStateOf(o),
	}); err != nil {
		return Order{}, err
	}
	var invoiceID string
	if s.opts.Invoices != nil {
		invoiceID = id.New("inv")
	}
	inv, err := s.issueInvoice(ctx, tx, sw.buyer, o, "", true, invoiceID)
	if err != nil {
		return Order{}, err
	}
	if _, err := s.sendConfirmation(ctx, tx, sw.buyer, o, sw.consent, inv, nil, false); err != nil {
		return Order{}, err
	}
	return o, nil
}
