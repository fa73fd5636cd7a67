package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
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
		if err := apply(ctx, conn, m); err != nil {
			return applied, err
		}
		applied = append(applied, m)
	}
	return applied, nil
}

func apply(ctx context.Context, conn *sql.Conn, m Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
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
