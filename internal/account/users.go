package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/alexedwards/argon2id"

	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/id"
	"comptoir/internal/mail"
)

// SignUpInput is what a customer gives to open an account. Fields are named
// as in the API (email, password, name, language, country, region, city,
// street, postcode, customer_type, vat_number); ValidationError uses those
// names.
type SignUpInput struct {
	Email        string
	Password     string
	Name         string
	Language     string // "fr" or "en"
	Country      string // ISO 3166-1 alpha-2, any case
	Region       string // optional
	City         string
	Street       string // optional
	Postcode     string // optional
	CustomerType string // "consumer" (default) or "business"
	VATNumber    string // required for a business, ignored for a consumer
}

// SignUp opens a customer account. It returns *ValidationError when a field
// is wrong (all wrong fields at once) and ErrEmailTaken when the email, in
// any case, already has an account.
func (s *Service) SignUp(ctx context.Context, in SignUpInput) (User, error) {
	u, fields := s.checkSignUp(in)
	if len(fields) > 0 {
		return User{}, &ValidationError{Fields: fields}
	}
	return s.insertUser(ctx, u, in.Password, "signup", audit.Actor{})
}

// CheckSignUp returns the *ValidationError SignUp would, or nil, and opens
// no account: the sign-up page checks the whole form this way when its two
// passwords differ, so that every wrong field is named at once.
func (s *Service) CheckSignUp(in SignUpInput) error {
	if _, fields := s.checkSignUp(in); len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
}

// checkSignUp is the account SignUp would open, and its wrong fields.
func (s *Service) checkSignUp(in SignUpInput) (User, map[string]string) {
	fields := map[string]string{}
	u := User{
		Email:        checkEmail(fields, in.Email),
		Name:         checkText(fields, "name", in.Name, true, maxNameLen),
		Role:         RoleCustomer,
		Language:     checkLanguage(fields, in.Language),
		CustomerType: strings.ToLower(strings.TrimSpace(in.CustomerType)),
		Region:       checkText(fields, "region", in.Region, false, maxPlaceLen),
		City:         checkText(fields, "city", in.City, true, maxPlaceLen),
		Street:       checkText(fields, "street", in.Street, false, maxStreetLen),
		Postcode:     checkText(fields, "postcode", in.Postcode, false, maxPostcodeLen),
	}
	s.checkPassword(fields, "password", in.Password)
	if strings.TrimSpace(in.Country) == "" {
		fields["country"] = CodeRequired
	} else if c, ok := normalizeCountry(in.Country); ok {
		u.Country = c
	} else {
		fields["country"] = CodeCountryInvalid
	}
	switch u.CustomerType {
	case "":
		u.CustomerType = CustomerConsumer
	case CustomerConsumer, CustomerBusiness:
	default:
		fields["customer_type"] = CodeCustomerTypeInvalid
	}
	// A consumer's VAT number is dropped rather than refused: it has no use,
	// and keeping it could make invoicing treat them as a business.
	if u.CustomerType == CustomerBusiness {
		if strings.TrimSpace(in.VATNumber) == "" {
			fields["vat_number"] = CodeVATRequired
		} else if v, ok := normalizeVAT(in.VATNumber); ok {
			u.VATNumber = v
		} else {
			fields["vat_number"] = CodeVATInvalid
		}
	}
	return u, fields
}

// CreateUserInput is an account made by an operator (comptoir user add):
// staff, or a customer set up by hand. Name is optional; Language defaults
// to French, the store's home language.
type CreateUserInput struct {
	Email    string
	Role     string // RoleCustomer, RoleAgent or RoleAdmin
	Password string
	Language string
	Name     string
	// Country (ISO 3166-1 alpha-2), Region and City are optional here, as
	// staff have no use for them; a customer made by hand (the demo) should
	// have them, since refund rules depend on the customer's country.
	Country string
	Region  string
	City    string
	// By is who creates the account, for the audit log; the zero value is
	// the system (the command line).
	By audit.Actor
}

// CreateUser opens an account with any role. The password is required: the
// command line asks for one or generates it, so that no account exists
// that nobody can sign in to.
func (s *Service) CreateUser(ctx context.Context, in CreateUserInput) (User, error) {
	fields := map[string]string{}
	u := User{
		Email:        checkEmail(fields, in.Email),
		Name:         checkText(fields, "name", in.Name, false, maxNameLen),
		Role:         strings.ToLower(strings.TrimSpace(in.Role)),
		Language:     LangFR,
		CustomerType: CustomerConsumer,
	}
	if strings.TrimSpace(in.Language) != "" {
		u.Language = checkLanguage(fields, in.Language)
	}
	if strings.TrimSpace(in.Country) != "" {
		if c, ok := normalizeCountry(in.Country); ok {
			u.Country = c
		} else {
			fields["country"] = CodeCountryInvalid
		}
	}
	u.Region = checkText(fields, "region", in.Region, false, maxPlaceLen)
	u.City = checkText(fields, "city", in.City, false, maxPlaceLen)
	switch u.Role {
	case RoleCustomer, RoleAgent, RoleAdmin:
	case "":
		fields["role"] = CodeRequired
	default:
		fields["role"] = CodeRoleInvalid
	}
	s.checkPassword(fields, "password", in.Password)
	if len(fields) > 0 {
		return User{}, &ValidationError{Fields: fields}
	}
	by := in.By
	if by.Role == "" {
		by = audit.System
	}
	return s.insertUser(ctx, u, in.Password, "create", by)
}

// insertUser hashes the password and stores u. by is the audit actor; its
// zero value means the new user themself.
func (s *Service) insertUser(ctx context.Context, u User, password, action string, by audit.Actor) (User, error) {
	// Hash before the transaction: argon2 takes tens of milliseconds that
	// must not hold SQLite's single write connection.
	hash, err := s.hashPassword(password)
	if err != nil {
		return User{}, err
	}
	now := s.clock.Now()
	u.ID, u.CreatedAt = id.New("usr"), now
	if by.Role == "" {
		by = u.Actor()
	}
	var vat sql.NullString
	if u.VATNumber != "" {
		vat = sql.NullString{String: u.VATNumber, Valid: true}
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		// The unique key on email_key, not a prior SELECT, decides between
		// two simultaneous sign-ups of one email: exactly one insert wins.
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, email_key, name, role, password_hash, language,
			customer_type, vat_number, country, region, city, street, postcode, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)`,
			u.ID, u.Email, EmailKey(u.Email), u.Name, u.Role, hash, u.Language,
			u.CustomerType, vat, u.Country, u.Region, u.City, u.Street, u.Postcode, now)
		if db.IsUniqueViolation(err) {
			return ErrEmailTaken
		}
		if err != nil {
			return fmt.Errorf("account: insert user: %w", err)
		}
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: by, SubjectType: "user", SubjectID: u.ID,
			Action: action, After: map[string]string{"role": u.Role, "customer_type": u.CustomerType}}); err != nil {
			return err
		}
		if action == "signup" && s.opts.Welcome && s.mail != nil {
			return s.welcomeTx(ctx, tx, u)
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// userWithHash reads a user and their password hash.
func userWithHash(ctx context.Context, q db.Querier, where string, arg any) (User, string, error) {
	var hash string
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE `+where+` = $1`, arg), &hash)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, "", fmt.Errorf("account: read user: %w", err)
	}
	return u, hash, err
}

// Authenticate checks an email and password. An unknown email, a wrong
// password and a disabled account are all ErrInvalidCredentials and take
// about the same time, so that sign-in reveals nothing about who has an
// account, nor whose was disabled.
func (s *Service) Authenticate(ctx context.Context, email, password string) (User, error) {
	key := EmailKey(email)
	u, hash, err := User{}, "", ErrNotFound
	if storableKey(key) {
		u, hash, err = userWithHash(ctx, s.db.Read, "email_key", key)
	}
	if err == nil && !SameEmail(email, u.Email) {
		err = ErrNotFound // a look-alike of the address: the Kelvin sign for "k"
	}
	if errors.Is(err, ErrNotFound) {
		s.burnPasswordCheck(password)
		return User{}, ErrInvalidCredentials
	}
	if err != nil {
		return User{}, err
	}
	s.passwordChecks.Add(1)
	ok, params, err := argon2id.CheckHash(password, hash)
	if err != nil {
		return User{}, fmt.Errorf("account: verify password: %w", err)
	}
	// The password is checked first, so that a disabled account costs
	// the same hash as any other.
	if !ok || u.Disabled() {
		return User{}, ErrInvalidCredentials
	}
	if *params != *s.opts.HashParams {
		s.rehash(ctx, u.ID, password, hash)
	}
	return u, nil
}

// rehash upgrades a hash made with older parameters, now that the password
// is known. It is best effort and not audited: the password is unchanged,
// and a failure only means trying again at the next sign-in. The condition
// on the old hash keeps it from overwriting a password changed meanwhile.
func (s *Service) rehash(ctx context.Context, userID, password, oldHash string) {
	h, err := s.hashPassword(password)
	if err != nil {
		return
	}
	s.db.Exec(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3`, h, userID, oldHash)
}

// ChangePassword replaces the password of a signed-in user who knows the
// current one, then signs out every other session (keepSessionID stays
// signed in; empty signs out all), voids the sign-ins waiting for their
// second factor and voids pending reset links. A wrong
// current password is ErrInvalidCredentials; a weak new one a
// *ValidationError on "new_password".
func (s *Service) ChangePassword(ctx context.Context, userID, current, next, keepSessionID string) error {
	fields := map[string]string{}
	s.checkPassword(fields, "new_password", next)
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	u, oldHash, err := userWithHash(ctx, s.db.Read, "id", userID)
	if err != nil {
		return err
	}
	ok, err := checkPasswordHash(current, oldHash)
	if err != nil {
		return err
	}
	if !ok {
		return ErrInvalidCredentials
	}
	newHash, err := s.hashPassword(next)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Conditional on the hash just verified: of two changes racing with
		// the same current password, the second finds it gone.
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3 AND password_hash = $4`,
			newHash, now, userID, oldHash)
		if err != nil {
			return fmt.Errorf("account: change password: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrInvalidCredentials
		}
		revoked, err := endSessions(ctx, tx, userID, keepSessionID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = $1 AND used_at IS NULL`, userID); err != nil {
			return fmt.Errorf("account: void reset links: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: u.Actor(), SubjectType: "user", SubjectID: userID,
			Action: "password_change", After: map[string]any{"fields": []string{"password_hash"}, "sessions_revoked": revoked}})
	})
}

// welcomeMailData is what the "welcome" template reads. Like the reset
// mail's, it holds no name: the address is not proven yet (see
// resetMailData).
type welcomeMailData struct {
	StoreName, Link, ContactLink, ResetLink string
}

// welcomeTx queues the mail that welcomes u, who just signed up, in tx:
// where their account is, where to ask a question, and, since anyone may
// sign up with someone else's address, how the address's owner takes an
// account they did not make over (a password reset, which signs everyone
// else out).
func (s *Service) welcomeTx(ctx context.Context, tx *sql.Tx, u User) error {
	subject, text, err := mail.Render(u.Language, "welcome", welcomeMailData{StoreName: s.opts.StoreName,
		Link: s.opts.BaseURL + "/account", ContactLink: s.opts.BaseURL + "/contact", ResetLink: s.opts.BaseURL + "/reset"})
	if err != nil {
		return fmt.Errorf("account: welcome email: %w", err)
	}
	if _, err := s.mail.EnqueueTx(ctx, tx, mail.Message{Kind: "welcome", To: u.Email, Lang: u.Language, // no ToName: see welcomeMailData
		Subject: subject, Text: text, UserID: u.ID}); err != nil {
		return fmt.Errorf("account: welcome email: %w", err)
	}
	return nil
}
