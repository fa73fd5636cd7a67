package claims_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/policy"
)

const rfc = time.RFC3339Nano

// situation is an order line, a claim about it and when it is decided.
type situation struct {
	name           string
	kind           policy.Kind
	country, ctype string
	digital        bool
	qty, delivered int
	consent        bool
	// filed is filed_at − t0; now − t0 is decided, which when later than
	// filed makes an agent file the claim from the customer's message.
	filed, decided time.Duration
	wantRule       string // a sanity check on the situation itself
}

func (s situation) now() time.Duration {
	if s.decided > s.filed {
		return s.decided
	}
	return s.filed
}

// factsJSON writes the situation's facts by hand, in API.md's shape, from
// what the test knows it set up: what `comptoir policy eval --facts` would
// be given.
func (s situation) factsJSON(paid int64, productKind string) string {
	processing := ""
	if productKind == "service" {
		processing = fmt.Sprintf(`"processing_until": %q,`, t0.Add(72*time.Hour).Format(rfc))
	}
	return fmt.Sprintf(`{
  "kind": %q,
  "filed_at": %q,
  "customer": {"type": %q, "country": %q},
  "order": {
    "placed_at": %q, "paid_at": %q, "paid": {"amount": %d, "currency": "EUR"},
    "product_kind": %q,
    "quantity": %d, "delivered": %d, "refunded": {"amount": 0, "currency": "EUR"},
    %s
    "consent": {"immediate_performance": %t, "withdrawal_waiver": %t, "at": %q}
  }
}`, s.kind, t0.Add(s.filed).Format(rfc), s.ctype, s.country, t0.Format(rfc), t0.Format(rfc), paid, productKind,
		s.qty, s.delivered, processing, s.consent, s.consent, t0.Format(rfc))
}

const day = 24 * time.Hour

var situations = []situation{
	{name: "non-delivery within the processing time", kind: policy.NonDelivery, qty: 1000, filed: 24 * time.Hour, wantRule: "non_delivery.processing"},
	{name: "non-delivery, partly delivered, late", kind: policy.NonDelivery, qty: 1000, delivered: 400, filed: 96 * time.Hour, wantRule: "non_delivery.partial"},
	{name: "non-delivery, nothing delivered, late", kind: policy.NonDelivery, qty: 1000, filed: 100 * time.Hour, wantRule: "non_delivery.undelivered"},
	{name: "non-delivery of a delivered line", kind: policy.NonDelivery, qty: 1000, delivered: 1000, filed: 96 * time.Hour, wantRule: "non_delivery.delivered"},
	{name: "non-delivery filed 9 days 4 hours after", kind: policy.NonDelivery, qty: 1000, filed: 9*day + 4*time.Hour, decided: 10 * day, wantRule: "non_delivery.out_of_time"},
	{name: "non-delivery written in time, filed by an agent later", kind: policy.NonDelivery, qty: 1000, delivered: 300, filed: 6 * day, decided: 12 * day, wantRule: "non_delivery.partial"},
	{name: "not as described without evidence", kind: policy.NotAsDescribed, qty: 100, delivered: 100, filed: 2 * day, wantRule: "not_as_described.awaiting_evidence"},
	{name: "not as described after the store's window, consumer", kind: policy.NotAsDescribed, qty: 100, delivered: 100, filed: 30 * day, wantRule: "not_as_described.statutory_awaiting_evidence"},
	{name: "not as described after the store's window, business", kind: policy.NotAsDescribed, ctype: account.CustomerBusiness, qty: 100, delivered: 100, filed: 30 * day, wantRule: "not_as_described.out_of_time"},
	{name: "dissatisfied in time", kind: policy.Dissatisfied, qty: 100, delivered: 100, filed: 3 * day, wantRule: "dissatisfied.solution"},
	{name: "dissatisfied late", kind: policy.Dissatisfied, qty: 100, delivered: 100, filed: 8 * day, wantRule: "dissatisfied.out_of_time"},
	{name: "withdrawal from a started service", kind: policy.Withdrawal, qty: 1000, delivered: 250, consent: true, filed: 5 * day, wantRule: "withdrawal.statutory_undelivered"},
	{name: "withdrawal from a performed service", kind: policy.Withdrawal, qty: 1000, delivered: 1000, consent: true, filed: 5 * day, wantRule: "withdrawal.service_performed"},
	{name: "withdrawal without the request recorded", kind: policy.Withdrawal, country: "CH", qty: 1000, delivered: 600, filed: 2 * day, wantRule: "withdrawal.service_no_request"},
	{name: "withdrawal by a business", kind: policy.Withdrawal, ctype: account.CustomerBusiness, qty: 1000, filed: 2 * day, wantRule: "withdrawal.business"},
	{name: "withdrawal after 14 calendar days", kind: policy.Withdrawal, qty: 1000, consent: true, filed: 15 * day, wantRule: "withdrawal.out_of_time"},
	// t0 is 8 March 11:00 in Paris: the right ends 22 March 23:59:59.999
	// Paris time, 22:59:59.999 UTC.
	{name: "withdrawal in the last second", kind: policy.Withdrawal, qty: 1000, consent: true, filed: 14*day + 12*time.Hour + 59*time.Minute + 59*time.Second, wantRule: "withdrawal.statutory_undelivered"},
	{name: "withdrawal from supplied content", kind: policy.Withdrawal, digital: true, qty: 1, consent: true, filed: day, wantRule: "withdrawal.digital_supply_begun"},
	{name: "withdrawal from content supplied without consent", kind: policy.Withdrawal, country: "CH", digital: true, qty: 1, filed: day, wantRule: "withdrawal.digital_no_consent"},
}

// TestServerDecidesAsPolicyEval is the parity test: for each situation, the
// decision the service stores (and the first entry of the claim's history)
// equals policy.Evaluate under the default policy on facts written by hand
// as API.md shows them, and the facts the service reads from the database
// are those facts.
func TestServerDecidesAsPolicyEval(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	svc := e.service(t)
	for _, s := range situations {
		t.Run(s.name, func(t *testing.T) {
			if s.country == "" {
				s.country = "FR"
			}
			if s.ctype == "" {
				s.ctype = account.CustomerConsumer
			}
			if s.country == "FR" && s.ctype == account.CustomerConsumer {
				s.consent = true // an EU consumer cannot buy without the boxes
			}
			u := e.customer(t, s.country, s.ctype, "fr")
			p, productKind := svc, "service"
			if s.digital {
				p, productKind = e.licence(t), "digital"
				s.delivered = s.qty
			}
			o := e.order(t, u, p, s.qty, s.consent, s.delivered)
			in := claims.FileInput{Kind: s.kind, CustomerID: u.ID, OrderID: o.ID, Message: "Where is it?", Actor: customerActor(u)}
			e.clock.Set(t0.Add(s.now()))
			if s.decided > s.filed {
				in.Actor, in.FiledAt, in.SourceMessageID = e.agentActor(), t0.Add(s.filed), "msg_1"
			}
			c, err := e.claims.File(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			facts, err := policy.DecodeFacts([]byte(s.factsJSON(o.Lines[0].Amount.Minor, productKind)))
			if err != nil {
				t.Fatalf("the test's facts: %v", err)
			}
			want := policy.Evaluate(policy.Default(), facts, t0.Add(s.now()))
			if want.Rule != s.wantRule {
				t.Fatalf("policy eval gives %s, the situation expects %s", want.Rule, s.wantRule)
			}
			stored, err := e.claims.Get(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(stored.Decision, want) || !reflect.DeepEqual(c.Decision, want) {
				t.Fatalf("stored decision\n%+v\nreason %+v\npolicy eval\n%+v\nreason %+v", stored.Decision, stored.Decision.Reason, want, want.Reason)
			}
			history, err := e.claims.Decisions(ctx, c.ID)
			if err != nil || len(history) != 1 || !reflect.DeepEqual(history[0].Decision, want) || history[0].DecidedBy != "" {
				t.Fatalf("history %+v, %v", history, err)
			}
			got, err := e.claims.Facts(ctx, stored)
			if err != nil {
				t.Fatal(err)
			}
			// What a refund changed since is not part of the comparison;
			// refund_requested true and absent mean the same.
			got.Order.Refunded, facts.Order.Refunded, got.RefundRequested = nil, nil, nil
			if !reflect.DeepEqual(got, facts) {
				t.Fatalf("facts read from the database\n%+v\n%+v\nwritten by hand\n%+v\n%+v", got, *got.Order, facts, *facts.Order)
			}
			wantStatus := claims.StatusDecided
			switch want.Outcome {
			case policy.OutcomeReview, policy.OutcomeAwaitingEvidence, policy.OutcomeWaitingDelivery, policy.OutcomeSolution:
				wantStatus = claims.StatusOpen
			}
			if stored.Status != wantStatus || !stored.FiledAt.Equal(t0.Add(s.filed)) {
				t.Fatalf("status %s filed at %v", stored.Status, stored.FiledAt)
			}
		})
	}
}
