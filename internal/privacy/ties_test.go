package privacy_test

import (
	"context"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// Sessions and API tokens opened in the same instant come out of the
// export in the order of their ids, whatever order the engine finds them
// in: two exports of the same account are the same file. Before, they were
// ordered by created_at alone, and these, stored last id first, came out
// in the order they were stored.
func TestExportBreaksTiesByID(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: "tie@example.org", Password: apptest.Password, Name: "Tie",
		Language: "en", Country: "FR", Region: "Bretagne", City: "Brest"})
	if err != nil {
		t.Fatal(err)
	}
	at := h.Clock.Now().UTC().Add(time.Hour).Truncate(time.Second)
	for _, n := range []string{"3", "1", "2"} {
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, ip, user_agent)
			VALUES ($1, $2, $3, $3, $4, '', $5)`, "tie-session-"+n, u.ID, at, at.Add(24*time.Hour), "agent "+n); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO api_tokens (id, user_id, name, token_hash, created_at)
			VALUES ($1, $2, $3, $4, $5)`, "tok_tie"+n, u.ID, "token "+n, "tie-hash-"+n, at); err != nil {
			t.Fatal(err)
		}
	}
	e, err := h.App.Privacy.Export(ctx, u.ID, admin)
	if err != nil {
		t.Fatal(err)
	}
	var agents, tokens []any
	for _, s := range e.Sessions {
		agents = append(agents, s["user_agent"])
	}
	for _, k := range e.APITokens {
		tokens = append(tokens, k["name"])
	}
	want := func(got []any, w ...any) bool {
		if len(got) < len(w) {
			return false
		}
		got = got[len(got)-len(w):] // the sign-up's own session, if any, is older
		for i := range w {
			if got[i] != w[i] {
				return false
			}
		}
		return true
	}
	if !want(agents, "agent 1", "agent 2", "agent 3") {
		t.Errorf("sessions of one instant: %v, want agent 1, 2, 3 (by id)", agents)
	}
	if !want(tokens, "token 1", "token 2", "token 3") {
		t.Errorf("API tokens of one instant: %v, want token 1, 2, 3 (by id)", tokens)
	}
}
