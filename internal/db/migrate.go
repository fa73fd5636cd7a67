package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// ErrTooNew is returned when the database was migrated by a newer comptoir:
// running an older binary on it could misread or damage data.
var ErrTooNew = errors.New("database is newer than this binary")

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the engine's migrations in order.
func Migrations(e Engine) ([]Migration, error) {
	dir := "migrations/" + string(e)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, entry := range entries {
		name := entry.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", name)
		}
		body, err := migrationFiles.ReadFile(dir + "/" + name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: rest, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations of %s: version %d where %d was expected", e, m.Version, i+1)
		}
	}
	return out, nil
}

const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at TEXT NOT NULL
)`

// migrationLockKey is the PostgreSQL advisory lock that serializes nodes
// migrating at the same time.
const migrationLockKey = 7_244_310_001

// Migrate applies the migrations the database lacks, each in its own
// transaction. Several nodes starting at once on PostgreSQL take turns.
func (d *DB) Migrate(ctx context.Context) error {
	_, err := d.MigrateApplied(ctx)
	return err
}

// MigrateApplied is Migrate, and says which migrations it applied (none
// when the database was up to date), so that `comptoir migrate` can tell
// the operator what it did.
func (d *DB) MigrateApplied(ctx context.Context) (applied []Migration, err error) {
	return d.MigrateWith(ctx, MigrateOptions{})
}

// Migration lock waits on PostgreSQL (MigrateOptions' defaults): at most
// 12 attempts of 3 s each, 5 s apart, about a minute and a half in all.
const (
	DefaultMigrationLockTimeout = 3 * time.Second
	DefaultMigrationAttempts    = 12
	DefaultMigrationPause       = 5 * time.Second
)

// ErrMigrationLocked: a migration gave up waiting for a lock another
// session held (MigrateOptions).
var ErrMigrationLocked = errors.New("a migration could not take the locks it needs")

// MigrateOptions say how migrations wait for the locks they need on
// PostgreSQL. A migration's ALTER waiting for a table another session
// holds (a transaction left open, a long report) is first in that table's
// lock queue, and every query of the store on the table queued behind it,
// for as long as it waited: the store stopped answering. Each migration's
// transaction now waits LockTimeout at most (SET LOCAL lock_timeout), then
// gives its place back, pauses and tries again, Attempts times in all,
// saying in the log what it waits on; then it gives up (ErrMigrationLocked)
// with nothing of that migration applied.
type MigrateOptions struct {
	Logger      *slog.Logger  // default: none
	LockTimeout time.Duration // default DefaultMigrationLockTimeout
	Attempts    int           // default DefaultMigrationAttempts
	Pause       time.Duration // default DefaultMigrationPause
	// Wait pauses between attempts, until pause has passed or ctx ends
	// (default: a timer); tests replace it.
	Wait func(ctx context.Context, pause time.Duration) error
}

func (o *MigrateOptions) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultMigrationLockTimeout
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultMigrationAttempts
	}
	if o.Pause <= 0 {
		o.Pause = DefaultMigrationPause
	}
	if o.Wait == nil {
		o.Wait = func(ctx context.Context, pause time.Duration) error {
			t := time.NewTimer(pause)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// MigrateWith is MigrateApplied with o's lock waits.
func (d *DB) MigrateWith(ctx context.Context, o MigrateOptions) (applied []Migration, err error) {
	o.defaults()
	migrations, err := Migrations(d.Engine)
	if err != nil {
		return nil, err
	}
	conn, err := d.Write.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if d.Engine == Postgres {
		// Another node migrating holds it for as long as its migrations
		// take, each bounded as below: this one waits its turn.
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
			return nil, fmt.Errorf("take migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockKey)
	}
	if _, err := conn.ExecContext(ctx, migrationsTable); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	current, err := currentVersion(ctx, conn)
	if err != nil {
		return nil, err
	}
	if latest := len(migrations); current > latest {
		return nil, fmt.Errorf("%w: it is at schema version %d, this binary knows up to %d; run a newer comptoir", ErrTooNew, current, latest)
	}
	for _, m := range migrations[current:] {
		if err := d.applyWaiting(ctx, conn, m, o); err != nil {
			return applied, err
		}
		applied = append(applied, m)
	}
	return applied, nil
}

// applyWaiting applies m, on PostgreSQL in attempts bounded by o.
func (d *DB) applyWaiting(ctx context.Context, conn *sql.Conn, m Migration, o MigrateOptions) error {
	if d.Engine != Postgres {
		return apply(ctx, conn, m, 0)
	}
	name := fmt.Sprintf("%04d_%s", m.Version, m.Name)
	return waitForLocks(ctx, o, name, conn, func() error { return apply(ctx, conn, m, o.LockTimeout) })
}

// waitForLocks runs try, the migration name, until it ends otherwise than
// on a lock wait (IsLocked), o.Attempts times at most, o.Pause apart,
// logging what it waits on; then ErrMigrationLocked. q reads who holds
// the locks.
func waitForLocks(ctx context.Context, o MigrateOptions, name string, q Querier, try func() error) error {
	var holders string
	for attempt := 1; ; attempt++ {
		err := try()
		if !IsLocked(err) {
			return err
		}
		holders = lockHolders(ctx, q, o.LockTimeout)
		if attempt == o.Attempts {
			break
		}
		o.Logger.Warn("a migration waits for a lock another session holds; it gave its place in the lock queue back, "+
			"so that the store's queries do not wait behind it, and will try again (see pg_stat_activity)",
			"migration", name, "attempt", attempt, "of", o.Attempts, "waited", o.LockTimeout.String(),
			"retry_in", o.Pause.String(), "sessions_in_a_transaction", holders)
		if err := o.Wait(ctx, o.Pause); err != nil {
			return fmt.Errorf("migration %s: waiting for a lock another session holds: %w", name, err)
		}
	}
	return fmt.Errorf("migration %s: %w: gave up after %d attempts of %v each, a lock it needs held by another session "+
		"(in a transaction: %s); nothing of it was applied: end that transaction (pg_stat_activity, pg_terminate_backend), then migrate again",
		name, ErrMigrationLocked, o.Attempts, o.LockTimeout, holders)
}

// MigrateStep runs step, one migration of a library's own (River's), as
// MigrateWith runs each of comptoir's: in a transaction of its own, and on
// PostgreSQL after the other nodes' migrations (the migration lock, held
// until the transaction ends), its lock waits bounded by o and retried as
// o says, named name in the log and in the error. step must do all its
// work in tx.
func (d *DB) MigrateStep(ctx context.Context, o MigrateOptions, name string, step func(ctx context.Context, tx *sql.Tx) error) error {
	o.defaults()
	run := func() error {
		tx, err := d.Write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if d.Engine == Postgres {
			// Taken before the lock timeout is set: another node's
			// migrations are waited for as long as they take, each
			// bounded in the same way.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
				return fmt.Errorf("migration %s: take migration lock: %w", name, err)
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = %d`, o.LockTimeout.Milliseconds())); err != nil {
				return fmt.Errorf("migration %s: set lock_timeout: %w", name, err)
			}
		}
		if err := step(ctx, tx); err != nil {
			return err
		}
		return tx.Commit()
	}
	if d.Engine != Postgres {
		return run()
	}
	return waitForLocks(ctx, o, name, d.Write, run)
}

// lockHolders names the other sessions of the database in a transaction
// older than the lock wait, oldest first: those that may hold what a
// migration waits on. "none seen" when there are none, or they cannot be
// read.
func lockHolders(ctx context.Context, q Querier, older time.Duration) string {
	rows, err := q.QueryContext(ctx, `SELECT pid, COALESCE(state, ''), EXTRACT(EPOCH FROM now() - xact_start)::bigint, left(COALESCE(query, ''), 80)
		FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND xact_start < now() - make_interval(secs => $1)
		ORDER BY xact_start LIMIT 3`, older.Seconds())
	if err != nil {
		return "none seen"
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var pid, secs int64
		var state, query string
		if err := rows.Scan(&pid, &state, &secs, &query); err != nil {
			return "none seen"
		}
		out = append(out, fmt.Sprintf("pid %d %s for %ds: %s", pid, state, secs, strings.Join(strings.Fields(query), " ")))
	}
	if rows.Err() != nil || len(out) == 0 {
		return "none seen"
	}
	return strings.Join(out, "; ")
}

// apply runs m and records it in one transaction; on PostgreSQL with
// lockTimeout > 0, a lock waited for longer fails it (IsLocked), and the
// transaction rolls back whole.
func apply(ctx context.Context, conn *sql.Conn, m Migration, lockTimeout time.Duration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if lockTimeout > 0 {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = %d`, lockTimeout.Milliseconds())); err != nil {
			return fmt.Errorf("migration %04d_%s: set lock_timeout: %w", m.Version, m.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.Version, m.Name, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, err)
	}
	return tx.Commit()
}

func currentVersion(ctx context.Context, q Querier) (int, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// SchemaVersion is the version of the schema the database holds: 0 when
// it holds none (no schema_migrations table: not a comptoir database, or
// one never migrated).
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	var exists bool
	var err error
	switch d.Engine {
	case SQLite:
		err = d.Read.QueryRowContext(ctx, `SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&exists)
	case Postgres:
		err = d.Read.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists)
	}
	if err != nil || !exists {
		return 0, err
	}
	return currentVersion(ctx, d.Read)
}

// CheckVersion tells whether the schema is exactly the one this binary
// expects: ErrTooNew when newer, an error naming the gap when older.
func (d *DB) CheckVersion(ctx context.Context) error {
	migrations, err := Migrations(d.Engine)
	if err != nil {
		return err
	}
	current, err := d.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case current > len(migrations):
		return fmt.Errorf("%w: schema version %d, this binary knows up to %d", ErrTooNew, current, len(migrations))
	case current < len(migrations):
		return fmt.Errorf("database schema is at version %d of %d: run comptoir migrate", current, len(migrations))
	}
	return nil
}
