package claims_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/claims"
	"comptoir/internal/policy"
)

// TestWithdrawalFromAnEarlierMessage: the customer wrote within the
// withdrawal period (by email), then pressed the withdraw button once it
// was over, and that withdrawal was refused as out of time. One withdrawal
// per line refused the agent's filing from the in-time message
// (ErrAlreadyWithdrawn), and the customer lost the right they had used.
// The withdrawal on record is now decided again with the message's time:
// the same claim (still the line's only withdrawal), refunded once, the
// acknowledgement sent again with the earlier time. Filing it again, from
// a message no earlier than the record or itself out of time changes
// nothing; a raw update moving the filing of a withdrawal that was not
// refused is refused by the database.
func TestWithdrawalFromAnEarlierMessage(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.customer(t, "FR", account.CustomerConsumer, "fr")
	o := e.order(t, u, e.service(t), 1000, true, 400)
	inTime := t0.Add(10 * day)
	e.clock.Set(t0.Add(20 * day))
	refused, err := e.claims.Withdraw(ctx, u.ID, o.ID, "")
	if err != nil || refused.Decision.Outcome != policy.OutcomeRefused {
		t.Fatalf("the customer's late withdrawal: %+v %v", refused.Decision, err)
	}
	before := e.balance(t, u)
	acks := len(e.mails(t, u, "claim_withdrawal"))
	fromMessage := func(at time.Time, msg string) (claims.Claim, error) {
		return e.claims.File(ctx, claims.FileInput{Kind: policy.Withdrawal, OrderID: o.ID, Message: "Je me rétracte.",
			FiledAt: at, SourceMessageID: msg, Actor: e.agentActor()})
	}
	unchanged := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, claims.ErrAlreadyWithdrawn) || claims.Code(err) != "claim_already_decided" {
			t.Errorf("err %v, want ErrAlreadyWithdrawn", err)
		}
		got, gerr := e.claims.Get(ctx, refused.ID)
		if gerr != nil || !got.FiledAt.Equal(refused.FiledAt) || got.Decision.Outcome != policy.OutcomeRefused {
			t.Errorf("the withdrawal on record changed: filed %v, %+v %v", got.FiledAt, got.Decision, gerr)
		}
		if b := e.balance(t, u); b != before {
			t.Errorf("balance %d, was %d", b, before)
		}
	}
	// Neither a message after the record nor one itself out of time
	// changes anything.
	_, err = fromMessage(t0.Add(20*day), "msg-same-time")
	unchanged(t, err)
	_, err = fromMessage(t0.Add(16*day), "msg-late")
	unchanged(t, err)

	c, err := fromMessage(inTime, "msg-in-time")
	if err != nil {
		t.Fatalf("withdrawal from the in-time message: %v", err)
	}
	if c.ID != refused.ID || !c.FiledAt.Equal(inTime) || c.SourceMessageID != "msg-in-time" || c.FiledVia != claims.ViaAgent || c.Decision.Outcome != policy.OutcomeRefund ||
		c.Decision.Refund == nil || c.Decision.Refund.Minor != 600 || !c.Decision.Statutory {
		t.Fatalf("decided again: %+v, filed %v from %q, decision %+v", c.ID, c.FiledAt, c.SourceMessageID, c.Decision)
	}
	if b := e.balance(t, u); b != before+600 {
		t.Errorf("balance %d, want %d", b, before+600)
	}
	if n := e.count(t, `SELECT COUNT(*) FROM claims WHERE order_id = $1 AND kind = 'withdrawal'`, o.ID); n != 1 {
		t.Errorf("%d withdrawal claims", n)
	}
	got, _ := e.orders.Get(ctx, o.ID)
	if got.Lines[0].SettledAt.IsZero() || got.Lines[0].Refunded.Minor != 600 {
		t.Errorf("line settled %v, refunded %v", got.Lines[0].SettledAt, got.Lines[0].Refunded)
	}
	ms := e.mails(t, u, "claim_withdrawal")
	if len(ms) != acks+1 || !strings.Contains(ms[0].Text, "18 mars 2026") {
		t.Errorf("%d acknowledgements (was %d), the last:\n%v", len(ms), acks, ms)
	}

	// Once more from the same message, or an even earlier one: the
	// withdrawal is no longer refused, nothing is paid twice.
	before = e.balance(t, u)
	for _, at := range []time.Time{inTime, t0.Add(9 * day)} {
		if _, err := fromMessage(at, "msg-again"); !errors.Is(err, claims.ErrAlreadyWithdrawn) {
			t.Errorf("again at %v: %v", at, err)
		}
	}
	if b := e.balance(t, u); b != before {
		t.Errorf("balance %d after filing again, was %d", b, before)
	}
	if _, err := e.db.Write.Exec(`UPDATE claims SET filed_at = $1 WHERE id = $2`, t0.Add(day), c.ID); err == nil {
		t.Error("the database let a withdrawal that was not refused move its filing")
	}
}
