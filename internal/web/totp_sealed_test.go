package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/secretbox"
	"comptoir/internal/testlog"
)

// The secret shown at enrolment is not what the database holds; when the
// stored secret does not open with the node's key (a node given another
// key), the code step refuses the sign-in with a server error whose log
// names the reason and the user but not the secret, and starts no
// session; a recovery code still signs in.
func TestTOTPSealedSecretAndWrongKeyAtSignIn(t *testing.T) {
	logs := &testlog.Buffer{}
	h := apptest.StartLogged(t, nil, logs)
	agentUser, agent := h.User(t, account.RoleAgent, "agent@example.fr")
	m := totpSecretRE.FindStringSubmatch(agent.PostForm("/account/totp", nil).Body)
	if m == nil {
		t.Fatal("no secret shown at enrolment")
	}
	secret := m[1]
	done := agent.PostForm("/account/totp/confirm", url.Values{"code": {totpCode(t, h, secret)}})
	codes := recoveryCodeRE.FindAllStringSubmatch(done.Body, -1)
	if done.Status != http.StatusOK || len(codes) != 10 {
		t.Fatalf("confirm: %d", done.Status)
	}
	var stored string
	if err := h.App.DB.Read.QueryRow(`SELECT secret FROM user_totp WHERE user_id = $1`, agentUser.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "v1:") || strings.Contains(stored, secret) {
		t.Fatalf("the database holds %q", stored)
	}

	// The same secret, sealed with a key this node does not have.
	box, err := secretbox.New(secretbox.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.DB.Write.ExecContext(context.Background(), `UPDATE user_totp SET secret = $2 WHERE user_id = $1`,
		agentUser.ID, box.Seal([]byte(secret), []byte("user_totp:"+agentUser.ID))); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(time.Minute)
	c := h.NewClient(t)
	if r := c.PostForm("/signin", url.Values{"email": {"agent@example.fr"}, "password": {apptest.Password}}); !strings.HasPrefix(r.Location, "/signin/verify") {
		t.Fatalf("password step: %d %q", r.Status, r.Location)
	}
	if r := c.PostForm("/signin/verify", url.Values{"code": {totpCode(t, h, secret)}, "next": {"/console"}}); r.Status != http.StatusInternalServerError {
		t.Fatalf("code with an unreadable secret: %d %q", r.Status, r.Location)
	}
	if r := c.Get("/console"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/signin") {
		t.Fatalf("console after the refused code: %d %q", r.Status, r.Location)
	}
	l := logs.String()
	if !strings.Contains(l, "does not open with this node's secret key") || !strings.Contains(l, agentUser.ID) {
		t.Fatalf("the log does not say why: %s", l)
	}
	if strings.Contains(l, secret) {
		t.Fatal("the secret reached the log")
	}
	if r := c.PostForm("/signin/verify", url.Values{"code": {codes[0][1]}, "next": {"/console"}}); r.Status != http.StatusSeeOther || r.Location != "/console" {
		t.Fatalf("recovery code: %d %q", r.Status, r.Location)
	}
}
