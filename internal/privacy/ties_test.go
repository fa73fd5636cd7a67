package privacy_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/db"
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

// The consents of orders placed in the same instant come out in the order
// of their orders' ids (the consent's key), whatever order the engine finds
// them in. The usual plans find them by order id already, so the export is
// read here on a connection told to find rows otherwise: PostgreSQL reads
// tables in the order rows were stored (no index scans), and these were
// stored last id first. Before, consents were ordered by at alone and came
// out in the order found. (SQLite finds them through the list of the
// customer's order ids whatever it is told, reverse_unordered_selects
// included: there the test passes either way.)
func TestExportBreaksConsentTiesByID(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	d := h.App.DB
	u, err := h.App.Accounts.SignUp(ctx, account.SignUpInput{Email: "tie-consent@example.org", Password: apptest.Password, Name: "Tie",
		Language: "en", Country: "FR", Region: "Bretagne", City: "Brest"})
	if err != nil {
		t.Fatal(err)
	}
	at := h.Clock.Now().UTC().Add(time.Hour).Truncate(time.Second)
	for _, n := range []string{"3", "1", "2"} {
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO orders (id, customer_id, status, currency, total, paid, payment_method,
			policy_version, lang, placed_at, paid_at, updated_at) VALUES ($1, $2, 'paid', 'EUR', 100, 100, 'balance', 'default@1', 'en', $3, $3, $3)`,
			"ord_tie"+n, u.ID, at); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO order_consents (order_id, required, immediate_performance, withdrawal_waiver,
			wording_version, lang, immediate_text, waiver_text, policy_version, at, ip, user_agent)
			VALUES ($1, false, false, false, 'v1', 'en', '', '', 'default@1', $2, '', $3)`, "ord_tie"+n, at, "agent "+n); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := d.Read.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var q db.Querier = conn
	if d.Engine == db.Postgres {
		tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		for _, off := range []string{"enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"} {
			if _, err := tx.ExecContext(ctx, `SET LOCAL `+off+` = off`); err != nil {
				t.Fatal(err)
			}
		}
		q = tx
	} else {
		if _, err := conn.ExecContext(ctx, `PRAGMA reverse_unordered_selects = 1`); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(ctx, `PRAGMA reverse_unordered_selects = 0`)
	}
	e, err := h.App.Privacy.ReadFrom(ctx, q, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var agents []any
	for _, c := range e.Consents {
		agents = append(agents, c["user_agent"])
	}
	if len(agents) != 3 || agents[0] != "agent 1" || agents[1] != "agent 2" || agents[2] != "agent 3" {
		t.Errorf("consents of one instant: %v, want agent 1, 2, 3 (by order id)", agents)
	}
}
