package account_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/jobs"
	"comptoir/internal/mail"
	"comptoir/internal/secretbox"
)

// fastParams keep argon2id to well under a millisecond: tests check
// behaviour, not hash strength.
var fastParams = &account.FastHashParams

var t0 = time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)

const baseURL = "https://shop.example"

// fakeMailer records what would be sent. When err is set it fails instead,
// as the outbox would on a bad message or a database error.
type fakeMailer struct {
	mu   sync.Mutex
	sent []mail.Message
	err  error
	// inTx, when set, runs with the caller's transaction, to look at what
	// the caller wrote before committing.
	inTx func(tx *sql.Tx)
}

func (m *fakeMailer) EnqueueTx(ctx context.Context, tx *sql.Tx, msg mail.Message) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inTx != nil {
		m.inTx(tx)
	}
	if m.err != nil {
		return "", m.err
	}
	m.sent = append(m.sent, msg)
	return "msg_fake", nil
}

func (m *fakeMailer) messages() []mail.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sent)
}

type env struct {
	ctx   context.Context
	db    *db.DB
	clock *clock.Manual
	mail  *fakeMailer
	svc   *account.Service
	// secrets seals svc's TOTP secrets.
	secrets *secretbox.Box
}

func setup(t testing.TB) *env {
	t.Helper()
	e := &env{ctx: context.Background(), db: dbtest.Open(t), clock: clock.NewManual(t0), mail: &fakeMailer{}}
	e.secrets = newBox(t, secretbox.NewKey())
	ins, err := jobs.New(e.db, jobs.Config{}) // insert-only: tests run the reset jobs themselves
	if err != nil {
		t.Fatal(err)
	}
	e.svc = account.New(e.db, e.clock, e.mail, account.Options{
		SessionTTL: time.Hour, BaseURL: baseURL + "/", StoreName: "Comptoir", HashParams: fastParams, Secrets: e.secrets, Jobs: ins,
	})
	return e
}

func newBox(t testing.TB, k secretbox.Key) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func validSignUp() account.SignUpInput {
	return account.SignUpInput{
		Email: "Ann@Example.fr", Password: "correct horse", Name: "Ann Dupont", Language: "fr",
		Country: "FR", Region: "Bretagne", City: "Rennes",
	}
}

// signUp opens an account for email with the password "correct horse".
func (e *env) signUp(t testing.TB, email string) account.User {
	t.Helper()
	in := validSignUp()
	in.Email = email
	u, err := e.svc.SignUp(e.ctx, in)
	if err != nil {
		t.Fatalf("SignUp(%s): %v", email, err)
	}
	return u
}

func (e *env) actions(t *testing.T, userID string) []string {
	t.Helper()
	rows, err := audit.ForSubject(e.ctx, e.db.Read, "user", userID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Action)
		// The log must hold no personal data.
		for _, pii := range []string{"@", "Ann", "Rennes", "Bretagne"} {
			if strings.Contains(r.Before+r.After, pii) {
				t.Errorf("audit %s holds %q: %s %s", r.Action, pii, r.Before, r.After)
			}
		}
	}
	return out
}

func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	var ve *account.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	return ve.Fields
}

func TestSignUpValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*account.SignUpInput)
		want   map[string]string
	}{
		{"email missing", func(in *account.SignUpInput) { in.Email = "  " }, map[string]string{"email": "required"}},
		{"email without @", func(in *account.SignUpInput) { in.Email = "ann.example.fr" }, map[string]string{"email": "email_invalid"}},
		{"email with a name", func(in *account.SignUpInput) { in.Email = "Ann <ann@example.fr>" }, map[string]string{"email": "email_invalid"}},
		{"email with a space", func(in *account.SignUpInput) { in.Email = "ann dupont@example.fr" }, map[string]string{"email": "email_invalid"}},
		{"email with a line break", func(in *account.SignUpInput) { in.Email = "ann@example.fr\nBcc: x@y.z" }, map[string]string{"email": "email_invalid"}},
		{"email domain ends with a dot", func(in *account.SignUpInput) { in.Email = "ann@example." }, map[string]string{"email": "email_invalid"}},
		{"email too long", func(in *account.SignUpInput) { in.Email = strings.Repeat("a", 250) + "@x.fr" }, map[string]string{"email": "too_long"}},
		{"password missing", func(in *account.SignUpInput) { in.Password = "" }, map[string]string{"password": "required"}},
		{"password too short", func(in *account.SignUpInput) { in.Password = "123456789" }, map[string]string{"password": "password_too_short"}},
		{"password length counts characters", func(in *account.SignUpInput) { in.Password = "ééééééééé" }, map[string]string{"password": "password_too_short"}},
		{"password too long", func(in *account.SignUpInput) { in.Password = strings.Repeat("x", 1025) }, map[string]string{"password": "password_too_long"}},
		{"name missing", func(in *account.SignUpInput) { in.Name = " " }, map[string]string{"name": "required"}},
		{"name with a control character", func(in *account.SignUpInput) { in.Name = "Ann\r\nDupont" }, map[string]string{"name": "invalid_characters"}},
		{"name too long", func(in *account.SignUpInput) { in.Name = strings.Repeat("n", 201) }, map[string]string{"name": "too_long"}},
		{"language missing", func(in *account.SignUpInput) { in.Language = "" }, map[string]string{"language": "required"}},
		{"language unsupported", func(in *account.SignUpInput) { in.Language = "de" }, map[string]string{"language": "language_invalid"}},
		{"country missing", func(in *account.SignUpInput) { in.Country = "" }, map[string]string{"country": "required"}},
		{"country unassigned", func(in *account.SignUpInput) { in.Country = "ZZ" }, map[string]string{"country": "country_invalid"}},
		{"country spelled out", func(in *account.SignUpInput) { in.Country = "France" }, map[string]string{"country": "country_invalid"}},
		{"country alpha-3", func(in *account.SignUpInput) { in.Country = "FRA" }, map[string]string{"country": "country_invalid"}},
		{"city missing", func(in *account.SignUpInput) { in.City = "" }, map[string]string{"city": "required"}},
		{"region too long", func(in *account.SignUpInput) { in.Region = strings.Repeat("r", 101) }, map[string]string{"region": "too_long"}},
		{"customer type unknown", func(in *account.SignUpInput) { in.CustomerType = "company" }, map[string]string{"customer_type": "customer_type_invalid"}},
		{"business without VAT number", func(in *account.SignUpInput) { in.CustomerType = "business" }, map[string]string{"vat_number": "vat_required"}},
		{"business with a malformed VAT number", func(in *account.SignUpInput) {
			in.CustomerType, in.VATNumber = "business", "FR/123"
		}, map[string]string{"vat_number": "vat_invalid"}},
		{"every problem at once", func(in *account.SignUpInput) { *in = account.SignUpInput{CustomerType: "business"} }, map[string]string{
			"email": "required", "password": "required", "name": "required", "language": "required",
			"country": "required", "city": "required", "vat_number": "vat_required",
		}},
	}
	e := setup(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validSignUp()
			tt.change(&in)
			_, err := e.svc.SignUp(e.ctx, in)
			if got := fieldsOf(t, err); !maps.Equal(got, tt.want) {
				t.Fatalf("fields = %v, want %v", got, tt.want)
			}
		})
	}
	var n int
	if err := e.db.Read.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d users after only invalid sign-ups (%v)", n, err)
	}
}

func TestSignUpNormalizes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*account.SignUpInput)
		check  func(account.User) bool
	}{
		{"email kept as typed, trimmed", func(in *account.SignUpInput) { in.Email = "  Ann@Example.FR " },
			func(u account.User) bool { return u.Email == "Ann@Example.FR" }},
		{"email as typed, unicode", func(in *account.SignUpInput) { in.Email = "Zoé@Example.fr" },
			func(u account.User) bool { return u.Email == "Zoé@Example.fr" }},
		{"country upper-cased", func(in *account.SignUpInput) { in.Country = "be" },
			func(u account.User) bool { return u.Country == "BE" }},
		{"language lower-cased", func(in *account.SignUpInput) { in.Language = "EN" },
			func(u account.User) bool { return u.Language == "en" }},
		{"consumer by default, VAT number ignored", func(in *account.SignUpInput) { in.VATNumber = "FR12345678901" },
			func(u account.User) bool { return u.CustomerType == "consumer" && u.VATNumber == "" }},
		{"business VAT number without separators", func(in *account.SignUpInput) {
			in.CustomerType, in.VATNumber = "Business", "fr 12.345-678 901"
		}, func(u account.User) bool { return u.CustomerType == "business" && u.VATNumber == "FR12345678901" }},
		{"region optional", func(in *account.SignUpInput) { in.Region = "" },
			func(u account.User) bool { return u.Region == "" }},
	}
	e := setup(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validSignUp()
			in.Email = fmt.Sprintf("user%d@example.fr", i)
			tt.change(&in)
			u, err := e.svc.SignUp(e.ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(u) {
				t.Fatalf("returned %+v", u)
			}
			back, err := e.svc.UserByID(e.ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if back != u {
				t.Fatalf("read back %+v, returned %+v", back, u)
			}
		})
	}
}

func TestSignUpCreatesAuditedCustomer(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "ann@example.fr")
	if !strings.HasPrefix(u.ID, "usr_") || u.Role != account.RoleCustomer || u.IsStaff() || !u.CreatedAt.Equal(t0) {
		t.Fatalf("user %+v", u)
	}
	if got := e.actions(t, u.ID); !slices.Equal(got, []string{"signup"}) {
		t.Fatalf("audit actions %v", got)
	}
	var hash string
	if err := e.db.Read.QueryRowContext(e.ctx, `SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, "correct horse") {
		t.Fatalf("stored password %q", hash)
	}
}

func TestSignUpEmailTakenWhateverTheCase(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.signUp(t, "Ann@X.fr")
	for _, email := range []string{"ann@x.fr", "ANN@X.FR", " ann@x.fr "} {
		in := validSignUp()
		in.Email = email
		if _, err := e.svc.SignUp(e.ctx, in); !errors.Is(err, account.ErrEmailTaken) {
			t.Errorf("SignUp(%q) = %v, want ErrEmailTaken", email, err)
		}
	}
	if _, err := e.svc.CreateUser(e.ctx, account.CreateUserInput{Email: "ann@X.FR", Role: account.RoleAgent, Password: "0123456789"}); !errors.Is(err, account.ErrEmailTaken) {
		t.Errorf("CreateUser with a taken email = %v, want ErrEmailTaken", err)
	}
}

func TestSignUpConcurrentSameEmail(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			in := validSignUp()
			if i%2 == 1 {
				in.Email = strings.ToUpper(in.Email)
			}
			_, errs[i] = e.svc.SignUp(e.ctx, in)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, account.ErrEmailTaken):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of 10 simultaneous sign-ups won, want exactly 1", won)
	}
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      account.CreateUserInput
		fields  map[string]string
		check   func(account.User) bool
		byActor string
	}{
		{"agent, French by default", account.CreateUserInput{Email: "agent@shop.example", Role: "agent", Password: "0123456789"}, nil,
			func(u account.User) bool {
				return u.Role == account.RoleAgent && u.IsStaff() && u.Language == "fr" && u.Name == ""
			}, "system"},
		{"admin in English, named", account.CreateUserInput{Email: "boss@shop.example", Role: account.RoleAdmin, Password: "0123456789", Language: "en", Name: "Boss"}, nil,
			func(u account.User) bool {
				return u.Role == account.RoleAdmin && u.IsStaff() && u.Language == "en" && u.Name == "Boss"
			}, "system"},
		{"customer made by an admin", account.CreateUserInput{Email: "c@x.fr", Role: "customer", Password: "0123456789", By: audit.Actor{ID: "usr_admin", Role: "admin"}}, nil,
			func(u account.User) bool {
				return u.Role == account.RoleCustomer && !u.IsStaff() && u.CustomerType == "consumer"
			}, "admin"},
		{"role missing", account.CreateUserInput{Email: "x@x.fr", Password: "0123456789"}, map[string]string{"role": "required"}, nil, ""},
		{"role unknown", account.CreateUserInput{Email: "x@x.fr", Role: "root", Password: "0123456789"}, map[string]string{"role": "role_invalid"}, nil, ""},
		{"password required", account.CreateUserInput{Email: "x@x.fr", Role: "agent"}, map[string]string{"password": "required"}, nil, ""},
		{"bad email, language and country", account.CreateUserInput{Email: "x", Role: "agent", Password: "0123456789", Language: "es", Country: "XX"},
			map[string]string{"email": "email_invalid", "language": "language_invalid", "country": "country_invalid"}, nil, ""},
	}
	e := setup(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := e.svc.CreateUser(e.ctx, tt.in)
			if tt.fields != nil {
				if got := fieldsOf(t, err); !maps.Equal(got, tt.fields) {
					t.Fatalf("fields = %v, want %v", got, tt.fields)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(u) {
				t.Fatalf("user %+v", u)
			}
			if _, err := e.svc.Authenticate(e.ctx, tt.in.Email, tt.in.Password); err != nil {
				t.Fatalf("cannot sign in: %v", err)
			}
			rows, err := audit.ForSubject(e.ctx, e.db.Read, "user", u.ID)
			if err != nil || len(rows) != 1 || rows[0].Action != "create" || rows[0].ActorRole != tt.byActor {
				t.Fatalf("audit %+v, %v", rows, err)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ann := e.signUp(t, "Ann@X.fr")
	tests := []struct {
		name, email, password string
		err                   error
	}{
		{"right password", "Ann@X.fr", "correct horse", nil},
		{"email in another case", " ann@x.FR", "correct horse", nil},
		{"wrong password", "ann@x.fr", "correct horsE", account.ErrInvalidCredentials},
		{"empty password", "ann@x.fr", "", account.ErrInvalidCredentials},
		{"unknown email", "bob@x.fr", "correct horse", account.ErrInvalidCredentials},
		{"not an email", "", "", account.ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := e.svc.Authenticate(e.ctx, tt.email, tt.password)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err == nil && u.ID != ann.ID {
				t.Fatalf("signed in as %+v", u)
			}
			if tt.err != nil && u != (account.User{}) {
				t.Fatalf("a failed sign-in returned %+v", u)
			}
		})
	}
}

// An unknown email must cost a password check too, or timing tells which
// emails have accounts: both paths verify exactly one argon2id hash, made
// with the same parameters (counted, not timed, so the test cannot flake).
func TestAuthenticateUnknownEmailCostsAPasswordCheck(t *testing.T) {
	e := setup(t)
	in := validSignUp()
	if _, err := e.svc.SignUp(e.ctx, in); err != nil {
		t.Fatal(err)
	}
	// A NUL or invalid UTF-8 (PostgreSQL refuses both in text: the look-up
	// was a server error there) is an unknown email like any other.
	for _, email := range []string{in.Email, "nobody@x.fr", "nobody\x00@x.fr", "nobody\xff@x.fr"} {
		before := e.svc.PasswordChecks()
		if _, err := e.svc.Authenticate(e.ctx, email, "wrong password"); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Fatal(err)
		}
		if got := e.svc.PasswordChecks() - before; got != 1 {
			t.Fatalf("%s: %d password checks, want 1", email, got)
		}
	}
}

// Hashes made with older parameters are upgraded at the next sign-in.
func TestAuthenticateRehashesOldParameters(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "ann@x.fr")
	hashOf := func() string {
		var h string
		if err := e.db.Read.QueryRowContext(e.ctx, `SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	before := hashOf()
	stronger := &argon2id.Params{Memory: 128, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	svc := account.New(e.db, e.clock, e.mail, account.Options{HashParams: stronger})
	if _, err := svc.Authenticate(e.ctx, "ann@x.fr", "correct horse"); err != nil {
		t.Fatal(err)
	}
	after := hashOf()
	if after == before || !strings.HasPrefix(after, "$argon2id$v=19$m=128,t=2,p=1$") {
		t.Fatalf("hash %q → %q, want upgraded to m=128,t=2", before, after)
	}
	if _, err := e.svc.Authenticate(e.ctx, "ann@x.fr", "correct horse"); err != nil {
		t.Fatalf("upgraded hash does not verify: %v", err)
	}
}

func TestUserLookupsReturnErrNotFound(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "Ann@X.fr")
	if got, err := e.svc.UserByEmail(e.ctx, "ANN@x.fr"); err != nil || got.ID != u.ID {
		t.Fatalf("UserByEmail = %+v, %v", got, err)
	}
	for _, email := range []string{"bob@x.fr", "ann\x00@x.fr", "ann\xff@x.fr"} {
		if _, err := e.svc.UserByEmail(e.ctx, email); !errors.Is(err, account.ErrNotFound) {
			t.Fatalf("UserByEmail(%q) err = %v", email, err)
		}
	}
	if _, err := e.svc.UserByID(e.ctx, "usr_nope"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("UserByID(unknown) err = %v", err)
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "ann@x.fr")
	other := e.signUp(t, "bob@x.fr")
	_, keep, _ := e.svc.CreateSession(e.ctx, u.ID, "", "")
	lost, _, _ := e.svc.CreateSession(e.ctx, u.ID, "", "")
	otherTok, _, _ := e.svc.CreateSession(e.ctx, other.ID, "", "")

	if err := e.svc.ChangePassword(e.ctx, u.ID, "wrong password", "a new password", keep.ID); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := e.svc.ChangePassword(e.ctx, u.ID, "correct horse", "short", keep.ID); !maps.Equal(fieldsOf(t, err), map[string]string{"new_password": "password_too_short"}) {
		t.Fatalf("short new password: %v", err)
	}
	if err := e.svc.ChangePassword(e.ctx, "usr_nope", "correct horse", "a new password", ""); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if _, err := e.svc.Authenticate(e.ctx, "ann@x.fr", "correct horse"); err != nil {
		t.Fatalf("failed changes changed the password: %v", err)
	}

	if err := e.svc.ChangePassword(e.ctx, u.ID, "correct horse", "a new password", keep.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(e.ctx, "ann@x.fr", "correct horse"); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Fatalf("old password still works: %v", err)
	}
	if _, err := e.svc.Authenticate(e.ctx, "ann@x.fr", "a new password"); err != nil {
		t.Fatalf("new password refused: %v", err)
	}
	sessions, err := e.svc.ListSessions(e.ctx, u.ID)
	if err != nil || len(sessions) != 1 || sessions[0].ID != keep.ID {
		t.Fatalf("sessions after change: %+v, %v; want only the current one", sessions, err)
	}
	if _, _, err := e.svc.SessionUser(e.ctx, lost); !errors.Is(err, account.ErrNoSession) {
		t.Fatalf("other session: %v", err)
	}
	if _, _, err := e.svc.SessionUser(e.ctx, otherTok); err != nil {
		t.Fatalf("another user's session was revoked: %v", err)
	}
	if got := e.actions(t, u.ID); !slices.Equal(got, []string{"signup", "login", "login", "password_change"}) {
		t.Fatalf("audit %v", got)
	}
}

func TestSetLanguage(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u := e.signUp(t, "ann@x.fr")
	if err := e.svc.SetLanguage(e.ctx, u.ID, "EN"); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.svc.UserByID(e.ctx, u.ID); got.Language != "en" {
		t.Fatalf("language %q", got.Language)
	}
	if err := e.svc.SetLanguage(e.ctx, u.ID, "en"); err != nil { // no change, no audit entry
		t.Fatal(err)
	}
	if err := e.svc.SetLanguage(e.ctx, u.ID, "it"); !maps.Equal(fieldsOf(t, err), map[string]string{"language": "language_invalid"}) {
		t.Fatalf("SetLanguage(it) = %v", err)
	}
	if err := e.svc.SetLanguage(e.ctx, "usr_nope", "fr"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("SetLanguage(unknown user) = %v", err)
	}
	if got := e.actions(t, u.ID); !slices.Equal(got, []string{"signup", "language_change"}) {
		t.Fatalf("audit %v", got)
	}
}

// A customer's billing address: the street and postcode given at sign-up
// are kept, the account page changes them with the city and region (not the
// country), a wrong field changes nothing, and the audit log names what
// changed without saying it.
func TestSetAddress(t *testing.T) {
	t.Parallel()
	e := setup(t)
	in := validSignUp()
	in.Street, in.Postcode = "  3 rue de la Paix ", "35000"
	u, err := e.svc.SignUp(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if u.Street != "3 rue de la Paix" || u.Postcode != "35000" {
		t.Fatalf("signed up with street %q, postcode %q", u.Street, u.Postcode)
	}
	if err := e.svc.SetAddress(e.ctx, u.ID, account.AddressInput{Street: "12 quai Voltaire", Postcode: "75007", City: "Paris", Region: ""}); err != nil {
		t.Fatal(err)
	}
	got, _ := e.svc.UserByID(e.ctx, u.ID)
	if got.Street != "12 quai Voltaire" || got.Postcode != "75007" || got.City != "Paris" || got.Region != "" || got.Country != "FR" {
		t.Fatalf("after SetAddress: %+v", got)
	}
	for _, tt := range []struct {
		in   account.AddressInput
		want map[string]string
	}{
		{account.AddressInput{Street: "x", Postcode: "75007"}, map[string]string{"city": "required"}},
		{account.AddressInput{Street: strings.Repeat("x", 201), Postcode: strings.Repeat("9", 17), City: "Paris"},
			map[string]string{"street": "too_long", "postcode": "too_long"}},
		{account.AddressInput{Street: "1 rue\x00", City: "Paris"}, map[string]string{"street": "invalid_characters"}},
	} {
		if err := e.svc.SetAddress(e.ctx, u.ID, tt.in); !maps.Equal(fieldsOf(t, err), tt.want) {
			t.Errorf("SetAddress(%+v) = %v, want %v", tt.in, err, tt.want)
		}
	}
	if again, _ := e.svc.UserByID(e.ctx, u.ID); again != got {
		t.Fatalf("a refused address changed the account: %+v", again)
	}
	if err := e.svc.SetAddress(e.ctx, u.ID, account.AddressInput{Street: "12 quai Voltaire", Postcode: "75007", City: "Paris"}); err != nil {
		t.Fatal(err) // no change, no audit entry
	}
	if err := e.svc.SetAddress(e.ctx, "usr_nope", account.AddressInput{City: "Paris"}); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("SetAddress(unknown user) = %v", err)
	}
	if got := e.actions(t, u.ID); !slices.Equal(got, []string{"signup", "address_change"}) {
		t.Fatalf("audit %v", got)
	}
	rows, err := audit.ForSubject(e.ctx, e.db.Read, "user", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after := rows[len(rows)-1].After; after != `{"fields":["street","postcode","city","region"]}` {
		t.Fatalf("audit state %s", after)
	}
}

// The invariants hold in the schema too, for writes that bypass the service.
func TestSchemaRefusesInvalidRows(t *testing.T) {
	t.Parallel()
	e := setup(t)
	insert := func(id, key, role, lang, ctype string, vat any, country string) error {
		_, err := e.db.Write.ExecContext(e.ctx, `INSERT INTO users (id, email, email_key, name, role, password_hash, language,
			customer_type, vat_number, country, created_at, updated_at) VALUES ($1, $2, $2, 'n', $3, 'h', $4, $5, $6, $7, $8, $8)`,
			id, key, role, lang, ctype, vat, country, t0)
		return err
	}
	if err := insert("usr_1", "a@x.fr", "customer", "fr", "consumer", nil, "FR"); err != nil {
		t.Fatalf("a valid row was refused: %v", err)
	}
	for _, tt := range []struct {
		name                   string
		key, role, lang, ctype string
		vat                    any
		country                string
	}{
		{"duplicate email key", "a@x.fr", "customer", "fr", "consumer", nil, "FR"},
		{"unknown role", "b@x.fr", "root", "fr", "consumer", nil, "FR"},
		{"unknown language", "c@x.fr", "customer", "de", "consumer", nil, "FR"},
		{"unknown customer type", "d@x.fr", "customer", "fr", "company", nil, "FR"},
		{"business without VAT number", "e@x.fr", "customer", "fr", "business", nil, "FR"},
		{"business with an empty VAT number", "f@x.fr", "customer", "fr", "business", "", "FR"},
		{"lower-case country", "g@x.fr", "customer", "fr", "consumer", nil, "fr"},
		{"three-letter country", "h@x.fr", "customer", "fr", "consumer", nil, "FRA"},
	} {
		if err := insert("usr_"+tt.key, tt.key, tt.role, tt.lang, tt.ctype, tt.vat, tt.country); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

// BenchmarkDefaultPasswordHash shows what a sign-in costs in production
// with DefaultHashParams (about 19 MiB of memory per hash).
func BenchmarkDefaultPasswordHash(b *testing.B) {
	for b.Loop() {
		if _, err := argon2id.CreateHash("correct horse battery", account.DefaultHashParams); err != nil {
			b.Fatal(err)
		}
	}
}
