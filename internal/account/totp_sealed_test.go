package account_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/secretbox"
)

// storedSecret is the user_totp.secret column as a copy of the database
// would show it.
func (e *env) storedSecret(t *testing.T, userID string) string {
	t.Helper()
	var s string
	if err := e.db.Read.QueryRowContext(e.ctx, `SELECT secret FROM user_totp WHERE user_id = $1`, userID).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// enrol sets up and confirms a second factor for u; it returns the base32
// secret and the recovery codes.
func (e *env) enrol(t *testing.T, svc *account.Service, userID string) (string, []string) {
	t.Helper()
	en, err := svc.BeginTOTP(e.ctx, userID, "Comptoir Test")
	if err != nil {
		t.Fatal(err)
	}
	recovery, err := svc.ConfirmTOTP(e.ctx, userID, code(t, en.Secret, e.clock.Now()), "")
	if err != nil {
		t.Fatal(err)
	}
	return en.Secret, recovery
}

// insertClearTOTP writes a confirmed second factor the way a version before
// sealing did: the base32 secret itself.
func (e *env) insertClearTOTP(t *testing.T, userID, secret string) {
	t.Helper()
	if _, err := e.db.Write.ExecContext(e.ctx, `INSERT INTO user_totp (user_id, secret, created_at, confirmed_at) VALUES ($1, $2, $3, $3)`,
		userID, secret, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
}

// The secret reaches the database sealed, pending and confirmed, and is
// bound to its row: the value copied into another user's row does not open
// there.
func TestTOTPSecretSealedAtRest(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "agent@x.fr")
	en, err := e.svc.BeginTOTP(e.ctx, u.ID, "Comptoir Test")
	if err != nil {
		t.Fatal(err)
	}
	pending := e.storedSecret(t, u.ID)
	if !strings.HasPrefix(pending, "v1:") || strings.Contains(pending, en.Secret) {
		t.Fatalf("pending secret stored as %q", pending)
	}
	if _, err := e.svc.ConfirmTOTP(e.ctx, u.ID, code(t, en.Secret, e.clock.Now()), ""); err != nil {
		t.Fatal(err)
	}
	stored := e.storedSecret(t, u.ID)
	if stored != pending {
		t.Fatalf("confirmation rewrote the secret: %q", stored)
	}
	if plain, err := e.secrets.Open(stored, []byte("user_totp:"+u.ID)); err != nil || string(plain) != en.Secret {
		t.Fatalf("the stored value does not open to the secret: %v", err)
	}
	e.clock.Advance(time.Minute)
	if err := e.svc.VerifySecondFactor(e.ctx, u.ID, code(t, en.Secret, e.clock.Now())); err != nil {
		t.Fatalf("code after sealing: %v", err)
	}

	// Another user's row given this user's sealed value (and so, for an
	// attacker with write access, this user's codes): it does not open.
	v := e.signUp(t, "other@x.fr")
	if _, err := e.db.Write.ExecContext(e.ctx, `INSERT INTO user_totp (user_id, secret, created_at, confirmed_at) VALUES ($1, $2, $3, $3)`,
		v.ID, stored, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	err = e.svc.VerifySecondFactor(e.ctx, v.ID, code(t, en.Secret, e.clock.Now()))
	if !errors.Is(err, account.ErrSecretUnreadable) || !strings.Contains(err.Error(), v.ID) {
		t.Fatalf("copied secret: %v, want ErrSecretUnreadable naming the user", err)
	}

	// A service without a key never stores a new secret in clear.
	nokey := account.New(e.db, e.clock, e.mail, account.Options{HashParams: fastParams})
	w := e.signUp(t, "third@x.fr")
	if _, err := nokey.BeginTOTP(e.ctx, w.ID, "x"); err == nil {
		t.Fatal("BeginTOTP without a key succeeded")
	}
	var n int
	e.db.Read.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM user_totp WHERE user_id = $1`, w.ID).Scan(&n)
	if n != 0 {
		t.Fatal("BeginTOTP without a key stored a secret")
	}
}

// A clear secret from an earlier version keeps working, and the start-up
// pass seals it, once: the next pass finds nothing to do.
func TestClearTOTPSecretFromAnEarlierVersion(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "agent@x.fr")
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	e.insertClearTOTP(t, u.ID, secret)
	sealedUser := e.signUp(t, "sealed@x.fr")
	sealedSecret, _ := e.enrol(t, e.svc, sealedUser.ID)
	sealedBefore := e.storedSecret(t, sealedUser.ID)

	e.clock.Advance(time.Minute)
	if err := e.svc.VerifySecondFactor(e.ctx, u.ID, code(t, secret, e.clock.Now())); err != nil {
		t.Fatalf("clear secret before the pass: %v", err)
	}
	r, err := e.svc.SealClearTOTPSecrets(e.ctx)
	if err != nil || r != (account.TOTPSealReport{Sealed: 1}) {
		t.Fatalf("pass: %+v %v", r, err)
	}
	stored := e.storedSecret(t, u.ID)
	if !strings.HasPrefix(stored, "v1:") || strings.Contains(stored, secret) {
		t.Fatalf("after the pass the secret is stored as %q", stored)
	}
	if e.storedSecret(t, sealedUser.ID) != sealedBefore {
		t.Fatal("the pass rewrote an already sealed secret")
	}
	// The code just used stays spent; the next step's works.
	if err := e.svc.VerifySecondFactor(e.ctx, u.ID, code(t, secret, e.clock.Now())); !errors.Is(err, account.ErrBadCode) {
		t.Fatalf("replay after sealing: %v", err)
	}
	e.clock.Advance(time.Minute)
	for id, s := range map[string]string{u.ID: secret, sealedUser.ID: sealedSecret} {
		if err := e.svc.VerifySecondFactor(e.ctx, id, code(t, s, e.clock.Now())); err != nil {
			t.Fatalf("code after the pass: %v", err)
		}
	}
	if r, err := e.svc.SealClearTOTPSecrets(e.ctx); err != nil || r != (account.TOTPSealReport{}) {
		t.Fatalf("second pass: %+v %v", r, err)
	}
	if e.storedSecret(t, u.ID) != stored {
		t.Fatal("the second pass rewrote the secret")
	}
}

// A node with another key cannot check app codes: sign-in fails with
// ErrSecretUnreadable naming the user and not the secret, the failure
// counts against the challenge, recovery codes still work, and its
// start-up pass counts the unreadable secrets and seals nothing with its
// (wrong) key.
func TestTOTPWithTheWrongKey(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "agent@x.fr")
	secret, recovery := e.enrol(t, e.svc, u.ID)
	other := account.New(e.db, e.clock, e.mail, account.Options{HashParams: fastParams, Secrets: newBox(t, secretbox.NewKey())})

	e.clock.Advance(time.Minute)
	err := other.VerifySecondFactor(e.ctx, u.ID, code(t, secret, e.clock.Now()))
	if !errors.Is(err, account.ErrSecretUnreadable) || !strings.Contains(err.Error(), u.ID) || strings.Contains(err.Error(), secret) {
		t.Fatalf("wrong key: %v", err)
	}
	if err := other.VerifySecondFactor(e.ctx, u.ID, recovery[0]); err != nil {
		t.Fatalf("recovery code with the wrong key: %v", err)
	}
	// Through a sign-in challenge: refused, and each refusal counts.
	token, err := other.StartSignInChallenge(e.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := other.AnswerSignInChallenge(e.ctx, token, code(t, secret, e.clock.Now())); !errors.Is(err, account.ErrSecretUnreadable) {
			t.Fatalf("answer %d: %v", i, err)
		}
	}
	if _, err := other.AnswerSignInChallenge(e.ctx, token, recovery[1]); !errors.Is(err, account.ErrChallengeGone) {
		t.Fatalf("after five failures: %v", err)
	}
	// The right node still signs the user in.
	if err := e.svc.VerifySecondFactor(e.ctx, u.ID, code(t, secret, e.clock.Now())); err != nil {
		t.Fatalf("right key: %v", err)
	}

	// A clear secret waits for a node whose key opens the sealed ones.
	v := e.signUp(t, "old@x.fr")
	e.insertClearTOTP(t, v.ID, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	if r, err := other.SealClearTOTPSecrets(e.ctx); err != nil || r != (account.TOTPSealReport{Unreadable: 1, LeftClear: 1}) {
		t.Fatalf("pass with the wrong key: %+v %v", r, err)
	}
	if got := e.storedSecret(t, v.ID); got != "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" {
		t.Fatalf("the wrong key sealed a clear secret: %q", got)
	}
	if r, err := e.svc.SealClearTOTPSecrets(e.ctx); err != nil || r != (account.TOTPSealReport{Sealed: 1}) {
		t.Fatalf("pass with the right key: %+v %v", r, err)
	}
}

// Two nodes starting at once both find the clear secret: the conditional
// rewrite lets one of them seal it, and the result opens for both.
func TestSealPassOnTwoNodesAtOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "agent@x.fr")
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	e.insertClearTOTP(t, u.ID, secret)
	second := account.New(e.db, e.clock, e.mail, account.Options{HashParams: fastParams, Secrets: e.secrets})
	reports := make(chan account.TOTPSealReport, 2)
	errs := make(chan error, 2)
	for _, svc := range []*account.Service{e.svc, second} {
		go func() {
			r, err := svc.SealClearTOTPSecrets(e.ctx)
			reports <- r
			errs <- err
		}()
	}
	total := 0
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		total += (<-reports).Sealed
	}
	if total != 1 {
		t.Fatalf("the clear secret was sealed %d times", total)
	}
	e.clock.Advance(time.Minute)
	if err := second.VerifySecondFactor(e.ctx, u.ID, code(t, secret, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
}
