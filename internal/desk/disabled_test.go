package desk_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/desk"
)

// An agent who left is disabled: the tickets they had taken go back to the
// queue unassigned (a closed one too, keeping the date its retention
// counts from), each change audited as the disabling admin's; nobody can
// give them a ticket again; and the deadline warning of a ticket goes to
// the agents still here, not to them.
func TestDisabledAgentHandsTicketsBack(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	accounts := account.New(e.db, e.clock, e.outbox, account.Options{HashParams: &account.FastHashParams,
		StaffDisabled: func(ctx context.Context, tx *sql.Tx, u account.User, by audit.Actor, at time.Time) error {
			_, err := desk.UnassignStaffTx(ctx, tx, u, by, at)
			return err
		}})
	leaver, err := accounts.CreateUser(ctx, account.CreateUserInput{Email: "leaver@shop.test", Role: account.RoleAgent, Password: "0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	open := e.contact(t, "guest@example.com", "en")
	closed := e.contact(t, "other-guest@example.com", "en")
	for _, id := range []string{open.ID, closed.ID} {
		if _, err := e.desk.Assign(ctx, leaver.Actor(), id, leaver.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.desk.Close(ctx, leaver.Actor(), closed.ID); err != nil {
		t.Fatal(err)
	}
	closedBefore, _ := e.desk.Get(ctx, closed.ID)

	e.clock.Set(t0.Add(time.Hour))
	if err := accounts.DisableStaff(ctx, e.agent2, leaver.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{open.ID, closed.ID} {
		tk, err := e.desk.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if tk.AssigneeID != "" {
			t.Errorf("ticket %s still assigned to %s", tk.Reference, tk.AssigneeID)
		}
		rows, err := audit.ForSubject(ctx, e.db.Read, "ticket", id)
		if err != nil {
			t.Fatal(err)
		}
		if last := rows[len(rows)-1]; last.Action != "ticket.assigned" || last.ActorID != e.agent2.ID {
			t.Errorf("ticket %s: last audit %+v, want its unassignment by the admin", tk.Reference, last)
		}
	}
	if tk, _ := e.desk.Get(ctx, closed.ID); !tk.UpdatedAt.Equal(closedBefore.UpdatedAt) {
		t.Errorf("the closed ticket's updated_at moved from %v to %v", closedBefore.UpdatedAt, tk.UpdatedAt)
	}
	var verr *desk.ValidationError
	if _, err := e.desk.Assign(ctx, e.agent, open.ID, leaver.ID); !errors.As(err, &verr) || verr.Fields["assignee"] != "not_staff" {
		t.Errorf("assigning the disabled agent: %v, want not_staff", err)
	}

	now := t0.Add(42*time.Hour + time.Minute)
	e.clock.Set(now)
	if _, err := e.desk.WarnDeadlines(ctx, now); err != nil {
		t.Fatal(err)
	}
	for _, to := range e.warnings(t) {
		if to != "agent@shop.test" {
			t.Errorf("deadline warning mailed to %s, want the enabled agent only", to)
		}
	}
	if len(e.warnings(t)) == 0 {
		t.Error("no deadline warning")
	}
}
