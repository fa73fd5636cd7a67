package claims_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

// TestSwitchToAnotherProduct: a dissatisfied claim's solutions (POLICY.md)
// include a switch to another product, which agents could only propose in
// words: no decision carried it out. An agent's switch now places the new
// order, applies the line's value to it (the balance pays the difference;
// what is left over goes back to the means of payment, or to store credit
// with the customer's acceptance), settles the line, records the exchange,
// and tells the customer in their language. It is refused, with nothing
// changed, on another kind of claim, for a balance short of the
// difference, and once the line was exchanged.
func TestSwitchToAnotherProduct(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	dissatisfied := func(t *testing.T, u account.User, o orders.Order) claims.Claim {
		t.Helper()
		c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
		if err != nil || c.Decision.Outcome != policy.OutcomeSolution {
			t.Fatalf("dissatisfied claim: %+v %v", c.Decision, err)
		}
		return c
	}
	switchTo := func(c claims.Claim, p catalog.Product, qty int, credit bool) (claims.Claim, error) {
		return e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: claims.OutcomeSwitch, Actor: e.agentActor(),
			Switch: &claims.SwitchTo{ProductID: p.ID, Quantity: qty}, CustomerAcceptedCredit: credit})
	}
	exchanged := func(t *testing.T, c claims.Claim, o orders.Order, applied, diff int64) orders.Order {
		t.Helper()
		sw, err := e.claims.Switches(ctx, c.ID)
		if err != nil || len(sw) != 1 || sw[0].Applied.Minor != applied || sw[0].PaidDifference.Minor != diff {
			t.Fatalf("switches %+v %v", sw, err)
		}
		got, _ := e.orders.Get(ctx, o.ID)
		if got.Lines[0].SettledAt.IsZero() || got.Lines[0].Refunded != got.Lines[0].Amount {
			t.Errorf("the original line: settled %v, refunded %v of %v", got.Lines[0].SettledAt, got.Lines[0].Refunded, got.Lines[0].Amount)
		}
		n, err := e.orders.Get(ctx, sw[0].OrderID)
		if err != nil || n.CustomerID != o.CustomerID || n.PaidAt.IsZero() || n.Paid.Minor != applied+diff || n.PaymentMethod != orders.PayBalance {
			t.Fatalf("the new order: %+v %v", n, err)
		}
		return n
	}

	t.Run("dearer: the balance pays the difference", func(t *testing.T) {
		u := e.customer(t, "FR", account.CustomerConsumer, "fr")
		o := e.order(t, u, e.service(t), 1000, true, 0)
		c := dissatisfied(t, u, o)
		before := e.balance(t, u)
		other := e.service(t)
		d, err := switchTo(c, other, 3000, false)
		if err != nil || d.Status != claims.StatusDecided || d.Decision.Outcome != policy.OutcomeNone || d.Decision.Rule != claims.RuleSwitch ||
			d.Decision.Refund != nil {
			t.Fatalf("switch: %+v %v", d.Decision, err)
		}
		n := exchanged(t, c, o, 1000, 2000)
		if n.Lines[0].ProductID != other.ID || n.Lines[0].Quantity != 3000 || n.Status != orders.StatusProcessing {
			t.Errorf("the new order: %+v", n)
		}
		if b := e.balance(t, u); b != before-2000 {
			t.Errorf("balance %d, want %d", b, before-2000)
		}
		ms := e.mails(t, u, "claim_decided")
		if len(ms) == 0 || !strings.Contains(ms[0].Text, "échange") || !strings.Contains(ms[0].Text, n.ID) || !strings.Contains(ms[0].Text, "20,00") {
			t.Errorf("the customer's email:\n%v", ms)
		}
		if len(e.mails(t, u, "order_confirmation")) != 2 {
			t.Error("no confirmation of the new order")
		}
		// Once exchanged, the line has nothing left to exchange.
		if _, err := switchTo(d, e.service(t), 100, false); !errors.Is(err, claims.ErrOverRefund) {
			t.Errorf("a second switch: %v", err)
		}
		if b := e.balance(t, u); b != before-2000 {
			t.Errorf("balance %d after a second switch, want %d", b, before-2000)
		}
	})
	t.Run("cheaper: the rest goes back where it came from", func(t *testing.T) {
		u := e.customer(t, "FR", account.CustomerConsumer, "en")
		o := e.order(t, u, e.service(t), 1000, true, 0)
		c := dissatisfied(t, u, o)
		before := e.balance(t, u)
		d, err := switchTo(c, e.licence(t), 1, false)
		if err != nil || d.Decision.Outcome != policy.OutcomeRefund || *d.Decision.Refund != money.MustNew(500, "EUR") {
			t.Fatalf("switch: %+v %v", d.Decision, err)
		}
		n := exchanged(t, c, o, 500, 0)
		if n.Lines[0].LicenceKey == "" || n.Status != orders.StatusCompleted {
			t.Errorf("the licence was not delivered: %+v", n)
		}
		if b := e.balance(t, u); b != before+500 {
			t.Errorf("balance %d, want %d", b, before+500)
		}
		if ms := e.mails(t, u, "claim_decided"); len(ms) == 0 || !strings.Contains(ms[0].Text, "exchanges") ||
			!strings.Contains(ms[0].Text, "refunded to your original means of payment") {
			t.Errorf("the customer's email:\n%v", ms)
		}
	})
	t.Run("cheaper, paid by card: store credit only as accepted", func(t *testing.T) {
		u := e.customer(t, "FR", account.CustomerConsumer, "fr")
		o := e.order(t, u, e.service(t), 1000, true, 0)
		e.paidByCard(t, o)
		c := dissatisfied(t, u, o)
		before, calls := e.balance(t, u), len(e.card.calls)
		d, err := switchTo(c, e.licence(t), 1, true)
		if err != nil || d.Decision.Outcome != policy.OutcomeCredit || *d.Decision.Refund != money.MustNew(500, "EUR") {
			t.Fatalf("switch: %+v %v", d.Decision, err)
		}
		exchanged(t, c, o, 500, 0)
		if b := e.balance(t, u); b != before+500 || len(e.card.calls) != calls {
			t.Errorf("balance %d (want %d), card refunds %d (was %d)", b, before+500, len(e.card.calls), calls)
		}
		if n := e.count(t, `SELECT COUNT(*) FROM claim_refunds WHERE claim_id = $1 AND destination = 'credit' AND customer_accepted_credit_at IS NOT NULL`, c.ID); n != 1 {
			t.Errorf("%d accepted credits", n)
		}
	})
	t.Run("refused, nothing changed", func(t *testing.T) {
		u := e.customer(t, "FR", account.CustomerConsumer, "fr")
		o := e.order(t, u, e.service(t), 1000, true, 0)
		c := dissatisfied(t, u, o)
		before := e.balance(t, u)
		dear, err := e.catalog.Create(ctx, admin, catalog.ProductInput{
			Slug: "dear", Kind: catalog.KindService, NameFR: "Cher", NameEN: "Dear", DescriptionFR: "Cher.", DescriptionEN: "Dear.",
			UnitPrice: money.MustNew(20000, "EUR"), MinQuantity: 1, MaxQuantity: 1, ProcessingTime: 72 * time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}
		var verr *claims.ValidationError
		// Each case is the error it must be refused with: a switch that
		// went through (no error) fails it too.
		want := func(err error, ok bool, what string) error {
			if ok {
				return nil
			}
			return fmt.Errorf("got %v, want %s", err, what)
		}
		for name, try := range map[string]func() error{
			"a balance short of the difference": func() error {
				_, err := switchTo(c, dear, 1, false)
				return want(err, errors.Is(err, orders.ErrInsufficientBalance), "insufficient_balance")
			},
			"the same product": func() error {
				_, err := switchTo(c, catalog.Product{ID: o.Lines[0].ProductID}, 100, false)
				return want(err, errors.As(err, &verr) && verr.Fields["product_id"] == "same_product", "product_id same_product")
			},
			"no product": func() error {
				_, err := switchTo(c, catalog.Product{ID: "prd_nothing"}, 1, false)
				return want(err, errors.As(err, &verr) && verr.Fields["product_id"] == "unavailable", "product_id unavailable")
			},
			"another kind of claim": func() error {
				nad, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
				if err != nil {
					return err
				}
				_, err = switchTo(nad, e.licence(t), 1, false)
				return want(err, errors.As(err, &verr) && verr.Fields["outcome"] == "not_switchable", "outcome not_switchable")
			},
		} {
			if err := try(); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		got, _ := e.claims.Get(ctx, c.ID)
		line, _ := e.orders.Get(ctx, o.ID)
		if got.Status != claims.StatusOpen || e.balance(t, u) != before || line.Lines[0].Refunded.Minor != 0 || !line.Lines[0].SettledAt.IsZero() ||
			e.count(t, `SELECT COUNT(*) FROM orders WHERE customer_id = $1`, u.ID) != 1 {
			t.Errorf("changed: claim %s, balance %d (was %d), line %+v", got.Status, e.balance(t, u), before, line.Lines[0])
		}
	})
	t.Run("refused while the card payment is disputed, nothing changed", func(t *testing.T) {
		// The switch gives the line's value back to the balance: on top of
		// a chargeback the bank awards later, the customer would be paid
		// twice. It waits for the bank, as card refunds do.
		u := e.customer(t, "FR", account.CustomerConsumer, "fr")
		o := e.order(t, u, e.service(t), 1000, true, 0)
		e.paidByCard(t, o)
		c := dissatisfied(t, u, o)
		before := e.balance(t, u)
		e.card.refuse = disputedErr{}
		defer func() { e.card.refuse = nil }()
		for _, credit := range []bool{false, true} {
			_, err := switchTo(c, e.service(t), 3000, credit)
			if !errors.Is(err, claims.ErrSwitchDisputed) || claims.Code(err) != "payment_disputed" {
				t.Errorf("switch of a disputed payment (credit %v): %v", credit, err)
			}
			_, err = switchTo(c, e.licence(t), 1, credit)
			if !errors.Is(err, claims.ErrSwitchDisputed) {
				t.Errorf("cheaper switch of a disputed payment (credit %v): %v", credit, err)
			}
		}
		got, _ := e.claims.Get(ctx, c.ID)
		line, _ := e.orders.Get(ctx, o.ID)
		if got.Status != claims.StatusOpen || e.balance(t, u) != before || line.Lines[0].Refunded.Minor != 0 || !line.Lines[0].SettledAt.IsZero() ||
			e.count(t, `SELECT COUNT(*) FROM orders WHERE customer_id = $1`, u.ID) != 1 ||
			e.count(t, `SELECT COUNT(*) FROM claim_switches WHERE claim_id = $1`, c.ID) != 0 {
			t.Errorf("changed: claim %s, balance %d (was %d), line %+v", got.Status, e.balance(t, u), before, line.Lines[0])
		}
	})
	t.Run("the French reads right for one euro", func(t *testing.T) {
		// "Les 1,00 € restants vous sont remboursés": the amounts were
		// always plural. The sentences now name the value and the rest in
		// the singular, which reads right for any amount.
		u := e.customer(t, "FR", account.CustomerConsumer, "fr")
		o := e.order(t, u, e.service(t), 1000, true, 0)
		c := dissatisfied(t, u, o)
		d, err := switchTo(c, e.service(t), 900, false)
		if err != nil || d.Decision.Refund == nil || d.Decision.Refund.Minor != 100 {
			t.Fatalf("switch: %+v %v", d.Decision, err)
		}
		fr := d.Decision.Reason.FR
		mustContain(t, "the French reason", fr, "Ce que vous avez payé pour Abonnés, 9,00", "y est consacré.", "Le reste, 1,00", "vous est remboursé")
		if strings.Contains(fr, " sont ") || strings.Contains(fr, "restants") {
			t.Errorf("plural for one euro: %s", fr)
		}
	})
}
