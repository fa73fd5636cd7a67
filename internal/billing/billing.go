// Package billing keeps customers' balances ("add funds") as a ledger of
// immutable entries: every credit and debit is a row of balance_entries that
// the database refuses to change or delete, and balance_accounts holds each
// account's running total, updated in the same transaction as the entry.
//
// Why a running total beside the entries: a purchase must never spend money
// the customer does not have, even when two checkouts run at once on two
// nodes. Summing entries and then inserting a debit would let both pass the
// check; one conditional UPDATE of the total (… WHERE balance >= amount)
// cannot, on either engine, and the CHECK (balance >= 0) backs it up. The
// entries stay the truth a customer or an auditor reads; Reconcile proves
// that the totals agree with them.
package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/fielderr"
	"comptoir/internal/id"
	"comptoir/internal/money"
)

// Kinds of entry. Plain strings: they travel to JSON and the audit log
// unchanged, and the database checks them.
const (
	KindTopup       = "topup"        // the customer added funds (a card payment)
	KindPurchase    = "purchase"     // an order paid from the balance
	KindRefund      = "refund"       // a refund of something paid from the balance
	KindAdminCredit = "admin_credit" // money added by hand (goodwill, correction)
	KindAdminDebit  = "admin_debit"  // money taken back by hand
	KindReversal    = "reversal"     // undoes an earlier entry, in either direction
)

// creditKinds and debitKinds say which way each kind moves money; a
// reversal goes against the entry it undoes, so it is both.
var (
	creditKinds = map[string]bool{KindTopup: true, KindRefund: true, KindAdminCredit: true, KindReversal: true}
	debitKinds  = map[string]bool{KindPurchase: true, KindAdminDebit: true, KindReversal: true}
)

// Errors callers tell apart.
var (
	// ErrInsufficientBalance: a debit larger than the balance. Nothing was
	// changed.
	ErrInsufficientBalance = errors.New("billing: insufficient balance")
	// ErrDuplicateReference: an entry of this kind already exists for this
	// reference (the payment was already credited, the order already paid).
	// Nothing was changed and the caller's transaction is still usable, so a
	// retried job can treat it as "already done".
	ErrDuplicateReference = errors.New("billing: entry already recorded for this reference")
	// ErrAccountErased: money added by hand to the balance of an account
	// that was erased, which nobody can sign in to use. Nothing was
	// changed.
	ErrAccountErased = errors.New("billing: the account was erased: nobody can use its balance")
)

// Validation codes, stable names the web layer turns into sentences.
const (
	CodeRequired        = "required"
	CodeNotPositive     = "not_positive"
	CodeTooLarge        = "too_large"
	CodeTooLong         = "too_long"
	CodeCurrencyInvalid = "currency_invalid"
	CodeKindInvalid     = "kind_invalid"
	CodeInvalid         = "invalid"
	CodeUnsupported     = "unsupported"
)

// BalanceCurrency is the currency of the balances the store shows and
// spends (its pages, GET /balance, the checkout). The ledger keeps any
// currency, but money moved into a balance of another one could never be
// seen or used.
const BalanceCurrency = "EUR"

// checkBalanceCurrency refuses, for a movement a customer or an admin asks
// into a balance, an amount in another currency than BalanceCurrency.
func checkBalanceCurrency(a money.Amount) error {
	if a.Currency != BalanceCurrency {
		return &ValidationError{Fields: map[string]string{"currency": CodeUnsupported}}
	}
	return nil
}

// ValidationError maps each invalid field (named as in the API: "amount",
// "reason"…) to a validation code.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string { return fielderr.Message("billing", e.Fields) }

const (
	// MaxAmount is the largest single movement, in minor units (10 billion
	// EUR). With the table's bound on balances (10^15) it keeps every sum far
	// from int64 overflow; no real top-up or order comes near it.
	MaxAmount = 1_000_000_000_000

	maxIDLen     = 100 // customer, reference and actor ids
	maxReasonLen = 1000
	// Entries pages.
	defaultLimit = 50
	maxLimit     = 200
)

// Entry is a movement to record. Amount is always positive: CreditTx adds it,
// DebitTx takes it away.
type Entry struct {
	CustomerID string
	Amount     money.Amount
	Kind       string
	// ReferenceType and ReferenceID name what caused the movement ("order",
	// "ord_…"), both or neither. For topup, purchase, refund and reversal a
	// reference can be used by one entry only (see ErrDuplicateReference):
	// reference the thing that causes exactly one movement (the payment, the
	// order, the refund decision, the reversed entry).
	ReferenceType string
	ReferenceID   string
	// Reason is why, in words; required for admin kinds. It may be shown to
	// the customer on their statement and is never copied to the audit log.
	Reason string
	// Actor is who made the change (audit.System for jobs and webhooks).
	Actor audit.Actor
}

// EntryRow is a recorded entry.
type EntryRow struct {
	ID            string
	CustomerID    string
	Amount        money.Amount // signed: negative for debits
	BalanceAfter  money.Amount // the account's balance once this entry applied
	Kind          string
	ReferenceType string
	ReferenceID   string
	Reason        string
	ActorID       string // empty when the system made the change
	CreatedAt     time.Time
}

// Mismatch is an account whose running total differs from the sum of its
// entries. There should never be one.
type Mismatch struct {
	CustomerID string
	Currency   string
	Balance    int64 // balance_accounts.balance
	Entries    int64 // SUM(balance_entries.amount)
}

// Ledger is the balance use cases.
type Ledger struct {
	db    *db.DB
	clock clock.Clock
}

// New returns the ledger.
func New(d *db.DB, c clock.Clock) *Ledger {
	return &Ledger{db: d, clock: c}
}

// CreditTx adds e.Amount to the customer's balance in the caller's
// transaction, opening the account on its first credit, and records the
// entry and its audit line. On error nothing of it remains in tx.
func (l *Ledger) CreditTx(ctx context.Context, tx *sql.Tx, e Entry) (EntryRow, error) {
	if err := check(e, creditKinds); err != nil {
		return EntryRow{}, err
	}
	if l.db.Engine == db.Postgres {
		return l.applyPostgres(ctx, tx, e, e.Amount.Minor, creditAccount)
	}
	return l.apply(ctx, tx, e, e.Amount.Minor, func(now time.Time) *sql.Row {
		// One statement creates or bumps the account, so two first credits
		// at once cannot both insert.
		return tx.QueryRowContext(ctx, `INSERT INTO balance_accounts (customer_id, currency, balance, updated_at)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (customer_id, currency) DO UPDATE SET balance = balance_accounts.balance + excluded.balance, updated_at = excluded.updated_at
			RETURNING balance`, e.CustomerID, e.Amount.Currency, e.Amount.Minor, now)
	})
}

// DebitTx takes e.Amount from the customer's balance in the caller's
// transaction and records the entry and its audit line. A balance smaller
// than the amount (or no account) is ErrInsufficientBalance, with nothing
// changed. On any error nothing of it remains in tx.
func (l *Ledger) DebitTx(ctx context.Context, tx *sql.Tx, e Entry) (EntryRow, error) {
	if err := check(e, debitKinds); err != nil {
		return EntryRow{}, err
	}
	if l.db.Engine == db.Postgres {
		return l.applyPostgres(ctx, tx, e, -e.Amount.Minor, debitAccount)
	}
	return l.apply(ctx, tx, e, -e.Amount.Minor, func(now time.Time) *sql.Row {
		// The check and the change are one statement: concurrent debits
		// queue on the row (PostgreSQL re-reads it after the wait, SQLite has
		// one writer), so together they never take more than there is.
		return tx.QueryRowContext(ctx, `UPDATE balance_accounts SET balance = balance - $1, updated_at = $4
			WHERE customer_id = $2 AND currency = $3 AND balance >= $1
			RETURNING balance`, e.Amount.Minor, e.CustomerID, e.Amount.Currency, now)
	})
}

// apply moves the running total with move (which returns the new balance),
// then appends the entry and the audit line, all inside a savepoint. SQLite
// takes this path; PostgreSQL takes applyPostgres.
//
// Why a savepoint: the caller's transaction carries other work (checkout's
// order). If a step after the balance update failed, SQLite would keep the
// update in the transaction and a caller that carries on after
// ErrDuplicateReference would commit money moved without its entry;
// PostgreSQL would instead refuse every further statement. Rolling back to
// the savepoint leaves tx exactly as it was before the call, on both.
func (l *Ledger) apply(ctx context.Context, tx *sql.Tx, e Entry, signed int64, move func(now time.Time) *sql.Row) (row EntryRow, err error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT billing_entry`); err != nil {
		return EntryRow{}, fmt.Errorf("billing: %w", err)
	}
	defer func() {
		if err != nil {
			// Best effort: if the transaction itself is gone (cancelled
			// context, lost connection) the caller's rollback covers it.
			tx.ExecContext(context.WithoutCancel(ctx), `ROLLBACK TO SAVEPOINT billing_entry`)
		}
		tx.ExecContext(context.WithoutCancel(ctx), `RELEASE SAVEPOINT billing_entry`)
	}()

	now := l.clock.Now()
	var after int64
	if err := move(now).Scan(&after); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return EntryRow{}, ErrInsufficientBalance
		}
		return EntryRow{}, fmt.Errorf("billing: update balance: %w", err)
	}
	row = newEntryRow(e, signed, after, now)
	_, err = tx.ExecContext(ctx, `INSERT INTO balance_entries
		(id, customer_id, currency, amount, balance_after, kind, reference_type, reference_id, reason, actor_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		row.ID, row.CustomerID, row.Amount.Currency, row.Amount.Minor, after, row.Kind,
		row.ReferenceType, row.ReferenceID, row.Reason, nullActor(e), now)
	if err != nil {
		if db.IsUniqueViolation(err) {
			return EntryRow{}, ErrDuplicateReference
		}
		return EntryRow{}, fmt.Errorf("billing: insert entry: %w", err)
	}
	if err := auditEntry(ctx, tx, e, row); err != nil {
		return EntryRow{}, err
	}
	return row, nil
}

// The one statement applyPostgres runs, around the account's change
// (creditAccount or debitAccount, which return the new balance):
//   - dup finds an entry that already holds this reference, for the kinds
//     whose reference is unique (the predicate of the
//     balance_entries_reference index, repeated so that the index serves it);
//   - moved changes the account unless dup found one;
//   - entry writes the entry with the balance moved left.
//
// Parameters: $1 entry id, $2 customer, $3 currency, $4 signed amount, $5
// the amount moved (positive), $6 kind, $7 reference type, $8 reference id,
// $9 reason, $10 actor, $11 time.
const (
	postgresEntryHead = `WITH dup AS (
		SELECT 1 FROM balance_entries
		WHERE kind = $6 AND reference_type = $7 AND reference_id = $8
			AND reference_id <> '' AND kind IN ('topup', 'purchase', 'refund', 'reversal')
	), moved AS (`
	postgresEntryTail = `), entry AS (
		INSERT INTO balance_entries (id, customer_id, currency, amount, balance_after, kind, reference_type, reference_id, reason, actor_id, created_at)
		SELECT $1, $2, $3, $4, balance, $6, $7, $8, $9, $10, $11 FROM moved
		RETURNING balance_after
	)
	SELECT (SELECT balance_after FROM entry), EXISTS (SELECT 1 FROM dup)`
	creditAccount = `INSERT INTO balance_accounts (customer_id, currency, balance, updated_at)
		SELECT $2, $3, $5, $11 WHERE NOT EXISTS (SELECT 1 FROM dup)
		ON CONFLICT (customer_id, currency) DO UPDATE SET balance = balance_accounts.balance + excluded.balance, updated_at = excluded.updated_at
		RETURNING balance`
	debitAccount = `UPDATE balance_accounts SET balance = balance - $5, updated_at = $11
		WHERE customer_id = $2 AND currency = $3 AND balance >= $5 AND NOT EXISTS (SELECT 1 FROM dup)
		RETURNING balance`
)

// applyPostgres is apply in one statement and no savepoint: on PostgreSQL
// each statement is a round trip, and the savepoint, its release, the
// balance change and the entry were four of a checkout's dozen. The
// statement changes nothing when the balance is short or the reference is
// taken, so the caller's transaction stays usable in both cases, as with
// the savepoint. One case differs: the same reference written at that very
// moment by another transaction passes dup (not committed yet) and then
// meets the unique index; that is still ErrDuplicateReference, but
// PostgreSQL has then aborted the caller's transaction, which rolls back
// whole: nothing is moved twice, and the retry finds the entry.
func (l *Ledger) applyPostgres(ctx context.Context, tx *sql.Tx, e Entry, signed int64, account string) (EntryRow, error) {
	now := l.clock.Now()
	row := newEntryRow(e, signed, 0, now)
	var after sql.NullInt64
	var dup bool
	err := tx.QueryRowContext(ctx, postgresEntryHead+account+postgresEntryTail,
		row.ID, row.CustomerID, row.Amount.Currency, signed, e.Amount.Minor, row.Kind,
		row.ReferenceType, row.ReferenceID, row.Reason, nullActor(e), now).Scan(&after, &dup)
	switch {
	case db.IsUniqueViolation(err), err == nil && dup:
		return EntryRow{}, ErrDuplicateReference
	case err != nil:
		return EntryRow{}, fmt.Errorf("billing: balance entry: %w", err)
	case !after.Valid:
		return EntryRow{}, ErrInsufficientBalance
	}
	row.BalanceAfter.Minor = after.Int64
	if err := auditEntry(ctx, tx, e, row); err != nil {
		return EntryRow{}, err
	}
	return row, nil
}

// AppendDebitTx is DebitTx for a caller that gives up on any error of it,
// the checkout: on PostgreSQL, in a transaction db.Tx started, the debit
// with its entry and audit line is one statement appended to the
// transaction's pipeline (db.AppendWrapped), rather than a round trip of
// its own before it. Nothing reads its outcome before the commit: a
// balance too short (or no account) fails the statement itself
// (balance_debit_covered, migration 0063), and with it the transaction,
// whose error then wraps ErrInsufficientBalance; the reference already
// used is ErrDuplicateReference the same way. The transaction is then
// aborted, not usable as after DebitTx's refusals. The audit line's
// balances, before and after, are the ones the statement moved. On SQLite
// it is DebitTx.
func (l *Ledger) AppendDebitTx(ctx context.Context, tx *sql.Tx, e Entry) error {
	if l.db.Engine != db.Postgres {
		_, err := l.DebitTx(ctx, tx, e)
		return err
	}
	if err := check(e, debitKinds); err != nil {
		return err
	}
	now := l.clock.Now()
	row := newEntryRow(e, -e.Amount.Minor, 0, now)
	before, after := entryStates(row)
	beforeHead, beforeTail, err := aroundBalance(before)
	if err != nil {
		return err
	}
	afterHead, afterTail, err := aroundBalance(after)
	if err != nil {
		return err
	}
	return db.AppendWrapped(ctx, tx, wrapAppendedDebit, appendedDebit,
		row.ID, row.CustomerID, row.Amount.Currency, e.Amount.Minor, row.Kind, row.ReferenceType, row.ReferenceID, row.Reason,
		nullActor(e), now, e.Actor.Role, beforeHead, beforeTail, afterHead, afterTail)
}

// appendedDebit is AppendDebitTx's statement: the account's conditional
// update (moved), the entry with the balance it left, or the error
// balance_debit_covered raises when it debited nothing, and the audit line
// auditEntry would write, its states' JSON completed with the balances
// before and after: the text around each "balance" number comes from
// entryStates (aroundBalance).
//
// Parameters: $1 entry id, $2 customer, $3 currency, $4 the amount
// (positive), $5 kind, $6 reference type, $7 reference id, $8 reason, $9
// actor, $10 time, $11 actor's role, $12 and $13 the state before around
// its balance, $14 and $15 the state after around its balance.
const appendedDebit = `WITH moved AS (
		UPDATE balance_accounts SET balance = balance - $4::bigint, updated_at = $10
		WHERE customer_id = $2 AND currency = $3 AND balance >= $4::bigint
		RETURNING balance
	), entry AS (
		INSERT INTO balance_entries (id, customer_id, currency, amount, balance_after, kind, reference_type, reference_id, reason, actor_id, created_at)
		VALUES ($1, $2, $3, -$4::bigint, balance_debit_covered((SELECT balance FROM moved)), $5, $6, $7, $8, $9, $10)
		RETURNING balance_after
	)
	INSERT INTO audit_log (at, actor_id, actor_role, subject_type, subject_id, action, before_state, after_state)
	SELECT $10, $9, $11, 'balance', $2, 'balance_debit',
		$12::text || (balance_after + $4::bigint) || $13::text, $14::text || balance_after || $15::text
	FROM entry`

// wrapAppendedDebit is what AppendDebitTx's statement's error means.
func wrapAppendedDebit(err error) error {
	switch {
	case db.IsCheckViolation(err, "balance_debit_covered"):
		return fmt.Errorf("%w: %w", ErrInsufficientBalance, err)
	case db.IsUniqueViolation(err):
		return fmt.Errorf("%w: %w", ErrDuplicateReference, err)
	}
	return fmt.Errorf("billing: balance entry: %w", err)
}

// aroundBalance is state's JSON (an entryStates state) up to its
// "balance" number and after it, for a statement to put the number in
// between. The key is the first text of the state that reads "balance":
// a string value holding it would be escaped (\"balance\":).
func aroundBalance(state any) (head, tail string, err error) {
	b, err := json.Marshal(state)
	if err != nil {
		return "", "", fmt.Errorf("billing: encode state: %w", err)
	}
	s := string(b)
	const key = `"balance":`
	i := strings.Index(s, key)
	if i < 0 {
		return "", "", fmt.Errorf("billing: state without balance: %s", s)
	}
	i += len(key)
	j := i + strings.IndexFunc(s[i:], func(r rune) bool { return r != '-' && (r < '0' || r > '9') })
	return s[:i], s[j:], nil
}

func newEntryRow(e Entry, signed, after int64, now time.Time) EntryRow {
	return EntryRow{
		ID:            id.New("ble"),
		CustomerID:    e.CustomerID,
		Amount:        money.Amount{Minor: signed, Currency: e.Amount.Currency},
		BalanceAfter:  money.Amount{Minor: after, Currency: e.Amount.Currency},
		Kind:          e.Kind,
		ReferenceType: e.ReferenceType,
		ReferenceID:   e.ReferenceID,
		Reason:        e.Reason,
		ActorID:       e.Actor.ID,
		CreatedAt:     now,
	}
}

func nullActor(e Entry) sql.NullString {
	return sql.NullString{String: e.Actor.ID, Valid: e.Actor.ID != ""}
}

// auditEntry records row's movement in the audit log.
func auditEntry(ctx context.Context, tx *sql.Tx, e Entry, row EntryRow) error {
	action := "balance_credit"
	if row.Amount.Minor < 0 {
		action = "balance_debit"
	}
	before, state := entryStates(row)
	return audit.Record(ctx, tx, audit.Entry{At: row.CreatedAt, Actor: e.Actor, SubjectType: "balance", SubjectID: e.CustomerID,
		Action: action, Before: before, After: state})
}

// entryStates are the balance before an entry and the entry with the
// balance after it, as the audit log keeps them: ids and amounts only (the
// reason is free text that may name someone).
func entryStates(row EntryRow) (before, after any) {
	signed, balance := row.Amount.Minor, row.BalanceAfter.Minor
	before = balanceState{Balance: balance - signed, Currency: row.Amount.Currency}
	e := entryState{Amount: signed, Balance: balance, Currency: row.Amount.Currency, EntryID: row.ID, Kind: row.Kind}
	if row.ReferenceID != "" {
		return before, referencedEntryState{entryState: e, ReferenceID: row.ReferenceID, ReferenceType: row.ReferenceType}
	}
	return before, e
}

// balanceState, entryState and referencedEntryState are what the audit
// log says of a balance entry, before and after. Structs rather than maps,
// which json.Marshal walks by reflection and sorts, in every checkout's
// transaction; their fields are in the order of their names, as the maps'
// keys were written, so the log's rows are the same
// (TestEntryStateIsTheMapItReplaced).
type balanceState struct {
	Balance  int64  `json:"balance"`
	Currency string `json:"currency"`
}

type entryState struct {
	Amount   int64  `json:"amount"`
	Balance  int64  `json:"balance"`
	Currency string `json:"currency"`
	EntryID  string `json:"entry_id"`
	Kind     string `json:"kind"`
}

// referencedEntryState is an entry's state with what it refers to; the
// embedded fields come first, and "reference_id" < "reference_type" sort
// after them all.
type referencedEntryState struct {
	entryState
	ReferenceID   string `json:"reference_id"`
	ReferenceType string `json:"reference_type"`
}

// AdminCredit adds amount to a customer's balance by hand, in its own
// transaction. reason is required.
func (l *Ledger) AdminCredit(ctx context.Context, actor audit.Actor, customerID string, amount money.Amount, reason string) (EntryRow, error) {
	e := Entry{CustomerID: customerID, Amount: amount, Kind: KindAdminCredit, Reason: strings.TrimSpace(reason), Actor: actor}
	var row EntryRow
	err := l.db.Tx(ctx, func(tx *sql.Tx) (err error) {
		if err := refuseErased(ctx, tx, customerID); err != nil {
			return err
		}
		row, err = l.CreditTx(ctx, tx, e)
		return err
	})
	return row, err
}

// refuseErased is ErrAccountErased when customerID's account was erased.
// It runs first in the transaction of a credit by hand, and holds the
// account's row as an erasure does first (account.HoldUnerasedTx): the
// credit and an erasure at the same time never both commit with the money
// after the erasure. An id without an account (the ledger keeps money of
// any id) is not erased.
func refuseErased(ctx context.Context, tx *sql.Tx, customerID string) error {
	erased, err := account.HoldUnerasedTx(ctx, tx, customerID)
	switch {
	case errors.Is(err, account.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("billing: %w", err)
	case erased:
		return ErrAccountErased
	}
	return nil
}

// AdminDebit takes amount from a customer's balance by hand, in its own
// transaction: ErrInsufficientBalance when there is not that much. reason is
// required.
func (l *Ledger) AdminDebit(ctx context.Context, actor audit.Actor, customerID string, amount money.Amount, reason string) (EntryRow, error) {
	e := Entry{CustomerID: customerID, Amount: amount, Kind: KindAdminDebit, Reason: strings.TrimSpace(reason), Actor: actor}
	var row EntryRow
	err := l.db.Tx(ctx, func(tx *sql.Tx) (err error) {
		row, err = l.DebitTx(ctx, tx, e)
		return err
	})
	return row, err
}

// AdminAdjust is AdminCredit for a positive amount and AdminDebit for a
// negative one (by its absolute value), with after run in the same
// transaction once the entry is written: the API stores its Idempotency-Key
// answer there, so a retried credit is answered, never paid twice. An error
// from after rolls the entry back.
func (l *Ledger) AdminAdjust(ctx context.Context, actor audit.Actor, customerID string, amount money.Amount, reason string,
	after func(ctx context.Context, tx *sql.Tx, row EntryRow) error) (EntryRow, error) {
	if err := checkBalanceCurrency(amount); err != nil {
		return EntryRow{}, err
	}
	e := Entry{CustomerID: customerID, Amount: amount, Kind: KindAdminCredit, Reason: strings.TrimSpace(reason), Actor: actor}
	move := l.CreditTx
	if amount.Minor < 0 {
		e.Amount.Minor, e.Kind, move = -amount.Minor, KindAdminDebit, l.DebitTx
	}
	var row EntryRow
	err := l.db.Tx(ctx, func(tx *sql.Tx) (err error) {
		if e.Kind == KindAdminCredit {
			if err := refuseErased(ctx, tx, customerID); err != nil {
				return err
			}
		}
		if row, err = move(ctx, tx, e); err != nil {
			return err
		}
		if after != nil {
			return after(ctx, tx, row)
		}
		return nil
	})
	if err != nil {
		return EntryRow{}, err
	}
	return row, nil
}

// check validates an entry for a movement whose allowed kinds are kinds.
func check(e Entry, kinds map[string]bool) error {
	fields := map[string]string{}
	checkID(fields, "customer_id", e.CustomerID, true)
	if err := money.CheckCurrency(e.Amount.Currency); err != nil {
		fields["currency"] = CodeCurrencyInvalid
	}
	switch {
	case e.Amount.Minor <= 0:
		fields["amount"] = CodeNotPositive
	case e.Amount.Minor > MaxAmount:
		fields["amount"] = CodeTooLarge
	}
	if !kinds[e.Kind] {
		fields["kind"] = CodeKindInvalid
	}
	// A reversal must say which entry it undoes, or it could be repeated.
	checkID(fields, "reference_type", e.ReferenceType, e.ReferenceID != "" || e.Kind == KindReversal)
	checkID(fields, "reference_id", e.ReferenceID, e.ReferenceType != "" || e.Kind == KindReversal)
	switch {
	case strings.TrimSpace(e.Reason) == "" && (e.Kind == KindAdminCredit || e.Kind == KindAdminDebit):
		fields["reason"] = CodeRequired
	case utf8.RuneCountInString(e.Reason) > maxReasonLen:
		fields["reason"] = CodeTooLong
	case !db.ValidText(e.Reason):
		fields["reason"] = CodeInvalid
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
}

// checkID records a problem with an identifier-like field.
func checkID(fields map[string]string, name, v string, required bool) {
	switch {
	case v == "" && required:
		fields[name] = CodeRequired
	case len(v) > maxIDLen:
		fields[name] = CodeTooLong
	case !db.ValidText(v) || strings.TrimSpace(v) != v:
		fields[name] = CodeInvalid
	}
}
