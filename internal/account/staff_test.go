package account_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/testwait"
)

// staff makes an agent or admin with the password "correct horse".
func (e *env) staff(t *testing.T, role, email string) account.User {
	t.Helper()
	u, err := e.svc.CreateUser(e.ctx, account.CreateUserInput{Email: email, Role: role, Password: "correct horse", Name: role})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func (e *env) user(t *testing.T, id string) account.User {
	t.Helper()
	u, err := e.svc.UserByID(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// An agent who left is disabled: from that moment their password, their
// sessions, their API tokens, their second-factor sign-in under way and
// their reset links all stop working, and a reset request mails them
// nothing; the audit log says which admin did it, and when.
func TestDisableStaffEndsEveryWayIn(t *testing.T) {
	e := setup(t)
	admin := e.staff(t, account.RoleAdmin, "boss@shop.example")
	agent := e.staff(t, account.RoleAgent, "leaver@shop.example")
	cookie, _, err := e.svc.CreateSession(e.ctx, agent.ID, "192.0.2.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := e.svc.CreateToken(e.ctx, agent.ID, "script")
	if err != nil {
		t.Fatal(err)
	}
	challenge, err := e.svc.StartSignInChallenge(e.ctx, agent.ID)
	if err != nil {
		t.Fatal(err)
	}
	link := e.requestReset(t, agent.Email, "en")

	if err := e.svc.DisableStaff(e.ctx, admin.Actor(), agent.ID); err != nil {
		t.Fatal(err)
	}
	if u := e.user(t, agent.ID); !u.Disabled() || !u.DisabledAt.Equal(t0) {
		t.Errorf("disabled at %v, want %v", u.DisabledAt, t0)
	}
	// The right password is refused exactly as a wrong one, after the
	// same hash: nobody learns the account exists, or was disabled.
	before := e.svc.PasswordChecks()
	if _, err := e.svc.Authenticate(e.ctx, agent.Email, "correct horse"); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("sign-in with the right password: %v, want ErrInvalidCredentials", err)
	}
	if n := e.svc.PasswordChecks() - before; n != 1 {
		t.Errorf("%d password checks, want 1 as for a wrong password", n)
	}
	if _, _, err := e.svc.SessionUser(e.ctx, cookie); !errors.Is(err, account.ErrNoSession) {
		t.Errorf("session: %v, want ErrNoSession", err)
	}
	if n := e.count(t, "sessions"); n != 0 {
		t.Errorf("%d sessions left", n)
	}
	if _, _, err := e.svc.TokenUser(e.ctx, token); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("token: %v, want ErrInvalidToken", err)
	}
	if _, err := e.svc.SignInChallengeUser(e.ctx, challenge); !errors.Is(err, account.ErrChallengeGone) {
		t.Errorf("second-factor sign-in: %v, want ErrChallengeGone", err)
	}
	if err := e.svc.CheckResetLink(e.ctx, link); !errors.Is(err, account.ErrResetInvalid) {
		t.Errorf("reset link: %v, want ErrResetInvalid", err)
	}
	if _, _, err := e.svc.CreateToken(e.ctx, agent.ID, "another"); !errors.Is(err, account.ErrDisabled) {
		t.Errorf("new token: %v, want ErrDisabled", err)
	}
	sent := len(e.mail.messages())
	if err := e.svc.RequestPasswordReset(e.ctx, agent.Email, "en"); err != nil {
		t.Fatal(err)
	}
	if n := e.runResetJobs(t); n != 1 {
		t.Fatalf("%d reset jobs, want 1 (the request is taken like any other)", n)
	}
	if n := len(e.mail.messages()) - sent; n != 0 {
		t.Errorf("%d emails for a disabled account's reset, want none", n)
	}

	rows, err := audit.ForSubject(e.ctx, e.db.Read, "user", agent.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := rows[len(rows)-1]
	if last.Action != "disable" || last.ActorID != admin.ID || last.ActorRole != account.RoleAdmin || !last.At.Equal(t0) ||
		!strings.Contains(last.After, `"sessions_revoked":1`) || !strings.Contains(last.After, `"tokens_revoked":1`) {
		t.Errorf("audit: %+v", last)
	}

	// Enabled again, the password works; the tokens stay revoked (one
	// copied by whoever left must not come back to life).
	e.clock.Advance(time.Minute)
	if err := e.svc.EnableStaff(e.ctx, admin.Actor(), agent.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(e.ctx, agent.Email, "correct horse"); err != nil {
		t.Errorf("sign-in once enabled: %v", err)
	}
	if _, _, err := e.svc.TokenUser(e.ctx, token); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("old token once enabled: %v, want ErrInvalidToken", err)
	}
	if got := e.actions(t, agent.ID); got[len(got)-1] != "enable" {
		t.Errorf("audit actions %v, want enable last", got)
	}
}

// The session and token lookups refuse a disabled account in their own
// query: even a session or token the disabling missed (written by a
// request that raced with it) lets nobody in.
func TestDisabledAccountIsRefusedByTheLookupsThemselves(t *testing.T) {
	e := setup(t)
	agent := e.staff(t, account.RoleAgent, "leaver@shop.example")
	cookie, _, err := e.svc.CreateSession(e.ctx, agent.ID, "192.0.2.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := e.svc.CreateToken(e.ctx, agent.ID, "script")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(e.ctx, `UPDATE users SET disabled_at = $1 WHERE id = $2`, t0, agent.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.SessionUser(e.ctx, cookie); !errors.Is(err, account.ErrNoSession) {
		t.Errorf("session of a disabled account: %v, want ErrNoSession", err)
	}
	if _, _, err := e.svc.TokenUser(e.ctx, token); !errors.Is(err, account.ErrInvalidToken) {
		t.Errorf("token of a disabled account: %v, want ErrInvalidToken", err)
	}
	if _, _, err := e.svc.CreateSession(e.ctx, agent.ID, "192.0.2.1", "test"); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Errorf("new session of a disabled account: %v, want ErrInvalidCredentials", err)
	}
}

// An admin cannot disable themselves, nor the last enabled admin; a
// customer is not disabled (the database refuses it too); an admin who
// was disabled meanwhile disables no one.
func TestDisableStaffRefusals(t *testing.T) {
	e := setup(t)
	a := e.staff(t, account.RoleAdmin, "a@shop.example")
	b := e.staff(t, account.RoleAdmin, "b@shop.example")
	agent := e.staff(t, account.RoleAgent, "agent@shop.example")
	customer := e.signUp(t, "ann@example.fr")

	if err := e.svc.DisableStaff(e.ctx, a.Actor(), a.ID); !errors.Is(err, account.ErrDisableSelf) {
		t.Errorf("disable self: %v, want ErrDisableSelf", err)
	}
	if err := e.svc.DisableStaff(e.ctx, a.Actor(), customer.ID); !errors.Is(err, account.ErrNotStaff) {
		t.Errorf("disable a customer: %v, want ErrNotStaff", err)
	}
	if _, err := e.db.Exec(e.ctx, `UPDATE users SET disabled_at = $1 WHERE id = $2`, t0, customer.ID); err == nil {
		t.Error("the database let a customer account be disabled")
	}
	if err := e.svc.DisableStaff(e.ctx, a.Actor(), "usr_nobody"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("disable nobody: %v, want ErrNotFound", err)
	}
	if err := e.svc.DisableStaff(e.ctx, agent.Actor(), b.ID); !errors.Is(err, account.ErrNotAdmin) {
		t.Errorf("disable by an agent: %v, want ErrNotAdmin", err)
	}
	if err := e.svc.DisableStaff(e.ctx, a.Actor(), b.ID); err != nil {
		t.Fatal(err)
	}
	// a is now the only enabled admin: nobody may disable them, not even
	// b acting from a session that outlived the disabling.
	if err := e.svc.DisableStaff(e.ctx, b.Actor(), a.ID); !errors.Is(err, account.ErrNotAdmin) {
		t.Errorf("disable by a disabled admin: %v, want ErrNotAdmin", err)
	}
	if err := e.svc.DisableStaff(e.ctx, audit.System, a.ID); !errors.Is(err, account.ErrLastAdmin) {
		t.Errorf("disable the last admin: %v, want ErrLastAdmin", err)
	}
	if err := e.svc.EnableStaff(e.ctx, b.Actor(), b.ID); !errors.Is(err, account.ErrNotAdmin) {
		t.Errorf("a disabled admin enabling themselves: %v, want ErrNotAdmin", err)
	}
	if u := e.user(t, a.ID); u.Disabled() {
		t.Error("the last admin was disabled")
	}
	// With b enabled again, b may disable a: a second admin remains.
	if err := e.svc.EnableStaff(e.ctx, a.Actor(), b.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DisableStaff(e.ctx, b.Actor(), a.ID); err != nil {
		t.Errorf("disable an admin while another remains: %v", err)
	}
}

// Two admins disabling each other at the same moment: one wins, the other
// is refused, and the store keeps an admin who can sign in.
func TestAdminsDisablingEachOtherKeepOne(t *testing.T) {
	for round := range 5 {
		e := setup(t)
		a := e.staff(t, account.RoleAdmin, "a@shop.example")
		b := e.staff(t, account.RoleAdmin, "b@shop.example")
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, pair := range [][2]account.User{{a, b}, {b, a}} {
			wg.Go(func() { errs[i] = e.svc.DisableStaff(e.ctx, pair[0].Actor(), pair[1].ID) })
		}
		wg.Wait()
		var enabled int
		for _, id := range []string{a.ID, b.ID} {
			if !e.user(t, id).Disabled() {
				enabled++
			}
		}
		if enabled != 1 || (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: %d admins enabled, errors %v; want one each", round, enabled, errs)
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, account.ErrNotAdmin) && !errors.Is(err, account.ErrLastAdmin) {
				t.Errorf("round %d: %v", round, err)
			}
		}
	}
}

// The staff page lists admins first, then agents, each by email, disabled
// ones included (to be enabled again) and customers never.
func TestListStaff(t *testing.T) {
	e := setup(t)
	boss := e.staff(t, account.RoleAdmin, "zed@shop.example")
	e.staff(t, account.RoleAgent, "bob@shop.example")
	gone := e.staff(t, account.RoleAgent, "Al@shop.example")
	e.staff(t, account.RoleAdmin, "amy@shop.example")
	e.signUp(t, "ann@example.fr")
	if err := e.svc.DisableStaff(e.ctx, boss.Actor(), gone.ID); err != nil {
		t.Fatal(err)
	}
	staff, err := e.svc.ListStaff(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range staff {
		got = append(got, u.Email)
	}
	if want := []string{"amy@shop.example", "zed@shop.example", "Al@shop.example", "bob@shop.example"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("staff %v, want %v", got, want)
	}
	if !staff[2].Disabled() || staff[3].Disabled() {
		t.Errorf("disabled flags: %+v", staff)
	}
}

// The staff on duty (who the deadline warnings of claims and unassigned
// tickets go to) are the enabled agents; with none, the enabled admins.
func TestOnDutyStaffAreTheAgentsElseTheAdmins(t *testing.T) {
	e := setup(t)
	duty := func() []string {
		t.Helper()
		us, err := account.OnDutyStaffTx(e.ctx, e.db.Read)
		if err != nil {
			t.Fatal(err)
		}
		var emails []string
		for _, u := range us {
			emails = append(emails, u.Email)
		}
		return emails
	}
	admin := e.staff(t, account.RoleAdmin, "boss@shop.example")
	if got := duty(); len(got) != 1 || got[0] != admin.Email {
		t.Errorf("no agent: on duty %v, want the admin", got)
	}
	agent := e.staff(t, account.RoleAgent, "agent@shop.example")
	leaver := e.staff(t, account.RoleAgent, "leaver@shop.example")
	if err := e.svc.DisableStaff(e.ctx, admin.Actor(), leaver.ID); err != nil {
		t.Fatal(err)
	}
	if got := duty(); len(got) != 1 || got[0] != agent.Email {
		t.Errorf("one agent enabled, one disabled: on duty %v, want the enabled agent", got)
	}
	if err := e.svc.DisableStaff(e.ctx, admin.Actor(), agent.ID); err != nil {
		t.Fatal(err)
	}
	if got := duty(); len(got) != 1 || got[0] != admin.Email {
		t.Errorf("every agent disabled: on duty %v, want the admin", got)
	}
}

// A staff member signs in while an admin disables them: their password
// was checked before, their session is created in the instant the
// disabling commits. The session's creation held nothing: on PostgreSQL
// it read the account enabled, inserted its session after the disabling
// had ended the others (its "every session ends" missed it), and that
// session came back to life when the account was enabled again. Now the
// sign-in holds the account row (holdEnabledTx): it waits for the
// disabling and is refused as a wrong password, leaving no session.
// SQLite's single writer already puts one after the other.
func TestSessionCreatedAsTheAccountIsDisabled(t *testing.T) {
	e := setup(t)
	if e.db.Engine != db.Postgres {
		t.Skip("SQLite's single writer orders the sign-in and the disabling")
	}
	admin := e.staff(t, account.RoleAdmin, "boss@shop.example")
	agent := e.staff(t, account.RoleAgent, "leaver@shop.example")
	inside, release := make(chan struct{}), make(chan struct{})
	svc := account.New(e.db, e.clock, e.mail, account.Options{HashParams: fastParams,
		StaffDisabled: func(context.Context, *sql.Tx, account.User, audit.Actor, time.Time) error {
			close(inside) // the account is disabled and its sessions ended, not yet committed
			<-release
			return nil
		}})
	disabled := make(chan error, 1)
	go func() { disabled <- svc.DisableStaff(e.ctx, admin.Actor(), agent.ID) }()
	<-inside
	got := signInWhileHeld(t, e, agent.ID, func() {
		close(release)
		if err := <-disabled; err != nil {
			t.Fatal(err)
		}
	})
	if !errors.Is(got.err, account.ErrInvalidCredentials) {
		t.Errorf("session created as the account was disabled: %v, want ErrInvalidCredentials", got.err)
	}
	if n := sessionsOf(t, e, agent.ID); n != 0 {
		t.Errorf("%d sessions of the disabled account, want none", n)
	}
	e.clock.Advance(time.Minute)
	if err := e.svc.EnableStaff(e.ctx, admin.Actor(), agent.ID); err != nil {
		t.Fatal(err)
	}
	if got.err == nil {
		if _, _, err := e.svc.SessionUser(e.ctx, got.token); err == nil {
			t.Errorf("a session created during the disabling works once the account is enabled again")
		}
	}
}

// A customer's password is checked as their account is being erased: the
// session was created once the erasure had deleted the others, on the
// erased account (on PostgreSQL, where nothing made the sign-in wait; on
// SQLite too once the erasure has committed). Now the sign-in holds the
// account row, waits for the erasure and is refused as a wrong password.
func TestSessionCreatedAsTheAccountIsErased(t *testing.T) {
	e := setup(t)
	customer := e.signUp(t, "ann@example.fr")
	tx, err := e.db.Write.BeginTx(e.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := account.BeginErasureTx(e.ctx, tx, customer.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := account.EraseTx(e.ctx, tx, customer.ID, t0, nil); err != nil {
		t.Fatal(err)
	}
	got := signInWhileHeld(t, e, customer.ID, func() {
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	})
	if !errors.Is(got.err, account.ErrInvalidCredentials) {
		t.Errorf("session created as the account was erased: %v, want ErrInvalidCredentials", got.err)
	}
	if n := sessionsOf(t, e, customer.ID); n != 0 {
		t.Errorf("%d sessions of the erased account, want none", n)
	}
}

type signInResult struct {
	token string
	err   error
}

// signInWhileHeld creates a session for userID while another transaction
// holds the account, and commit ends that transaction: on PostgreSQL once
// the sign-in has ended (the race) or waits on the account's row; on
// SQLite, whose single writer orders them, at once. It returns the
// sign-in's token and error.
func signInWhileHeld(t *testing.T, e *env, userID string, commit func()) signInResult {
	t.Helper()
	signedIn := make(chan signInResult, 1)
	go func() {
		token, _, err := e.svc.CreateSession(e.ctx, userID, "192.0.2.1", "test")
		signedIn <- signInResult{token, err}
	}()
	if e.db.Engine == db.Postgres {
		testwait.Until(t, "the sign-in ends or waits on a lock", func() bool {
			select {
			case r := <-signedIn:
				signedIn <- r
				return true
			default:
			}
			var n int
			e.db.Read.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
			return n > 0
		})
	}
	commit()
	return <-signedIn
}

// sessionsOf counts userID's sessions.
func sessionsOf(t *testing.T, e *env, userID string) int {
	t.Helper()
	var n int
	if err := e.db.Read.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM sessions WHERE user_id = $1`, userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
