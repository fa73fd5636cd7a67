// Package account owns the people who sign in to comptoir (customers,
// support agents, admins) and the ways they prove who they are: passwords,
// browser sessions, API tokens and password-reset links.
//
// Secrets never reach the database in clear. Passwords are argon2id hashes;
// session cookies, API tokens and reset links are 256 random bits kept as
// their SHA-256 (a fast hash is enough for that much entropy, and it lets a
// token be found by an indexed lookup), so a copy of the database signs no
// one in.
package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"

	"comptoir/internal/audit"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/fielderr"
	"comptoir/internal/jobs"
	"comptoir/internal/mail"
	"comptoir/internal/secretbox"
)

// Roles: what a user may do. Plain strings, as they travel to JSON, templates
// and the audit log unchanged.
const (
	RoleCustomer = "customer"
	RoleAgent    = "agent"
	RoleAdmin    = "admin"
)

// Customer types: consumers enjoy statutory rights (withdrawal) that
// businesses do not, and businesses are invoiced with their VAT number.
const (
	CustomerConsumer = "consumer"
	CustomerBusiness = "business"
)

// Languages an account can choose.
const (
	LangFR = "fr"
	LangEN = "en"
)

// User is an account.
type User struct {
	ID           string
	Email        string // as typed at sign-up
	Name         string
	Role         string // RoleCustomer, RoleAgent or RoleAdmin
	Language     string // "fr" or "en"
	CustomerType string // "consumer" or "business"
	VATNumber    string // empty unless business
	Country      string // ISO 3166-1 alpha-2; empty for staff made from the CLI
	Region       string
	City         string
	// Street and Postcode complete the billing address invoices print;
	// optional, empty until the customer gives them.
	Street    string
	Postcode  string
	CreatedAt time.Time
	// DisabledAt is when an admin disabled this staff account (someone who
	// left); zero while it may sign in. Only staff are ever disabled.
	DisabledAt time.Time
}

// IsStaff reports whether u works for the store (agent or admin).
func (u User) IsStaff() bool { return u.Role == RoleAgent || u.Role == RoleAdmin }

// Disabled reports whether u's account was disabled: it signs in no more.
func (u User) Disabled() bool { return !u.DisabledAt.IsZero() }

// Actor is u as the author of a change, for the audit log.
func (u User) Actor() audit.Actor { return audit.Actor{ID: u.ID, Role: u.Role} }

// Errors callers tell apart. Sign-in and reset never say whether an account
// exists: a wrong password and an unknown email are the same
// ErrInvalidCredentials, and a reset request for an unknown email succeeds.
var (
	ErrNotFound           = errors.New("account: not found")
	ErrEmailTaken         = errors.New("account: email already registered")
	ErrInvalidCredentials = errors.New("account: invalid email or password")
	ErrNoSession          = errors.New("account: no such session")
	ErrSessionExpired     = errors.New("account: session expired")
	ErrInvalidToken       = errors.New("account: unknown or revoked API token")
	ErrResetInvalid       = errors.New("account: reset link unknown, used or expired")
	// ErrResetUsed is the ErrResetInvalid of a link already used (or
	// voided by another link of the same account used since): the form
	// sent twice meets it. Telling it apart says nothing of the password.
	ErrResetUsed = fmt.Errorf("%w (already used)", ErrResetInvalid)
)

// Validation codes: stable names the web layer turns into sentences in the
// reader's language.
const (
	CodeRequired            = "required"
	CodeEmailInvalid        = "email_invalid"
	CodePasswordTooShort    = "password_too_short"
	CodePasswordTooLong     = "password_too_long"
	CodeCountryInvalid      = "country_invalid"
	CodeVATRequired         = "vat_required"
	CodeVATInvalid          = "vat_invalid"
	CodeLanguageInvalid     = "language_invalid"
	CodeCustomerTypeInvalid = "customer_type_invalid"
	CodeRoleInvalid         = "role_invalid"
	CodeTooLong             = "too_long"
	CodeInvalidCharacters   = "invalid_characters"
	// CodeEmailConfusable: the address reads as another (Confusable).
	CodeEmailConfusable = "email_confusable"
)

// ValidationError maps each invalid field (named as in the API: "email",
// "vat_number"…) to a validation code.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string { return fielderr.Message("account", e.Fields) }

// Mailer stores an email to send in the caller's transaction (the mail
// outbox), so that a reset link is mailed exactly when its token exists.
type Mailer interface {
	EnqueueTx(ctx context.Context, tx *sql.Tx, m mail.Message) (string, error)
}

// Options tunes the service; zero values take the defaults.
type Options struct {
	// SessionTTL is how long a session lives after its last use (default 30
	// days): it slides forward while the person keeps coming back.
	SessionTTL time.Duration
	// SessionMaxAge is how long a customer's session lives at most from
	// sign-in, however often it is used (default 30 days): a stolen cookie
	// kept alive by use must not work for ever, and signing in once a month
	// costs a customer little.
	SessionMaxAge time.Duration
	// StaffSessionMaxAge is the same for agents and admins (default 7
	// days). Shorter: a staff session refunds, credits and reads every
	// customer's data, and signing in again asks for the second factor
	// (TOTP) of those who have one, proof that the person still holds the
	// device; a week still spares a daily sign-in to whoever works several
	// days in a row.
	StaffSessionMaxAge time.Duration
	// ResetTTL is how long a password-reset link works (default 1 hour).
	ResetTTL time.Duration
	// BaseURL is the store's public address, for links in emails
	// ("https://shop.example"; no trailing slash needed).
	BaseURL string
	// StoreName names the store in the emails the service sends (the
	// password reset's subject and signature), as every other mail does.
	StoreName string
	// Welcome: SignUp mails the new customer the "welcome" mail, in its
	// transaction (it needs the Mailer and BaseURL). Off for the services
	// that only read accounts, and in tests that count mails.
	Welcome bool
	// MinPasswordLength counts characters, not bytes (default 10).
	MinPasswordLength int
	// HashParams are the argon2id parameters of new password hashes
	// (default DefaultHashParams). Tests pass FastHashParams; existing hashes
	// carry their own parameters, keep verifying when these change, and are
	// upgraded at the next sign-in.
	HashParams *HashParams
	// EmailProven, when set, runs in the transaction of an act that proves
	// the user reads their email (today: setting a password through a reset
	// link sent there), so that other domains may trust the address, e.g.
	// the desk links a guest's earlier tickets to the account. An error
	// undoes the act.
	EmailProven func(ctx context.Context, tx *sql.Tx, u User, at time.Time) error
	// StaffDisabled, when set, runs in the transaction that disables a
	// staff account (DisableStaff), so that other domains hand the work
	// of someone who left back to the team: the desk puts their tickets
	// back in the queue. by is the admin who disabled u. An error undoes
	// the disabling.
	StaffDisabled func(ctx context.Context, tx *sql.Tx, u User, by audit.Actor, at time.Time) error
	// Secrets seals the secrets the service must read back (TOTP secrets),
	// so that a copy of the database does not give them away. Nil: no new
	// second factor can be set up (BeginTOTP fails), and only clear secrets
	// written before sealing existed can be read.
	Secrets *secretbox.Box
	// Jobs queues the job of each password reset request (AddWorkers
	// registers its worker). Required by RequestPasswordReset.
	Jobs jobs.Inserter
}

// HashParams are argon2id's cost parameters (memory in KiB, passes, lanes,
// salt and key lengths).
type HashParams = argon2id.Params

// DefaultHashParams is OWASP's minimum for argon2id (19 MiB, 2 passes,
// 1 lane): about 30 ms per hash on one core of a small server, so that a
// stolen database is expensive to brute-force while sign-ins stay quick and
// many can run at once. argon2id's own default (64 MiB) would let a handful
// of simultaneous sign-ins exhaust a small machine's memory.
var DefaultHashParams = &HashParams{
	Memory:      19 * 1024,
	Iterations:  2,
	Parallelism: 1,
	SaltLength:  16,
	KeyLength:   32,
}

// FastHashParams cost well under a millisecond, for tests only: a hash
// made with them protects nothing.
var FastHashParams = HashParams{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

const (
	defaultSessionTTL         = 30 * 24 * time.Hour
	defaultSessionMaxAge      = 30 * 24 * time.Hour
	defaultStaffSessionMaxAge = 7 * 24 * time.Hour
	defaultResetTTL           = time.Hour
	defaultMinPasswordLength  = 10
	// touchEvery bounds how often using a session or token writes its
	// last-seen time: every page reads the session, and one write per
	// request would serialize all traffic on SQLite's single writer.
	touchEvery = time.Minute
)

// Service is the account use cases.
type Service struct {
	db    *db.DB
	clock clock.Clock
	mail  Mailer
	opts  Options

	// dummyHash is verified against when an email is unknown, so that
	// sign-in takes as long as for a real account and its timing does not
	// reveal which emails are registered. Made lazily: hashing costs time
	// and memory that a process not serving sign-ins should not pay.
	dummyOnce sync.Once
	// passwordChecks counts argon2id verifications, so a test can prove
	// that an unknown email costs one like a wrong password does.
	passwordChecks atomic.Int64
	dummyHash      string
	dummyErr       error
}

// New returns the service. m may be nil only if RequestPasswordReset is never
// called (the CLI).
func New(d *db.DB, c clock.Clock, m Mailer, opts Options) *Service {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = defaultSessionTTL
	}
	if opts.SessionMaxAge <= 0 {
		opts.SessionMaxAge = defaultSessionMaxAge
	}
	if opts.StaffSessionMaxAge <= 0 {
		opts.StaffSessionMaxAge = defaultStaffSessionMaxAge
	}
	if opts.ResetTTL <= 0 {
		opts.ResetTTL = defaultResetTTL
	}
	if opts.MinPasswordLength <= 0 {
		opts.MinPasswordLength = defaultMinPasswordLength
	}
	if opts.HashParams == nil {
		opts.HashParams = DefaultHashParams
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	return &Service{db: d, clock: c, mail: m, opts: opts}
}

// MinPasswordLength is the shortest password accepted, in characters, for
// forms to say so before "password_too_short" does.
func (s *Service) MinPasswordLength() int { return s.opts.MinPasswordLength }

// userColumns is the column list scanUser reads, in order, and
// joinedUserColumns the same of the users table aliased "u" in a join
// (a session's, a token's): built once, since every signed-in request
// reads one.
var (
	userColumns       = userColumnsOf("")
	joinedUserColumns = userColumnsOf("u.")
)

// userColumnsOf is userColumns qualified by a table alias ("u.") for joins.
func userColumnsOf(alias string) string {
	cols := strings.Split("id, email, name, role, language, customer_type, vat_number, country, region, city, street, postcode, created_at, disabled_at", ", ")
	for i, c := range cols {
		cols[i] = alias + c
	}
	return strings.Join(cols, ", ")
}

func scanUser(row interface{ Scan(...any) error }, extra ...any) (User, error) {
	var u User
	var vat sql.NullString
	var disabled sql.NullTime
	// One slice for both lists (a joined token's or session's columns
	// follow): appending extra to a literal of the user's copied it.
	dest := make([]any, 0, 14+len(extra))
	dest = append(dest, &u.ID, &u.Email, &u.Name, &u.Role, &u.Language, &u.CustomerType, &vat,
		&u.Country, &u.Region, &u.City, &u.Street, &u.Postcode, &u.CreatedAt, &disabled)
	dest = append(dest, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return User{}, ErrNotFound
		}
		return User{}, err
	}
	u.VATNumber, u.CreatedAt = vat.String, u.CreatedAt.UTC()
	if disabled.Valid {
		u.DisabledAt = disabled.Time.UTC()
	}
	return u, nil
}

// changed is the audit state of an update: the names of the fields that
// changed, never their values, which may be personal data.
func changed(fields ...string) map[string][]string {
	return map[string][]string{"fields": fields}
}

// UserByID returns the account with that id, or ErrNotFound.
func (s *Service) UserByID(ctx context.Context, userID string) (User, error) {
	return userByID(ctx, s.db.Read, userID)
}

// UserTx is UserByID in the caller's transaction.
func UserTx(ctx context.Context, q db.Querier, userID string) (User, error) {
	return userByID(ctx, q, userID)
}

func userByID(ctx context.Context, q db.Querier, userID string) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, userID))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("account: read user: %w", err)
	}
	return u, err
}

// UserByEmail returns the account with that email, whatever its case, or
// ErrNotFound: a look-alike of its address is not it (SameEmail).
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	return UserByEmailTx(ctx, s.db.Read, email)
}

// UserByEmailTx is UserByEmail through q (a transaction of the caller's).
func UserByEmailTx(ctx context.Context, q db.Querier, email string) (User, error) {
	if !storableKey(EmailKey(email)) {
		return User{}, ErrNotFound
	}
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email_key = $1`, EmailKey(email)))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("account: read user: %w", err)
	}
	if err == nil && !SameEmail(email, u.Email) {
		return User{}, ErrNotFound // a look-alike: the Kelvin sign for "k"
	}
	return u, err
}

// SetLanguage saves the language the user reads the store and their emails
// in.
func (s *Service) SetLanguage(ctx context.Context, userID, lang string) error {
	lang, ok := normalizeLanguage(lang)
	if !ok {
		return &ValidationError{Fields: map[string]string{"language": CodeLanguageInvalid}}
	}
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		u, err := userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		if u.Language == lang {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET language = $1, updated_at = $2 WHERE id = $3`, lang, now, userID); err != nil {
			return fmt.Errorf("account: set language: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: u.Actor(), SubjectType: "user", SubjectID: userID,
			Action: "language_change", After: changed("language")})
	})
}

// AddressInput is the billing address a customer edits on their account
// page. The country is not part of it: it decides VAT and the refund rules
// that apply, and stays what sign-up recorded.
type AddressInput struct {
	Street, Postcode, City, Region string
}

// SetAddress saves the billing address the customer's next invoices print;
// those already issued keep the address they were issued with. The city is
// required, as at sign-up. The audit log names the fields that changed, not
// their values.
func (s *Service) SetAddress(ctx context.Context, userID string, in AddressInput) error {
	fields := map[string]string{}
	a := AddressInput{
		Street:   checkText(fields, "street", in.Street, false, maxStreetLen),
		Postcode: checkText(fields, "postcode", in.Postcode, false, maxPostcodeLen),
		City:     checkText(fields, "city", in.City, true, maxPlaceLen),
		Region:   checkText(fields, "region", in.Region, false, maxPlaceLen),
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		u, err := userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		var names []string
		for _, f := range []struct{ name, was, is string }{
			{"street", u.Street, a.Street}, {"postcode", u.Postcode, a.Postcode}, {"city", u.City, a.City}, {"region", u.Region, a.Region},
		} {
			if f.was != f.is {
				names = append(names, f.name)
			}
		}
		if len(names) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET street = $1, postcode = $2, city = $3, region = $4, updated_at = $5 WHERE id = $6`,
			a.Street, a.Postcode, a.City, a.Region, now, userID); err != nil {
			return fmt.Errorf("account: set address: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: u.Actor(), SubjectType: "user", SubjectID: userID,
			Action: "address_change", After: changed(names...)})
	})
}

// OnDutyStaffTx is who hears of what is due and no one in particular
// answers for (a claim's answer, an unassigned ticket's: the deadline
// warnings of claims and desk): every enabled agent, or every enabled admin
// when the store has no agent.
func OnDutyStaffTx(ctx context.Context, q db.Querier) ([]User, error) {
	us, err := StaffTx(ctx, q, RoleAgent)
	if err != nil || len(us) > 0 {
		return us, err
	}
	return StaffTx(ctx, q, RoleAdmin)
}

// StaffTx lists the enabled users with a role (agents or admins), for
// alerts, in the caller's transaction: someone whose account was disabled
// has left, and must not be mailed customers' affairs.
func StaffTx(ctx context.Context, q db.Querier, role string) ([]User, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE role = $1 AND disabled_at IS NULL ORDER BY id`, role)
	if err != nil {
		return nil, fmt.Errorf("account: staff: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
