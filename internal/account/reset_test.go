package account_test

import (
	"database/sql"
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/jobs"
	"comptoir/internal/mail"
)

var resetLink = regexp.MustCompile(regexp.QuoteMeta(baseURL) + `/reset/([A-Za-z0-9_-]{43})\b`)

// requestReset asks for a reset of email and returns the token from the
// link in the email.
func (e *env) requestReset(t *testing.T, email, lang string) string {
	t.Helper()
	before := len(e.mail.messages())
	if err := e.svc.RequestPasswordReset(e.ctx, email, lang); err != nil {
		t.Fatal(err)
	}
	msgs := e.mail.messages()
	if len(msgs) != before+1 {
		t.Fatalf("%d emails enqueued, want 1", len(msgs)-before)
	}
	m := resetLink.FindStringSubmatch(msgs[len(msgs)-1].Text)
	if m == nil {
		t.Fatalf("no reset link in %q", msgs[len(msgs)-1].Text)
	}
	return m[1]
}

func (e *env) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := e.db.Read.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRequestPasswordResetEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, lang, wantLang, wantSubject string
	}{
		{"in the account's language", "", "fr", "Réinitialisation de votre mot de passe"},
		{"in the language asked for", "EN", "en", "Reset your password"},
		{"unsupported language falls back to the account's", "de", "fr", "Réinitialisation de votre mot de passe"},
	}
	e := setup(t)
	u := e.signUp(t, "Ann@X.fr")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := e.requestReset(t, "ann@x.FR", tt.lang)
			m := e.mail.messages()[i]
			if m.Kind != "password_reset" || m.To != "Ann@X.fr" || m.ToName != "Ann Dupont" || m.UserID != u.ID ||
				m.Lang != tt.wantLang || m.Subject != tt.wantSubject || !strings.Contains(m.Text, "60 minutes") {
				t.Fatalf("message %+v", m)
			}
			if found := e.search(t, token); len(found) > 0 {
				t.Fatalf("the reset token is stored in %v", found)
			}
			if got := e.actions(t, u.ID); len(got) != i+2 || got[i+1] != "password_reset_request" {
				t.Fatalf("audit %v", got)
			}
			// Whoever knows the email can ask: the request is not the user's act.
			if rows, _ := audit.ForSubject(e.ctx, e.db.Read, "user", u.ID); rows[len(rows)-1].ActorRole != "anonymous" || rows[len(rows)-1].ActorID != "" {
				t.Fatalf("reset request audited as %+v", rows[len(rows)-1])
			}
		})
	}
}

func TestRequestPasswordResetUnknownEmail(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.signUp(t, "ann@x.fr")
	for _, email := range []string{"bob@x.fr", "", "not an email", "ann\x00@x.fr", "ann\xff@x.fr"} {
		if err := e.svc.RequestPasswordReset(e.ctx, email, "fr"); err != nil {
			t.Fatalf("RequestPasswordReset(%q) = %v, want nil", email, err)
		}
	}
	if n := len(e.mail.messages()); n != 0 {
		t.Fatalf("%d emails enqueued for unknown addresses", n)
	}
	if n := e.count(t, "password_resets"); n != 0 {
		t.Fatalf("%d reset links for unknown addresses", n)
	}
}

// The email is enqueued in the transaction that stores the link: the mailer
// sees the uncommitted link, and a mailer failure leaves no link behind.
func TestRequestPasswordResetEnqueuesInTransaction(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "ann@x.fr")
	seen := -1
	e.mail.inTx = func(tx *sql.Tx) {
		if err := tx.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM password_resets WHERE user_id = $1`, u.ID).Scan(&seen); err != nil {
			t.Error(err)
		}
	}
	e.mail.err = errors.New("outbox is down")
	if err := e.svc.RequestPasswordReset(e.ctx, "ann@x.fr", ""); err == nil || !strings.Contains(err.Error(), "outbox is down") {
		t.Fatalf("err = %v, want the mailer's", err)
	}
	if seen != 1 {
		t.Fatalf("the mailer's transaction saw %d reset links, want 1 (the one being created)", seen)
	}
	if n := e.count(t, "password_resets"); n != 0 {
		t.Fatalf("%d reset links survived the mailer's failure", n)
	}
	if got := e.actions(t, u.ID); !slices.Equal(got, []string{"signup"}) {
		t.Fatalf("audit %v", got)
	}
}

func TestResetPassword(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "ann@x.fr")
	sessionTok, _, _ := e.svc.CreateSession(e.ctx, u.ID, "", "")
	apiTok, _, _ := e.svc.CreateToken(e.ctx, u.ID, "script")
	older := e.requestReset(t, "ann@x.fr", "")
	token := e.requestReset(t, "ann@x.fr", "")

	// A weak password is refused without using the link up.
	if err := e.svc.ResetPassword(e.ctx, token, "short"); !maps.Equal(fieldsOf(t, err), map[string]string{"password": "password_too_short"}) {
		t.Fatalf("weak password: %v", err)
	}
	for _, bad := range []string{"", "nope", token + "x", strings.Repeat("a", 1000)} {
		if err := e.svc.ResetPassword(e.ctx, bad, "a brand new password"); !errors.Is(err, account.ErrResetInvalid) {
			t.Errorf("ResetPassword(%.20q) = %v, want ErrResetInvalid", bad, err)
		}
	}

	if err := e.svc.ResetPassword(e.ctx, token, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(e.ctx, "ann@x.fr", "a brand new password"); err != nil {
		t.Fatalf("new password refused: %v", err)
	}
	if _, err := e.svc.Authenticate(e.ctx, "ann@x.fr", "correct horse"); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Fatalf("old password: %v", err)
	}
	if _, _, err := e.svc.SessionUser(e.ctx, sessionTok); !errors.Is(err, account.ErrNoSession) {
		t.Fatalf("session after reset: %v, want ErrNoSession", err)
	}
	// API tokens are deliberate, named credentials: a reset leaves them.
	if _, _, err := e.svc.TokenUser(e.ctx, apiTok); err != nil {
		t.Fatalf("API token after reset: %v", err)
	}
	// Single use, and the older link sent before is void too.
	for name, tok := range map[string]string{"same link": token, "older link": older} {
		if err := e.svc.ResetPassword(e.ctx, tok, "yet another password"); !errors.Is(err, account.ErrResetInvalid) {
			t.Fatalf("%s again: %v, want ErrResetInvalid", name, err)
		}
	}
	if got := e.actions(t, u.ID); !slices.Equal(got, []string{"signup", "login", "token_create", "password_reset_request", "password_reset_request", "password_reset"}) {
		t.Fatalf("audit %v", got)
	}
}

func TestResetPasswordExpires(t *testing.T) {
	t.Parallel()
	e := setup(t) // ResetTTL: default 1 hour
	e.signUp(t, "ann@x.fr")
	early := e.requestReset(t, "ann@x.fr", "")
	late := e.requestReset(t, "ann@x.fr", "")
	e.clock.Advance(time.Hour - time.Second)
	if err := e.svc.ResetPassword(e.ctx, early, "a brand new password"); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	e.signUp(t, "bob@x.fr")
	bob := e.requestReset(t, "bob@x.fr", "")
	e.clock.Advance(time.Hour)
	if err := e.svc.ResetPassword(e.ctx, bob, "a brand new password"); !errors.Is(err, account.ErrResetInvalid) {
		t.Fatalf("at expiry: %v, want ErrResetInvalid", err)
	}
	if err := e.svc.ResetPassword(e.ctx, late, "a brand new password"); !errors.Is(err, account.ErrResetInvalid) {
		t.Fatalf("voided link: %v, want ErrResetInvalid", err)
	}
	if err := e.svc.PruneExpired(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "password_resets"); n != 0 {
		t.Fatalf("%d reset links left after pruning", n)
	}
}

// Two clicks on one link at the same time: exactly one sets the password.
func TestResetPasswordConcurrentUse(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.signUp(t, "ann@x.fr")
	token := e.requestReset(t, "ann@x.fr", "")
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() { errs[i] = e.svc.ResetPassword(e.ctx, token, "new password number "+string(rune('a'+i))) })
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("clicks %d and %d both reset the password", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, account.ErrResetInvalid):
			t.Fatalf("click %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no click reset the password")
	}
	if _, err := e.svc.Authenticate(e.ctx, "ann@x.fr", "new password number "+string(rune('a'+won))); err != nil {
		t.Fatalf("the winner's password does not work: %v", err)
	}
}

func TestRequestPasswordResetNeedsConfiguration(t *testing.T) {
	t.Parallel()
	e := setup(t)
	svc := account.New(e.db, e.clock, nil, account.Options{HashParams: fastParams})
	if err := svc.RequestPasswordReset(e.ctx, "ann@x.fr", ""); err == nil {
		t.Fatal("a reset without a mailer and base URL was accepted")
	}
}

// With the real outbox: the message passes its checks and is stored, with
// its sending job, when the link is.
func TestRequestPasswordResetWithRealOutbox(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ins, err := jobs.New(e.db, jobs.Config{}) // insert-only River client
	if err != nil {
		t.Fatal(err)
	}
	outbox, err := mail.NewOutbox(e.db, ins, e.clock, mail.Address{Name: "Comptoir", Email: "noreply@shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	svc := account.New(e.db, e.clock, outbox, account.Options{BaseURL: baseURL, HashParams: fastParams})
	u := e.signUp(t, "Zoé@Example.fr")
	if err := svc.RequestPasswordReset(e.ctx, "zoé@example.fr", "en"); err != nil {
		t.Fatal(err)
	}
	stored, err := outbox.List(e.ctx, mail.Filter{})
	if err != nil || len(stored) != 1 {
		t.Fatalf("outbox holds %+v, %v", stored, err)
	}
	m := stored[0]
	if m.Kind != "password_reset" || m.To != "Zoé@Example.fr" || m.UserID != u.ID || m.Lang != "en" || !resetLink.MatchString(m.Text) {
		t.Fatalf("stored %+v", m)
	}
	if n := e.count(t, "password_resets"); n != 1 {
		t.Fatalf("%d reset links", n)
	}
}
