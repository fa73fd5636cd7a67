package app_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/db"
	"comptoir/internal/desk"
	"comptoir/internal/testwait"
)

// staffRace sets up a ticket assigned to agent Y, with admins A and B.
func staffRace(t *testing.T) (h *apptest.Harness, a, b, y account.User, ticketID string) {
	t.Helper()
	h = apptest.Start(t)
	ctx := context.Background()
	a, _ = h.User(t, account.RoleAdmin, "a@shop.test")
	b, _ = h.User(t, account.RoleAdmin, "b@shop.test")
	y, _ = h.User(t, account.RoleAgent, "y@shop.test")
	tk, err := h.App.Desk.OpenFromContact(ctx, desk.ContactInput{Name: "Ana", Email: "ana@example.fr", Topic: "question", Message: "Hello?"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Desk.Assign(ctx, a.Actor(), tk.ID, y.ID); err != nil {
		t.Fatal(err)
	}
	return h, a, b, y, tk.ID
}

// raceOnTicket runs first and second at once. On PostgreSQL it makes them
// meet as they would under load: a transaction of the test holds the
// ticket's row until both wait on a lock (first for the ticket, second
// for what first will want after it), then lets go.
func raceOnTicket(t *testing.T, h *apptest.Harness, ticketID string, first, second func() error) (error, error) {
	t.Helper()
	ctx := context.Background()
	var hold *sql.Tx
	waiting := func() int { return 0 }
	if h.App.DB.Engine == db.Postgres {
		var err error
		if hold, err = h.App.DB.Write.BeginTx(ctx, nil); err != nil {
			t.Fatal(err)
		}
		defer hold.Rollback()
		if _, err := hold.ExecContext(ctx, `UPDATE tickets SET updated_at = updated_at WHERE id = $1`, ticketID); err != nil {
			t.Fatal(err)
		}
		waiting = func() int {
			var n int
			h.App.DB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
			return n
		}
	}
	errs := make(chan error, 1)
	go func() { errs <- first() }()
	if hold != nil {
		testwait.Until(t, "the first waits for the ticket", func() bool { return waiting() >= 1 })
	}
	errs2 := make(chan error, 1)
	go func() { errs2 <- second() }()
	if hold != nil {
		testwait.Until(t, "the second waits too", func() bool { return waiting() >= 2 })
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	return <-errs, <-errs2
}

// An admin replies on a ticket of agent Y while another admin disables Y.
// DisableStaff locked every enabled admin's row FOR UPDATE, which the
// reply's message (its author references the admin) waits on, while the
// disabling waited on the ticket the reply holds to hand it back: a
// deadlock, one of them a 500. Now it takes the admins' rows FOR NO KEY
// UPDATE, which a reference does not wait on.
func TestDisablingAnAgentWhileAnAdminRepliesOnTheirTicket(t *testing.T) {
	h, a, b, y, ticketID := staffRace(t)
	ctx := context.Background()
	replyErr, disableErr := raceOnTicket(t, h, ticketID,
		func() error { _, err := h.App.Desk.Reply(ctx, a.Actor(), ticketID, "We are on it."); return err },
		func() error { return h.App.Accounts.DisableStaff(ctx, b.Actor(), y.ID) })
	if replyErr != nil || disableErr != nil {
		t.Fatalf("reply: %v; disable: %v", replyErr, disableErr)
	}
	tk, err := h.App.Desk.Get(ctx, ticketID)
	if err != nil || tk.AssigneeID != "" {
		t.Fatalf("ticket after the disabling: assignee %q %v, want none", tk.AssigneeID, err)
	}
	noDeadlockRetried(t, h.App.DB)
}

// The ticket is (again) assigned to agent Y while Y is disabled. Assign
// locked the ticket, then read Y FOR SHARE, which waited on the disabling,
// which waited on the ticket to hand it back: a deadlock, one of them a
// 500. Assign now reads the assignee before it locks the ticket, in the
// disabling's order: it waits, then finds Y disabled (a refusal), or goes
// first and the disabling hands the ticket back.
func TestAssigningToAnAgentBeingDisabled(t *testing.T) {
	h, a, b, y, ticketID := staffRace(t)
	ctx := context.Background()
	assignErr, disableErr := raceOnTicket(t, h, ticketID,
		func() error { _, err := h.App.Desk.Assign(ctx, a.Actor(), ticketID, y.ID); return err },
		func() error { return h.App.Accounts.DisableStaff(ctx, b.Actor(), y.ID) })
	var verr *desk.ValidationError
	if disableErr != nil || (assignErr != nil && !errors.As(assignErr, &verr)) {
		t.Fatalf("assign: %v; disable: %v", assignErr, disableErr)
	}
	tk, err := h.App.Desk.Get(ctx, ticketID)
	if err != nil || tk.AssigneeID != "" {
		t.Fatalf("ticket after the disabling: assignee %q %v, want none", tk.AssigneeID, err)
	}
	noDeadlockRetried(t, h.App.DB)
}

// noDeadlockRetried fails the test if a transaction lost a deadlock on
// the way: db.Tx runs it again, so the race ends well either way, but a
// test of lock order passes only when none was needed.
func noDeadlockRetried(t *testing.T, d *db.DB) {
	t.Helper()
	if n := d.ConflictsRetried(); n != 0 {
		t.Fatalf("%d transaction runs lost a deadlock and were run again: the lock order is broken", n)
	}
}
