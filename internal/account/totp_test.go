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

// A sign-in waiting for its second factor was begun with the password of
// then: resetting or changing the password voids it, so whoever knew the
// old one cannot finish it with a code (or a recovery code) afterwards.
// Signing out the other devices voids it as well.
func TestPasswordResetOrChangeVoidsPendingSecondFactor(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"reset", "change", "sign out others"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			u := e.signUp(t, "agent@x.fr")
			other := e.signUp(t, "other@x.fr")
			secret, recovery := enableTOTP(t, e, u.ID)
			otherSecret, _ := enableTOTP(t, e, other.ID)
			pending, err := e.svc.StartSignInChallenge(e.ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			othersPending, err := e.svc.StartSignInChallenge(e.ctx, other.ID)
			if err != nil {
				t.Fatal(err)
			}
			switch end {
			case "reset":
				if err := e.svc.ResetPassword(e.ctx, e.requestReset(t, "agent@x.fr", ""), "a brand new password"); err != nil {
					t.Fatal(err)
				}
			case "change":
				if err := e.svc.ChangePassword(e.ctx, u.ID, "correct horse", "a brand new password", ""); err != nil {
					t.Fatal(err)
				}
			case "sign out others":
				if err := e.svc.RevokeOtherSessions(e.ctx, u.ID, ""); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Advance(time.Minute) // a fresh code
			if _, err := e.svc.SignInChallengeUser(e.ctx, pending); !errors.Is(err, account.ErrChallengeGone) {
				t.Fatalf("challenge after the %s: %v, want ErrChallengeGone", end, err)
			}
			for _, c := range []string{code(t, secret, e.clock.Now()), recovery[0]} {
				if _, err := e.svc.AnswerSignInChallenge(e.ctx, pending, c); !errors.Is(err, account.ErrChallengeGone) {
					t.Fatalf("answered after the %s: %v, want ErrChallengeGone", end, err)
				}
			}
			// Another user's pending sign-in is not theirs to void.
			if got, err := e.svc.AnswerSignInChallenge(e.ctx, othersPending, code(t, otherSecret, e.clock.Now())); err != nil || got.ID != other.ID {
				t.Fatalf("another user's sign-in: %v %v", got.ID, err)
			}
		})
	}
}

// enableTOTP turns a second factor on for userID and returns its secret
// and recovery codes.
func enableTOTP(t *testing.T, e *env, userID string) (string, []string) {
	t.Helper()
	en, err := e.svc.BeginTOTP(e.ctx, userID, "Comptoir Test")
	if err != nil {
		t.Fatal(err)
	}
	recovery, err := e.svc.ConfirmTOTP(e.ctx, userID, code(t, en.Secret, e.clock.Now()), "")
	if err != nil {
		t.Fatal(err)
	}
	return en.Secret, recovery
}
