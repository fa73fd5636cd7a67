package account_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
)

// lastSeen reads a session's row as stored, to tell whether a use wrote.
func (e *env) lastSeen(t *testing.T, sessionID string) (seen, expires time.Time) {
	t.Helper()
	if err := e.db.Read.QueryRowContext(e.ctx, `SELECT last_seen_at, expires_at FROM sessions WHERE id = $1`, sessionID).Scan(&seen, &expires); err != nil {
		t.Fatal(err)
	}
	return seen.UTC(), expires.UTC()
}

func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	e := setup(t) // SessionTTL: 1 hour
	u := e.signUp(t, "ann@x.fr")
	token, sess, err := e.svc.CreateSession(e.ctx, u.ID, "203.0.113.7", "Firefox\x00 on Linux")
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 43 || sess.UserID != u.ID || !sess.ExpiresAt.Equal(t0.Add(time.Hour)) || sess.UserAgent != "Firefox on Linux" {
		t.Fatalf("token %q, session %+v", token, sess)
	}

	// Each step moves the clock to at (from t0), uses the session, and says
	// what the stored row must then hold: a use within a minute of the last
	// write leaves it alone.
	const m = time.Minute
	steps := []struct {
		at       time.Duration
		err      error
		seen     time.Duration // stored last_seen_at
		lifetime time.Duration // stored expires_at
	}{
		{0, nil, 0, 60 * m},
		{30 * time.Second, nil, 0, 60 * m}, // within a minute: read only
		{61 * time.Second, nil, 61 * time.Second, 61*time.Second + 60*m}, // slides
		{90 * time.Second, nil, 61 * time.Second, 61*time.Second + 60*m},
		{50 * m, nil, 50 * m, 110 * m},
		{100 * m, nil, 100 * m, 160 * m}, // alive past t0+TTL thanks to sliding
		{160*m - time.Second, nil, 160*m - time.Second, 220*m - time.Second},
		{220 * m, account.ErrSessionExpired, 160*m - time.Second, 220*m - time.Second}, // idle for a TTL
	}
	for i, s := range steps {
		e.clock.Set(t0.Add(s.at))
		got, gotSess, err := e.svc.SessionUser(e.ctx, token)
		if !errors.Is(err, s.err) {
			t.Fatalf("step %d (+%s): err = %v, want %v", i, s.at, err, s.err)
		}
		if err == nil && (got.ID != u.ID || gotSess.ID != sess.ID || !gotSess.ExpiresAt.Equal(t0.Add(s.lifetime))) {
			t.Fatalf("step %d (+%s): user %s, session %+v", i, s.at, got.ID, gotSess)
		}
		seen, expires := e.lastSeen(t, sess.ID)
		if !seen.Equal(t0.Add(s.seen)) || !expires.Equal(t0.Add(s.lifetime)) {
			t.Fatalf("step %d (+%s): stored last_seen +%s, expires +%s; want +%s, +%s",
				i, s.at, seen.Sub(t0), expires.Sub(t0), s.seen, s.lifetime)
		}
	}
	// Expired sessions are gone after pruning; the error becomes ErrNoSession.
	if err := e.svc.PruneExpired(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.SessionUser(e.ctx, token); !errors.Is(err, account.ErrNoSession) {
		t.Fatalf("after prune: %v", err)
	}
}

func TestSessionUserRefusesUnknownTokens(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "ann@x.fr")
	token, sess, _ := e.svc.CreateSession(e.ctx, u.ID, "", "")
	for _, bad := range []string{"", "nope", sess.ID, token + "x", strings.Repeat("a", 10000)} {
		if _, _, err := e.svc.SessionUser(e.ctx, bad); !errors.Is(err, account.ErrNoSession) {
			t.Errorf("SessionUser(%.20q) = %v, want ErrNoSession", bad, err)
		}
	}
	if _, _, err := e.svc.CreateSession(e.ctx, "usr_nope", "", ""); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("CreateSession(unknown user) = %v", err)
	}
}

// The cookie token must not be in the database, only its hash.
func TestSessionTokenNotStored(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "ann@x.fr")
	token, _, _ := e.svc.CreateSession(e.ctx, u.ID, "", "")
	if found := e.search(t, token); len(found) > 0 {
		t.Fatalf("the session token is stored in %v", found)
	}
}

// search looks for s in every text column of the tables that could hold a
// secret, and names where it was found.
func (e *env) search(t *testing.T, s string) []string {
	t.Helper()
	var found []string
	for table, cols := range map[string][]string{
		"sessions":                {"id", "user_id", "ip", "user_agent"},
		"api_tokens":              {"id", "user_id", "name", "token_hash"},
		"password_resets":         {"token_hash", "user_id"},
		"users":                   {"id", "email", "name", "password_hash"},
		"audit_log":               {"subject_id", "action", "COALESCE(before_state, '')", "COALESCE(after_state, '')"},
		"password_reset_requests": {"email_key"},
		// River keeps a job's arguments, and its errors, after it ran.
		"river_job": {"CAST(args AS TEXT)", "CAST(errors AS TEXT)"},
	} {
		for _, c := range cols {
			var n int
			if err := e.db.Read.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM `+table+` WHERE `+c+` LIKE $1`, "%"+s+"%").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				found = append(found, table+"."+c)
			}
		}
	}
	return found
}

func TestRevokeSessions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ann := e.signUp(t, "ann@x.fr")
	bob := e.signUp(t, "bob@x.fr")
	annTok1, ann1, _ := e.svc.CreateSession(e.ctx, ann.ID, "198.51.100.1", "phone")
	e.clock.Advance(time.Minute)
	annTok2, ann2, _ := e.svc.CreateSession(e.ctx, ann.ID, "198.51.100.2", "laptop")
	e.clock.Advance(time.Minute)
	annTok3, ann3, _ := e.svc.CreateSession(e.ctx, ann.ID, "198.51.100.3", "tablet")
	bobTok, bobSess, _ := e.svc.CreateSession(e.ctx, bob.ID, "", "")

	list, err := e.svc.ListSessions(e.ctx, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(ids, []string{ann3.ID, ann2.ID, ann1.ID}) || list[0].UserAgent != "tablet" {
		t.Fatalf("ListSessions = %+v, want the three, latest first", list)
	}

	// Bob cannot sign Ann out, even knowing her session id.
	if err := e.svc.RevokeSession(e.ctx, bob.ID, ann1.ID); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("revoking another user's session: %v, want ErrNotFound", err)
	}
	if _, _, err := e.svc.SessionUser(e.ctx, annTok1); err != nil {
		t.Fatalf("Ann's session died: %v", err)
	}
	if err := e.svc.RevokeSession(e.ctx, ann.ID, ann1.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.SessionUser(e.ctx, annTok1); !errors.Is(err, account.ErrNoSession) {
		t.Fatalf("revoked session: %v, want ErrNoSession", err)
	}
	if err := e.svc.RevokeSession(e.ctx, ann.ID, ann1.ID); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("revoking twice: %v, want ErrNotFound", err)
	}

	if err := e.svc.RevokeOtherSessions(e.ctx, ann.ID, ann3.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.SessionUser(e.ctx, annTok2); !errors.Is(err, account.ErrNoSession) {
		t.Fatalf("other session: %v, want ErrNoSession", err)
	}
	if _, _, err := e.svc.SessionUser(e.ctx, annTok3); err != nil {
		t.Fatalf("kept session: %v", err)
	}
	if _, s, err := e.svc.SessionUser(e.ctx, bobTok); err != nil || s.ID != bobSess.ID {
		t.Fatalf("Bob's session: %v", err)
	}
	if got := e.actions(t, ann.ID); !slices.Equal(got, []string{"signup", "login", "login", "login", "session_revoke", "sessions_revoke_others"}) {
		t.Fatalf("audit %v", got)
	}
}

// A session used every twelve hours never goes idle, yet it ends at its
// maximum age from sign-in (30 days for a customer, 7 for staff, by
// default), and its stored expiry never reaches past that age.
func TestSessionMaxAge(t *testing.T) {
	t.Parallel()
	e := setup(t)
	svc := account.New(e.db, e.clock, e.mail, account.Options{SessionTTL: 24 * time.Hour, HashParams: fastParams})
	customer := e.signUp(t, "ann@x.fr")
	agent, err := svc.CreateUser(e.ctx, account.CreateUserInput{Email: "agent@x.fr", Role: account.RoleAgent,
		Password: "correct horse", Language: "fr", Name: "Agent"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		user   account.User
		maxAge time.Duration
	}{{customer, 30 * 24 * time.Hour}, {agent, 7 * 24 * time.Hour}} {
		t.Run(tt.user.Role, func(t *testing.T) {
			start := e.clock.Now()
			token, sess, err := svc.CreateSession(e.ctx, tt.user.ID, "", "")
			if err != nil {
				t.Fatal(err)
			}
			end := start.Add(tt.maxAge)
			for at := start; at.Before(end); at = at.Add(12 * time.Hour) {
				e.clock.Set(at)
				if _, _, err := svc.SessionUser(e.ctx, token); err != nil {
					t.Fatalf("used %s after sign-in: %v", at.Sub(start), err)
				}
				if _, expires := e.lastSeen(t, sess.ID); expires.After(end) {
					t.Fatalf("used %s after sign-in: stored expiry %s after sign-in, past the maximum age",
						at.Sub(start), expires.Sub(start))
				}
			}
			e.clock.Set(end.Add(-time.Second))
			if u, _, err := svc.SessionUser(e.ctx, token); err != nil || u.ID != tt.user.ID {
				t.Fatalf("a second before the maximum age: %v", err)
			}
			e.clock.Set(end)
			if _, _, err := svc.SessionUser(e.ctx, token); !errors.Is(err, account.ErrSessionExpired) {
				t.Fatalf("at the maximum age: %v, want ErrSessionExpired", err)
			}
			// A new sign-in starts a new one.
			if token, _, err = svc.CreateSession(e.ctx, tt.user.ID, "", ""); err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.SessionUser(e.ctx, token); err != nil {
				t.Fatalf("signed in again: %v", err)
			}
		})
	}
}

// A session opened before the maximum age existed (its stored expiry
// beyond it) is refused at that age all the same.
func TestSessionMaxAgeOfOlderSessions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "ann@x.fr")
	token, sess, err := e.svc.CreateSession(e.ctx, u.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	far := t0.Add(365 * 24 * time.Hour)
	if _, err := e.db.Exec(e.ctx, `UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id = $3`,
		t0.Add(30*24*time.Hour-time.Minute), far, sess.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(t0.Add(30 * 24 * time.Hour))
	if _, _, err := e.svc.SessionUser(e.ctx, token); !errors.Is(err, account.ErrSessionExpired) {
		t.Fatalf("a 30-day-old session: %v, want ErrSessionExpired", err)
	}
}
