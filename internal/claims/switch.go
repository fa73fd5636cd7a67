package claims

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/catalog"
	"comptoir/internal/id"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

// OutcomeSwitch is an agent's decision (AgentDecision.Outcome, the API's
// and the console's "switch") that exchanges the claimed line for another
// product: one of the solutions POLICY.md lets an agent propose to a
// dissatisfied customer. It is an input only: the decision recorded says
// what happens to the money (switchDecision), under RuleSwitch.
const OutcomeSwitch policy.Outcome = "switch"

// RuleSwitch is the rule of a decision that exchanged the line.
const RuleSwitch = "agent.switch"

// SwitchTo is the product an agent exchanges the claimed line for.
type SwitchTo struct {
	ProductID string
	Quantity  int
}

// Switched is what a claim's line was exchanged for: the new order, the
// line's value applied to it and the difference the balance paid.
type Switched struct {
	OrderID        string
	Applied        money.Amount
	PaidDifference money.Amount
	At             time.Time
}

// switchPlan is an exchange being decided: the new order prepared, the
// value of the line it takes, and what is left of that value, given back
// (Decision.Refund).
type switchPlan struct {
	order   orders.Switch
	applied money.Amount
	diff    money.Amount
}

// SwitchableTo is whether line may be switched to p, as switchDecision
// will decide: a product for sale, not the line's own, sold in the line's
// currency. The console offers these.
func SwitchableTo(line orders.Line, p catalog.Product) bool {
	return p.Cartable() && p.ID != line.ProductID && p.UnitPrice.Currency == line.Amount.Currency
}

// switchDecision checks an agent's switch on an order line's claim and
// shapes it as a decision. Only a dissatisfied claim takes it (POLICY.md).
// The line's value still to refund (what was paid, less what was refunded)
// goes towards the new order, as far as it costs: the balance pays the
// difference when it costs more; when it costs less, the rest goes back
// to the original means of payment (outcome refund), or to store credit
// with the customer's acceptance (outcome credit). With nothing left
// over, the outcome is none: nothing more is owed on the line.
func (s *Service) switchDecision(ctx context.Context, subj *subject, in AgentDecision, fields map[string]string) (policy.Decision, *switchPlan, error) {
	c, line := subj.claim, subj.line
	if c.Kind != policy.Dissatisfied {
		fields["outcome"] = "not_switchable"
	}
	switch {
	case in.Switch == nil || in.Switch.ProductID == "":
		fields["product_id"] = "required"
	case in.Switch.ProductID == line.ProductID:
		fields["product_id"] = "same_product"
	case in.Switch.Quantity < 1:
		fields["quantity"] = "out_of_range"
	}
	if in.Refund != nil {
		fields["refund"] = "not_applicable"
	}
	if len(fields) > 0 {
		return policy.Decision{}, nil, &ValidationError{Fields: fields}
	}
	sw, err := s.orders.PrepareSwitch(ctx, orders.SwitchInput{CustomerID: c.CustomerID, ProductID: in.Switch.ProductID,
		Quantity: in.Switch.Quantity, Actor: in.Actor})
	var verr *orders.ValidationError
	switch {
	case errors.Is(err, orders.ErrProductUnavailable):
		return policy.Decision{}, nil, invalid("product_id", "unavailable")
	case errors.As(err, &verr):
		return policy.Decision{}, nil, invalid("quantity", "out_of_range")
	case err != nil:
		return policy.Decision{}, nil, err
	}
	total := sw.Order.Total
	if total.Currency != line.Amount.Currency {
		return policy.Decision{}, nil, invalid("product_id", "other_currency")
	}
	left, err := line.Amount.Sub(line.Refunded)
	if err != nil {
		return policy.Decision{}, nil, err
	}
	if !left.IsPositive() {
		return policy.Decision{}, nil, fmt.Errorf("%w: nothing left of line %s to exchange", ErrOverRefund, line.ID)
	}
	p := &switchPlan{order: sw, applied: left, diff: money.Zero(left.Currency)}
	d := policy.Decision{Outcome: policy.OutcomeNone, Cancel: policy.CancelNone, Rule: RuleSwitch, PolicyVersion: subj.policy.ID()}
	if cmp, _ := left.Cmp(total); cmp > 0 {
		rest, _ := left.Sub(total)
		p.applied = total
		d.Outcome, d.Refund = policy.OutcomeRefund, &rest
		if in.CustomerAcceptedCredit {
			d.Outcome = policy.OutcomeCredit
		}
	} else {
		p.diff, _ = total.Sub(left)
	}
	d.Reason = switchReason(line.Name, sw, p, d)
	return d, p, nil
}

// switchReason is what the customer reads of an exchange, in both
// languages: the product they get, the new order, what their line's value
// paid, and what happens to the difference.
func switchReason(from string, sw orders.Switch, p *switchPlan, d policy.Decision) policy.Reason {
	o := sw.Order
	to := o.Lines[0].Name
	r := policy.Reason{
		EN: fmt.Sprintf("An agent reviewed your claim and, as agreed with you, exchanges %s for %s (%d): new order %s. The %s you paid for %s goes towards it.",
			from, to, o.Lines[0].Quantity, o.ID, money.Format(p.applied, "en"), from),
		FR: fmt.Sprintf("Un conseiller a examiné votre réclamation et, comme convenu avec vous, échange %s contre %s (%d)\u00a0: nouvelle commande %s. Ce que vous avez payé pour %s, %s, y est consacré.",
			from, to, o.Lines[0].Quantity, o.ID, from, money.Format(p.applied, "fr")),
	}
	switch {
	case p.diff.IsPositive():
		r.EN += " The difference, " + money.Format(p.diff, "en") + ", is paid from your balance."
		r.FR += " La différence, " + money.Format(p.diff, "fr") + ", est payée avec votre solde."
	case d.Outcome == policy.OutcomeCredit:
		r.EN += " As you accepted, the remaining " + money.Format(*d.Refund, "en") + " is added to your balance as store credit."
		r.FR += " Comme vous l’avez accepté, le reste, " + money.Format(*d.Refund, "fr") + ", est ajouté à votre solde en avoir."
	case d.Outcome == policy.OutcomeRefund:
		r.EN += " The remaining " + money.Format(*d.Refund, "en") + " is refunded to your original means of payment."
		r.FR += " Le reste, " + money.Format(*d.Refund, "fr") + ", vous est remboursé sur votre moyen de paiement d’origine."
	}
	return r
}

// carryOutSwitchTx carries out an exchange in the decision's transaction,
// after the line was settled (settlesLine): the line's value applied is
// refunded to the balance and spent at once by the new order, placed and
// paid from the balance (the difference with it); the rest, if any, goes
// back as the decision says (refund or credit). The exchange is recorded
// once per line (claim_switches).
func (s *Service) carryOutSwitchTx(ctx context.Context, tx *sql.Tx, subj *subject, c *Claim, d policy.Decision, decisionID string,
	actor audit.Actor, acceptedCredit time.Time) error {
	p := subj.sw
	// The line's value goes back to the balance: not while the bank may
	// still award the payment's chargeback (the check card refunds pass).
	if s.card != nil {
		if err := s.card.RefundableTx(ctx, tx, subj.order.ID); err != nil {
			if paymentDisputed(err) {
				return fmt.Errorf("%w: %w", ErrSwitchDisputed, err)
			}
			return err
		}
	}
	if _, err := s.refundTx(ctx, tx, c, subj.order, p.applied, DestBalance, decisionID, actor, time.Time{}); err != nil {
		return err
	}
	o, err := s.orders.PlaceSwitchTx(ctx, tx, &p.order, actor)
	if err != nil {
		return err
	}
	if d.Refund != nil {
		dest := destinationOf(subj.order)
		if d.Outcome == policy.OutcomeCredit {
			dest = DestCredit
		}
		if _, err := s.refundTx(ctx, tx, c, subj.order, *d.Refund, dest, decisionID, actor, acceptedCredit); err != nil {
			return err
		}
	}
	now := s.clock.Now()
	swID := id.New("csw")
	_, err = tx.ExecContext(ctx, `INSERT INTO claim_switches (id, claim_id, decision_id, from_order_id, from_line_id, order_id, applied,
		paid_difference, currency, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		swID, c.ID, decisionID, c.OrderID, c.LineID, o.ID, p.applied.Minor, p.diff.Minor, p.applied.Currency, now)
	if err != nil {
		return wrapDB("record switch", err)
	}
	return audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "claim", SubjectID: c.ID, Action: "switch",
		After: map[string]any{"order_id": o.ID, "from_line_id": c.LineID, "applied": p.applied, "paid_difference": p.diff}})
}

// Switches lists what a claim's line was exchanged for (at most one).
func (s *Service) Switches(ctx context.Context, claimID string) ([]Switched, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT order_id, applied, paid_difference, currency, created_at FROM claim_switches
		WHERE claim_id = $1 ORDER BY id`, claimID)
	if err != nil {
		return nil, wrapDB("switches", err)
	}
	defer rows.Close()
	var out []Switched
	for rows.Next() {
		var sw Switched
		var applied, diff int64
		var currency string
		if err := rows.Scan(&sw.OrderID, &applied, &diff, &currency, &sw.At); err != nil {
			return nil, wrapDB("switches", err)
		}
		sw.Applied, sw.PaidDifference = money.Amount{Minor: applied, Currency: currency}, money.Amount{Minor: diff, Currency: currency}
		sw.At = sw.At.UTC()
		out = append(out, sw)
	}
	return out, wrapDB("switches", rows.Err())
}
