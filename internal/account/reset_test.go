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
	"comptoir/internal/db"
	"comptoir/internal/jobs"
	"comptoir/internal/mail"
)

var resetLink = regexp.MustCompile(regexp.QuoteMeta(baseURL) + `/reset/([A-Za-z0-9_-]{43})\b`)

// requestReset asks for a reset of email, runs the job it queued, and
// returns the token from the link in the email.
func (e *env) requestReset(t *testing.T, email, lang string) string {
	t.Helper()
	before := len(e.mail.messages())
	if err := e.svc.RequestPasswordReset(e.ctx, email, lang); err != nil {
		t.Fatal(err)
	}
	if n := e.runResetJobs(t); n != 1 {
		t.Fatalf("%d reset jobs queued, want 1", n)
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

var resetJobKind = account.ResetRequestArgs{}.Kind()

// queuedResets returns the request ids of the reset jobs still to run.
func (e *env) queuedResets(t *testing.T) []string {
	t.Helper()
	ids, err := jobs.StillToRun(e.ctx, e.db, resetJobKind, "request_id")
	if err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(ids))
}

// runResetJobs does the work of the queued reset jobs, as River's worker
// would, then removes them, and tells how many there were.
func (e *env) runResetJobs(t *testing.T) int {
	t.Helper()
	ids := e.queuedResets(t)
	for _, id := range ids {
		if err := e.svc.SendPasswordReset(e.ctx, id); err != nil {
			t.Fatalf("reset job %s: %v", id, err)
		}
	}
	if _, err := e.db.Exec(e.ctx, `DELETE FROM river_job WHERE kind = $1`, resetJobKind); err != nil {
		t.Fatal(err)
	}
	return len(ids)
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
		// Named as the other mails name it (Options.StoreName).
		{"in the account's language", "", "fr", "Réinitialisation de votre mot de passe Comptoir"},
		{"in the language asked for", "EN", "en", "Reset your Comptoir password"},
		{"unsupported language falls back to the account's", "de", "fr", "Réinitialisation de votre mot de passe Comptoir"},
	}
	e := setup(t)
	u := e.signUp(t, "Ann@X.fr")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := e.requestReset(t, "ann@x.FR", tt.lang)
			m := e.mail.messages()[i]
			if m.Kind != "password_reset" || m.To != "Ann@X.fr" || m.ToName != "" || strings.Contains(m.Text, "Ann Dupont") || m.UserID != u.ID ||
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
	for _, email := range []string{"bob@x.fr", "", "not an email", "ann\x00@x.fr", "ann\xff@x.fr", strings.Repeat("a", 300) + "@x.fr"} {
		if err := e.svc.RequestPasswordReset(e.ctx, email, "fr"); err != nil {
			t.Fatalf("RequestPasswordReset(%q) = %v, want nil", email, err)
		}
	}
	// What no account can have (empty, holding a NUL, too long) is
	// answered at once; anything else is queued as an account's address
	// would be (the invalid byte is a U+FFFD once lower-cased).
	if n := e.runResetJobs(t); n != 3 {
		t.Fatalf("%d reset jobs queued, want 3 (bob@x.fr, not an email, ann\\xff@x.fr)", n)
	}
	if n := len(e.mail.messages()); n != 0 {
		t.Fatalf("%d emails enqueued for unknown addresses", n)
	}
	if n := e.count(t, "password_resets"); n != 0 {
		t.Fatalf("%d reset links for unknown addresses", n)
	}
	if n := e.count(t, "password_reset_requests"); n != 0 {
		t.Fatalf("%d reset requests left after their jobs ran", n)
	}
}

// The form's answer must not tell whether an account has the address, by
// what it says nor by how long it takes: for an account and for none, the
// request does the same work (it stores the request and queues one job of
// the same kind) and nothing else; the link, the email and the audit entry
// come from the job. The job of a known address then mails once, even run
// again; that of an unknown one does nothing.
func TestResetRequestDoesTheSameWorkForAnyAddress(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "ann@x.fr")
	for _, email := range []string{"Ann@X.fr", "bob@x.fr"} {
		if err := e.svc.RequestPasswordReset(e.ctx, email, "en"); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.count(t, "password_resets"); n != 0 {
		t.Fatalf("the request wrote %d reset links itself", n)
	}
	if n := len(e.mail.messages()); n != 0 {
		t.Fatalf("the request enqueued %d emails itself", n)
	}
	if got := e.actions(t, u.ID); !slices.Equal(got, []string{"signup"}) {
		t.Fatalf("the request audited %v itself", got)
	}
	kinds, err := db.Strings(e.ctx, e.db.Read, `SELECT kind FROM river_job ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kinds, []string{resetJobKind, resetJobKind}) {
		t.Fatalf("queued jobs %v, want one %s per request", kinds, resetJobKind)
	}
	if n := e.count(t, "password_reset_requests"); n != 2 {
		t.Fatalf("%d requests stored, want 2", n)
	}
	// River keeps a job's arguments after it ran: they hold no address.
	if found := e.search(t, "x.fr"); !slices.Equal(slices.Sorted(slices.Values(found)), []string{"password_reset_requests.email_key", "users.email"}) {
		t.Fatalf("the address is stored in %v", found)
	}

	ids := e.queuedResets(t)
	for range 2 { // the second run: a node died before River recorded the first
		for _, id := range ids {
			if err := e.svc.SendPasswordReset(e.ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	msgs := e.mail.messages()
	if len(msgs) != 1 || msgs[0].To != "ann@x.fr" || msgs[0].Lang != "en" || !resetLink.MatchString(msgs[0].Text) {
		t.Fatalf("mails after the jobs ran: %+v, want one reset link to ann@x.fr", msgs)
	}
	if n := e.count(t, "password_resets"); n != 1 {
		t.Fatalf("%d reset links, want 1", n)
	}
	if n := e.count(t, "password_reset_requests"); n != 0 {
		t.Fatalf("%d requests left after their jobs ran", n)
	}
	if got := e.actions(t, u.ID); !slices.Equal(got, []string{"signup", "password_reset_request"}) {
		t.Fatalf("audit %v", got)
	}
}

// A request whose job ran late (retried, or the workers were stopped) by
// a link's lifetime sends nothing, and pruning removes requests never run.
func TestResetRequestTooOldIsDropped(t *testing.T) {
	t.Parallel()
	e := setup(t) // ResetTTL: default 1 hour
	e.signUp(t, "ann@x.fr")
	for range 2 {
		if err := e.svc.RequestPasswordReset(e.ctx, "ann@x.fr", ""); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Hour)
	if err := e.svc.PruneExpired(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "password_reset_requests"); n != 0 {
		t.Fatalf("%d requests left after pruning", n)
	}
	if err := e.svc.RequestPasswordReset(e.ctx, "ann@x.fr", ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	e.runResetJobs(t)
	if n := len(e.mail.messages()); n != 0 {
		t.Fatalf("%d emails for requests an hour old", n)
	}
}

// An erasure forgets the reset requests of the account's address not
// handled yet: their job then finds nothing to send.
func TestEraseForgetsResetRequests(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "Ann@x.fr")
	for _, email := range []string{"ann@X.fr", "bob@x.fr"} {
		if err := e.svc.RequestPasswordReset(e.ctx, email, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.Tx(e.ctx, func(tx *sql.Tx) error {
		_, err := account.EraseTx(e.ctx, tx, u.ID, e.clock.Now(), nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if found := e.search(t, "ann@x.fr"); len(found) > 0 {
		t.Fatalf("the erased address is still in %v", found)
	}
	if n := e.count(t, "password_reset_requests"); n != 1 {
		t.Fatalf("%d requests left, want bob's only", n)
	}
	e.runResetJobs(t)
	if n := len(e.mail.messages()); n != 0 {
		t.Fatalf("%d emails after the erasure", n)
	}
}

// The email is enqueued in the transaction that stores the link: the mailer
// sees the uncommitted link, and a mailer failure leaves no link behind and
// the request in place, for the job's next attempt.
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
	if err := e.svc.RequestPasswordReset(e.ctx, "ann@x.fr", ""); err != nil {
		t.Fatal(err)
	}
	ids := e.queuedResets(t)
	if len(ids) != 1 {
		t.Fatalf("%d reset jobs queued, want 1", len(ids))
	}
	if err := e.svc.SendPasswordReset(e.ctx, ids[0]); err == nil || !strings.Contains(err.Error(), "outbox is down") {
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
	e.mail.mu.Lock()
	e.mail.err, e.mail.inTx = nil, nil
	e.mail.mu.Unlock()
	if err := e.svc.SendPasswordReset(e.ctx, ids[0]); err != nil {
		t.Fatalf("the job's next attempt: %v", err)
	}
	if n := len(e.mail.messages()); n != 1 {
		t.Fatalf("%d emails after the next attempt, want 1", n)
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
	// The first reset proves the address: a token made before it may be
	// an impostor's, who signed up with the address, and is revoked.
	if _, _, err := e.svc.TokenUser(e.ctx, apiTok); !errors.Is(err, account.ErrInvalidToken) {
		t.Fatalf("API token after the first reset: %v, want ErrInvalidToken", err)
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
	// API tokens are deliberate, named credentials: a later reset, of an
	// address proven already, leaves them.
	apiTok, _, _ = e.svc.CreateToken(e.ctx, u.ID, "script")
	if err := e.svc.ResetPassword(e.ctx, e.requestReset(t, "ann@x.fr", ""), "a third new password"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.TokenUser(e.ctx, apiTok); err != nil {
		t.Fatalf("API token after a later reset: %v", err)
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
	svc := account.New(e.db, e.clock, outbox, account.Options{BaseURL: baseURL, HashParams: fastParams, Jobs: ins})
	u := e.signUp(t, "Zoé@Example.fr")
	if err := svc.RequestPasswordReset(e.ctx, "zoé@example.fr", "en"); err != nil {
		t.Fatal(err)
	}
	for _, id := range e.queuedResets(t) {
		if err := svc.SendPasswordReset(e.ctx, id); err != nil {
			t.Fatal(err)
		}
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
