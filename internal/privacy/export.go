package privacy

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/db"
)

// ExportFormat and ExportVersion name the export document's format; the
// version goes up when a field changes meaning or goes away (new fields
// may appear within a version).
const (
	ExportFormat  = "comptoir.personal-data"
	ExportVersion = 1
)

// Export is everything the store holds about one customer. Each section is
// a list of records as stored (column name → value), so nothing is lost in
// translation; secrets (password and token hashes, session ids) and other
// people's data (staff notes, mail from third parties) are left out.
type Export struct {
	Format      string    `json:"format"`
	Version     int       `json:"version"`
	GeneratedAt time.Time `json:"generated_at"`
	// Account is the customer's profile and billing address.
	Account  Record   `json:"account"`
	Sessions []Record `json:"sessions"`
	// APITokens are named only: the secret is never stored.
	APITokens []Record `json:"api_tokens"`
	Orders    []Record `json:"orders"`
	// OrderLines carry licence keys delivered.
	OrderLines    []Record `json:"order_lines"`
	Consents      []Record `json:"consents"`
	Deliveries    []Record `json:"deliveries"`
	Downloads     []Record `json:"downloads"`
	Subscriptions []Record `json:"subscriptions"`
	Periods       []Record `json:"subscription_periods"`
	Balance       []Record `json:"balance_entries"`
	// CardPayments and CardRefunds are the card payments made in the
	// customer's name and the refunds of them (Stripe's ids and the saved
	// card's reference are left out: they open nothing for the customer).
	CardPayments   []Record `json:"card_payments"`
	CardRefunds    []Record `json:"card_refunds"`
	Invoices       []Record `json:"invoices"`
	InvoiceLines   []Record `json:"invoice_lines"`
	Claims         []Record `json:"claims"`
	ClaimDecisions []Record `json:"claim_decisions"`
	ClaimEvidence  []Record `json:"claim_evidence"`
	// ClaimRefunds is the money that went back because of a claim.
	ClaimRefunds []Record `json:"claim_refunds"`
	Tickets      []Record `json:"tickets"`
	Messages     []Record `json:"ticket_messages"`
	Attachments  []Record `json:"ticket_attachments"`
	// Surveys are the customer's ratings and comments on closed tickets.
	Surveys []Record `json:"ticket_surveys"`
	Mail    []Record `json:"mail"`
	// Activity is what the customer did, as the audit log recorded it.
	Activity []Record `json:"activity"`
	// Visits are the sign-ins and order page views logged with their
	// address and browser (evidence in card disputes).
	Visits []Record `json:"visits"`
	// SecondFactor says since when a second factor guards the account
	// (never its secret nor recovery codes); empty without one.
	SecondFactor []Record `json:"second_factor"`
	// ProofChoices are the buyer's choice, per order, to keep the purchase
	// out of the store's "recent purchases" feed.
	ProofChoices []Record `json:"proof_choices"`
	// Disputes are the card disputes on the customer's payments: status,
	// amount and reason (the evidence quotes records exported above).
	Disputes []Record `json:"disputes"`
}

// Record is one stored row.
type Record map[string]any

type section struct {
	dst   *[]Record
	query string
}

// Export reads everything about customer userID, in one consistent
// snapshot where the engine gives one, and records in the audit log who
// took it.
func (s *Service) Export(ctx context.Context, userID string, by audit.Actor) (*Export, error) {
	if s.opts.Settle != nil {
		if err := s.opts.Settle(ctx); err != nil {
			return nil, err
		}
	}
	e, err := s.read(ctx, userID)
	if err != nil {
		return nil, err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		return audit.Record(ctx, tx, audit.Entry{At: e.GeneratedAt, Actor: by, SubjectType: "user", SubjectID: userID,
			Action: "data_exported", After: map[string]any{"format": ExportFormat, "version": ExportVersion}})
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

func (s *Service) read(ctx context.Context, userID string) (*Export, error) {
	q := db.Querier(s.db.Read)
	tx, err := s.db.Read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err == nil {
		defer tx.Rollback()
		q = tx
	}
	return s.readFrom(ctx, q, userID)
}

// readFrom is read's work, through q.
func (s *Service) readFrom(ctx context.Context, q db.Querier, userID string) (*Export, error) {
	e := &Export{Format: ExportFormat, Version: ExportVersion, GeneratedAt: s.clock.Now().UTC()}
	acc, err := records(ctx, q, `SELECT id, email, name, role, language, customer_type, vat_number, country, region, city,
		street, postcode, created_at, updated_at, erased_at FROM users WHERE id = $1`, userID)
	if err != nil {
		return nil, err
	}
	if len(acc) == 0 {
		return nil, account.ErrNotFound
	}
	e.Account = acc[0]
	email, _ := acc[0]["email"].(string)
	// What was written from their address as a guest, or sent to it, is
	// theirs once they proved they read it (a reset link): signing up with
	// someone else's address must not hand over that person's tickets and
	// the guest links mailed to them. The address in any case, accents
	// included, as $2, $3, … (SQLite's lower() leaves É: db.LowerForms).
	tickets, toThem := `(SELECT id FROM tickets WHERE customer_id = $1)`, `user_id = $1`
	var emailArgs []any
	if proven, err := account.AddressProvenTx(ctx, q, userID); err != nil {
		return nil, err
	} else if proven {
		_, toThem, emailArgs = byAddress(email)
		// Less the tickets opened under the address by someone unverified
		// (a mail the trusted mail server did not vouch for, a Contact
		// form the guest never confirmed from the mailbox): their words
		// are perhaps a stranger's, never joined to the account, and an
		// export is what the account's holder wrote and was sent. The
		// mail sent to the address about them stays: it went to them.
		guestEmail, _ := db.LowerIn("customer_email", 2, email)
		tickets = `(SELECT id FROM tickets WHERE customer_id = $1 OR (customer_id IS NULL AND NOT sender_unverified AND ` + guestEmail + `))`
	}
	const orders = `(SELECT id FROM orders WHERE customer_id = $1)`
	const claims = `(SELECT id FROM claims WHERE customer_id = $1)`
	sections := []section{
		{&e.Sessions, `SELECT created_at, last_seen_at, expires_at, ip, user_agent FROM sessions WHERE user_id = $1 ORDER BY created_at, id`},
		{&e.APITokens, `SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id`},
		{&e.Orders, `SELECT * FROM orders WHERE customer_id = $1 ORDER BY placed_at, id`},
		{&e.OrderLines, `SELECT * FROM order_lines WHERE order_id IN ` + orders + ` ORDER BY order_id, position`},
		{&e.Consents, `SELECT * FROM order_consents WHERE order_id IN ` + orders + ` ORDER BY at, order_id`},
		{&e.Deliveries, `SELECT * FROM delivery_events WHERE order_id IN ` + orders + ` ORDER BY at, id`},
		{&e.Downloads, `SELECT * FROM download_events WHERE customer_id = $1 ORDER BY at, id`},
		{&e.Subscriptions, `SELECT * FROM subscriptions WHERE customer_id = $1 ORDER BY created_at, id`},
		{&e.Periods, `SELECT * FROM subscription_periods WHERE subscription_id IN (SELECT id FROM subscriptions WHERE customer_id = $1) ORDER BY period_start, id`},
		{&e.Balance, `SELECT * FROM balance_entries WHERE customer_id = $1 ORDER BY created_at, id`},
		{&e.CardPayments, `SELECT id, purpose, reference_id, amount, currency, status, card_country, refunded, created_at, updated_at
			FROM card_payments WHERE customer_id = $1 ORDER BY created_at, id`},
		{&e.CardRefunds, `SELECT r.id, r.payment_id, r.amount, p.currency, r.status, r.reason, r.created_at, r.updated_at
			FROM card_refunds r JOIN card_payments p ON p.id = r.payment_id WHERE p.customer_id = $1 ORDER BY r.created_at, r.id`},
		{&e.Invoices, `SELECT * FROM invoices WHERE customer_id = $1 ORDER BY issued_at, id`},
		{&e.InvoiceLines, `SELECT * FROM invoice_lines WHERE invoice_id IN (SELECT id FROM invoices WHERE customer_id = $1) ORDER BY invoice_id, position`},
		{&e.Claims, `SELECT * FROM claims WHERE customer_id = $1 ORDER BY created_at, id`},
		{&e.ClaimDecisions, `SELECT id, claim_id, outcome, rule, refund_currency, cancel, reason_en, reason_fr, policy_version, decided_at
			FROM claim_decisions WHERE claim_id IN ` + claims + ` ORDER BY decided_at, id`},
		{&e.ClaimEvidence, `SELECT id, claim_id, kind, text, file_name, content_type, size, sha256, added_at
			FROM claim_evidence WHERE claim_id IN ` + claims + ` ORDER BY added_at, id`},
		{&e.ClaimRefunds, `SELECT id, claim_id, order_id, order_line_id, subscription_id, amount, currency, destination, status,
			customer_accepted_credit_at, created_at, updated_at FROM claim_refunds WHERE claim_id IN ` + claims + ` ORDER BY created_at, id`},
		{&e.Activity, `SELECT at, action, subject_type, subject_id FROM audit_log WHERE actor_id = $1 ORDER BY id`},
		{&e.Visits, `SELECT at, kind, subject_id, ip, user_agent FROM customer_activity WHERE customer_id = $1 ORDER BY at, id`},
		{&e.SecondFactor, `SELECT confirmed_at AS enabled_since FROM user_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL`},
		{&e.ProofChoices, `SELECT order_id, opt_out, at FROM proof_choices WHERE order_id IN ` + orders + ` ORDER BY at, order_id`},
		{&e.Disputes, `SELECT id, purpose, reference_id, amount, currency, reason, status, created_at, closed_at FROM disputes
			WHERE customer_id = $1 ORDER BY created_at, id`},
	}
	if err := readSections(ctx, q, append(sections, deskSections(e, tickets, toThem)...), userID, emailArgs); err != nil {
		return nil, err
	}
	return e, nil
}

// byAddress is what was written from an address as a guest and sent to it:
// the conditions on tickets (a subquery of their ids) and on outgoing mail,
// with the address's forms as their arguments from $2 on (any case,
// accents included: SQLite's lower() leaves É, db.LowerForms). $1 stays
// the account's id, whose own tickets and mail they include too.
func byAddress(email string) (tickets, toThem string, args []any) {
	guestEmail, args := db.LowerIn("customer_email", 2, email)
	toEmail, _ := db.LowerIn("to_addr", 2, email)
	return `(SELECT id FROM tickets WHERE customer_id = $1 OR (customer_id IS NULL AND ` + guestEmail + `))`,
		`user_id = $1 OR ` + toEmail, args
}

// deskSections are the sections of what was written to the store and sent
// by it: the tickets whose ids tickets selects, and the mail toThem selects.
func deskSections(e *Export, tickets, toThem string) []section {
	return []section{
		// sender_unverified marks a ticket, and a message, that nobody
		// who reads the address confirmed was written from it (a guest's
		// Contact form not confirmed from the mailbox, a mail the trusted
		// mail server did not vouch for): perhaps a stranger's words
		// under the address. An account's export leaves such tickets out
		// (read); a guest's, taken by an admin on a request from the
		// address, holds them marked: most guests never confirm, and
		// leaving them out would leave out most of what a guest wrote.
		{&e.Tickets, `SELECT id, reference, customer_email, customer_name, lang, topic, order_id, status, sender_unverified,
			first_message_at, created_at, updated_at FROM tickets WHERE id IN ` + tickets + ` ORDER BY created_at, id`},
		// Staff notes and mail from someone else are not the customer's.
		{&e.Messages, `SELECT id, ticket_id, direction, from_email, subject, body_text, sender_unverified, created_at FROM ticket_messages
			WHERE ticket_id IN ` + tickets + ` AND direction <> 'note' AND NOT flagged ORDER BY created_at, id`},
		{&e.Attachments, `SELECT a.id, a.message_id, a.file_name, a.content_type, a.size FROM ticket_attachments a
			JOIN ticket_messages m ON m.id = a.message_id WHERE m.ticket_id IN ` + tickets + ` AND m.direction <> 'note' AND NOT m.flagged ORDER BY a.id`},
		{&e.Surveys, `SELECT ticket_id, rating, comment, sent_at, answered_at FROM ticket_surveys
			WHERE ticket_id IN ` + tickets + ` ORDER BY sent_at, ticket_id`},
		// A password reset's text is its link: a credential, and the
		// proof that the account's holder reads the address
		// (account.AddressProvenTx), which an export read by whoever
		// signed up with that address must not hand over. Listed, text
		// left out.
		{&e.Mail, `SELECT id, kind, to_addr, to_name, subject,
			CASE WHEN kind = 'password_reset' THEN '' ELSE text_body END AS text_body, status, created_at, sent_at
			FROM outgoing_mail m JOIN outgoing_mail_content c ON c.content_id = m.content_id WHERE ` + toThem + ` ORDER BY created_at, id`},
	}
}

// readSections fills each section with its query's rows, run with $1 as
// id and the address's forms after it where the query names $2.
func readSections(ctx context.Context, q db.Querier, sections []section, id string, emailArgs []any) error {
	for _, sec := range sections {
		args := []any{id}
		if strings.Contains(sec.query, "$2") {
			args = append(args, emailArgs...)
		}
		rows, err := records(ctx, q, sec.query, args...)
		if err != nil {
			return err
		}
		if rows == nil {
			rows = []Record{}
		}
		*sec.dst = rows
	}
	return nil
}

// records reads every row of a query as column → value. Times are UTC,
// bytes that are text become strings and other bytes base64.
func records(ctx context.Context, q db.Querier, query string, args ...any) ([]Record, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("privacy: export: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []Record
	for rows.Next() {
		vals, err := db.Values(rows, len(cols))
		if err != nil {
			return nil, fmt.Errorf("privacy: export: %w", err)
		}
		r := Record{}
		for i, c := range cols {
			r[c] = plain(vals[i])
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return out, nil
}

func plain(v any) any {
	switch x := v.(type) {
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return base64.StdEncoding.EncodeToString(x)
	case time.Time:
		return x.UTC()
	}
	return v
}
