package claims_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/money"
	"comptoir/internal/policy"
)

// warnScan runs the warning scan at now, with the clock there.
func (e *env) warnScan(t *testing.T, now time.Time) int {
	t.Helper()
	e.clock.Set(now)
	n, err := e.claims.WarnDeadlines(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) warningRows(t *testing.T, claimID string) int {
	t.Helper()
	return e.count(t, `SELECT COUNT(*) FROM claim_answer_warnings WHERE claim_id = $1`, claimID)
}

func TestClaimAnswerWarningOncePerDeadlineToEveryAgentInTheirLanguage(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	agentFR, err := e.accounts.CreateUser(ctx, account.CreateUserInput{Email: "agent-fr@shop.test", Name: "Léa", Role: account.RoleAgent,
		Password: "0123456789", Language: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	filed := t0.Add(3 * day)
	c := e.unhappy(t, filed) // promise filed+48h: warning due from filed+42h
	promise := filed.Add(48 * time.Hour)

	if n := e.warnScan(t, promise.Add(-claims.DefaultWarnBefore-time.Minute)); n != 0 {
		t.Fatalf("warned %d claims before the warning time", n)
	}
	// Two scans at once (two nodes), then a third: one warning.
	now := promise.Add(-claims.DefaultWarnBefore + time.Minute)
	e.clock.Set(now)
	var wg sync.WaitGroup
	counts := make([]int, 2)
	errs := make([]error, 2)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = e.claims.WarnDeadlines(ctx, now)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || counts[0]+counts[1] != 1 {
		t.Fatalf("concurrent scans warned %v (%v)", counts, errs)
	}
	if n := e.warnScan(t, now.Add(time.Hour)); n != 0 {
		t.Fatalf("a later scan warned again: %d", n)
	}
	if n := e.warningRows(t, c.ID); n != 1 {
		t.Fatalf("%d warning rows", n)
	}
	en, fr := e.mails(t, e.agent, "claim_answer_warning"), e.mails(t, agentFR, "claim_answer_warning")
	if len(en) != 1 || len(fr) != 1 {
		t.Fatalf("warnings: %d to the English agent, %d to the French one", len(en), len(fr))
	}
	mustContain(t, "English warning", en[0].Subject+"\n"+en[0].Text, "Answer due soon: claim "+c.ID, "“Not satisfied”",
		"order "+c.OrderID, "http://shop.test/console/claims/"+c.ID, "13 March 2026 at 10:00 UTC")
	mustContain(t, "French warning", fr[0].Subject+"\n"+fr[0].Text, "Réponse attendue bientôt\u00a0: réclamation "+c.ID, "Bonjour Léa",
		"«\u00a0Pas satisfait\u00a0»", "la commande "+c.OrderID, "13 mars 2026 à 10:00 UTC")
	if n := e.count(t, `SELECT recipients FROM claim_answer_warnings WHERE claim_id = $1`, c.ID); n != 2 {
		t.Fatalf("recipients recorded: %d", n)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND action = 'claim.answer_warning'`, c.ID); n != 1 {
		t.Fatalf("%d warning audit entries", n)
	}
	// Past the promise: the breach scan's business, no warning.
	if n := e.warnScan(t, promise.Add(time.Minute)); n != 0 {
		t.Fatalf("warned after the promise: %d", n)
	}
}

func TestClaimAnsweredInTimeIsNotWarned(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	filed := t0.Add(3 * day)
	c := e.unhappy(t, filed)
	e.clock.Set(filed.Add(30 * time.Hour))
	if _, err := e.claims.Decide(ctx, claims.AgentDecision{ClaimID: c.ID, Outcome: policy.OutcomeRefund,
		Refund: ptr(money.MustNew(50, "EUR")), Actor: e.agentActor()}); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{43 * time.Hour, 47 * time.Hour} {
		if n := e.warnScan(t, filed.Add(at)); n != 0 {
			t.Fatalf("answered claim warned at +%v", at)
		}
	}
	if n := e.warningRows(t, c.ID); n != 0 || len(e.mails(t, e.agent, "claim_answer_warning")) != 0 {
		t.Fatalf("answered claim: %d warning rows", n)
	}
}

func TestClaimWaitingForTheCustomerIsNotWarnedAndItsEvidenceStartsTheDeadlineWarnedOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 1000)
	e.clock.Set(t0.Add(2 * day))
	c, err := e.claims.File(ctx, claims.FileInput{Kind: policy.NotAsDescribed, CustomerID: u.ID, OrderID: o.ID, Message: "Bots.", Actor: customerActor(u)})
	if err != nil {
		t.Fatal(err)
	}
	// Waiting for the customer's evidence: no deadline, no warning.
	if n := e.warnScan(t, t0.Add(4*day)); n != 0 {
		t.Fatalf("claim waiting for evidence warned: %d", n)
	}
	arrived := t0.Add(5 * day)
	e.clock.Set(arrived)
	if _, _, err := e.claims.AddEvidence(ctx, u.ID, c.ID, []claims.EvidenceInput{{Text: "No posts at all."}}); err != nil {
		t.Fatal(err)
	}
	if n := e.warnScan(t, arrived.Add(43*time.Hour)); n != 1 {
		t.Fatalf("deadline after the evidence warned %d claims", n)
	}
	if n := e.warnScan(t, arrived.Add(44*time.Hour)); n != 0 {
		t.Fatalf("warned twice: %d", n)
	}
}

// A claim whose deadline moves gets a warning for the new one: the
// warning is recorded per deadline. The answer clock of claims sets a
// deadline once today (clock.go startClockTx), so the test moves it in the
// database as a restarted clock would.
func TestClaimWithANewDeadlineIsWarnedAgain(t *testing.T) {
	e := setup(t)
	filed := t0.Add(3 * day)
	c := e.unhappy(t, filed)
	if n := e.warnScan(t, filed.Add(43*time.Hour)); n != 1 {
		t.Fatalf("first deadline warned %d claims", n)
	}
	second := filed.Add(96 * time.Hour)
	if _, err := e.db.Write.Exec(`UPDATE claims SET answer_target_at = $2, answer_promise_at = $3 WHERE id = $1`,
		c.ID, second.Add(-24*time.Hour), second); err != nil {
		t.Fatal(err)
	}
	if n := e.warnScan(t, second.Add(-5*time.Hour)); n != 1 {
		t.Fatalf("new deadline warned %d claims", n)
	}
	if n := e.warnScan(t, second.Add(-4*time.Hour)); n != 0 {
		t.Fatalf("new deadline warned twice: %d", n)
	}
	if n := e.warningRows(t, c.ID); n != 2 || len(e.mails(t, e.agent, "claim_answer_warning")) != 2 {
		t.Fatalf("%d warning rows, want one per deadline", n)
	}
}

func TestClaimAnswerWarningHoldsNoPersonalDataOnceTheCustomerIsErased(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	filed := t0.Add(3 * day)
	c := e.unhappy(t, filed)
	u, err := e.accounts.UserByID(ctx, c.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.warnScan(t, filed.Add(43*time.Hour)); n != 1 {
		t.Fatalf("warned %d claims", n)
	}
	tx, err := e.db.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := claims.EraseCustomerTx(ctx, tx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// The row: which claim, which deadline, when, how many staff. Nothing
	// of the customer's, nor the staff's address.
	rows, err := e.db.Read.Query(`SELECT claim_id, deadline_at, sent_at, recipients FROM claim_answer_warnings`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		var id string
		var deadline, sent time.Time
		var recipients int
		if err := rows.Scan(&id, &deadline, &sent, &recipients); err != nil {
			t.Fatal(err)
		}
		if id != c.ID || recipients != 1 {
			t.Fatalf("warning row %s %d", id, recipients)
		}
	}
	if err := rows.Err(); err != nil || n != 1 {
		t.Fatalf("%d warning rows, %v", n, err)
	}
	// The staff's email names the claim, never the customer.
	ms := e.mails(t, e.agent, "claim_answer_warning")
	if len(ms) != 1 {
		t.Fatalf("%d warnings", len(ms))
	}
	for _, personal := range []string{u.Name, u.Email, u.ID} {
		if strings.Contains(ms[0].Subject+ms[0].Text, personal) {
			t.Fatalf("the warning mentions %q:\n%s", personal, ms[0].Text)
		}
	}
}
