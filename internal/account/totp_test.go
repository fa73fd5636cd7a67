package account_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"comptoir/internal/account"
)

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Enrolment: a pending secret, confirmed by a code from the app, gives
// recovery codes; codes then work once each, within a step either way, and
// recovery codes work once.
func TestTOTPEnrolmentAndVerification(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "agent@x.fr")
	if on, _ := e.svc.TOTPEnabled(e.ctx, u.ID); on {
		t.Fatal("enabled before enrolment")
	}
	if err := e.svc.VerifySecondFactor(e.ctx, u.ID, "123456"); !errors.Is(err, account.ErrNoTOTP) {
		t.Fatalf("verify without TOTP: %v", err)
	}
	en, err := e.svc.BeginTOTP(e.ctx, u.ID, "Comptoir Test")
	if err != nil {
		t.Fatal(err)
	}
	uri, _ := url.Parse(en.URI)
	if uri.Scheme != "otpauth" || uri.Host != "totp" || uri.Query().Get("secret") != en.Secret || !strings.Contains(uri.Path, "agent@x.fr") {
		t.Fatalf("enrolment %+v", en)
	}
	if _, err := e.svc.ConfirmTOTP(e.ctx, u.ID, "000000", ""); !errors.Is(err, account.ErrBadCode) {
		t.Fatalf("confirm with a wrong code: %v", err)
	}
	if on, _ := e.svc.TOTPEnabled(e.ctx, u.ID); on {
		t.Fatal("enabled by a wrong code")
	}
	now := e.clock.Now()
	recovery, err := e.svc.ConfirmTOTP(e.ctx, u.ID, code(t, en.Secret, now), "")
	if err != nil || len(recovery) != 10 {
		t.Fatalf("confirm: %v %v", recovery, err)
	}
	if on, _ := e.svc.TOTPEnabled(e.ctx, u.ID); !on {
		t.Fatal("not enabled after confirmation")
	}
	if _, err := e.svc.BeginTOTP(e.ctx, u.ID, "x"); !errors.Is(err, account.ErrTOTPEnabled) {
		t.Fatalf("begin again: %v", err)
	}
	// The code used to confirm cannot be used again (replay).
	if err := e.svc.VerifySecondFactor(e.ctx, u.ID, code(t, en.Secret, now)); !errors.Is(err, account.ErrBadCode) {
		t.Fatalf("replayed code: %v", err)
	}
	steps := []struct {
		advance time.Duration
		at      time.Duration // the app's clock relative to the server's
		ok      bool
	}{
		{time.Minute, 0, true},
		{time.Minute, -30 * time.Second, true},  // app a step behind
		{time.Minute, 30 * time.Second, true},   // a step ahead
		{time.Minute, -90 * time.Second, false}, // three steps behind
		{time.Minute, 5 * time.Minute, false},
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		err := e.svc.VerifySecondFactor(e.ctx, u.ID, code(t, en.Secret, e.clock.Now().Add(s.at)))
		if (err == nil) != s.ok {
			t.Errorf("step %d: %v, want ok=%v", i, err, s.ok)
		}
	}
	// A recovery code works once, with spaces or capitals.
	rc := strings.ToUpper(recovery[3][:5]) + " " + recovery[3][5:]
	if err := e.svc.VerifySecondFactor(e.ctx, u.ID, rc); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	if err := e.svc.VerifySecondFactor(e.ctx, u.ID, recovery[3]); !errors.Is(err, account.ErrBadCode) {
		t.Fatalf("recovery code twice: %v", err)
	}
	if err := e.svc.VerifySecondFactor(e.ctx, u.ID, ""); !errors.Is(err, account.ErrBadCode) {
		t.Fatalf("empty code: %v", err)
	}
	// Stored hashed: no recovery code, and not the secret, in clear in the
	// recovery table.
	var n int
	e.db.Read.QueryRow(`SELECT COUNT(*) FROM totp_recovery_codes WHERE code_hash = $1`, recovery[0]).Scan(&n)
	if n != 0 {
		t.Fatal("recovery code stored in clear")
	}
}
