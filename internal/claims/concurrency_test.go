package claims_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/money"
	"comptoir/internal/policy"
)

// TestConcurrentRefundsNeverExceedWhatWasPaid: 50 agents refund 0,30 € at
// once on one order line paid 10,00 €, through three open claims of
// different kinds (so the claims' own rows do not serialize them): exactly
// 33 refunds pass (9,90 €), 17 are over_refund, and no other error leaks.
func TestConcurrentRefundsNeverExceedWhatWasPaid(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 1000)
	e.clock.Set(t0.Add(2 * day))
	var open []claims.Claim
	for _, k := range []policy.Kind{policy.NotAsDescribed, policy.Dissatisfied, policy.NonDelivery} {
		c, err := e.claims.File(ctx, claims.FileInput{Kind: k, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
		if err != nil {
			t.Fatal(err)
		}
		if !c.Open() {
			t.Fatalf("%s claim not open: %+v", k, c.Decision)
		}
		open = append(open, c)
	}
	balance := e.balance(t, u)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, over := 0, 0
	start := make(chan struct{})
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: open[i%len(open)].ID, Outcome: policy.OutcomeRefund,
				Refund: ptr(money.MustNew(30, "EUR")), Note: "goodwill", Actor: e.agentActor()})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, claims.ErrOverRefund) && claims.Code(err) == "over_refund":
				over++
			default:
				t.Errorf("an error other than over_refund: %v (%s)", err, claims.Code(err))
			}
		}()
	}
	close(start)
	wg.Wait()
	read, _ := e.orders.Get(ctx, o.ID)
	if ok != 33 || over != 17 || read.Lines[0].Refunded.Minor != 990 || read.Refunded.Minor != 990 {
		t.Fatalf("%d refunds, %d over_refund; line refunded %v, order refunded %v", ok, over, read.Lines[0].Refunded, read.Refunded)
	}
	if got := e.balance(t, u); got != balance+990 {
		t.Fatalf("balance %d, want %d", got, balance+990)
	}
	if n := e.count(t, `SELECT COALESCE(SUM(amount), 0) FROM claim_refunds WHERE order_line_id = $1`, o.Lines[0].ID); n != 990 {
		t.Fatalf("claim refunds add up to %d", n)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM balance_entries WHERE customer_id = $1 AND kind = 'refund'`, u.ID); n != 33 {
		t.Fatalf("%d refund entries", n)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM claim_decisions WHERE decided_by IS NOT NULL`); n != 33 {
		t.Fatalf("%d agent decisions recorded", n)
	}
	// What is left, 0,10 €, can still be refunded, and not a cent more.
	if _, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: open[0].ID, Outcome: policy.OutcomeRefund, Refund: ptr(money.MustNew(11, "EUR")), Actor: e.agentActor()}); !errors.Is(err, claims.ErrOverRefund) {
		t.Fatalf("refund above what is left: %v", err)
	}
	if _, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: open[0].ID, Outcome: policy.OutcomeRefund, Refund: ptr(money.MustNew(10, "EUR")), Actor: e.agentActor()}); err != nil {
		t.Fatal(err)
	}
}

// TestAutomaticDecisionsRetryOnFreshFacts: an agent's refund on the line
// commits after a withdrawal read its facts and before it decided; the
// withdrawal must not pay on the line as it was, but decide again on the
// line as it is.
func TestAutomaticDecisionsRetryOnFreshFacts(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 500)
	e.clock.Set(t0.Add(time.Hour))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.Dissatisfied, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	gathered := 0
	claims.SetAfterGather(e.claims, func() {
		gathered++
		if gathered == 1 {
			if _, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefund,
				Refund: ptr(money.MustNew(200, "EUR")), Actor: e.agentActor()}); err != nil {
				t.Error(err)
			}
		}
	})
	w, err := e.claims.Withdraw(ctx, u.ID, o.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	// The consumer pays only for what was delivered: 1000 paid × 500
	// undelivered / 1000 ordered − 200 already refunded; the facts read
	// before the agent's refund would have given 500.
	if gathered != 2 || w.Decision.Refund == nil || w.Decision.Refund.Minor != 300 {
		t.Fatalf("read the facts %d times; withdrawal %+v", gathered, w.Decision)
	}
	if read, _ := e.orders.Get(ctx, o.ID); read.Lines[0].Refunded.Minor != 500 {
		t.Fatalf("line refunded %v", read.Lines[0].Refunded)
	}
	history, _ := e.claims.Decisions(ctx, w.ID)
	if len(history) != 1 || !reflect.DeepEqual(history[0].Decision, w.Decision) {
		t.Fatalf("history %+v", history)
	}
}

// The limit of files per claim holds when uploads arrive together: each
// upload counted the files already there before its transaction, so
// uploads that started at the same moment all saw room and all got in,
// several times the limit between them.
func TestEvidenceFileLimitHoldsUnderConcurrentUploads(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 100, true, 100)
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o.ID, Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	const uploads = 8 // the test store allows 3 files per claim
	start := make(chan struct{})
	errs := make(chan error, uploads)
	var wg sync.WaitGroup
	for i := range uploads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, err := e.claims.AddEvidence(ctx, u.ID, c.ID, []claims.EvidenceInput{file(fmt.Sprintf("%d.png", i), pngFile)})
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, claims.ErrTooManyEvidence) || errors.Is(err, claims.ErrBusy):
		default:
			t.Errorf("upload: %v", err)
		}
	}
	if n := e.count(t, `SELECT COUNT(*) FROM claim_evidence WHERE kind = 'file'`); n > 3 || int(n) != ok {
		t.Fatalf("%d files stored (%d uploads accepted), the limit is 3", n, ok)
	}
	if files := blobFiles(t, e.blobDir); len(files) != ok {
		t.Errorf("%d blobs stored for %d files accepted: refused uploads left their file behind", len(files), ok)
	}
}
