package mail

import (
	"strings"
	"testing"
	"time"

	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
)

// The SLA warnings about a ticket are found through outgoing_mail_sla_warnings,
// the partial index that only they are in (migration 0056: the index on
// (kind, created_at) held every message, each checkout's confirmation
// among them), not by reading every message.
func TestSLAWarningsQueryUsesItsIndex(t *testing.T) {
	d := dbtest.Open(t)
	since := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, withUntil := range []bool{false, true} {
		args := []any{since, "%TK-1%", db.LikeEscape}
		if withUntil {
			args = append(args, since.Add(time.Hour))
		}
		plan := dbtest.Plan(t, d, slaWarningsQuery(withUntil), args...)
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "outgoing_mail_sla_warnings") {
			t.Errorf("until %v: the warnings are not read through outgoing_mail_sla_warnings:\n%s", withUntil, text)
		}
		for _, l := range plan {
			if strings.HasPrefix(l, "SCAN outgoing_mail") && !strings.Contains(l, "INDEX") || strings.Contains(l, "Seq Scan") {
				t.Errorf("until %v: every message is read:\n%s", withUntil, text)
			}
		}
	}
}

// The messages to a user that mention an order (MentioningTx) come in
// order from outgoing_mail_by_user (user_id, created_at, id), nothing
// sorted. Migration 0058: outgoing_mail_user (user_id, created_at) left
// the ties of one instant, ordered by id since, to a sort.
func TestMentioningQueryUsesItsIndexAndSortsNothing(t *testing.T) {
	d := dbtest.Open(t)
	plan := dbtest.Plan(t, d, mentioningQuery, "usr_1", "order_confirmation", "%ord_1%", db.LikeEscape)
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "outgoing_mail_by_user") {
		t.Errorf("the user's messages are not read through outgoing_mail_by_user:\n%s", text)
	}
	for _, l := range plan {
		if strings.Contains(l, "TEMP B-TREE") || strings.Contains(strings.TrimSpace(l), "Sort") ||
			strings.HasPrefix(l, "SCAN outgoing_mail") && !strings.Contains(l, "INDEX") || strings.Contains(l, "Seq Scan") {
			t.Errorf("the user's messages are sorted or every message read:\n%s", text)
		}
	}
}
